"""Payments on orders (orders.payments): recorded once, in the order's currency, never more than is open."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from orders.payments import order_paid, order_payment_record, order_payments
from orders.states import order_cancel
from sfa.models import AuditEvent


def test_a_manager_records_payments_up_to_the_open_amount(org, shop, confirmed):
    order = confirmed([(shop.aurora, 1)])  # 1190.00 with tax
    today = timezone.localdate()
    payment = order_payment_record(order=order, amount="1000", received_on=today, actor=org.manager, reference="T1")
    assert payment.currency == "EUR" and payment.recorded_by == org.manager
    assert AuditEvent.objects.filter(object_id=str(payment.pk), action="create").exists()
    with pytest.raises(ValidationError, match=r"Only 190\.00 EUR is open"):
        order_payment_record(order=order, amount="190.01", received_on=today, actor=org.manager)
    order_payment_record(order=order, amount="190.00", received_on=today, actor=org.admin)
    assert order_paid(order) == Decimal("1190.00")
    summary = order_payments(actor=org.rep, order=order)
    assert summary.paid == Decimal("1190.00") and summary.open == 0 and not summary.can_record


def test_who_may_record_and_what_is_refused(org, shop, confirmed, make_order):
    order = confirmed([(shop.manual, 2)])
    today = timezone.localdate()
    with pytest.raises(PermissionDenied):
        order_payment_record(order=order, amount="5", received_on=today, actor=org.rep)
    with pytest.raises(PermissionDenied):
        order_payment_record(order=order, amount="5", received_on=today, actor=org.manager_b)
    with pytest.raises(ValidationError, match="future"):
        order_payment_record(order=order, amount="5", received_on=today + timedelta(days=1), actor=org.manager)
    with pytest.raises(ValidationError, match="booked on"):
        order_payment_record(order=order, amount="5", received_on=today - timedelta(days=1), actor=org.manager)
    with pytest.raises(ValidationError, match="in EUR"):
        order_payment_record(order=order, amount="5", received_on=today, actor=org.manager, currency="GBP")
    with pytest.raises(ValidationError, match="more than zero"):
        order_payment_record(order=order, amount="0", received_on=today, actor=org.manager)
    draft = make_order([(shop.manual, 1)])
    with pytest.raises(ValidationError, match="takes no payment"):
        order_payment_record(order=draft, amount="5", received_on=today, actor=org.manager)
    order_cancel(order=order, actor=org.rep, reason="Not needed")
    with pytest.raises(ValidationError, match="takes no payment"):
        order_payment_record(order=order, amount="5", received_on=today, actor=org.manager)
