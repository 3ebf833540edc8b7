"""Read DynamoDB streams and invoke functions the way Lambda's stream event-source mapping does.

Records of a shard reach the function in order, in batches of up to
BatchSize. A batch whose invocation fails is retried, holding back the
records behind it, until it succeeds or MaximumRetryAttempts is used up;
then a description of it goes to the on-failure queue and the shard moves
on. With ReportBatchItemFailures, a partial failure resumes at the first
failed record.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import datetime
from typing import Any

from infra.local.invoker import FunctionError
from infra.local.template import StreamSource

log = logging.getLogger("tradewind.runtime")

# Lambda polls each shard about four times a second when there is nothing new.
IDLE_WAIT_SECONDS = 0.25
MAX_BACKOFF_SECONDS = 2.0


class StreamPoller:
    def __init__(self, streams: Any, sqs: Any, source: StreamSource, stream_arn: str, function: Any, on_failure_url: str | None, region: str, stopping: threading.Event) -> None:
        self._streams = streams
        self._sqs = sqs
        self._source = source
        self._stream_arn = stream_arn
        self._function = function
        self._on_failure_url = on_failure_url
        self._region = region
        self._stopping = stopping
        self._pending: list[dict] = []
        self._iterators: list[str] = []
        self.caught_up = False
        # When the last read found nothing new, so that an idle check can ask
        # for a read made after it began rather than trust an older one.
        self.caught_up_at = 0.0

    def run(self) -> None:
        while not self._stopping.is_set():
            try:
                if not self.poll_once():
                    self._stopping.wait(IDLE_WAIT_SECONDS)
            except Exception:
                if self._stopping.is_set():
                    return
                log.exception("reading stream of %s failed; retrying in 1 s", self._source.table)
                self._stopping.wait(1)

    def poll_once(self) -> bool:
        """Deliver the next batch, fetching records when none are pending; returns False when there was nothing to do."""
        if not self._pending:
            self._pending = self._fetch()
        if not self._pending:
            self.caught_up = True
            self.caught_up_at = time.monotonic()
            return False
        self.caught_up = False
        self._deliver_head()
        return True

    def _fetch(self) -> list[dict]:
        if not self._iterators:
            shards = self._streams.describe_stream(StreamArn=self._stream_arn)["StreamDescription"]["Shards"]
            self._iterators = [
                self._streams.get_shard_iterator(StreamArn=self._stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
                for shard in shards
            ]
        records = []
        for index, iterator in enumerate(self._iterators):
            response = self._streams.get_records(ShardIterator=iterator, Limit=1000)
            self._iterators[index] = response["NextShardIterator"]
            records.extend(response["Records"])
        return [self._record(record) for record in records]

    def _deliver_head(self) -> None:
        attempts = 0
        while self._pending and not self._stopping.is_set():
            batch = self._pending[: self._source.batch_size]
            try:
                invocation = self._function.invoke({"Records": batch})
            except FunctionError as error:
                log.info("invoke function=%s duration_ms=%.1f outcome=error error=%s batch=%d", self._function.function.name, error.duration_ms, type(error.error).__name__, len(batch))
                attempts += 1
                if self._out_of_attempts(attempts, batch):
                    return
                self._stopping.wait(min(MAX_BACKOFF_SECONDS, 0.1 * 2**attempts))
                continue

            done = self._completed_count(invocation.result, batch)
            outcome = "ok" if done == len(batch) else "partial"
            log.info("invoke function=%s duration_ms=%.1f outcome=%s batch=%d failed=%d", self._function.function.name, invocation.duration_ms, outcome, len(batch), len(batch) - done)
            self._pending = self._pending[done:]
            if done == len(batch):
                return
            # The checkpoint moved past the records that succeeded, so the
            # retry count starts again for the batch that now begins at the failure.
            attempts = 1 if done else attempts + 1
            if self._out_of_attempts(attempts, self._pending[: self._source.batch_size]):
                return
            self._stopping.wait(min(MAX_BACKOFF_SECONDS, 0.1 * 2**attempts))

    def _out_of_attempts(self, attempts: int, batch: list[dict]) -> bool:
        limit = self._source.maximum_retry_attempts
        if limit < 0 or attempts <= limit:
            return False
        self._send_to_failure_destination(batch)
        self._pending = self._pending[len(batch):]
        return True

    def _completed_count(self, result: Any, batch: list[dict]) -> int:
        if not self._source.report_batch_item_failures or not isinstance(result, dict):
            return len(batch)
        sequence_numbers = [record["dynamodb"]["SequenceNumber"] for record in batch]
        failed = [failure.get("itemIdentifier") for failure in result.get("batchItemFailures") or []]
        if not failed:
            return len(batch)
        positions = [sequence_numbers.index(identifier) for identifier in failed if identifier in sequence_numbers]
        # An identifier outside the batch fails the whole batch, as in Lambda.
        return min(positions) if len(positions) == len(failed) else 0

    def _send_to_failure_destination(self, batch: list[dict]) -> None:
        description = {
            "streamArn": self._stream_arn,
            "function": self._function.function.name,
            "batchSize": len(batch),
            "startSequenceNumber": batch[0]["dynamodb"]["SequenceNumber"],
            "endSequenceNumber": batch[-1]["dynamodb"]["SequenceNumber"],
        }
        log.error("stream batch gave up after %d retries: %s", self._source.maximum_retry_attempts, description)
        if self._on_failure_url:
            self._sqs.send_message(QueueUrl=self._on_failure_url, MessageBody=json.dumps(description))

    def _record(self, record: dict) -> dict:
        images = dict(record["dynamodb"])
        created = images.get("ApproximateCreationDateTime")
        if isinstance(created, datetime):
            images["ApproximateCreationDateTime"] = created.timestamp()
        return {
            "eventID": record.get("eventID"),
            "eventName": record["eventName"],
            "eventVersion": record.get("eventVersion", "1.1"),
            "eventSource": "aws:dynamodb",
            "awsRegion": self._region,
            "dynamodb": images,
            "eventSourceARN": self._stream_arn,
        }
