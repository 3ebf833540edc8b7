"""PUT /products/{sku}: create or replace a product, set its stock, and publish its price."""

from datetime import datetime

from shared.http import check_identifier, create_app, endpoint, json_response, read_body
from shared.idempotency import run_once
from shared.inventory import table
from shared.inventory.model import PutProductRequest, product_view
from shared.messages import ProductPriced
from shared.outbox import entries

app = create_app("put-product")


@app.route("/products/{sku}", methods=["PUT"])
@endpoint
def put_product(sku):
    check_identifier(sku, "sku")
    return run_once(app, "INVENTORY_IDEMPOTENCY_TABLE", lambda: _put_product(sku))


def _put_product(sku: str):
    request = read_body(app, PutProductRequest)

    def price_published(updated_at: str) -> list[dict]:
        priced = ProductPriced(sku=sku, name=request.name, category=request.category, price=request.price, updated_at=datetime.fromisoformat(updated_at))
        return entries(("ORDER_CATALOG_QUEUE_URL", priced))

    product, created = table.put_product(sku, request, price_published)
    return json_response(201 if created else 200, product_view(product))
