"""PUT /products/{sku}: create or replace a product, set its stock, and publish its price."""

from datetime import datetime

from shared.api import Reply, operation
from shared.auth import ADMIN
from shared.http import create_app
from shared.inventory import table
from shared.inventory.model import PutProductRequest
from shared.inventory.schemas import Product
from shared.messages import ProductPriced
from shared.outbox import entries

app = create_app("put-product")


@operation(
    app,
    "PUT",
    "/products/{sku}",
    summary="Create or replace a product with its price and sellable stock",
    access=ADMIN,
    response=Product,
    also=(201,),
    body=PutProductRequest,
    idempotency_table="INVENTORY_IDEMPOTENCY_TABLE",
)
def put_product(sku: str, body: PutProductRequest):
    def price_published(updated_at: str) -> list[dict]:
        priced = ProductPriced(sku=sku, name=body.name, category=body.category, price=body.price, updated_at=datetime.fromisoformat(updated_at))
        return entries(("ORDER_CATALOG_QUEUE_URL", priced))

    product, created = table.put_product(sku, body, price_published)
    return Reply(201, product) if created else product
