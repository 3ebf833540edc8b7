"""The dead-letter redrive against provisioned queues in moto."""

from __future__ import annotations

import pytest

from infra.ops import redrive
from tests.integration.helpers import queue_depth, sqs


def stack_name_of(deployment) -> str:
    return deployment.table_names["OrdersTable"].rsplit("-", 1)[0]


def dead_letter_url(deployment, queue: str) -> str:
    return deployment.queue_urls[deployment.dead_letter_queues[queue]]


def put_dead_letters(url: str, count: int) -> list[str]:
    bodies = [f'{{"type": "ReserveStock", "orderId": "ord_{index}"}}' for index in range(count)]
    for index, body in enumerate(bodies):
        attributes = {
            "correlationId": {"DataType": "String", "StringValue": f"corr-{index}"},
            "attempt": {"DataType": "Number", "StringValue": str(index + 1)},
        }
        sqs().send_message(QueueUrl=url, MessageBody=body, MessageAttributes=attributes)
    return bodies


def receive_everything(url: str) -> list[dict]:
    messages = []
    while True:
        batch = sqs().receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0, MessageAttributeNames=["All"]).get("Messages", [])
        if not batch:
            return messages
        for message in batch:
            messages.append(message)
            sqs().delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


@pytest.mark.parametrize("name", ["ReserveStockQueue", "ReserveStockDeadLetterQueue"])
def test_redrive_moves_every_message_back(deployment, capsys, name):
    bodies = put_dead_letters(dead_letter_url(deployment, "ReserveStockQueue"), 3)

    code = redrive.main([name, "--stack-name", stack_name_of(deployment)])

    assert code == 0
    assert "moved 3 messages" in capsys.readouterr().out
    messages = receive_everything(deployment.queue_urls["ReserveStockQueue"])
    assert sorted(message["Body"] for message in messages) == sorted(bodies)
    for message in messages:
        index = message["Body"].split("ord_")[1].rstrip('"}')
        assert message["MessageAttributes"]["correlationId"]["StringValue"] == f"corr-{index}"
        assert message["MessageAttributes"]["attempt"] == {"DataType": "Number", "StringValue": str(int(index) + 1)}
    assert queue_depth(dead_letter_url(deployment, "ReserveStockQueue")) == 0


def test_redrive_stops_at_max(deployment, capsys):
    put_dead_letters(dead_letter_url(deployment, "CapturePaymentQueue"), 12)

    code = redrive.main(["CapturePaymentQueue", "--max", "11", "--stack-name", stack_name_of(deployment)])

    assert code == 0
    assert "moved 11 messages" in capsys.readouterr().out
    assert len(receive_everything(deployment.queue_urls["CapturePaymentQueue"])) == 11
    assert queue_depth(dead_letter_url(deployment, "CapturePaymentQueue")) == 1


def test_redrive_of_empty_queue_moves_nothing(deployment, capsys):
    code = redrive.main(["OrderEventsQueue", "--stack-name", stack_name_of(deployment)])

    assert code == 0
    assert "moved 0 messages" in capsys.readouterr().out


def test_unknown_queue_exits_2(deployment, capsys):
    code = redrive.main(["NoSuchQueue", "--stack-name", stack_name_of(deployment)])

    assert code == 2
    error = capsys.readouterr().err
    assert "unknown queue 'NoSuchQueue'" in error
    for queue in deployment.dead_letter_queues:
        assert queue in error
    # A queue without a dead-letter queue of its own cannot be redriven.
    assert "OutboxFailureQueue" not in error
