"""Measure the AWS calls that pass through the local emulator in the units AWS bills.

The emulator counts calls by action. This adds, per action:

- `sqs:<Action>:requests`: SQS requests as billed, one per started 64 KB of
  the larger of the request and response bodies (HTTP bodies, so protocol
  overhead counts too), and `sqs:ReceiveMessage:empty` for receives that
  returned no message;
- `dynamodb:<Action>:rru` and `dynamodb:<Action>:wru`: estimated on-demand
  read and write request units from the sizes of the items each call reads
  or writes, looked up in moto's tables before and after the call, and
  `dynamodb:<Action>:indexWru` for global secondary index writes;
- `dynamodb:unmetered`: calls whose units could not be estimated.

DynamoDB calls must be serialised by the caller (the emulator holds a lock),
so that the items seen before and after a call are that call's own effect.
"""

from __future__ import annotations

import io
import json
import logging
import math
import re
from typing import Any, Callable, Iterable

from infra.local import capacity

log = logging.getLogger("tradewind.emulator")

SQS_CHUNK_BYTES = 64 * 1024
_REGION_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/")

READ_ACTIONS = frozenset({"GetItem", "BatchGetItem", "TransactGetItems", "Query", "Scan"})
WRITE_ACTIONS = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})
# Failed writes of these kinds still consume write units; other errors (validation) consume none.
CHARGED_ERRORS = ("ConditionalCheckFailedException", "TransactionCanceledException")


