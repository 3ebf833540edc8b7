"""Published prices, read from prices.json, and the dollars that a usage per checkout costs at them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

CHECKOUTS = 1_000_000  # costs are given per million checkouts


class PriceError(ValueError):
    """The price file is missing a field or has one of the wrong type."""


@dataclass(frozen=True)
class Price:
    usd: float | None  # None when the price could not be confirmed
    per: int  # how many units `usd` buys
    unit: str
    source: str  # the address the price was read from
    note: str


@dataclass(frozen=True)
class PriceList:
    region: str
    currency: str
    read_on: str  # ISO date the prices were read
    prices: dict[str, Price]


def load_prices(path: Path) -> PriceList:
    """Read a price file; raises PriceError for a missing field."""
    document = json.loads(path.read_text(encoding="utf-8"))
    try:
        prices = {
            name: Price(usd=entry["usd"], per=int(entry["per"]), unit=entry["unit"], source=entry["source"], note=entry.get("note", ""))
            for name, entry in document["prices"].items()
        }
        return PriceList(region=document["region"], currency=document["currency"], read_on=document["read_on"], prices=prices)
    except (KeyError, TypeError, ValueError) as error:
        raise PriceError(f"invalid price file {path}: {error!r}; every price needs usd, per, unit and source") from None


def cost_per_million_checkouts(per_checkout: dict[str, float], prices: PriceList) -> dict[str, float | None]:
    """Return the dollars of each billed quantity for a million checkouts, and their `total`.

    `per_checkout` maps price names to the quantity one checkout uses. A
    quantity of zero costs nothing, even where its price is unknown. Any other
    quantity with an unknown price costs None and is left out of the total.
    """
    costs: dict[str, float | None] = {}
    for name, quantity in per_checkout.items():
        price = prices.prices[name]
        if quantity == 0:
            costs[name] = 0.0
        elif price.usd is None:
            costs[name] = None
        else:
            costs[name] = quantity * CHECKOUTS / price.per * price.usd
    costs["total"] = sum(cost for cost in costs.values() if cost is not None)
    return costs
