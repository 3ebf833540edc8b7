"""Logistics: shipments and the carrier events that move them."""

from __future__ import annotations

import uuid
from enum import Enum
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, field_validator

from shared.errors import Conflict


class ShipmentStatus(str, Enum):
    CREATED = "CREATED"
    PICKED_UP = "PICKED_UP"
    IN_TRANSIT = "IN_TRANSIT"
    DELIVERED = "DELIVERED"
    CANCELLED = "CANCELLED"


# Carrier scans may skip a step (a parcel delivered without an in-transit
# scan) but never go back. A cancelled shipment takes no more events.
_RANK = {ShipmentStatus.CREATED: 0, ShipmentStatus.PICKED_UP: 1, ShipmentStatus.IN_TRANSIT: 2, ShipmentStatus.DELIVERED: 3}


class ShipmentEventRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["PICKED_UP", "IN_TRANSIT", "DELIVERED"]
    at: AwareDatetime

    @field_validator("at", mode="before")
    @classmethod
    def _require_text(cls, value: object) -> object:
        # pydantic would also take a number of seconds; the API promises ISO 8601 only.
        if not isinstance(value, str):
            raise ValueError("must be an ISO 8601 date and time with a zone, e.g. 2026-12-01T10:00:00Z")
        return value


def shipment_id_for(order_id: str) -> str:
    """Derive the shipment id from the order id, so a repeated request creates the same shipment."""
    return f"shp_{uuid.uuid5(uuid.NAMESPACE_URL, 'tradewind:shipment:' + order_id).hex}"


def check_transition(current: str, target: str) -> bool:
    """Return False when `target` repeats the current status; raise Conflict when it goes back."""
    if target == current:
        return False
    if current == ShipmentStatus.CANCELLED.value:
        raise Conflict("SHIPMENT_CANCELLED", "shipment was cancelled with its order and takes no carrier events")
    if _RANK[ShipmentStatus(target)] < _RANK[ShipmentStatus(current)]:
        raise Conflict("INVALID_SHIPMENT_TRANSITION", f"shipment is {current} and cannot go back to {target}")
    return True