class _Exchange:
    """One request through the WSGI app, with its body and the response kept for metering."""

    def __init__(self, environ: dict) -> None:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        self.request_body = environ["wsgi.input"].read(length) if length else b""
        # The app reads the body again, so it gets a fresh stream over the same bytes.
        environ["wsgi.input"] = io.BytesIO(self.request_body)
        self.status = 0
        self.response_body = b""

    def run(self, app: Callable, environ: dict, start_response: Callable) -> list[bytes]:
        def capture(status: str, headers: list, exc_info: Any = None) -> Any:
            self.status = int(status.split(" ", 1)[0])
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        result: Iterable[bytes] = app(environ, capture)
        try:
            chunks = list(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        self.response_body = b"".join(chunks)
        return chunks

    def request_json(self) -> dict:
        return json.loads(self.request_body) if self.request_body else {}

    def response_json(self) -> dict:
        return json.loads(self.response_body) if self.response_body else {}


class UsageMeter:
    """Runs each call through moto and adds its billing units to `add(name, amount)`."""

    def __init__(self, add: Callable[[str, float], None]) -> None:
        self._add = add

    def call(self, service: str, action: str, environ: dict, start_response: Callable, app: Callable) -> Iterable[bytes]:
        if service == "sqs":
            return self._sqs(action, environ, start_response, app)
        if service == "dynamodb" and (action in READ_ACTIONS or action in WRITE_ACTIONS):
            return self._dynamodb(action, environ, start_response, app)
        return app(environ, start_response)

    def _sqs(self, action: str, environ: dict, start_response: Callable, app: Callable) -> list[bytes]:
        exchange = _Exchange(environ)
        chunks = exchange.run(app, environ, start_response)
        larger = max(len(exchange.request_body), len(exchange.response_body), 1)
        requests = math.ceil(larger / SQS_CHUNK_BYTES)
        self._add(f"sqs:{action}:requests", requests)
        if action == "ReceiveMessage" and exchange.status == 200 and _received_nothing(exchange.response_body):
            self._add("sqs:ReceiveMessage:empty", requests)
        return chunks

    def _dynamodb(self, action: str, environ: dict, start_response: Callable, app: Callable) -> list[bytes]:
        exchange = _Exchange(environ)
        request: dict = {}
        lookup: _ItemLookup | None = None
        targets: _Targets | None = None
        # A failed estimate must never fail the application's call, so any
        # error while estimating only counts the call as unmetered.
        try:
            request = exchange.request_json()
            lookup = _ItemLookup(_region(environ))
            targets = lookup.before(action, request)
        except Exception:
            log.debug("cannot read the items of a %s call", action, exc_info=True)
        chunks = exchange.run(app, environ, start_response)
        try:
            units = _dynamodb_units(action, request, exchange, lookup, targets)
        except Exception:
            log.debug("cannot estimate the units of a %s call", action, exc_info=True)
            units = None
        if units is None:
            self._add("dynamodb:unmetered", 1)
            return chunks
        for name, amount in units.items():
            if amount:
                self._add(f"dynamodb:{action}:{name}", amount)
        return chunks


def _dynamodb_units(action: str, request: dict, exchange: _Exchange, lookup: _ItemLookup | None, targets: _Targets | None) -> dict[str, float] | None:
    """Return the call's units by kind (`rru`, `wru`, `indexWru`), {} for a call AWS does not charge, None when unknown."""
    response = exchange.response_json()
    if exchange.status >= 400 and not str(response.get("__type", "")).endswith(CHARGED_ERRORS):
        return {}
    if lookup is None or targets is None:
        return None
    if action in READ_ACTIONS:
        return {"rru": _read_units(action, request, response, targets)}
    return targets.write_units(action, lookup.after(targets))


def _received_nothing(body: bytes) -> bool:
    try:
        return not json.loads(body).get("Messages")
    except (ValueError, AttributeError):
        # An XML body, from SDKs that still use SQS's query protocol.
        return b"<Message>" not in body


def _region(environ: dict) -> str:
    match = _REGION_SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
    return match.group(1) if match else "us-east-1"


class _Targets:
    """The items a call names by key, each as (table, key, operation, item before the call)."""

    def __init__(self, targets: list[tuple[str, dict, str, dict | None]]) -> None:
        self.targets = targets
        # Per table: each global secondary index's key attributes and projected attributes (None for ALL).
        self.indexes: dict[str, list[tuple[list[str], list[str] | None]]] = {}

    def write_units(self, action: str, after_items: list[dict | None]) -> dict[str, float]:
        factor = capacity.TRANSACTION_FACTOR if action == "TransactWriteItems" else 1
        item_units = 0
        index_units = 0
        for (table, _key, operation, before), after in zip(self.targets, after_items):
            if operation == "ConditionCheck":
                # NOTE: counted as a transactional strongly consistent read of
                # the checked item; Tradewind's functions send no ConditionCheck.
                continue
            item_units += capacity.write_units(max(capacity.item_size(before), capacity.item_size(after)))
            for index_keys, projected in self.indexes.get(table, []):
                index_units += capacity.index_write_units(index_keys, projected, before, after)
        return {"wru": factor * item_units, "indexWru": factor * index_units, "rru": self._condition_check_units()}

    def _condition_check_units(self) -> float:
        checks = [before for _table, _key, operation, before in self.targets if operation == "ConditionCheck"]
        return sum(capacity.TRANSACTION_FACTOR * capacity.read_units(capacity.item_size(before), True) for before in checks)


class _ItemLookup:
    """Reads items straight from moto's DynamoDB backend, without going through its HTTP API."""

    def __init__(self, region: str) -> None:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.dynamodb.models import dynamodb_backends

        self._backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][region]

    def before(self, action: str, request: dict) -> _Targets:
        """Look up every item the call names by key, as it is before the call."""
        targets = _Targets([(table, key, operation, self.item(table, key)) for table, key, operation in self._targets(action, request)])
        for table in {table for table, *_ in targets.targets}:
            targets.indexes[table] = self._indexes(table)
        return targets

    def after(self, targets: _Targets) -> list[dict | None]:
        """Look up the same items again, after the call."""
        return [self.item(table, key) for table, key, _operation, _before in targets.targets]

    def item(self, table_name: str, key: dict) -> dict | None:
        table = self._backend.get_table(table_name)
        hash_key, range_key = self._backend.get_keys_value(table, key)
        found = table.get_item(hash_key, range_key)
        return found.to_json()["Attributes"] if found is not None else None

    def _key_of(self, table_name: str, item: dict) -> dict:
        table = self._backend.get_table(table_name)
        names = [table.hash_key_attr] + ([table.range_key_attr] if table.range_key_attr else [])
        return {name: item[name] for name in names}

    def _indexes(self, table_name: str) -> list[tuple[list[str], list[str] | None]]:
        table = self._backend.get_table(table_name)
        table_keys = [table.hash_key_attr] + ([table.range_key_attr] if table.range_key_attr else [])
        indexes = []
        for index in table.global_indexes or []:
            index_keys = [element["AttributeName"] for element in index.schema]
            projection = index.projection or {}
            kind = projection.get("ProjectionType", "ALL")
            projected = None if kind == "ALL" else table_keys + index_keys + list(projection.get("NonKeyAttributes", []))
            indexes.append((index_keys, projected))
        return indexes

    def _targets(self, action: str, request: dict) -> list[tuple[str, dict, str]]:
        """Return (table, key, operation) for every item the call reads or writes by key."""
        if action in ("GetItem", "UpdateItem", "DeleteItem"):
            return [(request["TableName"], request["Key"], action)]
        if action == "PutItem":
            return [(request["TableName"], self._key_of(request["TableName"], request["Item"]), action)]
        if action == "BatchGetItem":
            return [(table, key, "Get") for table, spec in request["RequestItems"].items() for key in spec["Keys"]]
        if action == "BatchWriteItem":
            targets = []
            for table, entries in request["RequestItems"].items():
                for entry in entries:
                    if "PutRequest" in entry:
                        targets.append((table, self._key_of(table, entry["PutRequest"]["Item"]), "Put"))
                    else:
                        targets.append((table, entry["DeleteRequest"]["Key"], "Delete"))
            return targets
        if action in ("TransactWriteItems", "TransactGetItems"):
            targets = []
            for entry in request["TransactItems"]:
                ((operation, spec),) = entry.items()
                key = self._key_of(spec["TableName"], spec["Item"]) if operation == "Put" else spec["Key"]
                targets.append((spec["TableName"], key, operation))
            return targets
        # Query and Scan name no keys: their units come from the items they return.
        return []


def _read_units(action: str, request: dict, response: dict, targets: _Targets) -> float:
    if action in ("Query", "Scan"):
        # NOTE: AWS charges a Query or Scan for the items it evaluated before any
        # filter, but this counts the items returned. The two are equal without a
        # FilterExpression, and Tradewind's functions send none.
        returned = sum(capacity.item_size(item) for item in response.get("Items", []))
        return capacity.read_units(returned, bool(request.get("ConsistentRead")))
    if action == "GetItem":
        ((_table, _key, _operation, before),) = targets.targets
        return capacity.read_units(capacity.item_size(before), bool(request.get("ConsistentRead")))
    if action == "BatchGetItem":
        consistent = {table: bool(spec.get("ConsistentRead")) for table, spec in request["RequestItems"].items()}
        return sum(capacity.read_units(capacity.item_size(before), consistent[table]) for table, _key, _operation, before in targets.targets)
    # TransactGetItems
    return sum(capacity.TRANSACTION_FACTOR * capacity.read_units(capacity.item_size(before), True) for *_rest, before in targets.targets)
