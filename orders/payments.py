"""Payments on orders: what the customer paid, when, and against which reference.

A payment is recorded on a confirmed (or later) order, in the order's currency, and never for more than
what is still open on the order. Commission plans that earn on payment read the rows (pro rata of the
order's total), so a payment is never edited: it is recorded once, audited, and stays.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet, Sum
from django.utils import timezone

from orders.models import Order, Payment
from orders.services import money
from sfa.audit import audit_record, diff, snapshot
from sfa.models import AuditAction
from sfa.permissions import can, require, scoped

if TYPE_CHECKING:
    from sfa.models import User

# An order takes payments once it is a sale; a cancelled one no longer does.
PAYABLE = (
    Order.Status.CONFIRMED,
    Order.Status.ALLOCATED,
    Order.Status.PARTIALLY_SHIPPED,
    Order.Status.SHIPPED,
    Order.Status.DELIVERED,
    Order.Status.CLOSED,
    Order.Status.RETURNED,
)


def order_paid(order: Order) -> Decimal:
    """What was paid on ``order`` so far (order currency)."""
    total = Payment.objects.filter(order=order).aggregate(total=Sum("amount"))["total"]
    return money(total or 0)  # SQLite sums decimals as floats


@transaction.atomic
def order_payment_record(
    *,
    order: Order,
    amount: Decimal | str | int,
    received_on: date,
    actor: User | None,
    reference: str = "",
    currency: str | None = None,
) -> Payment:
    """Record a payment on ``order``: positive, in the order's currency, dated today or earlier, not before
    the order was booked, and never more than what is still open (the total minus earlier payments)."""
    locked = Order.objects.select_for_update().get(pk=order.pk)
    if actor is not None:
        require(actor, "add", Payment(order=locked))
    try:
        value = money(amount)
    except (ArithmeticError, ValueError, TypeError):
        raise ValidationError({"amount": f"{amount!r} is not an amount."}) from None
    if value <= 0:
        raise ValidationError({"amount": "A payment is more than zero."})
    currency = (currency or locked.currency).upper()
    if currency != locked.currency:
        raise ValidationError(
            {"currency": f"Order {locked.number} is in {locked.currency}: record the payment in {locked.currency}."}
        )
    if locked.status not in PAYABLE:
        raise ValidationError(f"Order {locked.number} is {locked.get_status_display().lower()}: it takes no payment.")
    if received_on > timezone.localdate():
        raise ValidationError({"received_on": "A payment cannot be received in the future."})
    if received_on < locked.ordered_on:
        raise ValidationError(
            {"received_on": f"Order {locked.number} was booked on {locked.ordered_on:%Y-%m-%d}: pay after that."}
        )
    open_amount = locked.total - order_paid(locked)
    if value > open_amount:
        raise ValidationError(
            {"amount": f"Only {open_amount} {locked.currency} is open on order {locked.number} ({value} entered)."}
        )
    payment = Payment(
        order=locked,
        amount=value,
        currency=currency,
        received_on=received_on,
        reference=(reference or "").strip()[:100],
        recorded_by=actor if actor is not None and actor.is_authenticated else None,
    )
    payment.full_clean()
    payment.save()
    audit_record(
        actor=actor,
        instance=payment,
        action=AuditAction.CREATE,
        changes=diff({}, snapshot(payment)),
        note=f"payment on order {locked.number}",
    )
    return payment


@dataclass
class PaymentSummary:
    payments: list[Payment]
    paid: Decimal
    open: Decimal
    can_record: bool


def order_payments(*, actor: User, order: Order) -> PaymentSummary:
    """The payments of an order the actor may view, what is paid and still open, and whether they may record one."""
    rows = list(scoped(actor, Payment.objects.filter(order=order).select_related("recorded_by")))
    paid = money(sum((p.amount for p in rows), Decimal("0")))
    return PaymentSummary(
        payments=rows,
        paid=paid,
        open=max(Decimal("0.00"), order.total - paid),
        can_record=order.status in PAYABLE and can(actor, "add", Payment(order=order)),
    )


def payment_list(*, actor: User, order: Order | None = None) -> QuerySet[Payment]:
    qs = scoped(actor, Payment.objects.select_related("order", "recorded_by"))
    return qs.filter(order=order) if order is not None else qs
