"""The shipments table: one item per shipment with its tracking history."""

from __future__ import annotations

from datetime import datetime, timezone

from shared.aws import client, from_item, get_document, is_error, setting, to_item, to_value, write_if
from shared.outbox import OUTBOX


def create_shipment(shipment_id: str, order_id: str, lines: list[dict], outbox: list[dict], customer_id: str | None = None) -> bool:
    """Create the shipment with its outbox unless it exists; returns whether it was created.

    `customer_id`, the customer who may read the shipment, is left out when None.
    """
    now = datetime.now(timezone.utc).isoformat()
    shipment = {
        "shipmentId": shipment_id,
        "orderId": order_id,
        "customerId": customer_id,
        "status": "CREATED",
        "lines": lines,
        "history": [{"status": "CREATED", "at": now}],
        "createdAt": now,
        "updatedAt": now,
        OUTBOX: outbox,
    }
    return write_if("put_item", TableName=setting("SHIPMENTS_TABLE"), Item=to_item(shipment), ConditionExpression="attribute_not_exists(shipmentId)")


def get_shipment(shipment_id: str) -> dict | None:
    return get_document("SHIPMENTS_TABLE", {"shipmentId": {"S": shipment_id}})


def advance_shipment(shipment_id: str, current: str, target: str, at: str, outbox: list[dict] | None = None) -> dict | None:
    """Move a shipment from `current` to `target`; returns None when another writer moved it first."""
    assignments = "SET #status = :target, updatedAt = :now, history = list_append(history, :entry)"
    values = {
        ":target": {"S": target},
        ":current": {"S": current},
        ":now": {"S": datetime.now(timezone.utc).isoformat()},
        ":entry": {"L": [{"M": to_item({"status": target, "at": at})}]},
    }
    if outbox:
        assignments += ", outbox = :outbox"
        values[":outbox"] = to_value(outbox)
    try:
        response = client("dynamodb").update_item(
            TableName=setting("SHIPMENTS_TABLE"),
            Key={"shipmentId": {"S": shipment_id}},
            UpdateExpression=assignments,
            ConditionExpression="#status = :current",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=values,
            ReturnValues="ALL_NEW",
        )
    except Exception as error:
        if is_error(error, "ConditionalCheckFailedException"):
            return None
        raise
    return from_item(response["Attributes"])
