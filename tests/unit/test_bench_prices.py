"""The benchmark's price file: one region, the date the prices were read, and a source for every price."""

from __future__ import annotations

import json
from datetime import date
from urllib.parse import urlparse

import pytest

from infra.bench.costs import load_prices
from infra.bench.settings import PRICES_FILE
from infra.bench.usage import PRICED

DOCUMENT = json.loads(PRICES_FILE.read_text(encoding="utf-8"))


def test_prices_have_read_date():
    read_on = date.fromisoformat(DOCUMENT["read_on"])

    assert read_on.year >= 2026


def test_prices_are_for_one_region():
    assert DOCUMENT["region"] == "us-east-1"
    assert DOCUMENT["currency"] == "USD"


@pytest.mark.parametrize("name", sorted(DOCUMENT["prices"]))
def test_price_has_source(name):
    source = urlparse(DOCUMENT["prices"][name]["source"])

    assert source.scheme == "https"
    assert source.netloc


@pytest.mark.parametrize("name", sorted(DOCUMENT["prices"]))
def test_price_is_positive_or_marked_unconfirmed(name):
    entry = DOCUMENT["prices"][name]

    if entry["usd"] is None:
        assert "Not confirmed" in entry["note"]
    else:
        assert entry["usd"] > 0
    assert entry["per"] >= 1


def test_every_billed_quantity_has_price():
    prices = load_prices(PRICES_FILE)

    assert set(prices.prices) == set(PRICED)
