"""Stock per product and warehouse, reserved with row locks.

Every function that changes ``StockLevel`` rows first locks all the rows it will touch with
``select_for_update``, in ascending id order: two orders racing for the same products always queue on
the same first row, so they never deadlock, and the second one sees what the first left. On SQLite the
whole database is locked by the writing transaction instead, which gives the same outcome.

A product without any stock row is made to order: reserving skips it; ``orders.states.order_allocate``
reports its production done.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone

from orders.models import Order, OrderLine, Reservation, ShipmentLine, StockLevel, Warehouse
from sfa.audit import audit_record, diff, snapshot
from sfa.models import AuditAction
from sfa.permissions import require

if TYPE_CHECKING:
    from catalog.models import Product
    from sfa.models import User


def units(n: int) -> str:
    return f"{n} unit" if n == 1 else f"{n} units"


def _locked_levels(product_ids: Iterable[int]) -> list[StockLevel]:
    """The stock rows of these products, locked in id order (the one order every caller uses)."""
    ids = sorted(set(product_ids))
    if not ids:
        return []
    return list(StockLevel.objects.select_for_update().filter(product_id__in=ids).order_by("id"))


def _by_priority(levels: list[StockLevel]) -> dict[int, list[StockLevel]]:
    """Active warehouses' rows per product, the warehouse that ships first first."""
    warehouses = {w.pk: w for w in Warehouse.objects.all()}
    out: dict[int, list[StockLevel]] = defaultdict(list)
    for level in levels:
        warehouse = warehouses[level.warehouse_id]
        if warehouse.is_active:
            out[level.product_id].append(level)
    for rows in out.values():
        rows.sort(key=lambda lv: (warehouses[lv.warehouse_id].priority, warehouses[lv.warehouse_id].code))
    return out


def _save_levels(levels: Iterable[StockLevel]) -> None:
    now = timezone.now()
    changed = list(levels)
    for level in changed:
        level.updated_at = now
    StockLevel.objects.bulk_update(changed, ["on_hand", "reserved", "updated_at"])


def made_to_order_ids(product_ids: Iterable[int]) -> set[int]:
    """The products among ``product_ids`` that have no stock row at all."""
    ids = set(product_ids)
    stocked = set(StockLevel.objects.filter(product_id__in=ids).values_list("product_id", flat=True).distinct())
    return ids - stocked


@transaction.atomic
def stock_reserve(order: Order, *, allow_short: bool | None = None) -> dict[int, int]:
    """Reserve what each stocked line still needs, from the warehouses by priority.

    Short stock raises a ValidationError naming each short line, unless the order allows backorders (or
    ``allow_short``): then the line keeps what could be reserved and the missing units are returned as
    ``{line id: units}``.
    """
    if allow_short is None:
        allow_short = order.allow_backorder
    lines = list(order.lines.select_related("product").order_by("position", "id"))
    levels = _locked_levels(line.product_id for line in lines)
    stocked = {level.product_id for level in levels}
    usable = _by_priority(levels)
    touched: dict[int, StockLevel] = {}
    takes: list[tuple[OrderLine, StockLevel, int]] = []
    shortages: dict[int, int] = {}
    problems: list[str] = []
    for line in lines:
        need = line.quantity - line.quantity_reserved - line.quantity_shipped
        if need <= 0 or line.product_id not in stocked:
            continue
        available = sum(level.available for level in usable.get(line.product_id, []))
        for level in usable.get(line.product_id, []):
            take = min(level.available, need)
            if take > 0:
                level.reserved += take
                need -= take
                touched[level.pk] = level
                takes.append((line, level, take))
            if not need:
                break
        if need:
            shortages[line.pk] = need
            wanted = line.quantity - line.quantity_reserved - line.quantity_shipped
            problems.append(
                f"Only {units(available)} of {line.product.name} {'is' if available == 1 else 'are'} available "
                f"({wanted} ordered)"
            )
    if problems and not allow_short:
        raise ValidationError(
            f"Order {order.number} cannot be confirmed: {'; '.join(problems)}. Receive stock, lower the "
            "quantities, or allow a backorder."
        )
    _save_levels(touched.values())
    reserved_per_line: dict[int, int] = defaultdict(int)
    for line, level, take in takes:
        row, created = Reservation.objects.get_or_create(
            line=line, warehouse_id=level.warehouse_id, defaults={"quantity": take}
        )
        if not created:
            Reservation.objects.filter(pk=row.pk).update(quantity=F("quantity") + take)
        reserved_per_line[line.pk] += take
    for line_id, n in reserved_per_line.items():
        OrderLine.objects.filter(pk=line_id).update(quantity_reserved=F("quantity_reserved") + n)
    return shortages


