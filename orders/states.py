"""The order's state machine: every step guarded, recorded as an ``OrderEvent`` and audited.

    draft → confirmed → allocated → (partially_shipped →) shipped → delivered → closed
    draft / confirmed / allocated → cancelled;  delivered / closed → returned

Each step locks the order row first, so two people pressing "ship" at the same moment cannot both ship
the same units: the second one waits and then sees the new status. A step refused by the state machine
raises ``TransitionError`` naming the order, its status and what is missing; a step the actor may not take
raises ``PermissionDenied`` (the order's ``change`` right: the owner, their managers, admins).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from orders.ledger import delivery_stats_apply, exchange_rate, ledger_book, ledger_deliver, ledger_reverse
from orders.models import Order, OrderEvent, OrderLine, SalesEntry, Shipment, ShipmentLine
from orders.promise import promise_date
from orders.stock import made_to_order_ids, stock_put_back, stock_release, stock_reserve, stock_ship, units
from sfa.audit import audit_record
from sfa.models import AuditAction
from sfa.permissions import can, require

if TYPE_CHECKING:
    from contacts.models import Contact, Purpose
    from sfa.models import User

S = Order.Status


class TransitionError(ValidationError):
    """A step the state machine does not allow from the order's status, or whose guard is not met."""


TRANSITIONS: dict[str, set[str]] = {
    S.DRAFT: {S.CONFIRMED, S.CANCELLED},
    S.CONFIRMED: {S.ALLOCATED, S.CANCELLED},
    S.ALLOCATED: {S.PARTIALLY_SHIPPED, S.SHIPPED, S.CANCELLED},
    S.PARTIALLY_SHIPPED: {S.PARTIALLY_SHIPPED, S.SHIPPED},
    S.SHIPPED: {S.DELIVERED},
    S.DELIVERED: {S.CLOSED, S.RETURNED},
    S.CLOSED: {S.RETURNED},
    S.CANCELLED: set(),
    S.RETURNED: set(),
}

# The statuses each action starts from. "deliver" on a partially shipped order records the delivery of a
# shipment (the order stays partially shipped); "return" of some units leaves the status as it is.
ACTIONS: dict[str, tuple[str, ...]] = {
    "confirm": (S.DRAFT,),
    "allocate": (S.CONFIRMED,),
    "ship": (S.ALLOCATED, S.PARTIALLY_SHIPPED),
    "deliver": (S.PARTIALLY_SHIPPED, S.SHIPPED),
    "close": (S.DELIVERED,),
    "cancel": (S.DRAFT, S.CONFIRMED, S.ALLOCATED),
    # Not from "shipped": goods still on their way are delivered (or refused) first, so that the ledger's
    # delivered rows never count units that came back before they arrived.
    "return": (S.DELIVERED, S.CLOSED),
}

PAST = {
    "confirm": "confirmed",
    "allocate": "allocated",
    "ship": "shipped",
    "deliver": "delivered",
    "close": "closed",
    "cancel": "cancelled",
    "return": "returned",
}

SHIPPED_ANY = (S.PARTIALLY_SHIPPED, S.SHIPPED, S.DELIVERED, S.CLOSED)
ENDED = (S.CANCELLED, S.RETURNED)


def _why_not(status: str, action: str) -> str:
    """The end of the refusal: what is missing, or what to do instead."""
    if status in ENDED:
        return f"it is {S(status).label.lower()} for good"
    hints = {
        "confirm": "only a draft order is confirmed",
        "allocate": "before it is confirmed" if status == S.DRAFT else "it was allocated already",
        "ship": (
            "before it is allocated"
            if status in (S.DRAFT, S.CONFIRMED)
            else "everything on it has been shipped already"
        ),
        "deliver": (
            "before anything has been shipped"
            if status in (S.DRAFT, S.CONFIRMED, S.ALLOCATED)
            else "it was delivered already"
        ),
        "close": "before it is delivered" if status not in (S.CLOSED,) else "it is closed already",
        "cancel": "goods have left the warehouse: record a return instead",
        "return": (
            "nothing has been shipped: cancel it instead"
            if status in (S.DRAFT, S.CONFIRMED, S.ALLOCATED)
            else "it is still being shipped: ship the rest first, then record the return"
        ),
    }
    return hints[action]


