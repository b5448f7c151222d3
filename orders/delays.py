"""Late orders, flagged before the customer complains.

An open order is at risk when it is still not allocated ``allocation_warning_days`` working days before its
promised date, or not shipped by the promised date (the later problem wins). The daily job sets
``Order.risk`` and ``risk_flagged_at``, clears them when the problem is gone, and e-mails the owner once
per order and reason; each e-mail is an ``OrderEvent`` (action ``risk``), which is also how "once" is kept.
A step of the state machine clears a flag whose problem it solved at once (``risk_refresh``).
"""

from __future__ import annotations

from datetime import date

from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from orders.calendar import WorkingCalendar, working_calendar
from orders.models import Order, OrderEvent, OrderSettings
from orders.services import order_settings
from sfa.audit import audit_record
from sfa.models import AuditAction

S = Order.Status
WATCHED = (S.CONFIRMED, S.ALLOCATED, S.PARTIALLY_SHIPPED)
NOT_ALLOCATED, NOT_SHIPPED = "not_allocated", "not_shipped"


def risk_reason(
    order: Order, *, today: date, calendar: WorkingCalendar, settings: OrderSettings
) -> tuple[str, str] | None:
    """``(code, text)`` of what puts ``order`` at risk on ``today``, or None."""
    promised = order.promised_date
    if order.status not in WATCHED or promised is None:
        return None
    if today >= promised:
        return NOT_SHIPPED, f"Not shipped by the promised date {promised:%d %b %Y}"
    days = settings.allocation_warning_days
    if order.status == S.CONFIRMED and calendar.between(today, promised) <= days:
        return NOT_ALLOCATED, f"Not allocated {days} working days before the promised date {promised:%d %b %Y}"
    return None


def risk_refresh(order: Order, *, today: date | None = None) -> list[str]:
    """Clear the flag of ``order`` (in memory) when its problem is gone; the fields to save."""
    if not order.risk:
        return []
    reason = risk_reason(
        order, today=today or timezone.localdate(), calendar=working_calendar(), settings=order_settings()
    )
    if reason is not None and reason[1] == order.risk:
        return []
    order.risk, order.risk_flagged_at = "", None
    return ["risk", "risk_flagged_at"]


def _mail_owner(order: Order, text: str) -> bool:
    if not order.owner.email:
        return False
    customer = order.account or order.contact
    send_mail(
        subject=f"Order {order.number} is at risk: {text.lower()}",
        message=(
            f"Hello {order.owner.get_short_name() or order.owner.username},\n\n"
            f"order {order.number} for {customer} ({order.total:,.2f} {order.currency}) is "
            f"{order.get_status_display().lower()}, promised for {order.promised_date:%d %b %Y}.\n"
            f"{text}.\n\nPlease check its stock and shipping, or tell the customer in time.\n"
        ),
        from_email=None,
        recipient_list=[order.owner.email],
    )
    return True


def orders_flag_at_risk(*, today: date | None = None) -> int:
    """Beat job (daily): flag orders at risk, clear solved flags, e-mail each owner once per reason.

    Returns the number of orders newly flagged (or flagged for a new reason). Safe to run twice.
    """
    today = today or timezone.localdate()
    calendar, settings = working_calendar(), order_settings()
    candidates = list(
        Order.objects.filter(Q(status__in=WATCHED, promised_date__isnull=False) | ~Q(risk=""))
        .select_related("owner", "account", "contact")
        .order_by("id")
    )
    told = {
        (order_id, (data or {}).get("reason"))
        for order_id, data in OrderEvent.objects.filter(
            order_id__in=[o.pk for o in candidates], data__action="risk"
        ).values_list("order_id", "data")
    }
    flagged = 0
    for order in candidates:
        reason = risk_reason(order, today=today, calendar=calendar, settings=settings)
        if reason is None and not order.risk:
            continue
        with transaction.atomic():
            if reason is None:
                Order.objects.filter(pk=order.pk).update(risk="", risk_flagged_at=None)
                audit_record(
                    actor=None,
                    instance=order,
                    action=AuditAction.UPDATE,
                    changes={"risk": [order.risk, ""]},
                    note="no longer at risk",
                )
                continue
            code, text = reason
            if order.risk != text:
                Order.objects.filter(pk=order.pk).update(risk=text, risk_flagged_at=timezone.now())
                audit_record(
                    actor=None, instance=order, action=AuditAction.UPDATE, changes={"risk": [order.risk, text]}
                )
                flagged += 1
            if (order.pk, code) not in told:
                mailed = _mail_owner(order, text)
                OrderEvent.objects.create(
                    order=order,
                    by=None,
                    from_status=order.status,
                    to_status=order.status,
                    note=text[:300],
                    data={"action": "risk", "reason": code, "emailed": mailed, "to": order.owner.email},
                )
                told.add((order.pk, code))
    return flagged