@transaction.atomic
def stock_release(order: Order) -> int:
    """Give back every unit reserved for ``order`` (cancellation). Returns the units released."""
    reservations = list(Reservation.objects.filter(line__order=order).select_related("line"))
    levels = _locked_levels(r.line.product_id for r in reservations)
    by_key = {(level.product_id, level.warehouse_id): level for level in levels}
    released = 0
    for reservation in reservations:
        level = by_key.get((reservation.line.product_id, reservation.warehouse_id))
        if level is None or level.reserved < reservation.quantity:
            # Reservations and stock levels move together; a gap means the figures were changed around the
            # services. Say so rather than hide it (the order stays as it was: this runs in its transaction).
            raise ValidationError(
                f"Order {order.number}: {reservation.quantity} unit(s) of {reservation.line.description} are "
                f"reserved in warehouse {reservation.warehouse_id}, but the stock there holds "
                f"{level.reserved if level else 0} reserved: count that stock again before cancelling."
            )
        level.reserved -= reservation.quantity
        released += reservation.quantity
    _save_levels(by_key.values())
    Reservation.objects.filter(pk__in=[r.pk for r in reservations]).delete()
    order.lines.update(quantity_reserved=0)
    return released


@transaction.atomic
def stock_ship(order: Order, quantities: dict[int, int]) -> dict[int, list[tuple[int | None, int]]]:
    """Take shipped units out of stock: from the line's reservations, first warehouse first.

    Returns ``{line id: [(warehouse id, units), …]}``; made-to-order lines ship from no warehouse. The caller
    (``orders.states.order_ship``) has checked that each line has that many units allocated.
    """
    lines = {line.pk: line for line in order.lines.filter(pk__in=list(quantities))}
    reservations = list(
        Reservation.objects.filter(line_id__in=list(quantities))
        .select_related("warehouse")
        .order_by("warehouse__priority", "warehouse__code")
    )
    levels = _locked_levels(line.product_id for line in lines.values())
    by_key = {(level.product_id, level.warehouse_id): level for level in levels}
    out: dict[int, list[tuple[int | None, int]]] = {}
    for line_id, n in quantities.items():
        line, left, parts = lines[line_id], n, []
        for reservation in (r for r in reservations if r.line_id == line_id):
            take = min(reservation.quantity, left)
            if take <= 0:
                continue
            reservation.quantity -= take
            level = by_key[(line.product_id, reservation.warehouse_id)]
            level.reserved -= take
            level.on_hand -= take
            parts.append((reservation.warehouse_id, take))
            left -= take
        if left:
            parts.append((None, left))  # made to order: it never entered a warehouse
        out[line_id] = parts
        OrderLine.objects.filter(pk=line_id).update(quantity_reserved=F("quantity_reserved") - n)
    _save_levels(by_key.values())
    for reservation in reservations:
        if reservation.quantity:
            Reservation.objects.filter(pk=reservation.pk).update(quantity=reservation.quantity)
        else:
            Reservation.objects.filter(pk=reservation.pk).delete()
    return out


