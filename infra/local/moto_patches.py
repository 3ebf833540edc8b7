"""Changes to moto that make it usable as a long-running local endpoint.

moto 5.2's TransactWriteItems deep-copies every table that a transaction
touches, once per action, so that it can roll back; with a few thousand
items that costs tens of milliseconds per transaction and grows with the
table. It also swaps whole table objects back on failure, which loses
writes made by other threads meanwhile. Here the backup covers only the
items the transaction names, and the local runtime serialises DynamoDB
requests (see emulator.py), so the rollback cannot undo anyone else's write.

Its ReceiveMessage also computes every attribute of the queue, counts of
messages included, for each message it returns, just to read the retention
period: a receive costs O(n) per message in a queue of n messages. Here the
retention period is read directly.
"""

from __future__ import annotations

import copy
import functools
from typing import Any


class _CopyWithoutTables:
    """Stands in for the `copy` module inside moto's DynamoDB backend during a transaction."""

    def __init__(self, table_class: type) -> None:
        self._table_class = table_class

    def deepcopy(self, value: Any, memo: Any = None) -> Any:
        if isinstance(value, self._table_class):
            return value
        return copy.deepcopy(value, memo)

    def copy(self, value: Any) -> Any:
        return copy.copy(value)


def install() -> None:
    """Apply every patch in this module (idempotent)."""
    _patch_transactions()
    _patch_retention_check()


def _patch_retention_check() -> None:
    from moto.core.utils import unix_time
    from moto.sqs.models import SQSBackend

    if getattr(SQSBackend.is_message_valid_based_on_retention_period, "_direct", False):
        return

    def is_message_valid_based_on_retention_period(self, queue_name: str, message: Any) -> bool:
        queue = self.get_queue(queue_name)
        return int(queue.message_retention_period) + message.sent_timestamp / 1000 > unix_time()

    is_message_valid_based_on_retention_period._direct = True
    SQSBackend.is_message_valid_based_on_retention_period = is_message_valid_based_on_retention_period


def _patch_transactions() -> None:
    import moto.dynamodb.models as models
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    original = DynamoDBBackend.transact_write_items
    if getattr(original, "_item_level_backup", False):
        return

    @functools.wraps(original)
    def transact_write_items(self, transact_items: list[dict[str, Any]]) -> None:
        try:
            backups = _back_up_items(self, transact_items, DynamoType)
        except (KeyError, TypeError, StopIteration, AttributeError):
            # A malformed request: let moto's own code produce its validation error.
            return original(self, transact_items)

        real_copy = models.copy
        models.copy = _CopyWithoutTables(Table)
        try:
            return original(self, transact_items)
        except Exception:
            for table, hash_value, range_value, item, stream_length in reversed(backups):
                _restore(table, hash_value, range_value, item)
                if table.stream_shard is not None:
                    # The undone writes must not reach stream consumers either.
                    del table.stream_shard.items[stream_length:]
            raise
        finally:
            models.copy = real_copy

    transact_write_items._item_level_backup = True
    DynamoDBBackend.transact_write_items = transact_write_items


def _back_up_items(backend: Any, transact_items: list[dict[str, Any]], dynamo_type: type) -> list[tuple]:
    backups = []
    for entry in transact_items:
        operation = next(iter(entry.values()))
        table = backend.tables.get(operation.get("TableName"))
        if table is None:
            continue
        key = operation.get("Key") or operation["Item"]
        hash_value = dynamo_type(key[table.hash_key_attr])
        range_value = dynamo_type(key[table.range_key_attr]) if table.range_key_attr else None
        item = table.get_item(hash_value, range_value)
        stream_length = len(table.stream_shard.items) if table.stream_shard is not None else 0
        backups.append((table, hash_value, range_value, copy.deepcopy(item), stream_length))
    return backups


def _restore(table: Any, hash_value: Any, range_value: Any, item: Any) -> None:
    if range_value is not None:
        if item is None:
            table.items.get(hash_value, {}).pop(range_value, None)
        else:
            table.items[hash_value][range_value] = item
    elif item is None:
        table.items.pop(hash_value, None)
    else:
        table.items[hash_value] = item
