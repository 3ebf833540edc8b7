"""Measure the emulator's raw call rate: a burst of PutItem and SendMessage calls straight to moto.

The checkout's throughput can then be read as a share of what the emulator
serves when nothing else runs. The burst uses a table and queues of its own,
deleted afterwards, and runs after the load so that it does not slow it down.
"""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

from infra.local import guard

# About the size of an order or a saga message, so that the rate is comparable.
PAYLOAD = "x" * 400
# The emulator ignores credentials; these only let botocore sign its requests.
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
# The best of a few rounds counts, because other processes on the machine slow single rounds down.
ROUNDS = 3


def measure_ceiling(dynamodb_url: str, sqs_url: str, region: str, calls: int, concurrency: int) -> dict:
    """Send `calls` PutItem calls and then `calls` SendMessage calls from `concurrency` threads, ROUNDS times each.

    Returns each kind's best rate in calls per second, with every round's rate.
    """
    import boto3
    from botocore.config import Config

    guard.install()
    for url in (dynamodb_url, sqs_url):
        guard.check_endpoint(url)
    config = Config(max_pool_connections=max(10, concurrency))
    dynamodb = boto3.client("dynamodb", endpoint_url=dynamodb_url, region_name=region, config=config, **CREDENTIALS)
    sqs = boto3.client("sqs", endpoint_url=sqs_url, region_name=region, config=config, **CREDENTIALS)
    name = f"bench-ceiling-{uuid.uuid4().hex[:8]}"

    dynamodb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
    )
    try:
        put_item = _burst(lambda index: dynamodb.put_item(TableName=name, Item={"pk": {"S": f"item-{index}"}, "payload": {"S": PAYLOAD}}), calls, concurrency)
    finally:
        dynamodb.delete_table(TableName=name)

    # Every round sends to an empty queue of its own. moto 5.2's SendMessage
    # reads queue attributes that count every message in the queue, so it
    # slows down as the queue fills. On a 2-core machine it went from about
    # 140 calls/s into an empty queue to 30 with 1,200 messages queued.
    queue_urls = [sqs.create_queue(QueueName=f"{name}-{round_number}")["QueueUrl"] for round_number in range(ROUNDS)]
    try:
        send_message = _burst(lambda index: sqs.send_message(QueueUrl=queue_urls[index // calls], MessageBody=PAYLOAD), calls, concurrency)
    finally:
        for queue_url in queue_urls:
            sqs.delete_queue(QueueUrl=queue_url)
    return {"dynamodb_put_item": put_item, "sqs_send_message": send_message, "concurrency": concurrency}


def _burst(call: Callable[[int], Any], calls: int, concurrency: int) -> dict:
    rates = []
    with ThreadPoolExecutor(concurrency, thread_name_prefix="ceiling") as pool:
        for round_number in range(ROUNDS):
            started = time.perf_counter()
            # list() re-raises the first failed call.
            list(pool.map(call, range(round_number * calls, (round_number + 1) * calls)))
            rates.append(round(calls / (time.perf_counter() - started), 1))
    return {"calls": calls, "rounds": rates, "per_second": max(rates)}
