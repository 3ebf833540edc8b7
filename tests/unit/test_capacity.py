"""DynamoDB item sizes and request units, checked against sizes worked out by hand from AWS's rules."""

from __future__ import annotations

import pytest

from infra.local.capacity import index_write_units, item_size, number_size, read_units, value_size, write_units


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("7", 2),  # 1 significant digit: 1 byte for it, 1 more
        ("12345", 4),  # 5 digits: 3 bytes, 1 more
        ("123.45", 4),  # the decimal point is not a digit
        ("0.00100", 2),  # leading and trailing zeros are trimmed to "1"
        ("-1000", 2),  # and so are these: "1"
        ("0", 2),
    ],
)
def test_number_size(text, size):
    assert number_size(text) == size


@pytest.mark.parametrize(
    ("value", "size"),
    [
        ({"S": "héllo"}, 6),  # é is 2 bytes in UTF-8
        ({"B": "AAEC"}, 3),  # base64 of 3 raw bytes
        ({"BOOL": True}, 1),
        ({"NULL": True}, 1),
        ({"SS": ["ab", "c"]}, 3),
        ({"L": []}, 3),
        ({"L": [{"N": "1"}, {"BOOL": False}]}, 3 + (2 + 1) + (1 + 1)),
        ({"M": {"a": {"S": "xy"}}}, 3 + (1 + 2 + 1)),
    ],
)
def test_value_size(value, size):
    assert value_size(value) == size


def test_unknown_type_is_rejected():
    with pytest.raises(ValueError, match="unknown DynamoDB attribute type 'X'"):
        value_size({"X": "1"})


def test_item_size_adds_names_and_values():
    item = {"pk": {"S": "ORDER#1"}, "total": {"N": "1250"}, "lines": {"L": [{"M": {"sku": {"S": "a"}}}]}}

    # pk: 2 + 7; total: 5 + (2 + 1); lines: 5 + 3 + (3 + (3 + 1 + 1) + 1)
    assert item_size(item) == 9 + 8 + 17


def test_item_size_of_no_item_is_zero():
    assert item_size(None) == 0


@pytest.mark.parametrize(("size", "units"), [(0, 1), (1, 1), (1024, 1), (1025, 2), (3000, 3)])
def test_write_units_per_started_kilobyte(size, units):
    assert write_units(size) == units


@pytest.mark.parametrize(
    ("size", "consistent", "units"),
    [(0, True, 1), (4096, True, 1), (4097, True, 2), (4096, False, 0.5), (10_000, False, 1.5)],
)
def test_read_units_per_started_4_kilobytes(size, consistent, units):
    assert read_units(size, consistent) == units


KEYS_ONLY = ["pk", "status", "due"]
INDEX_KEYS = ["status", "due"]


def test_index_write_when_item_enters_index():
    after = {"pk": {"S": "o1"}, "status": {"S": "1"}, "due": {"S": "t"}}

    assert index_write_units(INDEX_KEYS, KEYS_ONLY, None, after) == 1


def test_index_write_when_item_leaves_index():
    before = {"pk": {"S": "o1"}, "status": {"S": "1"}, "due": {"S": "t"}, "note": {"S": "x"}}
    after = {"pk": {"S": "o1"}, "note": {"S": "x"}}

    assert index_write_units(INDEX_KEYS, KEYS_ONLY, before, after) == 1


def test_index_key_change_is_delete_and_put():
    before = {"pk": {"S": "o1"}, "status": {"S": "1"}, "due": {"S": "t1"}}
    after = {"pk": {"S": "o1"}, "status": {"S": "1"}, "due": {"S": "t2"}}

    assert index_write_units(INDEX_KEYS, KEYS_ONLY, before, after) == 2


def test_no_index_write_for_unprojected_change():
    before = {"pk": {"S": "o1"}, "status": {"S": "1"}, "due": {"S": "t"}, "note": {"S": "x"}}
    after = {**before, "note": {"S": "y"}}

    assert index_write_units(INDEX_KEYS, KEYS_ONLY, before, after) == 0


def test_index_projecting_all_writes_on_any_change():
    before = {"pk": {"S": "o1"}, "status": {"S": "1"}, "due": {"S": "t"}, "note": {"S": "x" * 2000}}
    after = {**before, "note": {"S": "y" * 2000}}

    assert index_write_units(INDEX_KEYS, None, before, after) == 2


def test_no_index_write_outside_index():
    assert index_write_units(INDEX_KEYS, KEYS_ONLY, {"pk": {"S": "o1"}}, {"pk": {"S": "o1"}, "status": {"S": "1"}}) == 0
