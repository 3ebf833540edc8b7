"""Pick the benchmark's orders: a seeded random sample of the dataset, so that every run places the same ones."""

from __future__ import annotations

import random

from infra.replay.dataset import Dataset


def sample(data: Dataset, count: int, seed: int) -> Dataset:
    """Return `count` of the dataset's orders, chosen at random with `seed`, and the products they name.

    The orders keep their purchase-time order. Each product keeps the stock
    computed for the whole dataset, which covers the sample's demand. With
    `count` at or above the number of orders, every order is returned.
    """
    if count >= len(data.orders):
        chosen = list(data.orders)
    else:
        indexes = sorted(random.Random(seed).sample(range(len(data.orders)), count))
        chosen = [data.orders[index] for index in indexes]
    skus = {line.sku for order in chosen for line in order.lines}
    products = [product for product in data.products if product.sku in skus]
    return Dataset(products=products, orders=chosen, skipped_without_lines=data.skipped_without_lines)
