"""Messages that travel between domains over SQS: commands (imperative) and events (past tense).

These models are the only contract the domains share. Each body carries its
`type`, so one queue can deliver several kinds of message to one consumer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from pydantic.alias_generators import to_camel

from shared.money import Money


class Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", alias_generator=to_camel, populate_by_name=True)

    def to_json(self) -> str:
        return self.model_dump_json(by_alias=True)


class Line(Message):
    sku: str
    quantity: int


class ProductPriced(Message):
    """Inventory created or changed a product; the orders domain keeps a priced copy."""

    type: Literal["ProductPriced"] = "ProductPriced"
    sku: str
    name: str
    category: str
    price: Money
    updated_at: datetime


class OrderPlaced(Message):
    type: Literal["OrderPlaced"] = "OrderPlaced"
    order_id: str
    lines: tuple[Line, ...]


class StockReserved(Message):
    type: Literal["StockReserved"] = "StockReserved"
    order_id: str


class StockRejected(Message):
    type: Literal["StockRejected"] = "StockRejected"
    order_id: str
    skus: tuple[str, ...]


class ReleaseStock(Message):
    type: Literal["ReleaseStock"] = "ReleaseStock"
    order_id: str


class CommitStock(Message):
    """The order's goods left the warehouse: its reserved units are now sold."""

    type: Literal["CommitStock"] = "CommitStock"
    order_id: str


class CapturePayment(Message):
    type: Literal["CapturePayment"] = "CapturePayment"
    order_id: str
    amount: Money
    token: str


class PaymentCaptured(Message):
    type: Literal["PaymentCaptured"] = "PaymentCaptured"
    order_id: str
    payment_id: str
    amount: Money


class PaymentDeclined(Message):
    type: Literal["PaymentDeclined"] = "PaymentDeclined"
    order_id: str
    reason: str


class RefundPayment(Message):
    type: Literal["RefundPayment"] = "RefundPayment"
    order_id: str


class PaymentRefunded(Message):
    type: Literal["PaymentRefunded"] = "PaymentRefunded"
    order_id: str
    payment_id: str
    amount: Money


class CancelShipment(Message):
    type: Literal["CancelShipment"] = "CancelShipment"
    order_id: str
    shipment_id: str


class CreateShipment(Message):
    type: Literal["CreateShipment"] = "CreateShipment"
    order_id: str
    lines: tuple[Line, ...]
    # The customer who may track the shipment; optional so that commands sent before it existed still parse.
    customer_id: str | None = None


class ShipmentCreated(Message):
    type: Literal["ShipmentCreated"] = "ShipmentCreated"
    order_id: str
    shipment_id: str


class ShipmentProgressed(Message):
    """A carrier event on a shipment: PICKED_UP, IN_TRANSIT or DELIVERED."""

    type: Literal["ShipmentProgressed"] = "ShipmentProgressed"
    order_id: str
    shipment_id: str
    status: str
    at: datetime


AnyMessage = Annotated[
    Union[
        ProductPriced,
        OrderPlaced,
        StockReserved,
        StockRejected,
        ReleaseStock,
        CommitStock,
        CapturePayment,
        PaymentCaptured,
        PaymentDeclined,
        RefundPayment,
        PaymentRefunded,
        CancelShipment,
        CreateShipment,
        ShipmentCreated,
        ShipmentProgressed,
    ],
    Field(discriminator="type"),
]

_any_message = TypeAdapter(AnyMessage)


def parse_message(body: str) -> Message:
    """Parse an SQS message body; raises pydantic.ValidationError for a malformed one."""
    return _any_message.validate_json(body)