def _refuse(order: Order, action: str) -> TransitionError:
    hint = _why_not(order.status, action)
    label = S(order.status).label.lower()
    if hint.startswith("before"):
        text = f"Order {order.number} is {label}: it cannot be {PAST[action]} {hint}."
    else:
        text = f"Order {order.number} is {label}: it cannot be {PAST[action]} ({hint})."
    return TransitionError(text, code="illegal_transition")


def _begin(order: Order, actor: User | None, action: str) -> Order:
    """Lock the order, check the actor's right and that ``action`` may start from its status."""
    locked = Order.objects.select_for_update().get(pk=order.pk)
    if actor is not None:
        require(actor, "change", locked)
    if locked.status not in ACTIONS[action]:
        raise _refuse(locked, action)
    return locked


def _finish(
    order: Order,
    actor: User | None,
    *,
    action: str,
    from_status: str,
    fields: list[str],
    note: str = "",
    data: dict[str, Any] | None = None,
) -> OrderEvent:
    """Save the step's fields, record the event and the audit entry, and refresh the risk flag."""
    from orders.delays import risk_refresh

    if order.status != from_status and order.status not in TRANSITIONS[from_status]:
        raise TransitionError(f"Order {order.number}: {from_status} → {order.status} is not a transition.")
    fields = [*fields, *risk_refresh(order), "version", "updated_at"]
    order.version += 1
    order.save(update_fields=list(dict.fromkeys(fields)))
    event = OrderEvent.objects.create(
        order=order,
        by=actor if actor is not None and actor.is_authenticated else None,
        from_status=from_status,
        to_status=order.status,
        note=(note or "").strip()[:300],
        data={"action": action, **(data or {})},
    )
    changes: dict[str, list[Any]] = {"status": [from_status, order.status]} if order.status != from_status else {}
    audit_record(
        actor=actor, instance=order, action=AuditAction.ACTION, verb=f"order {PAST[action]}", changes=changes, note=note
    )
    return event


def _sync(target: Order, locked: Order) -> Order:
    """Bring the caller's instance up to date with what the step wrote."""
    if target is not locked:
        target.refresh_from_db()
    return locked


# --- Touches on the customer's timeline -----------------------------------------------------------------

PURPOSE_CODE, PURPOSE_NAME = "order-update", "Order update"


def order_update_purpose() -> Purpose:
    """The purpose "Order update" (made the first time it is needed, without a guard rule: not outreach)."""
    from django.db.models import Q

    from contacts.models import Purpose
    from contacts.services import purpose_save

    lookup = Q(code=PURPOSE_CODE) | Q(name__iexact=PURPOSE_NAME)
    purpose = Purpose.objects.filter(lookup).order_by("pk").first()
    if purpose is not None:
        return purpose
    try:
        with transaction.atomic():
            return purpose_save(
                actor=None,
                name=PURPOSE_NAME,
                description="What the system told the customer about an order (confirmed, shipped, delivered).",
            )
    except (IntegrityError, ValidationError):  # made at the same moment by another order
        return Purpose.objects.filter(lookup).order_by("pk").get()


def order_contact(order: Order) -> Contact | None:
    """Whom the order's touches are with: its contact, else the account's first person (not merged, customers
    before prospects), else nobody."""
    if order.contact_id:
        return order.contact
    if not order.account_id:
        return None
    return order.account.contacts.filter(merged_into__isnull=True).order_by("is_prospect", "created_at", "id").first()


def _touch(order: Order, actor: User | None, text: str) -> dict[str, Any]:
    """Write the order's touch; the event data says which touch, or why there is none."""
    from contacts.services import touch_record

    contact = order_contact(order)
    if contact is None:
        return {"touch": None, "touch_skipped": f"{order.account} has no contact person to record the touch on."}
    touch = touch_record(
        contact=contact,
        purpose=order_update_purpose(),
        user=actor if actor is not None and actor.is_authenticated else order.owner,
        actor=actor,
        notes=text,
    )
    return {"touch": touch.pk}


