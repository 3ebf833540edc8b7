"""POST /products/{sku}/stock-adjustments: add, remove or set sellable stock, with a reason kept as a stock movement."""

from shared.api import operation
from shared.auth import ADMIN, Caller
from shared.http import create_app
from shared.inventory.catalog import adjust_stock as adjust
from shared.inventory.schemas import StockAdjustment, StockAdjustmentRequest

app = create_app("adjust-stock")


@operation(
    app,
    "POST",
    "/products/{sku}/stock-adjustments",
    summary="Adjust a product's sellable stock",
    access=ADMIN,
    response=StockAdjustment,
    status=201,
    body=StockAdjustmentRequest,
    idempotency_table="INVENTORY_IDEMPOTENCY_TABLE",
    errors={404: ("PRODUCT_NOT_FOUND",), 409: ("INSUFFICIENT_STOCK", "STOCK_LIMIT_EXCEEDED", "STOCK_CHANGED")},
)
def adjust_stock(sku: str, caller: Caller, body: StockAdjustmentRequest):
    product, movement = adjust(sku, body.action, body.quantity, body.reason, actor=caller.subject)
    return {"product": product, "movement": movement}
