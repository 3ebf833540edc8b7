"""A simulated card payment provider, driven by the payment token.

| token                    | outcome                                              |
|--------------------------|------------------------------------------------------|
| `tok_success`            | captured                                             |
| `tok_decline`            | declined, reason `card_declined`                     |
| `tok_insufficient_funds` | declined, reason `insufficient_funds`                |
| `tok_provider_error`     | the provider fails: the message is retried, then dead-lettered |
| `tok_async`              | pending: the outcome arrives later as a signed webhook (POST /webhooks/payments) |
| anything else            | declined, reason `invalid_token`                     |

Every capture, pending and declined ones too, has the payment id
`pay_<reference>`, and the reference is the order id, so a developer who
sends a webhook by hand can write the payment id down.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from shared.money import Money


class ProviderUnavailable(Exception):
    """The provider did not respond; the capture may be retried."""


@dataclass(frozen=True)
class Capture:
    """The provider's response to a capture: captured, declined, or pending until a webhook reports it."""

    payment_id: str
    captured: bool = False
    pending: bool = False
    decline_reason: str | None = None


_DECLINES = {"tok_decline": "card_declined", "tok_insufficient_funds": "insufficient_funds"}


def payment_id_for(reference: str) -> str:
    """Return the provider's payment id of the capture with this reference, the same for every repeat."""
    return f"pay_{reference}"


def capture(token: str, amount: Money, reference: str) -> Capture:
    """Capture `amount` with the card behind `token`; `reference` lets the provider detect repeats."""
    payment_id = payment_id_for(reference)
    if token == "tok_success":
        return Capture(payment_id=payment_id, captured=True)
    if token == "tok_async":
        return Capture(payment_id=payment_id, pending=True)
    if token == "tok_provider_error":
        raise ProviderUnavailable(f"payment provider failed to capture {amount.amount} {amount.currency}")
    return Capture(payment_id=payment_id, decline_reason=_DECLINES.get(token, "invalid_token"))


def refund(payment_id: str, amount: Money) -> str:
    """Refund a captured payment in full; returns the refund id, the same for every repeat."""
    return f"ref_{uuid.uuid5(uuid.NAMESPACE_URL, 'tradewind:refund:' + payment_id).hex}"
