"""Consuming SQS batches with partial batch responses.

Messages are sent by the outbox publishers (shared.outbox), never directly by a handler.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from shared.chaos import crash_after_write
from shared.messages import Message, parse_message

if TYPE_CHECKING:
    from chalice.app import SQSEvent


def consume(event: SQSEvent, handle: Callable[[Message], None]) -> dict:
    """Pass each record of an SQS batch to `handle` and report the records that raised.

    A record whose handler raises (or whose body is not a known message) is
    listed in `batchItemFailures`, so SQS delivers it again after the
    visibility timeout and moves it to the dead-letter queue after
    maxReceiveCount. The other records of the batch are deleted.
    """
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

    def handle_record(record) -> None:
        handle(parse_message(record.body))
        crash_after_write(record.message_id)

    return process_partial_response(
        event=event.to_dict(),
        record_handler=handle_record,
        processor=BatchProcessor(event_type=EventType.SQS),
        context=event.context,
    )
