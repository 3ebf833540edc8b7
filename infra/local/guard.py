"""Refuse any AWS call that is not aimed at an emulator on this machine.

A boto3 client without `AWS_ENDPOINT_URL` talks to real AWS hosts. The local
runtime and the tests install this guard, so such a client fails at its first
call instead of reaching an account.
"""

from __future__ import annotations

from urllib.parse import urlparse

import botocore.httpsession

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class NonLocalEndpoint(RuntimeError):
    pass


def check_endpoint(url: str) -> None:
    host = urlparse(url).hostname
    if host not in LOCAL_HOSTS:
        raise NonLocalEndpoint(f"refusing an AWS call to {host}: set AWS_ENDPOINT_URL to the local emulator, e.g. http://127.0.0.1:5000")


def install() -> None:
    """Wrap botocore's HTTP sender so that every request is checked first (idempotent)."""
    session_class = botocore.httpsession.URLLib3Session
    if getattr(session_class.send, "_tradewind_guard", False):
        return
    original = session_class.send

    def send(self, request):
        check_endpoint(request.url)
        return original(self, request)

    send._tradewind_guard = True
    session_class.send = send
