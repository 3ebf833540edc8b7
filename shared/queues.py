"""Consuming SQS batches with partial batch responses.

Messages are sent by the outbox publishers (shared.outbox), never directly by a handler.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Callable

from shared import observability
from shared.chaos import crash_after_write
from shared.messages import Message, parse_message

if TYPE_CHECKING:
    from chalice.app import SQSEvent

log = logging.getLogger(__name__)

# CloudFormation names a resource that has no explicit name `<stack>-<logical id>-<random>`, such as
# MyStack-MyBucket-abcdefghijk1 (AWS CloudFormation User Guide, "Name type").
_GENERATED_SUFFIX = re.compile(r"[A-Za-z0-9]{12,13}")


def consume(event: SQSEvent, handle: Callable[[Message], None]) -> dict:
    """Pass each record of an SQS batch to `handle` and report the records that raised.

    A record whose handler raises (or whose body is not a known message) is
    listed in `batchItemFailures`, so SQS delivers it again after the
    visibility timeout and moves it to the dead-letter queue after
    maxReceiveCount. The other records of the batch are deleted.

    Each record is logged with its `correlationId` message attribute (the
    message id when it has none) and counted in QueueMessageAge; a record
    that raises is counted in HandlerErrors.
    """
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    def handle_record(record) -> None:
        attributes = record.raw_event.get("messageAttributes") or {}
        correlation_id = observability.safe_token(_attribute(attributes, observability.CORRELATION_ATTRIBUTE)) or record.message_id
        with observability.correlated(correlation_id, message_id=record.message_id, message_type=_attribute(attributes, "type")):
            observability.record_queue_age(queue_name(record.event_source_arn), record.attributes.sent_timestamp)
            with observability.failures_counted("message failed"):
                message = parse_message(record.body)
                observability.set_order_id(getattr(message, "order_id", None))
                handle(message)
                crash_after_write(record.message_id)
            log.info("message handled")

    with observability.invocation(event.context):
        return process_partial_response(
            event=event.to_dict(),
            record_handler=handle_record,
            processor=BatchProcessor(event_type=EventType.SQS),
            context=event.context,
        )


def queue_name(queue_arn: str) -> str:
    """Return the template's logical name of the queue in `queue_arn`, such as ReserveStockQueue.

    The local runtime names queues `<stack>-<logical id>`, and CloudFormation
    adds a random suffix to that. NOTE: a logical id of 12 or 13 letters and
    digits after a stack name with a hyphen would be taken for that suffix.
    Every queue in template.yaml has a longer name.
    """
    name = queue_arn.rsplit(":", 1)[-1].removesuffix(".fifo")
    parts = name.split("-")
    if len(parts) >= 3 and _GENERATED_SUFFIX.fullmatch(parts[-1]):
        parts = parts[:-1]
    return parts[-1]


def _attribute(attributes: dict, name: str) -> str | None:
    return (attributes.get(name) or {}).get("stringValue")
