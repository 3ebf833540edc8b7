"""Schemathesis hooks for `make fuzz`: sign webhook requests as the payment provider and the carrier do.

Loaded by schemathesis (SCHEMATHESIS_HOOKS) in its own virtual environment,
so this module uses the standard library only. The secrets come from the
fuzz driver (infra/api/fuzz.py), which reads them from the local runtime's
emulator. A request whose generated signature header is absent stays
unsigned, so the API's 401 for a missing signature is fuzzed too.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time

import schemathesis

HEADER = "Tradewind-Signature"
# The secret setting for each signed operation's path.
SECRET_SETTINGS = {"/webhooks/payments": "FUZZ_PAYMENT_SECRET", "/shipments/{shipmentId}/events": "FUZZ_CARRIER_SECRET"}


@schemathesis.hook
def before_call(context, case, kwargs) -> None:
    """Replace a generated signature header by a valid one over the body schemathesis sends."""
    secret = os.environ.get(SECRET_SETTINGS.get(case.operation.path, ""), "")
    if not secret or not case.headers or HEADER not in case.headers or not isinstance(case.body, (dict, list)):
        return
    # The requests transport sends a JSON body as json.dumps with its default separators.
    body = json.dumps(case.body).encode()
    signed_at = int(time.time())
    digest = hmac.new(secret.encode(), f"{signed_at}.".encode() + body, hashlib.sha256).hexdigest()
    case.headers[HEADER] = f"t={signed_at},v1={digest}"
