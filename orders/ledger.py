"""The sales ledger: signed rows per order line, written by the order's state changes.

- booked (booking basis) when the order is confirmed, dated ``ordered_on``;
- delivered (delivery basis) per delivered shipment, dated the delivery;
- cancelled: the booking rows negated; returned: the returned units negated on both bases.

Every row of an order is converted to the base currency at the rate of the booking date, so a reversal
nets its booking to exactly zero in both currencies. Partial amounts are cumulative shares of the line's
booked amount (``round(total × (done + n) / qty) − round(total × done / qty)``), so that partial
deliveries or returns add up to the whole to the cent.

Apps below orders follow the ledger through ``sales_listeners`` (called with the new rows, in the same
transaction) and ``rebuild_listeners`` (called after ``ledger_rebuild``); forecasting registers its facts.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Sum
from django.utils import timezone

from orders.models import DeliveryStat, ExchangeRate, Order, OrderLine, SalesEntry, Shipment, ShipmentLine
from orders.services import money, order_settings
from sfa.bulk import copy_insert

sales_listeners: list[Callable[[list[SalesEntry]], None]] = []
rebuild_listeners: list[Callable[[], Any]] = []

Kind, Basis = SalesEntry.Kind, SalesEntry.Basis
BATCH = 2000


def _local(moment: datetime | None) -> date:
    return timezone.localtime(moment).date() if moment else timezone.localdate()


def share(total: Decimal, quantity: int, done: int, n: int) -> Decimal:
    """The part of ``total`` (for ``quantity`` units) that units ``done + 1 … done + n`` carry."""
    if not quantity:
        return Decimal("0.00")
    return money(total * (done + n) / quantity) - money(total * done / quantity)


class RateTable:
    """Exchange rates into the base currency, loaded once: the latest rate valid on a day."""

    def __init__(self, base: str | None = None):
        self.base = base or order_settings().base_currency
        self.rows: dict[str, tuple[list[date], list[Decimal]]] = {}
        grouped: dict[str, list[tuple[date, Decimal]]] = defaultdict(list)
        for currency, valid_from, rate in ExchangeRate.objects.values_list("currency", "valid_from", "rate"):
            grouped[currency].append((valid_from, rate))
        for currency, rows in grouped.items():
            rows.sort()
            self.rows[currency] = ([d for d, _ in rows], [r for _, r in rows])

    def rate(self, currency: str, on: date, where: str = "") -> Decimal:
        if currency == self.base:
            return Decimal("1")
        days, rates = self.rows.get(currency, ([], []))
        index = bisect.bisect_right(days, on) - 1
        if index < 0:
            raise ValidationError(
                f"No exchange rate from {currency} to {self.base} on or before {on:%Y-%m-%d}"
                + (f" ({where})" if where else "")
                + ": add one under Exchange rates first."
            )
        return rates[index]


def exchange_rate(currency: str, on: date, *, where: str = "") -> Decimal:
    """How many base-currency units one unit of ``currency`` was worth on ``on`` (1 for the base currency)."""
    base = order_settings().base_currency
    if currency == base:
        return Decimal("1")
    rate = (
        ExchangeRate.objects.filter(currency=currency, valid_from__lte=on)
        .order_by("-valid_from")
        .values_list("rate", flat=True)
        .first()
    )
    if rate is None:
        raise ValidationError(
            f"No exchange rate from {currency} to {base} on or before {on:%Y-%m-%d}"
            + (f" ({where})" if where else "")
            + ": add one under Exchange rates first."
        )
    return rate


def _notify(entries: list[SalesEntry]) -> None:
    if entries:
        for listener in list(sales_listeners):
            listener(entries)


def _entry(order: Order, line: OrderLine, *, kind: str, basis: str, on: date, units: int, amount, base) -> SalesEntry:
    return SalesEntry(
        line=line,
        order=order,
        kind=kind,
        basis=basis,
        on=on,
        product_id=line.product_id,
        category_id=line.category_id,
        rep_id=order.owner_id,
        region=order.region,
        segment=order.segment,
        account_id=order.account_id,
        units=units,
        amount=amount,
        currency=order.currency,
        amount_base=base,
    )


def _write(entries: list[SalesEntry]) -> list[SalesEntry]:
    SalesEntry.objects.bulk_create(entries, batch_size=BATCH)
    _notify(entries)
    return entries


def _sums(order: Order) -> dict[tuple[int, str, str], tuple[int, Decimal, Decimal]]:
    """``{(line id, kind, basis): (units, amount, amount_base)}`` of what the ledger holds for ``order``."""
    rows = (
        SalesEntry.objects.filter(order=order)
        .values("line_id", "kind", "basis")
        .annotate(units=Sum("units"), amount=Sum("amount"), base=Sum("amount_base"))
    )
    # money(): SQLite sums decimals as floats.
    return {(r["line_id"], r["kind"], r["basis"]): (r["units"], money(r["amount"]), money(r["base"])) for r in rows}


def _booked(sums, line: OrderLine, order: Order) -> tuple[Decimal, Decimal]:
    """The line's booked amount and base amount (for an order booked before the ledger existed: its net at
    today's rate)."""
    _, amount, base = sums.get((line.pk, Kind.BOOKED, Basis.BOOKING), (0, None, None))
    if amount is None:
        rate = exchange_rate(order.currency, timezone.localdate(), where=f"order {order.number}")
        return line.net_amount, money(line.net_amount * rate)
    return amount, base


