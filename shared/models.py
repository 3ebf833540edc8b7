"""Base models of the HTTP API's bodies and query strings: camelCase on the wire."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class RequestModel(BaseModel):
    """A request body: exact JSON types (no "1" for 1) and no fields beyond the declared ones."""

    model_config = ConfigDict(extra="forbid", strict=True, alias_generator=to_camel, populate_by_name=True)


class QueryModel(BaseModel):
    """Query-string parameters: they arrive as strings, so values are converted; unknown names are rejected."""

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True)


class ResponseModel(BaseModel):
    """A response body: fields the API does not show are dropped."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")
