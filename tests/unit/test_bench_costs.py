"""The benchmark's usage and cost arithmetic on small inputs, with every expected figure worked out by hand."""

from __future__ import annotations

import pytest

from infra.bench.costs import Price, PriceList, cost_per_million_checkouts
from infra.bench.usage import UsageError, measure
from infra.local.template import Function, Route, ScheduleSource, Template


def price(usd: float | None, per: int = 1_000_000) -> Price:
    return Price(usd=usd, per=per, unit="unit", source="https://example.com/price", note="")


PRICES = PriceList(
    region="us-east-1",
    currency="USD",
    read_on="2026-12-04",
    prices={
        "lambda_requests": price(0.20),
        "lambda_gb_seconds": price(0.0000166667, per=1),
        "api_gateway_rest_requests": price(3.50),
        "sqs_standard_requests": price(0.40),
        "dynamodb_read_request_units": price(0.125),
        "dynamodb_write_request_units": price(0.625),
        "dynamodb_streams_read_requests": price(None),
    },
)


def test_cost_per_million_checkouts():
    per_checkout = {
        "lambda_requests": 12,
        "lambda_gb_seconds": 0.05,
        "api_gateway_rest_requests": 4,
        "sqs_standard_requests": 20,
        "dynamodb_read_request_units": 8,
        "dynamodb_write_request_units": 30,
        "dynamodb_streams_read_requests": 0,
    }

    costs = cost_per_million_checkouts(per_checkout, PRICES)

    assert costs["lambda_requests"] == pytest.approx(2.40)  # 12 million requests at $0.20 a million
    assert costs["lambda_gb_seconds"] == pytest.approx(0.833335)  # 50,000 GB-seconds at $0.0000166667
    assert costs["api_gateway_rest_requests"] == pytest.approx(14.00)
    assert costs["sqs_standard_requests"] == pytest.approx(8.00)
    assert costs["dynamodb_read_request_units"] == pytest.approx(1.00)
    assert costs["dynamodb_write_request_units"] == pytest.approx(18.75)
    # No billed stream reads: free, although the price is unknown.
    assert costs["dynamodb_streams_read_requests"] == 0
    assert costs["total"] == pytest.approx(2.40 + 0.833335 + 14.00 + 8.00 + 1.00 + 18.75)


def test_unknown_price_left_out_of_total():
    costs = cost_per_million_checkouts({"lambda_requests": 1, "dynamodb_streams_read_requests": 2}, PRICES)

    assert costs["dynamodb_streams_read_requests"] is None
    assert costs["total"] == pytest.approx(0.20)


def function(name: str, memory: int, routes: tuple[Route, ...] = (), scheduled: bool = False) -> Function:
    return Function(
        name=name,
        handler=f"functions.{name}.app",
        timeout=10,
        memory=memory,
        environment={},
        image_metadata={},
        routes=list(routes),
        schedules=[ScheduleSource("rate(1 minute)")] if scheduled else [],
    )


TEMPLATE = Template(
    tables={},
    queues={},
    functions={
        "PlaceOrder": function("PlaceOrder", 512, (Route("POST", "/orders"),)),
        "Reserve": function("Reserve", 1024),
        "Expire": function("Expire", 512, scheduled=True),
    },
)


def stats(place: tuple[int, int], reserve: tuple[int, int], expire: tuple[int, int], units: dict[str, float], calls: dict[str, int]) -> dict:
    """Build a `/_runtime/stats` document from (invocations, billed ms) per function."""
    return {
        "invocations": {
            "PlaceOrder": {"count": place[0], "errors": 0, "billedMs": place[1]},
            "Reserve": {"count": reserve[0], "errors": 0, "billedMs": reserve[1]},
            "Expire": {"count": expire[0], "errors": 0, "billedMs": expire[1]},
        },
        "awsUnits": units,
        "awsCallsByAction": calls,
    }


def test_usage_between_two_stats():
    before = stats((2, 100), (1, 50), (1, 10), {"sqs:SendMessage:requests": 5}, {"dynamodb:GetRecords": 3})
    after = stats(
        (6, 900),  # 4 invocations, 800 ms at 0.5 GB = 0.4 GB-s
        (9, 2050),  # 8 invocations, 2,000 ms at 1 GB = 2.0 GB-s
        (3, 30),  # scheduled: left out
        {
            "sqs:SendMessage:requests": 15,
            "sqs:ReceiveMessage:requests": 14,
            "sqs:ReceiveMessage:empty": 6,
            "sqs:DeleteMessageBatch:requests": 4,
            "sqs:GetQueueAttributes:requests": 30,
            "dynamodb:GetItem:rru": 3.5,
            "dynamodb:Query:rru": 0.5,
            "dynamodb:PutItem:wru": 4,
            "dynamodb:TransactWriteItems:wru": 8,
            "dynamodb:UpdateItem:indexWru": 2,
            "dynamodb:unmetered": 1,
        },
        {"dynamodb:GetRecords": 11},
    )

    usage = measure(before, after, TEMPLATE, checkouts=4)

    assert usage.lambda_requests == 12
    assert usage.lambda_gb_seconds == pytest.approx(2.4)
    assert usage.api_gateway_rest_requests == 4
    # 10 sends + 14 receives + 4 deletes, less 6 empty receives
    assert usage.sqs_standard_requests == 22
    assert usage.sqs_empty_receives == 6
    assert usage.sqs_runtime_requests == 30
    assert usage.dynamodb_read_request_units == 4
    assert usage.dynamodb_write_request_units == 14
    assert usage.dynamodb_streams_read_requests == 8
    assert usage.scheduled_invocations == 2
    assert usage.dynamodb_unmetered_calls == 1
    assert usage.dynamodb_units_by_action == {"GetItem:rru": 3.5, "PutItem:wru": 4, "Query:rru": 0.5, "TransactWriteItems:wru": 8, "UpdateItem:indexWru": 2}
    assert usage.sqs_requests_by_action["SendMessage:requests"] == 10
    assert usage.billable_per_checkout() == {
        "lambda_requests": 3,
        "lambda_gb_seconds": pytest.approx(0.6),
        "api_gateway_rest_requests": 1,
        "sqs_standard_requests": 5.5,
        "dynamodb_read_request_units": 1,
        "dynamodb_write_request_units": 3.5,
        # Read by Lambda triggers only, so not billed.
        "dynamodb_streams_read_requests": 0,
    }


def test_usage_needs_counted_calls():
    before = stats((0, 0), (0, 0), (0, 0), {}, {})
    after = {**stats((1, 5), (0, 0), (0, 0), {}, {}), "awsUnits": None}

    with pytest.raises(UsageError, match="AWS_ENDPOINT_URL"):
        measure(before, after, TEMPLATE, checkouts=1)


def test_usage_needs_billed_durations():
    before = stats((0, 0), (0, 0), (0, 0), {}, {})
    after = stats((1, 5), (0, 0), (0, 0), {}, {})
    after["invocations"]["Reserve"]["billedMs"] = None

    with pytest.raises(UsageError, match="INVOKE=process"):
        measure(before, after, TEMPLATE, checkouts=1)