@transaction.atomic
def ledger_book(order: Order) -> list[SalesEntry]:
    """Book every line of a confirmed order on ``ordered_on``; a missing exchange rate refuses the booking.
    Booking an order twice writes nothing the second time."""
    if SalesEntry.objects.filter(order=order, kind=Kind.BOOKED).exists():
        return []
    rate = exchange_rate(order.currency, order.ordered_on, where=f"order {order.number}")
    entries = [
        _entry(
            order,
            line,
            kind=Kind.BOOKED,
            basis=Basis.BOOKING,
            on=order.ordered_on,
            units=line.quantity,
            amount=line.net_amount,
            base=money(line.net_amount * rate),
        )
        for line in order.lines.all()
    ]
    return _write(entries)


@transaction.atomic
def ledger_deliver(order: Order, shipment: Shipment) -> list[SalesEntry]:
    """Delivery rows for the units of ``shipment``, dated its delivery."""
    sums = _sums(order)
    on = _local(shipment.delivered_at)
    per_line: dict[int, int] = defaultdict(int)
    for row in shipment.lines.all():
        per_line[row.line_id] += row.quantity
    entries = []
    for line in order.lines.filter(pk__in=list(per_line)):
        n = per_line[line.pk]
        done = sums.get((line.pk, Kind.DELIVERED, Basis.DELIVERY), (0,))[0]
        amount, base = _booked(sums, line, order)
        entries.append(
            _entry(
                order,
                line,
                kind=Kind.DELIVERED,
                basis=Basis.DELIVERY,
                on=on,
                units=n,
                amount=share(amount, line.quantity, done, n),
                base=share(base, line.quantity, done, n),
            )
        )
    return _write(entries)


