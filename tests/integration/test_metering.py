"""The emulator's billing units, measured through boto3 against the local moto server."""

from __future__ import annotations

import uuid

import boto3
import pytest


@pytest.fixture
def dynamodb(moto_server):
    return boto3.client("dynamodb", endpoint_url=moto_server.url)


@pytest.fixture
def sqs(moto_server):
    return boto3.client("sqs", endpoint_url=moto_server.url)


@pytest.fixture
def table(dynamodb):
    """A table keyed on `pk` with a sparse KEYS_ONLY index on (`status`, `due`), as the orders table has."""
    name = f"metering-{uuid.uuid4().hex[:8]}"
    dynamodb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": attribute, "AttributeType": "S"} for attribute in ("pk", "status", "due")],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "Due",
                "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"}, {"AttributeName": "due", "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
    )
    return name


class UnitsDelta:
    """The units the emulator added while a block ran."""

    def __init__(self, moto_server) -> None:
        self._calls = moto_server.calls
        self._before = self._calls.units()

    def __getitem__(self, name: str) -> float:
        return self._calls.units().get(name, 0) - self._before.get(name, 0)


def test_put_item_write_units_from_item_size(moto_server, dynamodb, table):
    units = UnitsDelta(moto_server)

    # pk: 2 + 10 bytes, body: 4 + 1500 bytes = 1,516 bytes, so 2 write units.
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "a" * 10}, "body": {"S": "x" * 1500}})

    assert units["dynamodb:PutItem:wru"] == 2
    assert units["dynamodb:unmetered"] == 0


def test_update_item_charges_larger_of_before_and_after(moto_server, dynamodb, table):
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "a" * 10}, "body": {"S": "x" * 1500}})
    units = UnitsDelta(moto_server)

    # The item shrinks from 1,516 to 26 bytes; the larger size counts.
    dynamodb.update_item(
        TableName=table, Key={"pk": {"S": "a" * 10}}, UpdateExpression="SET body = :body", ExpressionAttributeValues={":body": {"S": "y" * 10}}
    )

    assert units["dynamodb:UpdateItem:wru"] == 2


def test_get_item_read_units_by_consistency(moto_server, dynamodb, table):
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "big"}, "body": {"S": "x" * 5000}})
    units = UnitsDelta(moto_server)

    # 3 + 3 + 4 + 5000 = 5,010 bytes: two 4 KB blocks.
    dynamodb.get_item(TableName=table, Key={"pk": {"S": "big"}}, ConsistentRead=True)
    dynamodb.get_item(TableName=table, Key={"pk": {"S": "big"}})
    dynamodb.get_item(TableName=table, Key={"pk": {"S": "missing"}}, ConsistentRead=True)

    # 2 (strong) + 1 (eventual) + 1 (a missing item still costs one unit)
    assert units["dynamodb:GetItem:rru"] == 4


def test_failed_condition_charges_existing_item(moto_server, dynamodb, table):
    dynamodb.put_item(TableName=table, Item={"pk": {"S": "taken"}, "body": {"S": "x" * 1100}})
    units = UnitsDelta(moto_server)

    with pytest.raises(dynamodb.exceptions.ConditionalCheckFailedException):
        dynamodb.put_item(TableName=table, Item={"pk": {"S": "taken"}}, ConditionExpression="attribute_not_exists(pk)")

    # The existing item is 2 + 5 + 4 + 1100 = 1,111 bytes.
    assert units["dynamodb:PutItem:wru"] == 2


def test_validation_error_costs_nothing(moto_server, dynamodb, table):
    units = UnitsDelta(moto_server)

    with pytest.raises(dynamodb.exceptions.ClientError):
        dynamodb.put_item(TableName=table, Item={"other": {"S": "no key"}})

    assert units["dynamodb:PutItem:wru"] == 0
    assert units["dynamodb:unmetered"] == 0


def test_transaction_costs_twice(moto_server, dynamodb, table):
    units = UnitsDelta(moto_server)

    dynamodb.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": table, "Item": {"pk": {"S": "t1"}}}},
            {"Put": {"TableName": table, "Item": {"pk": {"S": "t2"}}}},
        ]
    )

    assert units["dynamodb:TransactWriteItems:wru"] == 4


def test_index_writes_follow_index_membership(moto_server, dynamodb, table):
    units = UnitsDelta(moto_server)

    dynamodb.put_item(TableName=table, Item={"pk": {"S": "o1"}, "status": {"S": "1"}, "due": {"S": "2026-12-05"}})
    dynamodb.update_item(TableName=table, Key={"pk": {"S": "o1"}}, UpdateExpression="SET note = :note", ExpressionAttributeValues={":note": {"S": "n"}})
    dynamodb.update_item(TableName=table, Key={"pk": {"S": "o1"}}, UpdateExpression="REMOVE #status", ExpressionAttributeNames={"#status": "status"})

    # Entering the index and leaving it write to it; a change it does not project does not.
    assert units["dynamodb:PutItem:indexWru"] == 1
    assert units["dynamodb:UpdateItem:indexWru"] == 1


def test_query_reads_returned_items_together(moto_server, dynamodb, table):
    for number in range(3):
        dynamodb.put_item(TableName=table, Item={"pk": {"S": f"q{number}"}, "status": {"S": "open"}, "due": {"S": f"d{number}"}})
    units = UnitsDelta(moto_server)

    response = dynamodb.query(TableName=table, IndexName="Due", KeyConditionExpression="#status = :open", ExpressionAttributeNames={"#status": "status"}, ExpressionAttributeValues={":open": {"S": "open"}})

    assert response["Count"] == 3
    # Three small index entries fit one 4 KB block, read eventually consistent.
    assert units["dynamodb:Query:rru"] == 0.5


def test_sqs_requests_in_64_kb_chunks(moto_server, sqs):
    queue_url = sqs.create_queue(QueueName=f"metering-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    units = UnitsDelta(moto_server)

    sqs.send_message(QueueUrl=queue_url, MessageBody="small")
    sqs.send_message(QueueUrl=queue_url, MessageBody="x" * 100_000)

    # 1 chunk for the small message, 2 for the 100,000-byte one.
    assert units["sqs:SendMessage:requests"] == 3


def test_empty_receives_counted_apart(moto_server, sqs):
    queue_url = sqs.create_queue(QueueName=f"metering-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    units = UnitsDelta(moto_server)

    sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=0)
    sqs.send_message(QueueUrl=queue_url, MessageBody="one")
    received = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=0)

    assert len(received["Messages"]) == 1
    assert units["sqs:ReceiveMessage:requests"] == 2
    assert units["sqs:ReceiveMessage:empty"] == 1
