"""Move the messages of a queue's dead-letter queue back to the queue.

Usage: python -m infra.ops.redrive QUEUE [--max N] [--stack-name NAME] [--endpoint-url URL]

QUEUE is a logical id from template.yaml, either the source queue
(ReserveStockQueue) or its dead-letter queue (ReserveStockDeadLetterQueue).
The dead-letter queue is found from the source queue's RedrivePolicy. A
message is deleted from the dead-letter queue only after the source queue
accepted it, so a crash between the two steps sends it twice. The consumers
are idempotent, so a duplicate changes nothing. Exits 0 when every message
received was moved, 1 when some could not be sent, 2 when the queue or the
endpoint is not found.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from infra.local.guard import NonLocalEndpoint
from infra.ops.connection import DEFAULT_STACK_NAME, START_HINT, EndpointUnavailable, aws_client, resolve_endpoint

BATCH_SIZE = 10  # the maximum batch of ReceiveMessage and SendMessageBatch
# Short polling samples only some SQS servers, so one empty receive does not prove the queue empty.
EMPTY_RECEIVES_TO_STOP = 2
# CloudFormation logical ids are alphanumeric, which keeps other stacks' queues that share the prefix out.
LOGICAL_ID = re.compile(r"[A-Za-z0-9]+")


@dataclass(frozen=True)
class RedriveTarget:
    """A source queue and the dead-letter queue that its RedrivePolicy names."""

    source_name: str
    source_url: str
    dead_letter_name: str
    dead_letter_url: str


@dataclass(frozen=True)
class RedriveResult:
    moved: int
    failed: int


class UnknownQueue(Exception):
    """The requested queue is neither a queue with a dead-letter queue nor such a dead-letter queue."""


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m infra.ops.redrive", description="Move a dead-letter queue's messages back to its source queue.")
    parser.add_argument("queue", nargs="?", default=os.environ.get("QUEUE") or None, help="source queue or dead-letter queue, by logical id (default: QUEUE)")
    # argparse converts a string default with `type`, so an invalid MAX fails as a usage error.
    parser.add_argument("--max", type=int, default=os.environ.get("MAX") or None, help="move at most this many messages (default: MAX, else all)")
    parser.add_argument("--stack-name", default=os.environ.get("STACK_NAME") or DEFAULT_STACK_NAME, help="prefix of the queue names (default: STACK_NAME or tradewind)")
    parser.add_argument("--endpoint-url", default=None, help="AWS endpoint on loopback (default: AWS_ENDPOINT_URL, else the one the runtime on PORT reports)")
    arguments = parser.parse_args(argv)
    if arguments.max is not None and arguments.max < 1:
        parser.error(f"--max must be at least 1, not {arguments.max}")
    return arguments


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    try:
        endpoint = resolve_endpoint(arguments.endpoint_url, service="sqs")
        sqs = aws_client("sqs", endpoint)
        queues = queues_with_dead_letter(sqs, arguments.stack_name)
    except (EndpointUnavailable, NonLocalEndpoint) as error:
        print(f"redrive failed: {error}", file=sys.stderr)
        return 2
    except (BotoCoreError, ClientError) as error:
        print(f"redrive failed: cannot list the queues ({error}); {START_HINT}", file=sys.stderr)
        return 2

    try:
        target = find_target(queues, arguments.queue, arguments.stack_name)
    except UnknownQueue as error:
        print(f"redrive failed: {error}", file=sys.stderr)
        return 2

    result = redrive(sqs, target, arguments.max)
    noun = "message" if result.moved == 1 else "messages"
    print(f"moved {result.moved} {noun} from {target.dead_letter_name} to {target.source_name}")
    if result.failed:
        print(f"redrive failed for {result.failed} messages. They stay in {target.dead_letter_name} and reappear after its visibility timeout", file=sys.stderr)
        return 1
    return 0


def queues_with_dead_letter(sqs: Any, stack_name: str) -> dict[str, RedriveTarget]:
    """Map the logical id of each stack queue that has a RedrivePolicy to it and its dead-letter queue."""
    prefix = f"{stack_name}-"
    urls = sqs.list_queues(QueueNamePrefix=prefix).get("QueueUrls", [])
    targets = {}
    for url in urls:
        name = url.rsplit("/", 1)[1]
        logical_id = name.removeprefix(prefix).removesuffix(".fifo")
        if not LOGICAL_ID.fullmatch(logical_id):
            continue
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"]).get("Attributes", {})
        if "RedrivePolicy" not in attributes:
            continue
        # The ARN ends with the queue name: arn:aws:sqs:<region>:<account>:<name>.
        dead_letter_name = json.loads(attributes["RedrivePolicy"])["deadLetterTargetArn"].rsplit(":", 1)[1]
        dead_letter_url = sqs.get_queue_url(QueueName=dead_letter_name)["QueueUrl"]
        targets[logical_id] = RedriveTarget(name, url, dead_letter_name, dead_letter_url)
    return targets


def find_target(queues: dict[str, RedriveTarget], requested: str | None, stack_name: str) -> RedriveTarget:
    """Return the target for a source queue or dead-letter queue, by logical id or by physical name."""
    if requested:
        logical_id = requested.removeprefix(f"{stack_name}-").removesuffix(".fifo")
        if logical_id in queues:
            return queues[logical_id]
        for target in queues.values():
            if requested in (target.dead_letter_name, target.dead_letter_name.removeprefix(f"{stack_name}-").removesuffix(".fifo")):
                return target
    known = ", ".join(sorted(queues)) or f"none (no queue named {stack_name}-* has a RedrivePolicy; {START_HINT})"
    requested_text = repr(requested) if requested else "(none given)"
    raise UnknownQueue(f"unknown queue {requested_text}: set QUEUE to one of the queues with a dead-letter queue: {known}")


def redrive(sqs: Any, target: RedriveTarget, limit: int | None = None) -> RedriveResult:
    """Move up to `limit` messages (all when None) from the dead-letter queue to the source queue."""
    moved = failed = empty_receives = 0
    while empty_receives < EMPTY_RECEIVES_TO_STOP and (limit is None or moved + failed < limit):
        count = BATCH_SIZE if limit is None else min(BATCH_SIZE, limit - moved - failed)
        messages = sqs.receive_message(
            QueueUrl=target.dead_letter_url,
            MaxNumberOfMessages=count,
            WaitTimeSeconds=0,
            MessageAttributeNames=["All"],
            AttributeNames=["MessageGroupId", "MessageDeduplicationId"],
        ).get("Messages", [])
        if not messages:
            empty_receives += 1
            continue
        empty_receives = 0

        entries = [_send_entry(str(index), message) for index, message in enumerate(messages)]
        response = sqs.send_message_batch(QueueUrl=target.source_url, Entries=entries)
        for failure in response.get("Failed", []):
            print(f"sending message {messages[int(failure['Id'])]['MessageId']} failed: {failure.get('Code')} {failure.get('Message', '')}", file=sys.stderr)
        sent = [messages[int(success["Id"])] for success in response.get("Successful", [])]
        failed += len(messages) - len(sent)

        if sent:
            deletes = [{"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]} for index, message in enumerate(sent)]
            deleted = sqs.delete_message_batch(QueueUrl=target.dead_letter_url, Entries=deletes)
            for failure in deleted.get("Failed", []):
                # The copy in the source queue is kept, so this one returns to the dead-letter queue as a duplicate.
                print(f"deleting message {sent[int(failure['Id'])]['MessageId']} from {target.dead_letter_name} failed: {failure.get('Code')}", file=sys.stderr)
        moved += len(sent)
    return RedriveResult(moved=moved, failed=failed)


def _send_entry(entry_id: str, message: dict) -> dict:
    entry = {"Id": entry_id, "MessageBody": message["Body"]}
    attributes = {name: _attribute_value(value) for name, value in message.get("MessageAttributes", {}).items()}
    if attributes:
        entry["MessageAttributes"] = attributes
    # A FIFO dead-letter queue only serves a FIFO source queue, which needs these two.
    system = message.get("Attributes", {})
    if "MessageGroupId" in system:
        entry["MessageGroupId"] = system["MessageGroupId"]
    if "MessageDeduplicationId" in system:
        entry["MessageDeduplicationId"] = system["MessageDeduplicationId"]
    return entry


def _attribute_value(value: dict) -> dict:
    # Received attributes may carry empty list fields that SendMessage rejects.
    return {key: value[key] for key in ("DataType", "StringValue", "BinaryValue") if key in value}


if __name__ == "__main__":
    sys.exit(main())
