"""Fixtures of the orders tests: a small shop (categories, products with prices, warehouses with stock, tax
rates) and helpers that make quotes and orders through the services."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest

from catalog.models import Category, Configuration, Product
from orders.models import Order, StockLevel, Warehouse
from tests.catalog.factories import CategoryFactory, ConfigurationFactory, PriceFactory, ProductFactory
from tests.orders.factories import StockLevelFactory, TaxRateFactory, WarehouseFactory


@dataclass
class Shop:
    vehicles: Category
    cars: Category
    books: Category
    aurora: Product  # stocked: 3 in main, 2 in backup; 1000.00 EUR
    manual: Product  # stocked: 50 in main; 20.00 EUR; category books (7 % tax in DE)
    custom: Product  # configurable, made to order
    config: Configuration  # of custom: 2500.00 EUR, 25 days
    gadget: Product  # made to order (no stock rows), 300.00 EUR, 10 days
    main: Warehouse
    backup: Warehouse

    def level(self, product: Product, warehouse: Warehouse) -> StockLevel:
        return StockLevel.objects.get(product=product, warehouse=warehouse)


@pytest.fixture
def shop(db) -> Shop:
    vehicles = CategoryFactory(name="Vehicles", slug="vehicles")
    cars = CategoryFactory(name="Cars", slug="cars", parent=vehicles)
    books = CategoryFactory(name="Books", slug="books")
    aurora = ProductFactory(name="Aurora 100", sku="AUR-100", category=cars, base_lead_time_days=15)
    manual = ProductFactory(name="Owner's manual", sku="MAN-1", category=books, base_lead_time_days=5)
    custom = ProductFactory(name="Custom Aurora", sku="AUR-C", category=cars, is_configurable=True)
    gadget = ProductFactory(name="Gadget", sku="GAD-1", category=vehicles, base_lead_time_days=10)
    for product, amount in ((aurora, "1000.00"), (manual, "20.00"), (gadget, "300.00")):
        PriceFactory(product=product, amount=Decimal(amount))
    config = ConfigurationFactory(
        product=custom,
        total=Decimal("2500.00"),
        currency="EUR",
        lead_time_days=25,
        sku_code="AUR-C-RED-LTH",
        token="tok-aurora-custom",
    )
    main = WarehouseFactory(code="main", name="Main", priority=0)
    backup = WarehouseFactory(code="backup", name="Backup", priority=1)
    StockLevelFactory(product=aurora, warehouse=main, on_hand=3)
    StockLevelFactory(product=aurora, warehouse=backup, on_hand=2)
    StockLevelFactory(product=manual, warehouse=main, on_hand=50)
    TaxRateFactory(country="DE", category=None, rate=Decimal("19.00"))
    TaxRateFactory(country="DE", category=books, rate=Decimal("7.00"))
    return Shop(vehicles, cars, books, aurora, manual, custom, config, gadget, main, backup)


@pytest.fixture
def make_order(org, acme, anna, shop):
    """``make_order(lines=[(product, qty), …] or dicts, actor=org.rep, **kwargs)`` -> a draft order for Acme."""
    from orders.services import order_create

    def _make(lines=None, *, actor=None, **kwargs) -> Order:
        lines = lines or [(shop.aurora, 1)]
        dicts = [line if isinstance(line, dict) else {"product": line[0], "quantity": line[1]} for line in lines]
        kwargs.setdefault("account", acme)
        return order_create(actor=actor or org.rep, lines=dicts, **kwargs)

    return _make


@pytest.fixture
def confirmed(make_order, org):
    """``confirmed(lines, **kwargs)`` -> an order made and confirmed by org.rep."""
    from orders.states import order_confirm

    def _confirmed(lines=None, **kwargs) -> Order:
        return order_confirm(order=make_order(lines, **kwargs), actor=org.rep)

    return _confirmed


@pytest.fixture
def ledger_sum():
    """``ledger_sum(order, basis=None)`` -> (units, amount, amount_base) summed over the order's ledger rows."""
    from django.db.models import Sum

    from orders.models import SalesEntry

    def _sum(order, basis=None):
        rows = SalesEntry.objects.filter(order=order)
        if basis:
            rows = rows.filter(basis=basis)
        totals = rows.aggregate(u=Sum("units"), a=Sum("amount"), b=Sum("amount_base"))
        cents = Decimal("0.01")  # SQLite sums decimals as floats
        return (
            totals["u"] or 0,
            Decimal(totals["a"] or 0).quantize(cents),
            Decimal(totals["b"] or 0).quantize(cents),
        )

    return _sum
