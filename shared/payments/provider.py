"""A simulated card payment provider, driven by the payment token.

| token                    | outcome                                              |
|--------------------------|------------------------------------------------------|
| `tok_success`            | captured                                             |
| `tok_decline`            | declined, reason `card_declined`                     |
| `tok_insufficient_funds` | declined, reason `insufficient_funds`                |
| `tok_provider_error`     | the provider fails: the message is retried, then dead-lettered |
| anything else            | declined, reason `invalid_token`                     |
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from shared.money import Money


class ProviderUnavailable(Exception):
    """The provider did not respond; the capture may be retried."""


@dataclass(frozen=True)
class Capture:
    captured: bool
    payment_id: str | None = None
    decline_reason: str | None = None


_DECLINES = {"tok_decline": "card_declined", "tok_insufficient_funds": "insufficient_funds"}


def capture(token: str, amount: Money, reference: str) -> Capture:
    """Capture `amount` with the card behind `token`; `reference` lets the provider detect repeats."""
    if token == "tok_success":
        return Capture(captured=True, payment_id=f"pay_{uuid.uuid5(uuid.NAMESPACE_URL, reference).hex}")
    if token == "tok_provider_error":
        raise ProviderUnavailable(f"payment provider failed to capture {amount.amount} {amount.currency}")
    return Capture(captured=False, decline_reason=_DECLINES.get(token, "invalid_token"))


def refund(payment_id: str, amount: Money) -> str:
    """Refund a captured payment in full; returns the refund id, the same for every repeat."""
    return f"ref_{uuid.uuid5(uuid.NAMESPACE_URL, 'tradewind:refund:' + payment_id).hex}"
