"""Fixtures of the catalog, built through the services: price lists, a small configurable car and desk.

The test car has every kind of rule with round numbers, so the expected prices read at a glance:

    base 20,000 EUR, 30 days
    line        radio   COM (default) | LWB +5,000, +10 days
    colour      swatch  WHT (default) | RED +500, +5 days
    interior    radio   CLO (default) | LTH +2,000, +7 days
    heating     radio, optional   OFF (default) | FRT +300
    packages    multi, optional   COMF +1,000 | ECO +200 | SPORT +1,500, +3 days   (at most 2)
    extras      multi, optional   TOW +800
    plate       text, optional, at most 10 characters

    LTH requires COMF or LWB;  LTH + LWB costs +400;  with LTH, heating defaults to FRT;
    SPORT excludes ECO;  COM excludes TOW;  at most 2 packages.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest

from catalog import services
from catalog.models import Attribute, AttributeValue, Category, ConfigRule, PriceList, Product


@dataclass
class Catalog:
    vehicles: Category
    cars: Category
    furniture: Category
    eur: PriceList
    gbp: PriceList


@pytest.fixture
def catalog(db) -> Catalog:
    vehicles = services.category_create(actor=None, name="Vehicles")
    return Catalog(
        vehicles=vehicles,
        cars=services.category_create(actor=None, name="Cars", parent=vehicles),
        furniture=services.category_create(actor=None, name="Furniture"),
        eur=services.price_list_create(
            actor=None, name="Retail EUR", code="retail-eur", currency="EUR", valid_from=date(2020, 1, 1)
        ),
        gbp=services.price_list_create(
            actor=None, name="Retail GBP", code="retail-gbp", currency="GBP", valid_from=date(2020, 1, 1)
        ),
    )


def add_attribute(product: Product, code: str, kind: str, values=(), **fields) -> tuple[Attribute, dict]:
    """An attribute with values given as (code, extra, days[, default])."""
    attribute = services.attribute_create(
        product=product, actor=None, code=code, name=code.title(), kind=kind, **fields
    )
    made = {}
    for position, (value_code, extra, days, *default) in enumerate(values):
        made[value_code] = services.value_create(
            attribute=attribute,
            actor=None,
            code=value_code,
            label=value_code.title(),
            price_extra=Decimal(extra),
            lead_time_extra_days=days,
            is_default=bool(default and default[0]),
            colour="#aa0000" if kind == "swatch" else "",
            position=position,
        )
    return attribute, made


@dataclass
class Car:
    product: Product
    values: dict[str, AttributeValue]
    rules: dict[str, ConfigRule]


@pytest.fixture
def car(catalog) -> Car:
    product = services.product_create(
        actor=None,
        name="Test car",
        sku="TC",
        slug="test-car",
        category=catalog.cars,
        is_configurable=True,
        base_lead_time_days=30,
        summary="A car to test the configurator",
    )
    services.price_set(product=product, price_list=catalog.eur, amount=Decimal("20000"), actor=None)
    services.price_set(product=product, price_list=catalog.gbp, amount=Decimal("17000"), actor=None)
    _, line = add_attribute(product, "line", "radio", [("COM", 0, 0, True), ("LWB", 5000, 10)], step=1)
    _, colour = add_attribute(product, "colour", "swatch", [("WHT", 0, 0, True), ("RED", 500, 5)], step=1)
    _, interior = add_attribute(product, "interior", "radio", [("CLO", 0, 0, True), ("LTH", 2000, 7)], step=2)
    _, heating = add_attribute(
        product, "heating", "radio", [("OFF", 0, 0, True), ("FRT", 300, 0)], step=2, required=False
    )
    packages_attr, packages = add_attribute(
        product, "packages", "multi", [("COMF", 1000, 0), ("ECO", 200, 0), ("SPORT", 1500, 3)], step=3, required=False
    )
    _, extras = add_attribute(product, "extras", "multi", [("TOW", 800, 0)], step=3, required=False)
    add_attribute(product, "plate", "text", step=3, required=False, max_length=10)
    values = {**line, **colour, **interior, **heating, **packages, **extras}

    def rule(kind, conditions=(), targets=(), **fields):
        return services.rule_create(
            product=product, actor=None, kind=kind, conditions=list(conditions), targets=list(targets), **fields
        )

    rules = {
        "leather_needs": rule("requires", [interior["LTH"]], [packages["COMF"], line["LWB"]]),
        "leather_long": rule("price", [interior["LTH"], line["LWB"]], amount=Decimal("400")),
        "leather_heating": rule("default", [interior["LTH"]], [heating["FRT"]]),
        "sport_no_eco": rule("excludes", [packages["SPORT"]], [packages["ECO"]]),
        "compact_no_tow": rule("excludes", [line["COM"]], [extras["TOW"]], message="No towbar on the compact."),
        "two_packages": rule("quantity", target_attribute=packages_attr, max_value=Decimal("2")),
    }
    product.refresh_from_db()
    return Car(product=product, values=values, rules=rules)


@pytest.fixture
def desk(catalog) -> Product:
    """A desk: width 100–180 cm in steps of 20 (default 120, 2.50 per cm above 100); frame SGL | DUO +150;
    with the single frame the width is at most 140."""
    product = services.product_create(
        actor=None, name="Desk", sku="DSK", slug="desk", category=catalog.furniture, is_configurable=True
    )
    services.price_set(product=product, price_list=catalog.eur, amount=Decimal("500"), actor=None)
    width, _ = add_attribute(
        product,
        "width",
        "number",
        min_value=Decimal("100"),
        max_value=Decimal("180"),
        step_value=Decimal("20"),
        default_number=Decimal("120"),
        unit="cm",
        unit_price=Decimal("2.50"),
    )
    _, frame = add_attribute(product, "frame", "radio", [("SGL", 0, 0, True), ("DUO", 150, 0)])
    services.rule_create(
        product=product,
        actor=None,
        kind="quantity",
        conditions=[frame["SGL"]],
        target_attribute=width,
        max_value=Decimal("140"),
    )
    product.refresh_from_db()
    return product