def _amount(order: Order) -> str:
    return f"{order.total:,.2f} {order.currency}"


# --- The steps ----------------------------------------------------------------------------------------------


@transaction.atomic
def order_confirm(*, order: Order, actor: User | None, note: str = "") -> Order:
    """draft → confirmed: reserve stock, promise a date, book the sales ledger, write a touch."""
    locked = _begin(order, actor, "confirm")
    if not locked.lines.exists():
        raise TransitionError(f"Order {locked.number} has no lines: add what the customer orders, then confirm it.")
    today = timezone.localdate()
    try:
        exchange_rate(locked.currency, today, where=f"order {locked.number}")
    except ValidationError as exc:
        raise TransitionError(f"Order {locked.number} cannot be confirmed: {' '.join(exc.messages)}") from None
    backorder = stock_reserve(locked)
    locked.ordered_on = today
    locked.confirmed_at = timezone.now()
    locked.promised_date = promise_date(lines=locked.lines.all(), start=today)
    locked.status = S.CONFIRMED
    locked.save(update_fields=["ordered_on", "confirmed_at", "promised_date", "status", "updated_at"])
    ledger_book(locked)
    data = {"promised_date": locked.promised_date.isoformat(), "backorder": {str(k): v for k, v in backorder.items()}}
    data |= _touch(
        locked,
        actor,
        f"Order {locked.number} confirmed ({_amount(locked)}), promised for {locked.promised_date:%d %b %Y}.",
    )
    _finish(
        locked,
        actor,
        action="confirm",
        from_status=S.DRAFT,
        fields=["status", "ordered_on", "confirmed_at", "promised_date"],
        note=note,
        data=data,
    )
    return _sync(order, locked)


@transaction.atomic
def order_allocate(*, order: Order, actor: User | None, note: str = "") -> Order:
    """confirmed → allocated: every stocked line fully reserved (backordered units are reserved now if stock
    came in); made-to-order lines are reported produced by this step."""
    locked = _begin(order, actor, "allocate")
    stock_reserve(locked, allow_short=True)
    lines = list(locked.lines.select_related("product"))
    made = made_to_order_ids(line.product_id for line in lines)
    missing = []
    produced = []
    for line in lines:
        open_units = line.quantity - line.quantity_shipped - line.quantity_reserved
        if open_units <= 0:
            continue
        if line.product_id in made:
            produced.append(line.pk)
            OrderLine.objects.filter(pk=line.pk).update(quantity_reserved=line.quantity - line.quantity_shipped)
        else:
            missing.append(f"{units(open_units)} of {line.product.name}")
    if missing:
        raise TransitionError(
            f"Order {locked.number} is confirmed: it cannot be allocated while {', '.join(missing)} "
            f"{'is' if len(missing) == 1 and missing[0].startswith('1 ') else 'are'} not in stock (backorder): "
            "receive the stock first."
        )
    locked.status = S.ALLOCATED
    locked.allocated_at = timezone.now()
    _finish(
        locked,
        actor,
        action="allocate",
        from_status=S.CONFIRMED,
        fields=["status", "allocated_at"],
        note=note,
        data={"made_to_order_done": produced},
    )
    return _sync(order, locked)


def _quantities(locked: Order, quantities: dict[Any, Any] | None, limit: dict[int, int], verb: str) -> dict[int, int]:
    """Clean ``{line id: units}`` against ``limit`` (units each line may still take); None = all of them."""
    if quantities is None:
        return {pk: n for pk, n in limit.items() if n > 0}
    lines = {line.pk: line for line in locked.lines.all()}
    out: dict[int, int] = {}
    for key, value in quantities.items():
        try:
            pk, n = int(key), int(value)
        except (TypeError, ValueError):
            raise TransitionError(f"Order {locked.number}: {value!r} units for line {key!r} is not a number.") from None
        if pk not in lines:
            raise TransitionError(f"Order {locked.number} has no line {key}.")
        if n < 0:
            raise TransitionError(f"Order {locked.number}, {lines[pk].description}: units cannot be negative.")
        if n > limit.get(pk, 0):
            raise TransitionError(
                f"Order {locked.number}, {lines[pk].description}: {units(n)} cannot be {verb}, "
                f"only {limit.get(pk, 0)} {'is' if limit.get(pk, 0) == 1 else 'are'} left to be {verb}."
            )
        if n:
            out[pk] = n
    return out


