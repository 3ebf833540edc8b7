"""The logistics API's response bodies."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from shared.logistics.model import ShipmentStatus
from shared.models import ResponseModel


class ShipmentLine(ResponseModel):
    sku: str
    quantity: int


class TrackingEvent(ResponseModel):
    status: ShipmentStatus
    at: datetime = Field(description="When the carrier scanned the parcel; the creation time for CREATED.")


class Shipment(ResponseModel):
    shipment_id: str
    order_id: str
    customer_id: str | None = Field(None, description="The customer who placed the order; absent on shipments created before it was recorded.")
    status: ShipmentStatus
    lines: list[ShipmentLine]
    history: list[TrackingEvent] = Field(description="Every recorded status in the order it was recorded, starting with CREATED.")
    created_at: datetime
    updated_at: datetime
