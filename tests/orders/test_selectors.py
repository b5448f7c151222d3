"""The reads of orders: scoped by the actor, filtered by index-friendly filters, and the fulfilment figures."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from orders import selectors, services, states
from orders.ledger import delivery_stats_rebuild
from orders.models import DeliveryStat, Order, Quote
from tests.orders.factories import OrderFactory, OrderLineFactory, QuoteFactory

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 18)  # a Wednesday


def aware(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(12)))


def test_order_list_is_scoped_by_role(org):
    mine = OrderFactory(owner=org.rep)
    colleague = OrderFactory(owner=org.rep_b)
    other_team = OrderFactory(owner=org.rep_other)
    assert set(selectors.order_list(actor=org.rep)) == {mine}
    assert set(selectors.order_list(actor=org.manager)) == {mine, colleague}
    assert set(selectors.order_list(actor=org.admin)) == {mine, colleague, other_team}
    assert set(selectors.order_list(actor=org.marketing)) == set()


def test_order_list_filters(org, acme, anna):
    base = {"owner": org.rep}
    open_risky = OrderFactory(**base, account=acme, status="confirmed", risk="Late", ordered_on=TODAY)
    open_fine = OrderFactory(
        **base, account=acme, contact=anna, status="allocated", ordered_on=TODAY - timedelta(days=10)
    )
    done = OrderFactory(**base, status="delivered", ordered_on=TODAY - timedelta(days=40), risk="Late (old flag)")
    draft = OrderFactory(**base, status="draft", ordered_on=TODAY - timedelta(days=5), number="SO-000777")

    def ids(**filters):
        return set(selectors.order_list(actor=org.rep, filters=filters).values_list("id", flat=True))

    assert ids(status="open") == {open_risky.pk, open_fine.pk}
    assert ids(status="draft") == {draft.pk}
    assert ids(at_risk="true") == {open_risky.pk}  # a flag left on a delivered order does not count
    assert ids(ordered_after=TODAY - timedelta(days=10), ordered_before=TODAY - timedelta(days=5)) == {
        open_fine.pk,
        draft.pk,
    }
    assert ids(account=acme.pk) == {open_risky.pk, open_fine.pk}
    assert ids(contact=anna.pk) == {open_fine.pk}
    assert ids(customer="acme") == {open_risky.pk, open_fine.pk}
    assert ids(customer="schmidt") == {open_fine.pk}
    assert ids(q="so-000777") == {draft.pk}
    assert ids(owner=org.rep_b.pk) == set()
    assert done.pk in ids()
    with pytest.raises(ValidationError) as caught:
        ids(status="lost")
    assert "Unknown order status 'lost'" in str(caught.value)
    with pytest.raises(ValidationError):
        ids(ordered_after="yesterday")


def test_quote_list_needs_my_approval_is_for_the_reps_managers(org, acme, shop):
    def quote(owner, status):
        return QuoteFactory(owner=owner, status=status)

    waiting = quote(org.rep, Quote.Status.PENDING_APPROVAL)
    own_waiting = quote(org.manager, Quote.Status.PENDING_APPROVAL)
    other_team = quote(org.rep_other, Quote.Status.PENDING_APPROVAL)
    quote(org.rep, Quote.Status.DRAFT)
    assert set(selectors.approvals_waiting(actor=org.manager)) == {waiting}  # not their own, not another team's
    assert set(selectors.approvals_waiting(actor=org.manager_b)) == {other_team}
    assert set(selectors.approvals_waiting(actor=org.admin)) == {waiting, own_waiting, other_team}
    assert set(selectors.approvals_waiting(actor=org.rep)) == set()
    assert set(selectors.approvals_waiting(actor=org.director)) == {waiting, own_waiting, other_team}


def test_owner_choices_come_from_people_not_orders(org):
    assert list(selectors.owner_choices(actor=org.rep)) == [org.rep]
    assert set(selectors.owner_choices(actor=org.manager)) == {org.manager, org.rep, org.rep_b}
    assert org.rep_other in set(selectors.owner_choices(actor=org.admin))


def test_fulfilment_from_delivery_stats_for_admins(org, shop):
    # March's Aurora cell is split over two owners: the company's figures sum over them.
    DeliveryStat.objects.create(
        month=date(2026, 3, 1), product=shop.aurora, owner=org.rep, deliveries=6, on_time=5, days_total=60
    )
    DeliveryStat.objects.create(
        month=date(2026, 3, 1), product=shop.aurora, owner=org.rep_other, deliveries=4, on_time=3, days_total=40
    )
    DeliveryStat.objects.create(month=date(2026, 2, 1), product=shop.aurora, deliveries=10, on_time=10, days_total=50)
    DeliveryStat.objects.create(month=date(2026, 2, 1), product=shop.manual, deliveries=20, on_time=18, days_total=80)
    DeliveryStat.objects.create(month=date(2025, 11, 1), product=shop.manual, deliveries=5, on_time=0, days_total=50)
    summary = selectors.fulfilment_summary(actor=org.admin, today=TODAY)
    assert summary["company_wide"] is True
    months = {m.month: m for m in summary["months"]}
    assert len(summary["months"]) == 12 and summary["months"][-1].month == date(2026, 3, 1)
    assert months[date(2026, 2, 1)].deliveries == 30 and months[date(2026, 2, 1)].rate == pytest.approx(93.3)
    assert (months[date(2026, 3, 1)].deliveries, months[date(2026, 3, 1)].avg_days) == (10, 10.0)
    # Last three months: January to March 2026 (November is older).
    assert (summary["on_time"].deliveries, summary["on_time"].on_time) == (40, 36)
    assert summary["on_time"].rate == 90.0
    rows = summary["products"]["rows"]
    assert [r["product"] for r in rows] == [shop.manual, shop.aurora]  # by deliveries in the last six months
    assert (rows[1]["total"].deliveries, rows[1]["total"].avg_days) == (20, 7.5)
    march = rows[1]["cells"][summary["products"]["months"].index(date(2026, 3, 1))]
    assert (march.deliveries, march.on_time) == (10, 8)


def test_fulfilment_for_a_rep_counts_only_their_deliveries_from_the_rollup(org, shop):
    def delivered(owner, ordered, promised, on, products=(shop.aurora,)):
        order = OrderFactory(
            owner=owner,
            status=Order.Status.DELIVERED,
            ordered_on=ordered,
            promised_date=promised,
            delivered_at=aware(on),
        )
        for product in products:
            OrderLineFactory(order=order, product=product, quantity=1, quantity_shipped=1)

    delivered(org.rep, date(2026, 3, 1), date(2026, 3, 10), date(2026, 3, 9))  # on time
    delivered(org.rep, date(2026, 2, 20), date(2026, 3, 2), date(2026, 3, 5), (shop.aurora, shop.manual))  # late
    delivered(org.rep, date(2026, 1, 5), date(2026, 1, 20), date(2026, 1, 12))  # on time, in January
    delivered(org.rep, date(2025, 10, 1), date(2025, 10, 10), date(2025, 10, 20))  # before the three months
    delivered(org.rep_b, date(2026, 3, 1), date(2026, 3, 10), date(2026, 3, 20))  # a colleague's, late
    delivered(org.rep_other, date(2026, 3, 1), date(2026, 3, 10), date(2026, 3, 3))  # another team's
    delivery_stats_rebuild()
    summary = selectors.fulfilment_summary(actor=org.rep, today=TODAY)
    assert summary["company_wide"] is False
    # A delivery counts once per product of the order, as in the company's figures.
    assert (summary["mine"].deliveries, summary["mine"].on_time) == (4, 2)
    assert summary["mine"].rate == 50.0
    assert summary["months"][-1].deliveries == 5  # the monthly chart is the company's rollup
    team = selectors.fulfilment_summary(actor=org.manager, today=TODAY)["mine"]
    assert (team.deliveries, team.on_time) == (5, 2)
    assert selectors.fulfilment_summary(actor=org.rep_b, today=TODAY)["mine"].deliveries == 1
    assert selectors.fulfilment_summary(actor=org.admin, today=TODAY)["mine"] is None


def test_backlog_by_status_and_promised_week_per_currency(org):
    week = TODAY - timedelta(days=TODAY.weekday())  # Monday 16 March
    OrderFactory(owner=org.rep, status="confirmed", promised_date=TODAY + timedelta(days=1), total=Decimal("100.00"))
    OrderFactory(owner=org.rep, status="confirmed", promised_date=TODAY + timedelta(days=8), total=Decimal("50.00"))
    OrderFactory(
        owner=org.rep,
        status="allocated",
        promised_date=week - timedelta(days=3),
        total=Decimal("70.00"),
        currency="GBP",
    )
    OrderFactory(owner=org.rep, status="delivered", promised_date=TODAY, total=Decimal("999.00"))
    OrderFactory(owner=org.rep_b, status="confirmed", promised_date=TODAY, total=Decimal("999.00"))
    backlog = selectors.fulfilment_summary(actor=org.rep, today=TODAY)["backlog"]
    assert backlog.count == 3
    assert backlog.value == {"EUR": Decimal("150.00"), "GBP": Decimal("70.00")}
    by_status = {row["status"]: (row["count"], row["value"]) for row in backlog.by_status}
    assert by_status == {"confirmed": (2, {"EUR": Decimal("150.00")}), "allocated": (1, {"GBP": Decimal("70.00")})}
    weeks = {row["key"]: row["count"] for row in backlog.by_week}
    assert weeks["overdue"] == 1
    assert weeks[str(week)] == 1 and weeks[str(week + timedelta(weeks=1))] == 1


def test_at_risk_lists_open_flagged_orders_most_urgent_first(org):
    later = OrderFactory(owner=org.rep, status="confirmed", risk="x", promised_date=TODAY + timedelta(days=9))
    sooner = OrderFactory(owner=org.rep, status="allocated", risk="y", promised_date=TODAY + timedelta(days=2))
    undated = OrderFactory(owner=org.rep, status="confirmed", risk="w", promised_date=None)
    OrderFactory(owner=org.rep, status="confirmed", promised_date=TODAY)  # not flagged
    OrderFactory(owner=org.rep, status="shipped", risk="", promised_date=TODAY)
    OrderFactory(owner=org.rep_b, status="confirmed", risk="z", promised_date=TODAY)
    summary = selectors.fulfilment_summary(actor=org.rep, today=TODAY)
    assert summary["at_risk"] == [sooner, later, undated]
    assert summary["at_risk_count"] == 3


def test_at_risk_takes_the_most_overdue_first_limited_in_sql(org):
    # Made oldest promise first, so the newest orders (the model's ordering) are the least overdue.
    overdue = [
        OrderFactory(owner=org.rep, status="confirmed", risk="late", promised_date=TODAY - timedelta(days=30 - i))
        for i in range(25)
    ]
    with CaptureQueriesContext(connection) as queries:
        summary = selectors.fulfilment_summary(actor=org.rep, today=TODAY)
    assert summary["at_risk"] == overdue[:20]
    assert summary["at_risk_count"] == 25
    [risk_sql] = [q["sql"] for q in queries.captured_queries if '"promised_date" ASC' in q["sql"]]
    assert "LIMIT 20" in risk_sql


def test_product_sales_counts_companions_and_the_visible_buyers(org, make_order, shop, acme):
    for extra in (shop.manual, shop.manual, shop.gadget):
        states.order_confirm(order=make_order([(shop.aurora, 1), (extra, 1)]), actor=org.rep)
    states.order_confirm(order=make_order([(shop.aurora, 2)], actor=org.rep), actor=org.rep)
    make_order([(shop.aurora, 1), (shop.gadget, 5)])  # a draft: not a sale
    sales = selectors.product_sales(actor=org.rep, product=shop.aurora)
    assert sales["orders_considered"] == 4
    assert [(s["product"], s["orders"], s["share"]) for s in sales["sells_with"]] == [
        (shop.manual, 2, 50),
        (shop.gadget, 1, 25),
    ]
    [buyer] = sales["buyers"]
    assert (buyer["order__account__name"], buyer["units"], buyer["orders"]) == ("Acme GmbH", 5, 4)
    assert buyer["last"] == timezone.localdate()
    assert selectors.product_sales(actor=org.rep_b, product=shop.aurora)["buyers"] == []


def test_customer_sales_are_scoped(org, acme, anna):
    mine = OrderFactory(owner=org.rep, account=acme, contact=anna)
    theirs = OrderFactory(owner=org.rep_b, account=acme)
    quote = QuoteFactory(owner=org.rep, account=acme)
    assert selectors.customer_sales(actor=org.rep, account=acme) == {"quotes": [quote], "orders": [mine]}
    assert set(selectors.customer_sales(actor=org.manager, account=acme)["orders"]) == {mine, theirs}
    assert selectors.customer_sales(actor=org.rep, contact=anna) == {"quotes": [], "orders": [mine]}


def test_quote_list_filters(org, acme):
    sent = QuoteFactory(owner=org.rep, account=acme, status=Quote.Status.SENT)
    lost = QuoteFactory(owner=org.rep, status=Quote.Status.REJECTED)
    assert set(selectors.quote_list(actor=org.rep, filters={"status": "sent"})) == {sent}
    assert set(selectors.quote_list(actor=org.rep, filters={"open": "true"})) == {sent}
    assert set(selectors.quote_list(actor=org.rep, filters={"open": "false"})) == {lost}
    assert set(selectors.quote_list(actor=org.rep, filters={"q": "acme"})) == {sent}
    assert set(selectors.quote_list(actor=org.rep, filters={"q": sent.number.lower()})) == {sent}
    assert set(selectors.quote_list(actor=org.rep_b)) == set()
    with pytest.raises(ValidationError):
        selectors.quote_list(actor=org.rep, filters={"status": "won"})


def test_a_quote_made_by_the_service_is_listed_for_its_owner(org, acme, shop):
    quote = services.quote_create(actor=org.rep, account=acme, lines=[{"product": shop.aurora, "quantity": 1}])
    assert list(selectors.quote_list(actor=org.rep)) == [quote]
