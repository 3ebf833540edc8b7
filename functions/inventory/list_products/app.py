"""GET /products?category=: browse a category's products in SKU order, a page at a time."""

from shared.api import PUBLIC, operation
from shared.http import create_app
from shared.inventory.catalog import list_products as products_in
from shared.inventory.schemas import ProductPage, ProductQuery

app = create_app("list-products")


@operation(app, "GET", "/products", summary="Browse the products of a category", access=PUBLIC, response=ProductPage, query=ProductQuery)
def list_products(query: ProductQuery):
    items, next_cursor = products_in(query.category, query.limit, query.cursor)
    return {"items": items, "nextCursor": next_cursor}