@transaction.atomic
def order_ship(
    *,
    order: Order,
    actor: User | None,
    quantities: dict[int, int] | None = None,
    carrier: str = "",
    tracking: str = "",
) -> Shipment:
    """allocated / partially_shipped → partially_shipped or shipped: one shipment of ``quantities``
    (``{line id: units}``, None = everything left), taken out of stock; a touch per shipment."""
    locked = _begin(order, actor, "ship")
    lines = list(locked.lines.all())
    limit = {line.pk: min(line.quantity - line.quantity_shipped, line.quantity_reserved) for line in lines}
    wanted = _quantities(locked, quantities, limit, "shipped")
    if not wanted:
        raise TransitionError(f"Order {locked.number}: nothing to ship (every unit left has been shipped).")
    parts = stock_ship(locked, wanted)
    number = (locked.shipments.aggregate(n=Max("number"))["n"] or 0) + 1
    now = timezone.now()
    shipment = Shipment.objects.create(
        order=locked,
        number=number,
        shipped_at=now,
        carrier=carrier.strip()[:60],
        tracking=tracking.strip()[:100],
        by=actor if actor is not None and actor.is_authenticated else None,
    )
    ShipmentLine.objects.bulk_create(
        [
            ShipmentLine(shipment=shipment, line_id=line_id, warehouse_id=warehouse_id, quantity=n)
            for line_id, rows in parts.items()
            for warehouse_id, n in rows
        ]
    )
    for line in lines:
        if line.pk in wanted:
            line.quantity_shipped += wanted[line.pk]
            OrderLine.objects.filter(pk=line.pk).update(quantity_shipped=line.quantity_shipped)
    everything = all(line.quantity_shipped >= line.quantity for line in lines)
    from_status = locked.status
    locked.status = S.SHIPPED if everything else S.PARTIALLY_SHIPPED
    fields = ["status"]
    if everything:
        locked.shipped_at = now
        fields.append("shipped_at")
    total = sum(wanted.values())
    via = " ".join(p for p in (carrier.strip(), tracking.strip()) if p)
    data = {"shipment": shipment.pk, "number": number, "quantities": {str(k): v for k, v in wanted.items()}}
    data |= _touch(
        locked,
        actor,
        f"Order {locked.number}: shipment {number} with {units(total)} is on its way"
        + (f" ({via})" if via else "")
        + ("." if everything else "; the rest follows."),
    )
    _finish(locked, actor, action="ship", from_status=from_status, fields=fields, data=data)
    _sync(order, locked)
    return shipment


@transaction.atomic
def order_deliver(*, order: Order, actor: User | None, shipment: Shipment | None = None) -> Order:
    """Mark ``shipment`` (None = every shipment on its way) delivered, with its ledger rows; when everything
    shipped is delivered, the order is delivered: delivery rollup and a touch."""
    locked = _begin(order, actor, "deliver")
    if shipment is not None:
        shipment = Shipment.objects.filter(pk=shipment.pk, order=locked).first()
        if shipment is None:
            raise TransitionError(f"That shipment is not one of order {locked.number}.")
        if shipment.delivered_at is not None:
            raise TransitionError(
                f"Shipment {shipment.number} of order {locked.number} was delivered on "
                f"{timezone.localtime(shipment.delivered_at):%d %b %Y} already."
            )
        targets = [shipment]
    else:
        targets = list(locked.shipments.filter(delivered_at__isnull=True).order_by("number"))
        if not targets:
            raise TransitionError(f"Order {locked.number}: every shipment has been delivered already.")
    now = timezone.now()
    for target in targets:
        target.delivered_at = now
        target.save(update_fields=["delivered_at"])
        ledger_deliver(locked, target)
    from_status = locked.status
    fields: list[str] = []
    data: dict[str, Any] = {"shipments": [t.number for t in targets]}
    if locked.status == S.SHIPPED and not locked.shipments.filter(delivered_at__isnull=True).exists():
        locked.status = S.DELIVERED
        locked.delivered_at = now
        fields = ["status", "delivered_at"]
        delivery_stats_apply(locked)
        data |= _touch(locked, actor, f"Order {locked.number} delivered.")
    _finish(locked, actor, action="deliver", from_status=from_status, fields=fields, data=data)
    return _sync(order, locked)


