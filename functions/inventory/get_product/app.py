"""GET /products/{sku}: the product with its current sellable stock."""

from shared.errors import NotFound
from shared.http import check_identifier, create_app, endpoint, json_response
from shared.inventory import table
from shared.inventory.model import product_view

app = create_app("get-product")


@app.route("/products/{sku}", methods=["GET"])
@endpoint
def get_product(sku):
    product = table.get_product(check_identifier(sku, "sku"))
    if product is None:
        raise NotFound("PRODUCT_NOT_FOUND", f"product {sku!r} does not exist")
    return json_response(200, product_view(product))
