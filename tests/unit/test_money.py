"""Money: integer minor units of one currency."""

import pytest
from pydantic import ValidationError

from shared.money import CurrencyMismatch, Money


def test_sum_is_exact_in_minor_units():
    total = Money(amount=1999, currency="BRL") + Money(amount=1, currency="BRL")

    assert total == Money(amount=2000, currency="BRL")


def test_times_multiplies_amount():
    assert Money(amount=333, currency="USD").times(3) == Money(amount=999, currency="USD")


def test_adding_other_currency_raises():
    with pytest.raises(CurrencyMismatch) as raised:
        Money(amount=1, currency="USD") + Money(amount=1, currency="EUR")

    assert raised.value.code == "CURRENCY_MISMATCH"


@pytest.mark.parametrize(
    "document",
    [
        {"amount": 1.5, "currency": "USD"},
        {"amount": "100", "currency": "USD"},
        {"amount": -1, "currency": "USD"},
        {"amount": 10**13, "currency": "USD"},
        {"amount": 1, "currency": "usd"},
        {"amount": 1, "currency": "US"},
        {"amount": 1, "currency": "USD", "scale": 2},
    ],
)
def test_invalid_money_is_rejected(document):
    with pytest.raises(ValidationError):
        Money.model_validate(document)
