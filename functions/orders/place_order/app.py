"""POST /orders: accept an order as PENDING and ask inventory to reserve its stock."""

from shared.http import create_app, endpoint, json_response, read_body
from shared.messages import Line, OrderPlaced
from shared.orders import table
from shared.orders.model import PlaceOrderRequest, new_order, price_lines
from shared.queues import send

app = create_app("place-order")


@app.route("/orders", methods=["POST"])
@endpoint
def place_order():
    request = read_body(app, PlaceOrderRequest)
    prices = table.get_prices(line.sku for line in request.lines)
    order = new_order(request, price_lines(request.lines, prices))

    table.insert_order(order)
    send(
        "RESERVE_STOCK_QUEUE_URL",
        OrderPlaced(order_id=order["orderId"], lines=tuple(Line(sku=line.sku, quantity=line.quantity) for line in request.lines)),
    )
    return json_response(202, {"orderId": order["orderId"], "status": order["status"]})
