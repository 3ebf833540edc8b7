"""GET /products/{sku}/stock-movements: a product's stock adjustments, newest first."""

from shared.api import operation
from shared.auth import ADMIN
from shared.errors import NotFound
from shared.http import create_app
from shared.inventory import table
from shared.inventory.catalog import list_movements
from shared.inventory.schemas import MovementPage
from shared.pagination import PageQuery

app = create_app("list-stock-movements")


@operation(
    app,
    "GET",
    "/products/{sku}/stock-movements",
    summary="List a product's stock movements",
    access=ADMIN,
    response=MovementPage,
    query=PageQuery,
    errors={404: ("PRODUCT_NOT_FOUND",)},
)
def list_stock_movements(sku: str, query: PageQuery):
    if table.get_product(sku) is None:
        raise NotFound("PRODUCT_NOT_FOUND", f"product {sku!r} does not exist")
    items, next_cursor = list_movements(sku, query.limit, query.cursor)
    return {"items": items, "nextCursor": next_cursor}