@transaction.atomic
def ledger_reverse(order: Order, *, kind: str, quantities: dict[int, int] | None = None) -> list[SalesEntry]:
    """Negate what was booked: ``cancelled`` takes back every booked unit still on the booking basis;
    ``returned`` takes back ``quantities`` (``{line id: units}``, None = every shipped unit not yet
    returned) on the booking basis and, as far as they were delivered, on the delivery basis."""
    if kind not in (Kind.CANCELLED, Kind.RETURNED):
        raise ValueError(f"ledger_reverse reverses with kind cancelled or returned, not {kind!r}")
    sums = _sums(order)
    today = timezone.localdate()
    entries: list[SalesEntry] = []
    for line in order.lines.all():
        if kind == Kind.CANCELLED:
            units = sum(v[0] for k, v in sums.items() if k[0] == line.pk and k[2] == Basis.BOOKING)
            amount = sum((v[1] for k, v in sums.items() if k[0] == line.pk and k[2] == Basis.BOOKING), Decimal(0))
            base = sum((v[2] for k, v in sums.items() if k[0] == line.pk and k[2] == Basis.BOOKING), Decimal(0))
            if units or amount or base:
                entries.append(
                    _entry(
                        order, line, kind=kind, basis=Basis.BOOKING, on=today, units=-units, amount=-amount, base=-base
                    )
                )
            continue
        returned_before = -sums.get((line.pk, Kind.RETURNED, Basis.BOOKING), (0,))[0]
        n = quantities.get(line.pk, 0) if quantities is not None else line.quantity_shipped - returned_before
        if n <= 0:
            continue
        if (line.pk, Kind.BOOKED, Basis.BOOKING) not in sums:
            continue  # never booked (a draft's history): nothing to take back
        amount, base = _booked(sums, line, order)
        entries.append(
            _entry(
                order,
                line,
                kind=kind,
                basis=Basis.BOOKING,
                on=today,
                units=-n,
                amount=-share(amount, line.quantity, returned_before, n),
                base=-share(base, line.quantity, returned_before, n),
            )
        )
        delivered = sums.get((line.pk, Kind.DELIVERED, Basis.DELIVERY), (0,))[0]
        undone = -sums.get((line.pk, Kind.RETURNED, Basis.DELIVERY), (0,))[0]
        m = min(n, delivered - undone)
        if m > 0:
            entries.append(
                _entry(
                    order,
                    line,
                    kind=kind,
                    basis=Basis.DELIVERY,
                    on=today,
                    units=-m,
                    amount=-share(amount, line.quantity, undone, m),
                    base=-share(base, line.quantity, undone, m),
                )
            )
    return _write(entries)


# --- Delivery rollup -----------------------------------------------------------------------------------


def _stat_rows(order_rows: Iterable[dict[str, Any]], products: dict[int, set[int]]) -> dict[tuple, list[int]]:
    """``{(month, product id, owner id): [deliveries, on time, days]}`` for delivered orders."""
    cells: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0])
    for row in order_rows:
        delivered = _local(row["delivered_at"])
        on_time = row["promised_date"] is not None and delivered <= row["promised_date"]
        days = max(0, (delivered - row["ordered_on"]).days)
        for product_id in products.get(row["id"], ()):
            cell = cells[(delivered.replace(day=1), product_id, row["owner_id"])]
            cell[0] += 1
            cell[1] += int(on_time)
            cell[2] += days
    return cells


def delivery_stats_apply(order: Order) -> None:
    """Count a just-delivered order in the per-product, per-owner, per-month delivery rollup."""
    row = {
        "id": order.pk,
        "owner_id": order.owner_id,
        "delivered_at": order.delivered_at,
        "promised_date": order.promised_date,
        "ordered_on": order.ordered_on,
    }
    products = {order.pk: set(order.lines.values_list("product_id", flat=True))}
    for (month, product_id, owner_id), (deliveries, on_time, days) in _stat_rows([row], products).items():
        bump = {
            "deliveries": F("deliveries") + deliveries,
            "on_time": F("on_time") + on_time,
            "days_total": F("days_total") + days,
        }
        cell = DeliveryStat.objects.filter(month=month, product_id=product_id, owner_id=owner_id)
        if cell.update(**bump):
            continue
        try:
            with transaction.atomic():
                DeliveryStat.objects.create(
                    month=month,
                    product_id=product_id,
                    owner_id=owner_id,
                    deliveries=deliveries,
                    on_time=on_time,
                    days_total=days,
                )
        except IntegrityError:  # another delivery made the row meanwhile
            cell.update(**bump)


