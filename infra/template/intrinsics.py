"""CloudFormation short-form intrinsics as string types that the generated YAML writes as tags."""

from __future__ import annotations


class Ref(str):
    """`!Ref <logical id or parameter>`."""


class GetAtt(str):
    """`!GetAtt <logical id>.<attribute>`."""


class Sub(str):
    """`!Sub <string>`, written as a literal block so that long JSON stays readable."""
