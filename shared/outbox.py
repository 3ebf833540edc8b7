"""A transactional outbox kept on the item that changes.

A state change and the messages that must follow it are written in one
DynamoDB write: the item's `outbox` attribute contains the messages of its
latest change. The table's stream then carries old and new image to a
publisher function, which sends every outbox entry that the old image did
not have. A function that crashes after its write therefore still gets its
messages sent, and one that crashes before it sent nothing at all.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from shared import observability
from shared.aws import client, from_item, setting
from shared.chaos import crash_after_write
from shared.messages import Message

OUTBOX = "outbox"

log = logging.getLogger(__name__)


def entries(*messages: tuple[str, Message]) -> list[dict]:
    """Outbox entries for (queue URL setting, message) pairs, each with a unique id and the current correlation id."""
    correlation_id = observability.current_correlation_id()
    built = []
    for queue, message in messages:
        entry = {"id": uuid.uuid4().hex, "queue": queue, "type": message.type, "body": message.to_json()}
        if correlation_id:
            entry[observability.CORRELATION_ATTRIBUTE] = correlation_id
        built.append(entry)
    return built


def new_entries(record: dict) -> list[dict]:
    """Entries present in a stream record's new image and absent from its old image."""
    if record.get("eventName") == "REMOVE":
        return []
    images = record.get("dynamodb", {})
    new = from_item(images.get("NewImage", {})).get(OUTBOX) or []
    old_ids = {entry["id"] for entry in from_item(images.get("OldImage", {})).get(OUTBOX) or []}
    return [entry for entry in new if entry["id"] not in old_ids]


def send_entry(entry: dict) -> None:
    attributes = {
        "type": {"DataType": "String", "StringValue": entry["type"]},
        # Lets consumers and operators tell a redelivery from a new message.
        "outboxId": {"DataType": "String", "StringValue": entry["id"]},
    }
    correlation_id = entry.get(observability.CORRELATION_ATTRIBUTE)
    if correlation_id:
        attributes[observability.CORRELATION_ATTRIBUTE] = {"DataType": "String", "StringValue": correlation_id}
    client("sqs").send_message(QueueUrl=setting(entry["queue"]), MessageBody=entry["body"], MessageAttributes=attributes)


def publish(event: Any) -> dict:
    """Send the new outbox entries of a DynamoDB stream batch, reporting the records that failed.

    A failed record and every record after it are retried by the event-source
    mapping, so messages of one item leave in the order they were written.
    Each sent message is logged with its entry's correlation id, and a record
    that fails is counted in HandlerErrors.
    """
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    failed = False

    def publish_record(record) -> None:
        nonlocal failed
        # The event-source mapping retries from the first failed record, so
        # sending the records after it now would only send them twice.
        if failed:
            raise RuntimeError("not sent: an earlier record of this batch failed")
        try:
            pending = new_entries(record.raw_event)
            # The entries of one record come from one write, so they share its correlation id and order.
            first = pending[0] if pending else {}
            with observability.correlated(first.get(observability.CORRELATION_ATTRIBUTE), order_id=_order_id(first)):
                with observability.failures_counted("stream record failed"):
                    for entry in pending:
                        _send_logged(entry)
                    crash_after_write(record.event_id or record.dynamodb.sequence_number)
        except Exception:
            failed = True
            raise

    with observability.invocation(event.context):
        return process_partial_response(
            event=event.to_dict(),
            record_handler=publish_record,
            processor=BatchProcessor(event_type=EventType.DynamoDBStreams),
            context=event.context,
        )


def _send_logged(entry: dict) -> None:
    with observability.correlated(entry.get(observability.CORRELATION_ATTRIBUTE), order_id=_order_id(entry), message_type=entry["type"], outbox_id=entry["id"]):
        send_entry(entry)
        log.info("message sent", extra={"queue": entry["queue"]})


def _order_id(entry: dict) -> str | None:
    if "body" not in entry:
        return None
    return json.loads(entry["body"]).get("orderId")
