"""The demo orders: three years of history with growth and seasons, open orders at risk, quotes in every
status, stock that matches the reservations, and a ledger, delivery figures and facts that add up to the
orders. Built on a demo company with fewer customers than the real seed (the orders do not depend on it)."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date
from decimal import Decimal
from time import monotonic

import pytest
from django.db.models import Count, F, Sum
from django.utils import timezone

from catalog.demo import demo_catalog
from contacts.demo import demo_customers, demo_purposes
from forecasting.models import SalesFact
from orders.demo import MONTHS, demo_orders
from orders.ledger import share
from orders.models import (
    DeliveryStat,
    ExchangeRate,
    Holiday,
    Order,
    OrderEvent,
    OrderLine,
    Quote,
    Reservation,
    SalesEntry,
    Shipment,
    StockLevel,
    TaxRate,
    Warehouse,
)
from sfa.demo import DemoContext, demo_company

S = Order.Status


@pytest.fixture
def demo(db):
    ctx = DemoContext(password="sfa-demo-2026", log=lambda line: None)
    demo_company(ctx)
    demo_catalog(ctx)
    demo_purposes(ctx)
    demo_customers(ctx, accounts=300, contacts=700)
    began = monotonic()
    lines: list[str] = []
    ctx.log = lines.append
    demo_orders(ctx)
    ctx.seconds = monotonic() - began
    ctx.lines = lines
    return ctx


def cents(value) -> Decimal:
    """A sum as the database gives it (SQLite adds decimals as floats), to the cent."""
    return Decimal(str(value)).quantize(Decimal("0.01"))


def counts() -> list[int]:
    models = (Order, OrderLine, OrderEvent, Shipment, Quote, StockLevel, Reservation, SalesEntry, SalesFact, TaxRate)
    return [m.objects.count() for m in (*models, Holiday, Warehouse, ExchangeRate, DeliveryStat)]


def test_the_demo_orders_tell_three_years_of_business(demo):
    today = timezone.localdate()
    history = Order.objects.exclude(status=S.DRAFT)
    assert 2500 <= history.count() <= 5000, history.count()
    assert "orders:" in demo.lines[-1] and "at risk" in demo.lines[-1]

    # 36 months covered, the last one this month; growth from the first year to the last.
    months = sorted({d.replace(day=1) for d in history.values_list("ordered_on", flat=True)})
    assert len(months) == MONTHS and months[-1] == today.replace(day=1)
    booked = SalesEntry.objects.filter(basis="booking", kind="booked")
    first_year = booked.filter(on__lt=months[12]).aggregate(s=Sum("amount_base"))["s"]
    last_year = booked.filter(on__gte=months[-12]).aggregate(s=Sum("amount_base"))["s"]
    assert last_year > first_year * Decimal("1.2"), (first_year, last_year)

    # Seasons: e-bikes sell in spring, office furniture in autumn and January (monthly facts, all years).
    def units(category: str, months_of_year: set[int]) -> float:
        facts = SalesFact.objects.filter(grain="month", category__slug=category)
        per_month = defaultdict(int)
        for period, n in facts.values_list("period", "units"):
            if period.month in months_of_year and period.year < today.year:
                per_month[period] += n
        return sum(per_month.values()) / max(1, len(per_month))

    def orders_of(category: str, months_of_year: set[int]) -> float:
        days = history.filter(lines__category__slug=category, ordered_on__lt=date(today.year, 1, 1))
        per_month = Counter(d.replace(day=1) for _pk, d in days.values_list("pk", "ordered_on").distinct())
        chosen = [n for month, n in per_month.items() if month.month in months_of_year]
        return sum(chosen) / max(1, len(chosen))

    assert units("bikes", {4, 5, 6}) > 1.6 * units("bikes", {11, 12, 1})
    assert orders_of("bikes", {4, 5, 6}) > 1.8 * orders_of("bikes", {11, 12, 1})
    assert orders_of("desks", {1, 9, 10}) > 1.3 * orders_of("desks", {6, 7, 8})

    # Every product family, region and rep sells; the reps own the orders of their accounts.
    assert history.values("lines__category__parent").distinct().count() >= 4
    assert history.exclude(region="").values("region").distinct().count() >= 15
    owners = set(history.values_list("owner__username", flat=True))
    assert {"rep", "rep2", "rep3", "rep4"} <= owners
    assert not history.filter(account__isnull=False).exclude(owner=F("account__owner")).exists()
    assert (
        history.filter(currency="GBP", country="GB").exists()
        and not history.filter(currency="GBP").exclude(country="GB").exists()
    )

    # The ways orders go: delivered and closed, a few late, some cancelled, a few returned, some in two parts.
    status = Counter(history.values_list("status", flat=True))
    done = status[S.CLOSED] + status[S.DELIVERED]
    assert done > 0.8 * history.count()
    assert 0.02 * history.count() < status[S.CANCELLED] < 0.08 * history.count()
    assert 5 <= status[S.RETURNED] < 0.04 * history.count()
    late = history.filter(delivered_at__isnull=False).filter(delivered_at__date__gt=F("promised_date")).count()
    assert 0.03 * done < late < 0.15 * done
    assert Order.objects.annotate(n=Count("shipments")).filter(n=2).count() >= 20
    assert OrderLine.objects.filter(quantity_returned__gt=0, order__status__in=[S.CLOSED, S.DELIVERED]).exists()
    for order in history.filter(status=S.CLOSED).order_by("?")[:50]:
        steps = list(order.events.values_list("to_status", flat=True))
        assert steps[:3] == ["draft", "confirmed", "allocated"] and steps[-2:] == ["delivered", "closed"], steps
        assert order.confirmed_at <= order.allocated_at <= order.shipped_at <= order.delivered_at <= order.closed_at

    # Today's open orders, some at risk, and their stock held in the warehouses.
    for open_status in (S.CONFIRMED, S.ALLOCATED, S.SHIPPED):
        assert status[open_status] >= 3, status
    assert status[S.PARTIALLY_SHIPPED] >= 1, status
    assert history.filter(status__in=Order.OPEN).exclude(risk="").count() >= 4
    assert not history.exclude(status__in=Order.OPEN).exclude(risk="").exists()
    held = defaultdict(int)
    for product_id, warehouse_id, quantity in Reservation.objects.values_list("line__product", "warehouse", "quantity"):
        held[product_id, warehouse_id] += quantity
    levels = {(s.product_id, s.warehouse_id): s for s in StockLevel.objects.all()}
    assert dict(held) == {k: s.reserved for k, s in levels.items() if s.reserved}
    assert all(s.reserved <= s.on_hand for s in levels.values())
    assert not StockLevel.objects.filter(product__is_configurable=True).exists()
    assert StockLevel.objects.filter(on_hand=F("reserved")).exists()  # something is short
    assert not Reservation.objects.exclude(line__order__status__in=Order.OPEN).exists()

    # Reference data: warehouses, tax rates of every demo country, this year's and next year's holidays.
    assert Warehouse.objects.count() == 3
    assert set(TaxRate.objects.filter(category__isnull=True).values_list("country", flat=True)) >= {
        "DE", "AT", "FR", "GB", "IT", "ES", "NL"
    }  # fmt: skip
    assert TaxRate.objects.filter(category__isnull=False).exists()
    for year in (today.year, today.year + 1):
        assert Holiday.objects.filter(date__year=year).count() >= 9
    assert Holiday.objects.filter(date=date(today.year, 12, 25)).exists()

    # Quotes in every status, one waiting for a manager's approval.
    quote_status = Counter(Quote.objects.values_list("status", flat=True))
    assert set(quote_status) == set(Quote.Status.values)
    assert quote_status[Quote.Status.PENDING_APPROVAL] >= 1
    assert Order.objects.filter(quote__isnull=False, status=S.DRAFT).count() == quote_status[Quote.Status.ACCEPTED]


def test_the_ledger_facts_and_delivery_figures_add_up_to_the_orders_and_a_second_run_changes_nothing(demo):
    history = Order.objects.exclude(status=S.DRAFT)
    expected: dict[int, Decimal] = defaultdict(Decimal)
    for order_id, status, quantity, net, returned in OrderLine.objects.filter(order__in=history).values_list(
        "order_id", "order__status", "quantity", "net_amount", "quantity_returned"
    ):
        if status != S.CANCELLED:
            expected[order_id] += net - share(net, quantity, 0, returned)
    ledger = dict(
        SalesEntry.objects.filter(basis="booking")
        .values("order_id")
        .annotate(s=Sum("amount"))
        .values_list("order_id", "s")
    )
    assert {k: cents(v) for k, v in ledger.items() if cents(v)} == {k: v for k, v in expected.items() if v}
    assert not SalesEntry.objects.filter(order__status=S.DRAFT).exists()

    # Orders net of cancellations and returns, in the base currency, are what the facts hold.
    facts = SalesFact.objects.filter(grain="month").aggregate(r=Sum("revenue"), u=Sum("units"))
    entries = SalesEntry.objects.filter(basis="booking").aggregate(r=Sum("amount_base"), u=Sum("units"))
    assert (cents(facts["r"]), facts["u"]) == (cents(entries["r"]), entries["u"])
    assert cents(SalesFact.objects.filter(grain="week").aggregate(r=Sum("revenue"))["r"]) == cents(entries["r"])
    eur = history.filter(currency="EUR").exclude(status=S.CANCELLED)
    eur_base = SalesEntry.objects.filter(order__in=eur, basis="booking").aggregate(s=Sum("amount_base"))["s"]
    assert cents(eur_base) == sum(expected[o] for o in eur.values_list("pk", flat=True))

    # Delivered sales on the delivery basis: everything delivered, less what came back.
    delivered = cents(SalesEntry.objects.filter(basis="delivery").aggregate(s=Sum("amount"))["s"])
    shipped_done = history.filter(status__in=[S.DELIVERED, S.CLOSED, S.RETURNED])
    assert delivered == sum(expected[o] for o in shipped_done.values_list("pk", flat=True))

    stats = DeliveryStat.objects.aggregate(d=Sum("deliveries"), o=Sum("on_time"))
    pairs = shipped_done.values("pk", "lines__product").distinct().count()
    assert stats["d"] == pairs and 0.8 * pairs < stats["o"] < pairs

    before = counts()
    demo_orders(demo)
    assert counts() == before
