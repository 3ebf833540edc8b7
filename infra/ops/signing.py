"""Sign a webhook body the way the payment provider or the carrier does, with the local emulator's secret.

Usage: python -m infra.ops.signing {payment,carrier} [BODY] [--stack-name NAME] [--endpoint-url URL]

Prints the value of the Tradewind-Signature header for the exact bytes of
BODY (or of the BODY environment variable), signed now. The secret is read
from the emulator of the runtime on PORT, or from AWS_ENDPOINT_URL, where the
local runtime created it with a random value at start. Exits 2 when the
endpoint or the secret is not found.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from infra.local.guard import NonLocalEndpoint
from infra.ops.connection import DEFAULT_STACK_NAME, START_HINT, EndpointUnavailable, aws_client, resolve_endpoint
from shared.signatures import sign

# The secrets' logical ids in template.yaml.
SECRETS = {"payment": "PaymentWebhookSecret", "carrier": "CarrierWebhookSecret"}


def webhook_secret(sender: str, secretsmanager: Any, stack_name: str = DEFAULT_STACK_NAME) -> str:
    """Return the current value of `sender`'s webhook secret, named `<stack>-<logical id>` by the local runtime."""
    return secretsmanager.get_secret_value(SecretId=f"{stack_name}-{SECRETS[sender]}")["SecretString"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.ops.signing", description="Print a Tradewind-Signature header value for a webhook body.")
    parser.add_argument("sender", choices=sorted(SECRETS), help="whose secret signs the body")
    parser.add_argument("body", nargs="?", help="the exact request body; default: the BODY environment variable")
    parser.add_argument("--stack-name", default=os.environ.get("STACK_NAME") or DEFAULT_STACK_NAME, help="prefix of the runtime's resource names")
    parser.add_argument("--endpoint-url", default=None, help="AWS endpoint; default: AWS_ENDPOINT_URL, else the runtime on PORT")
    arguments = parser.parse_args(argv)

    body = arguments.body if arguments.body is not None else os.environ.get("BODY")
    if body is None:
        print("error: no body to sign: pass it as an argument or in BODY", file=sys.stderr)
        return 2
    try:
        secretsmanager = aws_client("secretsmanager", resolve_endpoint(arguments.endpoint_url))
        secret = webhook_secret(arguments.sender, secretsmanager, arguments.stack_name)
    except (EndpointUnavailable, NonLocalEndpoint) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (ClientError, BotoCoreError) as error:
        print(f"error: could not read the {arguments.sender} webhook secret of stack {arguments.stack_name!r}: {error}; {START_HINT}", file=sys.stderr)
        return 2

    print(sign(secret, body.encode()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
