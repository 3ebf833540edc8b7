"""Money as integer minor units plus an ISO 4217 currency code, never a float."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from shared.errors import DomainError

# A cap well above any real basket, so that sums of many lines stay far below
# DynamoDB's 38-digit number limit and JSON consumers' 2**53 integer limit.
MAX_AMOUNT = 10**12

CurrencyCode = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code")]


class CurrencyMismatch(DomainError):
    code = "CURRENCY_MISMATCH"

    def __init__(self, expected: str, actual: str, field: str | None = None) -> None:
        super().__init__(f"currency {actual} does not match {expected}: an order uses one currency", field=field)


class Money(BaseModel):
    """An amount in minor units (cents for USD, centavos for BRL) of one currency."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    amount: Annotated[int, Field(ge=0, le=MAX_AMOUNT)]
    currency: CurrencyCode

    def __add__(self, other: Money) -> Money:
        if other.currency != self.currency:
            raise CurrencyMismatch(self.currency, other.currency)
        return Money(amount=self.amount + other.amount, currency=self.currency)

    def times(self, quantity: int) -> Money:
        return Money(amount=self.amount * quantity, currency=self.currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(amount=0, currency=currency)