DELIVERED_STATUSES = (Order.Status.DELIVERED, Order.Status.CLOSED, Order.Status.RETURNED)


@transaction.atomic
def delivery_stats_rebuild() -> int:
    """``DeliveryStat`` from scratch, from every delivered order (a few bulk queries). Returns the rows."""
    DeliveryStat.objects.all().delete()
    orders = list(
        Order.objects.filter(status__in=DELIVERED_STATUSES, delivered_at__isnull=False).values(
            "id", "owner_id", "delivered_at", "promised_date", "ordered_on"
        )
    )
    products: dict[int, set[int]] = defaultdict(set)
    for order_id, product_id in OrderLine.objects.filter(
        order__status__in=DELIVERED_STATUSES, order__delivered_at__isnull=False
    ).values_list("order_id", "product_id"):
        products[order_id].add(product_id)
    cells = _stat_rows(orders, products)
    DeliveryStat.objects.bulk_create(
        [
            DeliveryStat(month=month, product_id=product_id, owner_id=owner_id, deliveries=d, on_time=o, days_total=t)
            for (month, product_id, owner_id), (d, o, t) in cells.items()
        ],
        batch_size=BATCH,
    )
    return len(cells)


# --- Rebuild -------------------------------------------------------------------------------------------------

ENTRY_FIELDS = (
    "line",
    "order",
    "kind",
    "basis",
    "on",
    "product",
    "category",
    "rep",
    "region",
    "segment",
    "account",
    "units",
    "amount",
    "currency",
    "amount_base",
    "created_at",
)


