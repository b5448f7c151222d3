"""The catalog API over HTTP: products for signed-in users, and the public configurator's validation."""

from decimal import Decimal

import pytest

from catalog import services
from catalog.models import Configuration
from tests.catalog.factories import ProductFactory


def validate(api, product, body, **extra):
    return api().post(f"/api/configurator/{product.slug}/validate/", body, format="json", **extra)


def test_products_need_a_signed_in_user(api, car):
    assert api().get("/api/products/").status_code == 401
    assert api().get(f"/api/products/{car.product.pk}/").status_code == 401


def test_products_list_with_prices_related_and_notes(api, org, car, catalog):
    box = ProductFactory(name="Roof box", sku="ACC-RB", category=catalog.cars)
    services.related_add(product=car.product, related=box, kind="accessory", actor=None)
    services.product_update(product=car.product, actor=None, data={"competitor_notes": "Cheaper than the Vesta."})
    response = api(org.rep).get("/api/products/")
    assert response.status_code == 200
    rows = {row["sku"]: row for row in response.json()["results"]}
    assert rows["TC"]["prices"] == {"EUR": "20000.00", "GBP": "17000.00"}
    assert rows["TC"]["related"] == [
        {"relation": "accessory", "id": box.pk, "sku": "ACC-RB", "name": "Roof box", "note": ""}
    ]
    assert rows["TC"]["competitor_notes"] == "Cheaper than the Vesta."
    assert rows["TC"]["configurator_url"].endswith("/configure/test-car/")
    assert rows["ACC-RB"]["configurator_url"] is None and rows["ACC-RB"]["prices"] == {}
    detail = api(org.manager).get(f"/api/products/{car.product.pk}/").json()
    assert detail["category_name"] == "Cars" and detail["prices"]["EUR"] == "20000.00"


def test_product_filters(api, org, car, desk, catalog):
    ProductFactory(name="Roof box", sku="ACC-RB", category=catalog.cars)

    def skus(query: str) -> set[str]:
        response = api(org.rep).get(f"/api/products/?{query}")
        assert response.status_code == 200, response.json()
        return {row["sku"] for row in response.json()["results"]}

    assert skus("q=roof") == {"ACC-RB"}
    assert skus("q=dsk") == {"DSK"}
    assert skus(f"category={catalog.vehicles.pk}") == {"TC", "ACC-RB"}
    assert skus("configurable=true") == {"TC", "DSK"}
    assert api(org.rep).get("/api/products/?category=99999").status_code == 400
    assert {row["slug"] for row in api(org.rep).get("/api/categories/").json()["results"]} >= {"vehicles", "cars"}


def test_validate_is_public_and_answers_price_lead_time_sku_and_disabled_options(api, car):
    response = validate(api, car.product, {"choices": {"line": "COM", "interior": "LTH", "packages": ["COMF"]}})
    assert response.status_code == 200
    body = response.json()
    assert body["valid"] is True and body["errors"] == []
    assert body["price"]["currency"] == "EUR" and body["price"]["total"] == "23300.00"
    assert body["price"]["lines"][0] == {"label": "Test car, base price", "amount": "20000.00", "line": "base"}
    assert body["lead_time_days"] == 37
    assert body["sku_code"] == "TC-COM-WHT-LTH-FRT-COMF-_-_"
    assert body["configuration"]["heating"] == "FRT"
    disabled = {(d["attribute"], d["value"]): d["reasons"] for d in body["disabled"]}
    assert disabled[("extras", "TOW")] == [
        {"rule": car.rules["compact_no_tow"].pk, "message": "No towbar on the compact."}
    ]
    assert ("packages", "ECO") not in disabled
    assert not Configuration.objects.exists()


def test_validate_explains_an_invalid_configuration(api, car):
    body = validate(api, car.product, {"choices": {"interior": "LTH", "colour": "PINK", "plate": "x" * 30}}).json()
    assert body["valid"] is False
    fields = {e["field"] for e in body["errors"]}
    assert fields == {"interior", "colour", "plate"}
    needs = {(d["attribute"], d["value"]) for d in body["needs"]}
    assert ("interior", "LTH") not in needs  # chosen values are not options any more


@pytest.mark.parametrize(
    "body",
    [
        {"choices": {"line": "COM"}, "total": "1.00"},
        {"choices": {"line": "COM"}, "price": {"total": "1.00"}},
        {"choices": {"line": "COM"}, "price_breakdown": []},
    ],
)
def test_a_client_price_is_refused(api, car, body):
    response = validate(api, car.product, body)
    assert response.status_code == 400
    assert "computed by the server" in str(response.json())


@pytest.mark.parametrize("body", [{"choices": ["line"]}, {"choices": "line=COM"}, {}, ["choices"]])
def test_malformed_requests_are_400(api, car, body):
    assert validate(api, car.product, body).status_code == 400


def test_only_published_configurable_products_validate(api, car, catalog):
    standard = ProductFactory(category=catalog.cars)
    assert validate(api, standard, {"choices": {}}).status_code == 404
    services.product_update(product=car.product, actor=None, data={"is_active": False})
    assert validate(api, car.product, {"choices": {}}).status_code == 404


def test_validate_is_throttled_per_address(api, car, settings):
    settings.CONFIGURATOR_RATE_LIMIT = "2/min"
    assert validate(api, car.product, {"choices": {}}).status_code == 200
    assert validate(api, car.product, {"choices": {}}).status_code == 200
    refused = validate(api, car.product, {"choices": {}})
    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1
    assert validate(api, car.product, {"choices": {}}, REMOTE_ADDR="10.1.1.1").status_code == 200


def test_the_schema_lists_the_catalog_endpoints(api, org):
    schema = api(org.rep).get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert "/api/products/" in schema["paths"]
    assert "/api/configurator/{slug}/validate/" in schema["paths"]
    assert "post" in schema["paths"]["/api/configurator/{slug}/validate/"]


def test_numbers_are_accepted_as_json_numbers(api, desk):
    body = validate(api, desk, {"choices": {"width": 180, "frame": "DUO"}}).json()
    assert body["valid"] and body["price"]["total"] == str(Decimal("500") + 150 + 200) + ".00"
