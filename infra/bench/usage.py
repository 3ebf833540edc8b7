"""Turn the runtime's counters before and after the load into billable AWS usage per checkout."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass

from infra.local.template import Template

MB_PER_GB = 1024
MS_PER_SECOND = 1000

# SQS actions of a deployed stack: the functions send, and Lambda's event-source
# mappings receive, delete and hand back. The local runtime's own queue checks
# (GetQueueAttributes for /_runtime/idle) would not exist in AWS.
DEPLOYED_SQS_ACTIONS = frozenset(
    {"SendMessage", "SendMessageBatch", "ReceiveMessage", "DeleteMessage", "DeleteMessageBatch", "ChangeMessageVisibility", "ChangeMessageVisibilityBatch"}
)

# The usage fields that have a price in prices.json, under the same names.
PRICED = (
    "lambda_requests",
    "lambda_gb_seconds",
    "api_gateway_rest_requests",
    "sqs_standard_requests",
    "dynamodb_read_request_units",
    "dynamodb_write_request_units",
    "dynamodb_streams_read_requests",
)


class UsageError(Exception):
    """The runtime's counters lack what the usage needs."""


@dataclass(frozen=True)
class Usage:
    """Billable AWS usage of the whole load, in totals, and what was left out of it."""

    checkouts: int
    lambda_requests: int
    lambda_gb_seconds: float
    api_gateway_rest_requests: int
    sqs_standard_requests: float  # deployed actions, in 64 KB chunks, without empty receives
    dynamodb_read_request_units: float  # an estimate from item sizes
    dynamodb_write_request_units: float  # an estimate from item sizes, index writes included
    dynamodb_streams_read_requests: int  # GetRecords calls, all of them by Lambda triggers, so free
    # Left out of the totals above:
    sqs_empty_receives: float  # depend on how long and how many pollers wait, not on checkouts
    sqs_runtime_requests: float  # the local runtime's own checks
    scheduled_invocations: int  # scheduled functions run by the clock, not per checkout
    dynamodb_unmetered_calls: int  # calls whose units could not be estimated
    invocations_by_function: dict[str, int]
    billed_ms_by_function: dict[str, int]
    gb_seconds_by_function: dict[str, float]
    dynamodb_units_by_action: dict[str, float]  # e.g. "PutItem:wru"
    sqs_requests_by_action: dict[str, float]  # e.g. "SendMessage:requests" and "ReceiveMessage:empty"

    def billable_per_checkout(self) -> dict[str, float]:
        """Return each billed quantity divided by the checkouts, keyed as in prices.json."""
        quantities = {name: getattr(self, name) / self.checkouts for name in PRICED}
        # Every stream is read by a Lambda trigger, and AWS does not charge those GetRecords calls.
        quantities["dynamodb_streams_read_requests"] = 0.0
        return quantities

    def as_report(self) -> dict:
        return asdict(self)


def measure(before: dict, after: dict, template: Template, checkouts: int) -> Usage:
    """Return the usage between two `/_runtime/stats` documents of a runtime running `template`.

    Raises UsageError when the runtime counted no AWS calls (one started with
    AWS_ENDPOINT_URL) or did not time its functions (functions in containers).
    """
    if after.get("awsUnits") is None or after.get("awsCallsByAction") is None:
        raise UsageError("the runtime counts no AWS calls because it uses an external AWS_ENDPOINT_URL: run the benchmark against a runtime that starts its own moto")
    if checkouts < 1:
        raise UsageError("no checkout was placed, so there is nothing to divide the usage by")

    invocations = _delta_invocations(before, after, "count")
    billed_ms = _delta_invocations(before, after, "billedMs")
    units = _delta(before.get("awsUnits") or {}, after["awsUnits"])
    calls = _delta(before.get("awsCallsByAction") or {}, after["awsCallsByAction"])

    scheduled = {name for name, function in template.functions.items() if function.schedules}
    routed = {name for name, function in template.functions.items() if function.routes}
    per_checkout_functions = [name for name in invocations if name not in scheduled]
    gb_seconds = {name: billed_ms[name] / MS_PER_SECOND * _memory_mb(template, name) / MB_PER_GB for name in invocations if invocations[name]}

    sqs_requests = sum(amount for name, amount in units.items() if _sqs_action(name) in DEPLOYED_SQS_ACTIONS)
    empty_receives = units.get("sqs:ReceiveMessage:empty", 0)
    runtime_requests = sum(amount for name, amount in units.items() if _sqs_action(name) not in DEPLOYED_SQS_ACTIONS | {None})
    return Usage(
        checkouts=checkouts,
        lambda_requests=sum(invocations[name] for name in per_checkout_functions),
        lambda_gb_seconds=sum(gb_seconds.get(name, 0.0) for name in per_checkout_functions),
        api_gateway_rest_requests=sum(count for name, count in invocations.items() if name in routed),
        sqs_standard_requests=sqs_requests - empty_receives,
        dynamodb_read_request_units=sum(amount for name, amount in units.items() if name.startswith("dynamodb:") and name.endswith(":rru")),
        dynamodb_write_request_units=sum(amount for name, amount in units.items() if name.startswith("dynamodb:") and name.endswith((":wru", ":indexWru"))),
        dynamodb_streams_read_requests=calls.get("dynamodb:GetRecords", 0),
        sqs_empty_receives=empty_receives,
        sqs_runtime_requests=runtime_requests,
        scheduled_invocations=sum(invocations[name] for name in invocations if name in scheduled),
        dynamodb_unmetered_calls=int(units.get("dynamodb:unmetered", 0)),
        invocations_by_function={name: count for name, count in sorted(invocations.items()) if count},
        billed_ms_by_function={name: billed_ms[name] for name in sorted(invocations) if invocations[name]},
        gb_seconds_by_function={name: round(gb_seconds[name], 6) for name in sorted(gb_seconds)},
        dynamodb_units_by_action=_by_action(units, "dynamodb"),
        sqs_requests_by_action=_by_action(units, "sqs"),
    )


def _delta_invocations(before: dict, after: dict, field: str) -> dict[str, int]:
    result = {}
    for name, counts in after["invocations"].items():
        if counts.get(field) is None:
            raise UsageError(f"the runtime reports no {field} for {name}: run the benchmark with functions in-process (INVOKE=process)")
        result[name] = counts[field] - before["invocations"].get(name, {}).get(field, 0)
    return result


def _delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    delta = Counter(after)
    delta.subtract(before)
    return {name: amount for name, amount in delta.items() if amount}


def _by_action(units: dict[str, float], service: str) -> dict[str, float]:
    prefix = f"{service}:"
    return {name.removeprefix(prefix): round(amount, 2) for name, amount in sorted(units.items()) if name.startswith(prefix) and name != "dynamodb:unmetered"}


def _memory_mb(template: Template, name: str) -> int:
    function = template.functions.get(name)
    if function is None:
        raise UsageError(f"function {name} ran on the runtime but is not in template.yaml: restart the runtime after changing the template")
    return function.memory


def _sqs_action(unit_name: str) -> str | None:
    """Return the action of an `sqs:<Action>:requests` unit name, None for any other name."""
    service, _, rest = unit_name.partition(":")
    action, _, kind = rest.partition(":")
    return action if service == "sqs" and kind == "requests" else None
