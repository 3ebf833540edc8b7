"""Route matching in the local API gateway."""

from infra.local.gateway import RouteTarget, Router


def route(method: str, path: str, name: str) -> RouteTarget:
    return RouteTarget(method, path, tuple(path.strip("/").split("/")), name)


ROUTER = Router(
    [
        route("GET", "/orders/{orderId}", "get-order"),
        route("GET", "/orders/search", "search-orders"),
        route("POST", "/orders", "place-order"),
        route("POST", "/shipments/{shipmentId}/events", "record-event"),
    ]
)


def test_literal_segment_wins_over_capture():
    found, parameters = ROUTER.find("GET", "/orders/search")

    assert found.function == "search-orders"
    assert parameters == {}


def test_capture_fills_path_parameter():
    found, parameters = ROUTER.find("POST", "/shipments/shp_1/events")

    assert found.function == "record-event"
    assert parameters == {"shipmentId": "shp_1"}


def test_trailing_slash_matches_same_route():
    found, _ = ROUTER.find("POST", "/orders/")

    assert found.function == "place-order"


def test_unknown_method_or_path_finds_nothing():
    assert ROUTER.find("DELETE", "/orders/o1") is None
    assert ROUTER.find("GET", "/orders/o1/lines") is None
    assert ROUTER.find("GET", "/") is None
