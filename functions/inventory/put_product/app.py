"""PUT /products/{sku}: create or replace a product, set its stock, and publish its price."""

from datetime import datetime

from shared.http import check_identifier, create_app, endpoint, json_response, read_body
from shared.inventory import table
from shared.inventory.model import PutProductRequest, product_view
from shared.messages import ProductPriced
from shared.queues import send

app = create_app("put-product")


@app.route("/products/{sku}", methods=["PUT"])
@endpoint
def put_product(sku):
    check_identifier(sku, "sku")
    request = read_body(app, PutProductRequest)

    product, created = table.put_product(sku, request)
    send(
        "ORDER_CATALOG_QUEUE_URL",
        ProductPriced(
            sku=sku,
            name=request.name,
            category=request.category,
            price=request.price,
            updated_at=datetime.fromisoformat(product["updatedAt"]),
        ),
    )
    return json_response(201 if created else 200, product_view(product))