@transaction.atomic
def order_close(*, order: Order, actor: User | None) -> Order:
    """delivered → closed."""
    locked = _begin(order, actor, "close")
    locked.status = S.CLOSED
    locked.closed_at = timezone.now()
    _finish(locked, actor, action="close", from_status=S.DELIVERED, fields=["status", "closed_at"])
    return _sync(order, locked)


@transaction.atomic
def order_cancel(*, order: Order, actor: User | None, reason: str) -> Order:
    """draft / confirmed / allocated → cancelled: reservations released, the booking reversed."""
    locked = _begin(order, actor, "cancel")
    if not (reason or "").strip():
        raise TransitionError(f"Order {locked.number}: say why it is cancelled.")
    from_status = locked.status
    released = stock_release(locked)
    reversed_rows = ledger_reverse(locked, kind=SalesEntry.Kind.CANCELLED) if from_status != S.DRAFT else []
    locked.status = S.CANCELLED
    locked.cancelled_at = timezone.now()
    _finish(
        locked,
        actor,
        action="cancel",
        from_status=from_status,
        fields=["status", "cancelled_at"],
        note=reason,
        data={"released_units": released, "ledger_rows": len(reversed_rows)},
    )
    return _sync(order, locked)


@transaction.atomic
def order_return(*, order: Order, actor: User | None, quantities: dict[int, int] | None = None, reason: str) -> Order:
    """delivered / closed: units come back (``{line id: units}``, None = all). They go back on hand,
    the ledger is reversed for them; when every shipped unit is back the order is returned."""
    locked = _begin(order, actor, "return")
    if not (reason or "").strip():
        raise TransitionError(f"Order {locked.number}: say why the goods come back.")
    lines = list(locked.lines.all())
    limit = {line.pk: line.quantity_shipped - line.quantity_returned for line in lines}
    wanted = _quantities(locked, quantities, limit, "returned")
    if not wanted:
        raise TransitionError(f"Order {locked.number}: every unit shipped has come back already.")
    stock_put_back(locked, wanted)
    ledger_reverse(locked, kind=SalesEntry.Kind.RETURNED, quantities=wanted)
    for line in lines:
        if line.pk in wanted:
            line.quantity_returned += wanted[line.pk]
            OrderLine.objects.filter(pk=line.pk).update(quantity_returned=line.quantity_returned)
    from_status = locked.status
    fields: list[str] = []
    if all(line.quantity_returned >= line.quantity_shipped for line in lines):
        locked.status = S.RETURNED
        locked.returned_at = timezone.now()
        fields = ["status", "returned_at"]
    _finish(
        locked,
        actor,
        action="return",
        from_status=from_status,
        fields=fields,
        note=reason,
        data={"quantities": {str(k): v for k, v in wanted.items()}},
    )
    return _sync(order, locked)


STEPS = {
    "confirm": order_confirm,
    "allocate": order_allocate,
    "ship": order_ship,
    "deliver": order_deliver,
    "close": order_close,
    "cancel": order_cancel,
    "return": order_return,
}


def order_transition(*, order: Order, actor: User | None, action: str, **params: Any) -> Order | Shipment:
    """Run the step called ``action`` (the API and the HTML views use this); ``ship`` returns the shipment."""
    step = STEPS.get(action)
    if step is None:
        raise TransitionError(f"Unknown order action {action!r}: use one of {', '.join(STEPS)}.")
    return step(order=order, actor=actor, **params)


def available_actions(order: Order, actor: User | None) -> list[str]:
    """The actions ``actor`` may take on ``order`` now (for the buttons; each step checks again)."""
    if actor is not None and not can(actor, "change", order):
        return []
    actions = [action for action, starts in ACTIONS.items() if order.status in starts]
    if "deliver" in actions and not order.shipments.filter(delivered_at__isnull=True).exists():
        actions.remove("deliver")
    return actions