def bulk_insert(model: type, fields: tuple[str, ...], rows: list[tuple]) -> int:
    """Insert plain tuples (values in ``fields`` order) with multi-row INSERTs, without building model
    instances: the rebuilds write tens of thousands of rows, where ``bulk_create`` spends its time in
    Django, not in the database. PostgreSQL gets one COPY (``sfa.bulk.copy_insert``); elsewhere datetimes go
    through the backend's adapter and the drivers take the rest."""
    if connection.vendor == "postgresql":
        return copy_insert(model, fields, rows)
    opts = model._meta
    columns = [opts.get_field(name).column for name in fields]
    moments = [i for i, name in enumerate(fields) if opts.get_field(name).get_internal_type() == "DateTimeField"]
    adapt = connection.ops.adapt_datetimefield_value
    quote = connection.ops.quote_name
    per_statement = max(1, min(1000, (connection.features.max_query_params or 100_000) // len(columns)))
    # Identifiers come from the model's metadata and every value is a bound parameter.
    head = f"INSERT INTO {quote(opts.db_table)} ({', '.join(quote(c) for c in columns)}) VALUES "  # noqa: S608
    one = "(" + ", ".join(["%s"] * len(columns)) + ")"
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            params: list[Any] = []
            for row in chunk:
                if moments:
                    row = list(row)
                    for i in moments:
                        row[i] = adapt(row[i])
                params.extend(row)
            cursor.execute(head + ", ".join([one] * len(chunk)), params)
    return len(rows)


@transaction.atomic
def ledger_rebuild() -> dict[str, int]:
    """The whole ledger again from the orders' states, lines, shipments and dates (after bulk writes: demo
    data, imports). Bulk reads and writes; then the rebuild listeners (forecasting's facts) run.

    booked: every order past draft (a cancelled one only if it was confirmed), on ``ordered_on``;
    delivered: per delivered shipment, or on ``delivered_at`` for the quantity shipped of a delivered order
    without shipments; cancelled: on ``cancelled_at``; returned: ``quantity_returned`` on ``returned_at``.
    """
    rates = RateTable()
    SalesEntry.objects.all().delete()
    orders = {
        row["id"]: row
        for row in Order.objects.exclude(status=Order.Status.DRAFT).values(
            "id",
            "number",
            "status",
            "ordered_on",
            "confirmed_at",
            "delivered_at",
            "cancelled_at",
            "returned_at",
            "updated_at",
            "owner_id",
            "region",
            "segment",
            "account_id",
            "currency",
        )
    }
    orders = {
        pk: row
        for pk, row in orders.items()
        if not (row["status"] == Order.Status.CANCELLED and row["confirmed_at"] is None)
    }
    lines = [
        line
        for line in OrderLine.objects.exclude(order__status=Order.Status.DRAFT)
        .order_by("order_id", "position", "id")
        .values(
            "id",
            "order_id",
            "product_id",
            "category_id",
            "quantity",
            "net_amount",
            "quantity_shipped",
            "quantity_returned",
        )
        if line["order_id"] in orders
    ]
    deliveries: dict[int, list[tuple[date, int]]] = defaultdict(list)
    with_shipments: set[int] = set()
    for line_id, order_id, quantity, delivered_at in (
        ShipmentLine.objects.exclude(shipment__order__status=Order.Status.DRAFT)
        .order_by("shipment__number", "id")
        .values_list("line_id", "shipment__order_id", "quantity", "shipment__delivered_at")
    ):
        with_shipments.add(order_id)
        if delivered_at is not None:
            deliveries[line_id].append((_local(delivered_at), quantity))

    entries: list[tuple] = []
    counts: dict[str, int] = defaultdict(int)
    created_at = timezone.now()

    def add(order: dict, line: dict, kind: str, basis: str, on: date, units: int, amount, base) -> None:
        entries.append(
            (
                line["id"],
                order["id"],
                kind.value,
                basis.value,
                on,
                line["product_id"],
                line["category_id"],
                order["owner_id"],
                order["region"],
                order["segment"],
                order["account_id"],
                units,
                amount,
                order["currency"],
                base,
                created_at,
            )
        )
        counts[kind.value] += 1

    for line in lines:
        order = orders[line["order_id"]]
        q, amount = line["quantity"], line["net_amount"]
        rate = rates.rate(order["currency"], order["ordered_on"], where=f"order {order['number']}")
        base = money(amount * rate)
        add(order, line, Kind.BOOKED, Basis.BOOKING, order["ordered_on"], q, amount, base)
        delivered = 0
        if order["id"] in with_shipments:
            for on, n in deliveries.get(line["id"], []):
                add(
                    order,
                    line,
                    Kind.DELIVERED,
                    Basis.DELIVERY,
                    on,
                    n,
                    share(amount, q, delivered, n),
                    share(base, q, delivered, n),
                )
                delivered += n
        elif order["status"] in DELIVERED_STATUSES and order["delivered_at"] is not None:
            n = line["quantity_shipped"] or q
            on = _local(order["delivered_at"])
            add(order, line, Kind.DELIVERED, Basis.DELIVERY, on, n, share(amount, q, 0, n), share(base, q, 0, n))
            delivered = n
        if order["status"] == Order.Status.CANCELLED:
            on = _local(order["cancelled_at"] or order["updated_at"])
            add(order, line, Kind.CANCELLED, Basis.BOOKING, on, -q, -amount, -base)
        returned = line["quantity_returned"]
        if returned:
            on = _local(order["returned_at"] or order["updated_at"])
            add(
                order,
                line,
                Kind.RETURNED,
                Basis.BOOKING,
                on,
                -returned,
                -share(amount, q, 0, returned),
                -share(base, q, 0, returned),
            )
            m = min(returned, delivered)
            if m:
                add(order, line, Kind.RETURNED, Basis.DELIVERY, on, -m, -share(amount, q, 0, m), -share(base, q, 0, m))
    bulk_insert(SalesEntry, ENTRY_FIELDS, entries)
    for listener in list(rebuild_listeners):
        listener()
    return {"entries": len(entries), **counts}
