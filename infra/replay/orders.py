"""Replay one Olist order through the API: place it, follow its saga, and post its carrier events."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

import requests

from infra.replay.client import ApiClient
from infra.replay.dataset import OlistOrder
from infra.replay.settings import ReplaySettings

# The API state each Olist status should end in. Canceled and unavailable
# orders are cancelled through the API once they are paid (or as soon as
# they are accepted, when never approved), before any carrier event.
EXPECTED_STATES = {
    "delivered": "DELIVERED",
    "shipped": "SHIPPED",
    "invoiced": "PAID",
    "processing": "PAID",
    "approved": "PAID",
    "canceled": "CANCELLED",
    "unavailable": "CANCELLED",
}
CANCELLED_STATUSES = frozenset({"canceled", "unavailable"})

# States an order never leaves, as in `shared.orders.model.FINAL_STATES`.
FINAL_STATES = frozenset({"DELIVERED", "REJECTED", "PAYMENT_FAILED", "CANCELLED", "EXPIRED"})

# Final states of orders that the replay could not follow inside the API.
NOT_ACCEPTED = "NOT_ACCEPTED"  # POST /orders returned an error status
NO_RESPONSE = "NO_RESPONSE"  # a request failed without an HTTP response

PAYMENT_TOKENS = {True: "tok_success", False: "tok_decline"}


@dataclass(frozen=True)
class OrderOutcome:
    olist_order_id: str
    olist_status: str
    expected: str | None
    order_id: str | None  # the API's id, None when the order was not accepted
    final_status: str
    place_order_ms: float | None
    to_delivered_ms: float | None  # from sending POST /orders until DELIVERED was read
    timed_out: bool
    reads: int  # GET /orders/{id} requests spent polling
    started: float  # time.monotonic() when POST /orders was sent
    finished: float  # time.monotonic() when its replay ended, after the last read


class OrderReplayer:
    """Replay orders one at a time per thread; safe to share between threads."""

    def __init__(self, api: ApiClient, settings: ReplaySettings) -> None:
        self.api = api
        self.settings = settings

    def replay(self, order: OlistOrder) -> OrderOutcome:
        try:
            # A shopper already has a token before checking out, so minting it stays outside the measured time.
            token = self.api.customer_token(order.customer_id)
        except requests.RequestException:
            token = None
        progress = _Progress(order, EXPECTED_STATES.get(order.status), self.settings.order_timeout)
        progress.token = token
        try:
            if token is None:
                progress.final_status = NO_RESPONSE
            else:
                self._replay(order, progress)
        except requests.RequestException:
            progress.final_status = NO_RESPONSE
        return progress.outcome()

    def _replay(self, order: OlistOrder, progress: _Progress) -> None:
        body = {
            "customerId": order.customer_id,
            "lines": [{"sku": line.sku, "quantity": line.quantity} for line in order.lines],
            # Olist approves an order once its payment clears, so an order never approved is replayed with a declined payment.
            "payment": {"token": PAYMENT_TOKENS[order.approved_at is not None]},
        }
        response = self.api.request("POST", "/orders", body, token=progress.token)
        progress.place_order_ms = (time.monotonic() - progress.started) * 1000
        if response.status_code != 202:
            progress.final_status = NOT_ACCEPTED
            return
        progress.order_id = response.json()["orderId"]
        progress.final_status = response.json()["status"]

        # The shipment exists once the order is PAID and the orders domain has
        # recorded its id; carrier events can only be posted after that.
        if order.status in CANCELLED_STATUSES:
            self._cancel(order, progress)
            return
        view = self._poll(progress, lambda view: view["status"] in FINAL_STATES or bool(view.get("shipmentId")))
        if view is None or not view.get("shipmentId"):
            return
        self._post_carrier_events(order, view["shipmentId"])

        target = state_reached_by_data(order)
        self._poll(progress, lambda view: view["status"] == target or view["status"] in FINAL_STATES)

    def _cancel(self, order: OlistOrder, progress: _Progress) -> None:
        """Cancel the order once its payment has settled, then follow it to CANCELLED."""
        if order.approved_at is not None:
            self._poll(progress, lambda view: view["status"] in FINAL_STATES or view["status"] == "PAID")
        self.api.request("POST", f"/orders/{progress.order_id}/cancel", token=progress.token)
        self._poll(progress, lambda view: view["status"] in FINAL_STATES)

    def _poll(self, progress: _Progress, done: Callable[[dict], bool]) -> dict | None:
        """Read the order until `done` holds; returns None, and marks the order timed out, at the deadline."""
        delay = self.settings.poll_interval
        while True:
            response = self.api.request("GET", f"/orders/{progress.order_id}", token=progress.token)
            progress.reads += 1
            if response.status_code == 200:
                view = response.json()
                progress.final_status = view["status"]
                if view["status"] == "DELIVERED" and progress.to_delivered_ms is None:
                    progress.to_delivered_ms = (time.monotonic() - progress.started) * 1000
                if done(view):
                    return view
            if time.monotonic() >= progress.deadline:
                progress.timed_out = True
                return None
            time.sleep(delay)
            # Every read is a function invocation on the runtime under test,
            # so the delay grows while the order is still on its way.
            delay = min(delay * 2, self.settings.max_poll_interval)

    def _post_carrier_events(self, order: OlistOrder, shipment_id: str) -> None:
        previous = order.approved_at or order.purchased_at
        for event_type, at in (("PICKED_UP", order.carrier_at), ("DELIVERED", order.delivered_at)):
            if at is None:
                continue
            time.sleep(self._scaled_gap(previous, at))
            previous = at
            self.api.signed_request("POST", f"/shipments/{shipment_id}/events", {"type": event_type, "at": at.isoformat()}, "carrier")

    def _scaled_gap(self, earlier: datetime, later: datetime) -> float:
        # timestamp() compares instants; subtracting two datetimes of the same
        # zone would compare wall clocks and miss daylight-saving changes.
        # A few orders reach the carrier before their approval: no wait then.
        gap = max(0.0, later.timestamp() - earlier.timestamp())
        return min(gap / self.settings.speedup, self.settings.max_event_wait)


def state_reached_by_data(order: OlistOrder) -> str:
    """Return the state the order's own timestamps lead to, which is what a set-aside order is followed to."""
    if order.approved_at is None:
        return "PAYMENT_FAILED"
    if order.delivered_at is not None:
        return "DELIVERED"
    if order.carrier_at is not None:
        return "SHIPPED"
    return "PAID"


class _Progress:
    """The mutable record of one order while it is replayed."""

    def __init__(self, order: OlistOrder, expected: str | None, timeout: float) -> None:
        self.order = order
        self.expected = expected
        self.started = time.monotonic()
        self.deadline = self.started + timeout
        self.order_id: str | None = None
        self.token: str | None = None  # the customer's bearer token, for every request about this order
        self.final_status = NOT_ACCEPTED
        self.place_order_ms: float | None = None
        self.to_delivered_ms: float | None = None
        self.timed_out = False
        self.reads = 0

    def outcome(self) -> OrderOutcome:
        return OrderOutcome(
            olist_order_id=self.order.order_id,
            olist_status=self.order.status,
            expected=self.expected,
            order_id=self.order_id,
            final_status=self.final_status,
            place_order_ms=self.place_order_ms,
            to_delivered_ms=self.to_delivered_ms,
            timed_out=self.timed_out,
            reads=self.reads,
            started=self.started,
            finished=time.monotonic(),
        )