@transaction.atomic
def stock_put_back(order: Order, quantities: dict[int, int]) -> None:
    """Returned units go back on hand in the warehouses they shipped from (oldest shipment first, after
    the units returned before). Made-to-order units have no warehouse to go back to."""
    # Every shipped row, made-to-order ones included: earlier returns are counted over all of them in order,
    # and only the rows that came out of a warehouse put units back on hand.
    shipped = list(
        ShipmentLine.objects.filter(line_id__in=list(quantities))
        .select_related("line")
        .order_by("shipment__number", "id")
    )
    levels = _locked_levels(s.line.product_id for s in shipped if s.warehouse_id is not None)
    by_key = {(level.product_id, level.warehouse_id): level for level in levels}
    for line_id, n in quantities.items():
        rows = [s for s in shipped if s.line_id == line_id]
        skip = rows[0].line.quantity_returned if rows else 0  # already put back by earlier returns
        left = n
        for row in rows:
            room = row.quantity - min(skip, row.quantity)
            skip = max(0, skip - row.quantity)
            take = min(room, left)
            if take > 0:
                if row.warehouse_id is not None:
                    by_key[(row.line.product_id, row.warehouse_id)].on_hand += take
                left -= take
    _save_levels(by_key.values())


@transaction.atomic
def stock_receive(*, product: Product, warehouse: Warehouse, quantity: int, actor: User | None) -> StockLevel:
    """Goods received: ``quantity`` more units on hand (the stock row is made if the product had none there)."""
    if int(quantity) < 1:
        raise ValidationError(f"Receive at least 1 unit of {product.name} at {warehouse.name}.")
    if actor is not None:
        require(actor, "change", StockLevel)
    StockLevel.objects.get_or_create(product=product, warehouse=warehouse)
    level = next(lv for lv in _locked_levels([product.pk]) if lv.warehouse_id == warehouse.pk)
    before = snapshot(level)
    level.on_hand += int(quantity)
    level.save(update_fields=["on_hand", "updated_at"])
    audit_record(
        actor=actor,
        instance=level,
        action=AuditAction.UPDATE,
        verb="stock received",
        changes=diff(before, snapshot(level)),
        note=f"+{units(int(quantity))}",
    )
    return level


@transaction.atomic
def stock_set(*, product: Product, warehouse: Warehouse, on_hand: int, actor: User | None) -> StockLevel:
    """A stock count: set the units on hand (never below what confirmed orders hold reserved there)."""
    on_hand = int(on_hand)
    if on_hand < 0:
        raise ValidationError(f"{product.name} at {warehouse.name}: stock on hand cannot be negative.")
    if actor is not None:
        require(actor, "change", StockLevel)
    _, created = StockLevel.objects.get_or_create(product=product, warehouse=warehouse)
    level = next(lv for lv in _locked_levels([product.pk]) if lv.warehouse_id == warehouse.pk)
    if on_hand < level.reserved:
        raise ValidationError(
            f"{product.name} at {warehouse.name}: {units(level.reserved)} are reserved for confirmed orders, "
            f"so on hand cannot be set to {on_hand}."
        )
    before = {} if created else snapshot(level)
    level.on_hand = on_hand
    level.save(update_fields=["on_hand", "updated_at"])
    audit_record(
        actor=actor,
        instance=level,
        action=AuditAction.CREATE if created else AuditAction.UPDATE,
        verb="stock counted",
        changes=diff(before, snapshot(level)),
    )
    return level


def stock_available(product: Product | int) -> int:
    """Units on hand and not reserved, over the active warehouses."""
    product_id = getattr(product, "pk", product)
    return stock_available_many([product_id]).get(product_id, 0)


def stock_available_many(product_ids: Iterable[int]) -> dict[int, int]:
    """``{product id: available units}`` for the stocked ones among ``product_ids`` (one query)."""
    rows = (
        StockLevel.objects.filter(product_id__in=set(product_ids), warehouse__is_active=True)
        .values("product_id")
        .annotate(free=Sum(F("on_hand") - F("reserved")))
    )
    return {row["product_id"]: row["free"] or 0 for row in rows}
