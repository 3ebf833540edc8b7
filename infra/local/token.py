"""`python -m infra.local.token`: print a bearer token minted by the local runtime running on PORT.

`make token CUSTOMER=c1` prints a customer's token and `make token ADMIN=1` an
admin's, and nothing else, so `TOKEN=$(make -s token CUSTOMER=c1)` works.
"""

from __future__ import annotations

import argparse
import os
import sys

import requests

from infra.environment import read_number
from infra.local.identity import DEFAULT_TTL_SECONDS, TOKENS_PATH

ADMIN_SUBJECT = "admin"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Print a bearer token from the local runtime (make run) on PORT.")
    parser.add_argument("--customer", help="the customer ID the token is for (its sub claim)")
    parser.add_argument("--admin", action="store_true", help=f"a token with the admin role, for subject {ADMIN_SUBJECT!r}")
    parser.add_argument("--ttl", type=int, default=DEFAULT_TTL_SECONDS, help=f"seconds until the token expires (default {DEFAULT_TTL_SECONDS})")
    arguments = parser.parse_args(argv)
    if arguments.customer and arguments.admin:
        parser.error("name a customer (make token CUSTOMER=c1) or ask for an admin token (make token ADMIN=1), not both")
    if not arguments.customer and not arguments.admin:
        parser.error("name a customer (make token CUSTOMER=c1) or ask for an admin token (make token ADMIN=1)")

    try:
        port = read_number(os.environ, "PORT", int, 3000)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    url = f"http://127.0.0.1:{port}{TOKENS_PATH}"
    request = {"subject": arguments.customer or ADMIN_SUBJECT, "roles": ["admin"] if arguments.admin else ["customer"], "ttlSeconds": arguments.ttl}
    try:
        response = requests.post(url, json=request, timeout=10)
    except requests.ConnectionError:
        print(f"error: no local runtime is listening on 127.0.0.1:{port}. Start one with `make run`, or set PORT to the port it uses", file=sys.stderr)
        return 1
    if response.status_code != 200:
        print(f"error: {url} returned HTTP {response.status_code}: {response.text[:300]}", file=sys.stderr)
        return 1
    print(response.json()["token"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
