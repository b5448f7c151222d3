"""The sales ledger, the facts that follow it, the delivery rollup, and their rebuilds."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from forecasting.facts import facts_apply, facts_rebuild, month_of, week_of
from forecasting.models import SalesFact
from orders import ledger
from orders.ledger import delivery_stats_rebuild, ledger_rebuild
from orders.models import DeliveryStat, ExchangeRate, Order, SalesEntry
from orders.states import order_allocate, order_cancel, order_deliver, order_return, order_ship

D = Decimal


def ledger_rows():
    return Counter(
        SalesEntry.objects.values_list(
            "order_id", "line_id", "kind", "basis", "on", "units", "amount", "amount_base", "rep_id", "product_id"
        )
    )


def facts():
    return {
        (f.grain, f.period, f.product_id, f.category_id, f.region, f.rep_id, f.segment): (f.revenue, f.units)
        for f in SalesFact.objects.all()
    }


def deliver_all(order, actor):
    order_allocate(order=order, actor=actor)
    order_ship(order=order, actor=actor)
    return order_deliver(order=order, actor=actor)


@pytest.fixture
def usd(db):
    ExchangeRate.objects.create(currency="USD", rate=D("0.800000"), valid_from=date(2020, 1, 1))
    ExchangeRate.objects.create(currency="USD", rate=D("0.900000"), valid_from=timezone.localdate())
    ExchangeRate.objects.create(currency="USD", rate=D("5.000000"), valid_from=timezone.localdate() + timedelta(1))


def test_forecasting_listens_to_the_ledger():
    assert facts_apply in ledger.sales_listeners
    assert facts_rebuild in ledger.rebuild_listeners


def test_booking_converts_at_the_rate_of_the_booking_date(org, confirmed, shop, usd, acme):
    order = confirmed([{"product": shop.aurora, "quantity": 3, "unit_price": "333.33"}], currency="USD")
    entry = SalesEntry.objects.get(order=order)
    assert (entry.kind, entry.basis, entry.on, entry.units) == ("booked", "booking", order.ordered_on, 3)
    assert (entry.amount, entry.currency, entry.amount_base) == (D("999.99"), "USD", D("899.99"))
    assert (entry.rep, entry.account, entry.category) == (org.rep, acme, shop.cars)


def test_the_base_currency_converts_at_one(org, confirmed, shop):
    order = confirmed([(shop.manual, 2)])
    assert SalesEntry.objects.get(order=order).amount_base == D("40.00")


def test_facts_follow_the_ledger_on_the_booking_basis(org, confirmed, shop, acme):
    acme.region, acme.segment = "Nord", "smb"
    acme.save()
    first = confirmed([(shop.aurora, 2), (shop.manual, 1)])
    confirmed([(shop.aurora, 1)])
    today = timezone.localdate()
    month = SalesFact.objects.get(grain="month", product=shop.aurora)
    week = SalesFact.objects.get(grain="week", product=shop.aurora)
    assert (month.period, week.period) == (month_of(today), week_of(today))
    assert week.period.weekday() == 0
    assert (month.revenue, month.units, month.region, month.segment, month.rep) == (
        D("3000.00"),
        3,
        "Nord",
        "smb",
        org.rep,
    )
    assert (week.revenue, week.units) == (D("3000.00"), 3)
    assert SalesFact.objects.get(grain="month", product=shop.manual).category == shop.books

    deliver_all(first, org.rep)  # the delivery basis does not move the booking facts
    assert SalesFact.objects.get(grain="month", product=shop.aurora).revenue == D("3000.00")

    order_return(order=first, actor=org.rep, quantities={first.lines.get(product=shop.aurora).pk: 1}, reason="x")
    month = SalesFact.objects.get(grain="month", product=shop.aurora)
    assert (month.revenue, month.units) == (D("2000.00"), 2)

    live = facts()
    assert facts_rebuild() == len(live)
    assert facts() == live  # the rebuild agrees with what the listener kept


def test_cancel_takes_the_facts_back_to_zero(org, confirmed, shop):
    order = confirmed([(shop.aurora, 2)])
    order_cancel(order=order, actor=org.rep, reason="Duplicate")
    month = SalesFact.objects.get(grain="month", product=shop.aurora)
    assert (month.revenue, month.units) == (D("0"), 0)


def test_partial_deliveries_add_up_to_the_line_to_the_cent(org, confirmed, shop, ledger_sum, usd):
    order = confirmed(
        [{"product": shop.aurora, "quantity": 3, "unit_price": "100.00"}], currency="USD", discount_percent="0.01"
    )
    line = order.lines.get()
    order_allocate(order=order, actor=org.rep)
    for _ in range(3):
        order_ship(order=order, actor=org.rep, quantities={line.pk: 1})
        order_deliver(order=order, actor=org.rep)
    delivered = list(SalesEntry.objects.filter(order=order, kind="delivered").values_list("amount", flat=True))
    assert len(delivered) == 3 and sum(delivered) == line.net_amount == D("299.97")
    assert ledger_sum(order, "delivery") == ledger_sum(order, "booking")
    order_return(order=order, actor=org.rep, reason="All back")
    assert ledger_sum(order) == (0, D("0"), D("0"))


def test_rebuild_writes_the_same_ledger_the_services_wrote(org, confirmed, make_order, shop, usd):
    from orders.states import order_close, order_confirm

    delivered = confirmed([(shop.aurora, 2), (shop.manual, 3)])
    deliver_all(delivered, org.rep)
    order_close(order=delivered, actor=org.rep)
    partial = confirmed([{"product": shop.manual, "quantity": 4, "unit_price": "21.50"}], currency="USD")
    order_allocate(order=partial, actor=org.rep)
    order_ship(order=partial, actor=org.rep, quantities={partial.lines.get().pk: 1})
    order_deliver(order=partial, actor=org.rep)
    cancelled = confirmed([(shop.aurora, 1)])
    order_cancel(order=cancelled, actor=org.rep, reason="x")
    returned = confirmed([(shop.manual, 5)])
    deliver_all(returned, org.rep)
    order_return(order=returned, actor=org.rep, reason="x")
    some_back = confirmed([(shop.manual, 5)])
    deliver_all(some_back, org.rep)
    order_return(order=some_back, actor=org.rep, quantities={some_back.lines.get().pk: 2}, reason="x")
    make_order([(shop.manual, 1)])  # a draft: nothing
    order_cancel(order=make_order([(shop.manual, 1)]), actor=org.rep, reason="never confirmed")
    order_confirm(order=make_order([(shop.manual, 1)]), actor=org.rep)

    live, live_facts = ledger_rows(), facts()
    SalesFact.objects.all().delete()
    counts = ledger_rebuild()
    assert ledger_rows() == live
    assert counts["entries"] == sum(live.values())
    assert facts() == live_facts  # the rebuild listener made the facts again


def test_rebuild_covers_delivered_orders_written_without_shipments(org, shop):
    from tests.orders.factories import OrderFactory, OrderLineFactory

    moment = timezone.now() - timedelta(days=40)
    order = OrderFactory(
        owner=org.rep,
        status=Order.Status.DELIVERED,
        ordered_on=moment.date() - timedelta(days=5),
        confirmed_at=moment - timedelta(days=5),
        delivered_at=moment,
        promised_date=moment.date(),
    )
    OrderLineFactory(order=order, product=shop.manual, quantity=4, net_amount=D("80.00"), quantity_shipped=4)
    ledger_rebuild()
    rows = set(SalesEntry.objects.values_list("kind", "on", "units", "amount"))
    assert rows == {
        ("booked", order.ordered_on, 4, D("80.00")),
        ("delivered", timezone.localtime(moment).date(), 4, D("80.00")),
    }
    assert delivery_stats_rebuild() == 1
    stat = DeliveryStat.objects.get()
    assert (stat.product, stat.deliveries, stat.on_time, stat.days_total) == (shop.manual, 1, 1, 5)


def test_rebuild_refuses_a_missing_rate_and_keeps_the_old_ledger(org, confirmed, shop):
    from django.core.exceptions import ValidationError

    confirmed([(shop.manual, 1)])
    Order.objects.update(currency="CHF")
    with pytest.raises(ValidationError, match="No exchange rate from CHF"):
        ledger_rebuild()
    assert SalesEntry.objects.count() == 1


def test_delivery_stats_follow_deliveries_and_rebuild_the_same(org, confirmed, shop):
    on_time = confirmed([(shop.aurora, 1), (shop.manual, 1)])
    deliver_all(on_time, org.rep)
    late = confirmed([(shop.manual, 2)])
    Order.objects.filter(pk=late.pk).update(
        promised_date=timezone.localdate() - timedelta(days=1), ordered_on=timezone.localdate() - timedelta(days=9)
    )
    late.refresh_from_db()
    deliver_all(late, org.rep)
    month = timezone.localdate().replace(day=1)
    manual = DeliveryStat.objects.get(product=shop.manual, month=month)
    assert (manual.deliveries, manual.on_time, manual.days_total) == (2, 1, 9)
    assert DeliveryStat.objects.get(product=shop.aurora).deliveries == 1
    assert set(DeliveryStat.objects.values_list("owner_id", flat=True)) == {org.rep.pk}
    live = set(
        DeliveryStat.objects.values_list("month", "product_id", "owner_id", "deliveries", "on_time", "days_total")
    )
    assert delivery_stats_rebuild() == 2
    assert (
        set(DeliveryStat.objects.values_list("month", "product_id", "owner_id", "deliveries", "on_time", "days_total"))
        == live
    )


def rollup_from_orders():
    """``{(month, product id, owner id): (deliveries, on time, days)}`` counted from the orders themselves."""
    cells = Counter()
    for order in Order.objects.exclude(delivered_at=None).prefetch_related("lines"):
        delivered = timezone.localtime(order.delivered_at).date()
        on_time = order.promised_date is not None and delivered <= order.promised_date
        for product_id in {line.product_id for line in order.lines.all()}:
            key = (delivered.replace(day=1), product_id, order.owner_id)
            cells[key, "d"] += 1
            cells[key, "o"] += int(on_time)
            cells[key, "t"] += (delivered - order.ordered_on).days
    return {key: (cells[key, "d"], cells[key, "o"], cells[key, "t"]) for key, kind in cells if kind == "d"}


def rollup():
    return {
        (s.month, s.product_id, s.owner_id): (s.deliveries, s.on_time, s.days_total) for s in DeliveryStat.objects.all()
    }


def test_delivery_stats_per_owner_equal_what_the_orders_say(org, make_order, shop):
    from orders.states import order_confirm

    mine = order_confirm(order=make_order([(shop.aurora, 1), (shop.manual, 1)]), actor=org.rep)
    deliver_all(mine, org.rep)
    colleague = order_confirm(order=make_order([(shop.manual, 2)], actor=org.rep_b), actor=org.rep_b)
    Order.objects.filter(pk=colleague.pk).update(
        promised_date=timezone.localdate() - timedelta(days=1), ordered_on=timezone.localdate() - timedelta(days=4)
    )
    colleague.refresh_from_db()
    deliver_all(colleague, org.manager)  # delivered by the manager: still counted for its owner
    again = order_confirm(order=make_order([(shop.manual, 1)]), actor=org.rep)
    deliver_all(again, org.rep)
    month = timezone.localdate().replace(day=1)
    live = rollup()
    assert live == rollup_from_orders()
    assert live[month, shop.manual.pk, org.rep.pk][0] == 2
    assert live[month, shop.manual.pk, org.rep_b.pk] == (1, 0, 4)
    assert (month, shop.aurora.pk, org.rep_b.pk) not in live
    assert delivery_stats_rebuild() == 3
    assert rollup() == live
