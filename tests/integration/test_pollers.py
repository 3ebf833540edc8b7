"""The local runtime's SQS event-source mapping against moto: batches, partial failures, redrive."""

from __future__ import annotations

import json
import threading
import time
import uuid

import pytest

from infra.local.invoker import FunctionError, Invocation
from infra.local.pollers import Activity, QueuePoller
from infra.local.template import QueueSource
from tests.integration.helpers import queue_depth, sqs


class RecordingFunction:
    """Stands in for a function pool: records each event and returns a scripted result."""

    def __init__(self, respond):
        self.function = type("Function", (), {"name": "Recording"})()
        self.events: list[dict] = []
        self._respond = respond

    def invoke(self, event: dict) -> Invocation:
        self.events.append(event)
        result = self._respond(event)
        if isinstance(result, Exception):
            raise FunctionError("Recording", result, 1.0)
        return Invocation("Recording", 1.0, result)


@pytest.fixture
def queues(moto_server):
    name = f"q{uuid.uuid4().hex[:10]}"
    dead_letter_url = sqs().create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    dead_letter_arn = sqs().get_queue_attributes(QueueUrl=dead_letter_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": dead_letter_arn, "maxReceiveCount": 2})
    url = sqs().create_queue(QueueName=name, Attributes={"VisibilityTimeout": "1", "RedrivePolicy": redrive})["QueueUrl"]
    arn = sqs().get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn, dead_letter_url


def make_poller(queues, function, batch_size=10, report=True) -> QueuePoller:
    url, arn, _ = queues
    source = QueueSource(queue="Test", batch_size=batch_size, report_batch_item_failures=report)
    return QueuePoller(sqs(), source, url, arn, function, "us-east-1", threading.Event(), Activity())


def send(queues, *bodies: str) -> None:
    for body in bodies:
        sqs().send_message(QueueUrl=queues[0], MessageBody=body)


def failing_bodies(*bodies: str):
    def respond(event):
        return {"batchItemFailures": [{"itemIdentifier": record["messageId"]} for record in event["Records"] if record["body"] in bodies]}

    return respond


def test_batch_success_deletes_every_message(queues):
    send(queues, "a", "b", "c")
    function = RecordingFunction(lambda event: None)

    delivered = make_poller(queues, function).poll_once()

    assert delivered == 3
    assert sorted(record["body"] for record in function.events[0]["Records"]) == ["a", "b", "c"]
    assert queue_depth(queues[0]) == 0


def test_event_records_look_like_lambda_records(queues):
    send(queues, "a")
    function = RecordingFunction(lambda event: None)

    make_poller(queues, function).poll_once()

    record = function.events[0]["Records"][0]
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == queues[1]
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert set(record) >= {"messageId", "receiptHandle", "body", "md5OfBody", "messageAttributes", "awsRegion"}


def test_partial_failure_keeps_only_failed_message(queues):
    send(queues, "a", "b", "c")
    poller = make_poller(queues, RecordingFunction(failing_bodies("b")))

    poller.poll_once()
    time.sleep(1.2)
    retried = RecordingFunction(lambda event: None)
    make_poller(queues, retried).poll_once()

    assert [record["body"] for record in retried.events[0]["Records"]] == ["b"]
    assert retried.events[0]["Records"][0]["attributes"]["ApproximateReceiveCount"] == "2"


def test_failures_ignored_without_report_batch_item_failures(queues):
    send(queues, "a", "b")

    make_poller(queues, RecordingFunction(failing_bodies("b")), report=False).poll_once()

    assert queue_depth(queues[0]) == 0


def test_unknown_item_identifier_fails_whole_batch(queues):
    send(queues, "a", "b")
    poller = make_poller(queues, RecordingFunction(lambda event: {"batchItemFailures": [{"itemIdentifier": "not-in-batch"}]}))

    poller.poll_once()

    assert queue_depth(queues[0]) == 2


def test_batch_size_limits_each_invocation(queues):
    send(queues, "a", "b", "c")
    function = RecordingFunction(lambda event: None)
    poller = make_poller(queues, function, batch_size=2)

    poller.poll_once()
    poller.poll_once()

    assert [len(event["Records"]) for event in function.events] == [2, 1]


def test_crashing_function_sends_message_to_dead_letter_queue(queues):
    send(queues, "poison")
    poller = make_poller(queues, RecordingFunction(lambda event: RuntimeError("boom")))

    deadline = time.monotonic() + 15
    while queue_depth(queues[2]) == 0 and time.monotonic() < deadline:
        poller.poll_once()

    assert queue_depth(queues[2]) == 1
    assert queue_depth(queues[0]) == 0
    dead = sqs().receive_message(QueueUrl=queues[2])["Messages"][0]
    assert dead["Body"] == "poison"
