"""Orders at risk: flagged, cleared, and the owner told once per reason."""

from __future__ import annotations

from datetime import date

import pytest
from django.conf import settings
from django.core import mail

from orders.calendar import working_days_add
from orders.delays import orders_flag_at_risk
from orders.models import Order, OrderEvent
from orders.states import order_allocate, order_ship

MONDAY = date(2027, 3, 1)


@pytest.fixture
def promised(org, confirmed, shop):
    """``promised(when)`` -> an order of org.rep, confirmed, with its promise moved to ``when``."""

    def _order(when: date, lines=None) -> Order:
        order = confirmed(lines or [(shop.manual, 1)])
        Order.objects.filter(pk=order.pk).update(promised_date=when)
        order.refresh_from_db()
        return order

    return _order


def risk_events(order):
    return list(OrderEvent.objects.filter(order=order, data__action="risk").values_list("data__reason", flat=True))


def test_an_order_not_allocated_shortly_before_its_promise_is_flagged_and_the_owner_told_once(org, promised):
    order = promised(working_days_add(MONDAY, 3))  # allocation_warning_days defaults to 3
    calm = promised(working_days_add(MONDAY, 4))
    assert orders_flag_at_risk(today=MONDAY) == 1
    order.refresh_from_db()
    calm.refresh_from_db()
    assert order.risk.startswith("Not allocated 3 working days before the promised date") and order.risk_flagged_at
    assert calm.risk == "" and calm.risk_flagged_at is None
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [org.rep.email] and order.number in message.subject and "not allocated" in message.subject
    assert risk_events(order) == ["not_allocated"]

    assert orders_flag_at_risk(today=MONDAY) == 0  # again: nothing new, no second e-mail
    assert len(mail.outbox) == 1
    tuesday = working_days_add(MONDAY, 1)
    assert orders_flag_at_risk(today=tuesday) == 1  # now the calm one is 3 working days away too
    assert orders_flag_at_risk(today=tuesday) == 0
    assert [m.subject.split(":")[0] for m in mail.outbox] == [
        f"Order {order.number} is at risk",
        f"Order {calm.number} is at risk",
    ]


def test_allocation_clears_the_flag_at_once(org, promised):
    order = promised(working_days_add(MONDAY, 2))
    orders_flag_at_risk(today=MONDAY)
    order.refresh_from_db()
    assert order.risk
    # Allocation happens before the promise; risk_refresh compares with today's date, which is long
    # before 2027, so the "not allocated" problem is gone.
    order_allocate(order=order, actor=org.rep)
    order.refresh_from_db()
    assert order.risk == "" and order.risk_flagged_at is None


def test_not_shipped_by_the_promised_date_is_a_new_reason_with_its_own_email(org, promised):
    order = promised(working_days_add(MONDAY, 2))
    orders_flag_at_risk(today=MONDAY)
    order_allocate(order=order, actor=org.rep)
    assert orders_flag_at_risk(today=working_days_add(MONDAY, 2)) == 1
    order.refresh_from_db()
    assert order.risk.startswith("Not shipped by the promised date")
    assert [m.subject.split(": ", 1)[1] for m in mail.outbox] == [
        f"not allocated 3 working days before the promised date {order.promised_date:%d %b %Y}".lower(),
        f"not shipped by the promised date {order.promised_date:%d %b %Y}".lower(),
    ]
    assert sorted(risk_events(order)) == ["not_allocated", "not_shipped"]
    orders_flag_at_risk(today=working_days_add(MONDAY, 5))
    assert len(mail.outbox) == 2


def test_the_flag_is_cleared_when_the_order_ships(org, promised):
    order = promised(MONDAY)
    order_allocate(order=order, actor=org.rep)
    orders_flag_at_risk(today=MONDAY)
    order.refresh_from_db()
    assert order.risk.startswith("Not shipped")
    order_ship(order=order, actor=org.rep)
    order.refresh_from_db()
    assert order.risk == ""  # shipping solved it at once


def test_the_daily_job_clears_flags_whose_problem_is_gone(org, promised):
    order = promised(working_days_add(MONDAY, 1))
    orders_flag_at_risk(today=MONDAY)
    Order.objects.filter(pk=order.pk).update(promised_date=working_days_add(MONDAY, 30))  # promise moved
    assert orders_flag_at_risk(today=MONDAY) == 0
    order.refresh_from_db()
    assert order.risk == "" and order.risk_flagged_at is None


def test_an_owner_without_email_is_not_mailed_but_the_flag_is_kept(org, promised):
    org.rep.email = ""
    org.rep.save()
    order = promised(MONDAY)
    assert orders_flag_at_risk(today=MONDAY) == 1
    assert mail.outbox == []
    assert OrderEvent.objects.get(order=order, data__action="risk").data["emailed"] is False


def test_the_tasks_are_registered_under_the_names_the_beat_schedule_uses(org, promised):
    from datetime import timedelta

    from django.utils import timezone

    from orders import tasks
    from orders.models import Quote
    from sfa.celery import app
    from tests.orders.factories import QuoteFactory

    late = promised(timezone.localdate())
    stale = QuoteFactory(owner=org.rep, valid_until=timezone.localdate() - timedelta(days=1))

    names = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"orders.flag_at_risk", "orders.expire_quotes"} <= names
    assert tasks.flag_at_risk.name == "orders.flag_at_risk" and tasks.expire_quotes.name == "orders.expire_quotes"
    assert app.tasks["orders.flag_at_risk"].delay().get() == 1  # eager in tests: runs the service
    assert app.tasks["orders.expire_quotes"].delay().get() == 1
    late.refresh_from_db()
    assert late.risk.startswith("Not shipped") and Quote.objects.get(pk=stale.pk).status == Quote.Status.EXPIRED
