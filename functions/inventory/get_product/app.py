"""GET /products/{sku}: the product with its current sellable stock."""

from shared.api import PUBLIC, operation
from shared.errors import NotFound
from shared.http import create_app
from shared.inventory import table
from shared.inventory.schemas import Product

app = create_app("get-product")


@operation(app, "GET", "/products/{sku}", summary="Get a product", access=PUBLIC, response=Product, errors={404: ("PRODUCT_NOT_FOUND",)})
def get_product(sku: str):
    product = table.get_product(sku)
    if product is None:
        raise NotFound("PRODUCT_NOT_FOUND", f"product {sku!r} does not exist")
    return product
