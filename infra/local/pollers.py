"""Poll SQS queues and invoke functions the way Lambda's SQS event-source mapping does.

A batch of up to BatchSize messages becomes one invocation. If the function
raises, no message is deleted and all of them come back after the queue's
visibility timeout. If it returns `batchItemFailures` (and the event source
has ReportBatchItemFailures), only the listed messages stay. SQS itself
moves a message to the dead-letter queue once it has been received
maxReceiveCount times.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from typing import Any

from infra.local.invoker import FunctionError
from infra.local.template import QueueSource

log = logging.getLogger("tradewind.runtime")

# SQS returns at most 10 messages per ReceiveMessage call.
MAX_RECEIVE = 10
WAIT_SECONDS = 1


class QueuePoller:
    def __init__(self, sqs: Any, source: QueueSource, queue_url: str, queue_arn: str, function: Any, region: str, stopping: threading.Event, activity: "Activity") -> None:
        self._sqs = sqs
        self._source = source
        self._queue_url = queue_url
        self._queue_arn = queue_arn
        self._function = function
        self._region = region
        self._stopping = stopping
        self._activity = activity

    def run(self) -> None:
        while not self._stopping.is_set():
            try:
                self.poll_once()
            except Exception:
                # The poller must survive an emulator hiccup; messages stay in the queue.
                log.exception("polling %s failed; retrying in 1 s", self._source.queue)
                self._stopping.wait(1)

    def poll_once(self) -> int:
        """Receive one batch, invoke the function with it, and delete what succeeded; returns the batch size."""
        response = self._sqs.receive_message(
            QueueUrl=self._queue_url,
            MaxNumberOfMessages=min(self._source.batch_size, MAX_RECEIVE),
            WaitTimeSeconds=WAIT_SECONDS,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = response.get("Messages", [])
        if not messages:
            return 0
        with self._activity.busy():
            self._deliver(messages)
        return len(messages)

    def _deliver(self, messages: list[dict]) -> None:
        name = self._function.function.name
        event = {"Records": [self._record(message) for message in messages]}
        try:
            invocation = self._function.invoke(event)
        except FunctionError as error:
            log.info("invoke function=%s duration_ms=%.1f outcome=error error=%s batch=%d", name, error.duration_ms, type(error.error).__name__, len(messages))
            return

        failed = self._failed_ids(invocation.result, messages)
        done = [message for message in messages if message["MessageId"] not in failed]
        if done:
            entries = [{"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]} for index, message in enumerate(done)]
            self._sqs.delete_message_batch(QueueUrl=self._queue_url, Entries=entries)
        outcome = "ok" if not failed else "partial"
        log.info("invoke function=%s duration_ms=%.1f outcome=%s batch=%d failed=%d", name, invocation.duration_ms, outcome, len(messages), len(failed))

    def _failed_ids(self, result: Any, messages: list[dict]) -> set[str]:
        if not self._source.report_batch_item_failures or not isinstance(result, dict):
            return set()
        ids = {message["MessageId"] for message in messages}
        failed = set()
        for failure in result.get("batchItemFailures") or []:
            identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
            if identifier not in ids:
                # Lambda treats an unknown or empty identifier as a failure of the whole batch.
                return ids
            failed.add(identifier)
        return failed

    def _record(self, message: dict) -> dict:
        message_attributes = {
            name: {
                "stringValue": value.get("StringValue"),
                "binaryValue": value.get("BinaryValue"),
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": value["DataType"],
            }
            for name, value in message.get("MessageAttributes", {}).items()
        }
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": message_attributes,
            "md5OfBody": message.get("MD5OfBody") or hashlib.md5(message["Body"].encode()).hexdigest(),  # noqa: S324 (SQS's checksum, not security)
            "eventSource": "aws:sqs",
            "eventSourceARN": self._queue_arn,
            "awsRegion": self._region,
        }


class Activity:
    """Counts batches being processed, so that callers can wait until the system is idle."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._in_flight = 0
        self.last_change = time.monotonic()

    def busy(self) -> "_Busy":
        return _Busy(self)

    @property
    def in_flight(self) -> int:
        with self._lock:
            return self._in_flight

    def _add(self, delta: int) -> None:
        with self._lock:
            self._in_flight += delta
            self.last_change = time.monotonic()


class _Busy:
    def __init__(self, activity: Activity) -> None:
        self._activity = activity

    def __enter__(self) -> None:
        self._activity._add(1)

    def __exit__(self, *exc: Any) -> None:
        self._activity._add(-1)
