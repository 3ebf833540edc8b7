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
import random
import threading
import time
from typing import Any

from infra.local.invoker import FunctionError
from infra.local.template import QueueSource

log = logging.getLogger("tradewind.runtime")

# SQS returns at most 10 messages per ReceiveMessage call.
MAX_RECEIVE = 10
# Long polling: moto and SQS return as soon as a message arrives, so a longer
# wait only saves empty receives. It also bounds how long Ctrl-C takes.
WAIT_SECONDS = 2


CHAOS_KINDS = frozenset({"duplicate", "crash", "reorder"})
# Marks the copy that CHAOS=duplicate sends, so that the copy is not copied again.
COPY_ATTRIBUTE = "chaosCopy"


class QueuePoller:
    def __init__(
        self,
        sqs: Any,
        source: QueueSource,
        queue_url: str,
        queue_arn: str,
        function: Any,
        region: str,
        stopping: threading.Event,
        activity: "Activity",
        chaos: frozenset[str] = frozenset(),
    ) -> None:
        self._sqs = sqs
        self._source = source
        self._queue_url = queue_url
        self._queue_arn = queue_arn
        self._function = function
        self._region = region
        self._stopping = stopping
        self._activity = activity
        self._chaos = chaos
        self._random = random.Random()

    def run(self) -> None:
        while not self._stopping.is_set():
            try:
                self.poll_once()
            except Exception:
                if self._stopping.is_set():
                    return
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
            if "duplicate" in self._chaos:
                self._send_copies(messages)
            if "reorder" in self._chaos:
                messages = self._delay_some(messages)
            if messages:
                self._deliver(messages)
        return len(messages)

    def _send_copies(self, messages: list[dict]) -> None:
        """Send every original message once more, as SQS's at-least-once delivery may."""
        for message in messages:
            attributes = message.get("MessageAttributes", {})
            if COPY_ATTRIBUTE in attributes:
                continue
            copied = {name: {key: value for key, value in attribute.items() if key in ("DataType", "StringValue", "BinaryValue")} for name, attribute in attributes.items()}
            copied[COPY_ATTRIBUTE] = {"DataType": "String", "StringValue": "1"}
            self._sqs.send_message(QueueUrl=self._queue_url, MessageBody=message["Body"], MessageAttributes=copied)

    def _delay_some(self, messages: list[dict]) -> list[dict]:
        """Shuffle the batch and hand a third of its first deliveries back to the queue for 1-3 s."""
        self._random.shuffle(messages)
        kept = []
        for message in messages:
            first_delivery = message.get("Attributes", {}).get("ApproximateReceiveCount") == "1"
            if first_delivery and self._random.random() < 0.33:
                delay = self._random.randint(1, 3)
                self._sqs.change_message_visibility(QueueUrl=self._queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=delay)
            else:
                kept.append(message)
        return kept

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
        # When a batch last finished (monotonic): its function may have written
        # stream records that only a stream read after this moment has seen.
        self.last_finished = 0.0

    def busy(self) -> "_Busy":
        return _Busy(self)

    @property
    def in_flight(self) -> int:
        with self._lock:
            return self._in_flight

    def _add(self, delta: int) -> None:
        with self._lock:
            self._in_flight += delta
            if delta < 0:
                self.last_finished = time.monotonic()


class _Busy:
    def __init__(self, activity: Activity) -> None:
        self._activity = activity

    def __enter__(self) -> None:
        self._activity._add(1)

    def __exit__(self, *exc: Any) -> None:
        self._activity._add(-1)
