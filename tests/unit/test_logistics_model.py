"""Shipment rules: carrier events go forward and repeat harmlessly."""

import pytest

from shared.errors import Conflict
from shared.logistics.model import check_transition, shipment_id_for


@pytest.mark.parametrize(
    ("current", "target"),
    [("CREATED", "PICKED_UP"), ("CREATED", "DELIVERED"), ("PICKED_UP", "IN_TRANSIT"), ("IN_TRANSIT", "DELIVERED")],
)
def test_forward_event_is_accepted(current, target):
    assert check_transition(current, target) is True


def test_repeated_event_is_no_change():
    assert check_transition("PICKED_UP", "PICKED_UP") is False


@pytest.mark.parametrize(("current", "target"), [("DELIVERED", "PICKED_UP"), ("IN_TRANSIT", "PICKED_UP")])
def test_backward_event_conflicts(current, target):
    with pytest.raises(Conflict) as raised:
        check_transition(current, target)

    assert raised.value.code == "INVALID_SHIPMENT_TRANSITION"


def test_shipment_id_is_stable_per_order():
    assert shipment_id_for("o1") == shipment_id_for("o1")
    assert shipment_id_for("o1") != shipment_id_for("o2")
