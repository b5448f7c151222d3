"""The demo catalog: built once, unchanged by a second run, and its configurable products behave as a
customer would expect (the car's rules are those the browser test walks through)."""

from decimal import Decimal

import pytest

from catalog.configurator import evaluate_product
from catalog.demo import demo_catalog
from catalog.models import Attribute, AttributeValue, Category, ConfigRule, Price, Product, RelatedProduct
from sfa.demo import DemoContext, demo_company


@pytest.fixture
def demo(db):
    ctx = DemoContext(password="sfa-demo-2026", log=lambda line: None)
    demo_company(ctx)
    demo_catalog(ctx)
    return ctx


def counts():
    return [
        m.objects.count() for m in (Category, Product, Price, RelatedProduct, Attribute, AttributeValue, ConfigRule)
    ]


def test_the_demo_catalog_is_idempotent(demo):
    before = counts()
    assert before[1] == 30
    demo_catalog(demo)
    assert counts() == before
    assert Product.objects.filter(is_configurable=True).count() == 3
    for product in Product.objects.filter(is_configurable=True):
        assert evaluate_product(product, {}).valid, product.slug


def test_every_product_has_a_price_in_eur_and_gbp_today(demo):
    for product in Product.objects.all():
        result_prices = {p.price_list.currency for p in product.prices.select_related("price_list")}
        assert result_prices == {"EUR", "GBP"}, product.slug


def test_the_demo_car_rules(demo):
    car = Product.objects.get(slug="aurora")
    leather_on_compact = evaluate_product(car, {"line": "COM", "interior": "LTH"})
    assert not leather_on_compact.valid
    assert leather_on_compact.errors[0].message == "Leather needs the Comfort package or the Long-wheelbase model."
    with_comfort = evaluate_product(car, {"line": "COM", "interior": "LTH", "packages": ["COMF"]})
    assert with_comfort.valid
    assert with_comfort.configuration["heating"] == "FRT"  # heated seats come with leather
    assert with_comfort.total == Decimal("32900") + 2400 + 450 + 1800
    assert with_comfort.lead_time_days == 42 + 7
    compact = evaluate_product(car, {"line": "COM"})
    assert compact.options[("extras", "TOW")].impossible
    long = evaluate_product(car, {"line": "LWB", "interior": "LTH"})
    assert long.valid and long.configuration["engine"] == "H220" and long.configuration["wheels"] == "W18"
    assert "Leather on the long-wheelbase model (more hide)" in [line.label for line in long.lines]
    sport = evaluate_product(car, {"wheels": "W19S", "packages": ["ECO"]})
    assert not sport.valid


def test_the_demo_desk_and_e_bike_rules(demo):
    desk = Product.objects.get(slug="flexdesk")
    assert evaluate_product(desk, {}).total == Decimal("549") + 20 * Decimal("3.50")
    assert not evaluate_product(desk, {"width": "180"}).valid  # single motor: at most 160
    assert evaluate_product(desk, {"width": "180", "frame": "DUO"}).valid
    assert not evaluate_product(desk, {"accessories": ["CBL", "MON", "DRW", "PAD"]}).valid
    bike = Product.objects.get(slug="volt-trek")
    assert evaluate_product(bike, {}).configuration["accessories"] == ["RACK", "FEND"]
    assert not evaluate_product(bike, {"accessories": ["KID"]}).valid
    assert evaluate_product(bike, {"motor": "TRAIL"}).configuration["battery"] == "B625"
