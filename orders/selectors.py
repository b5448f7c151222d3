"""Reads of quotes, orders, stock and the fulfilment figures, always scoped by the acting user.

Every list here must stay fast with a million orders on PostgreSQL: lists are walked by keyset over the
indexes of ``orders.models`` (never OFFSET, never a COUNT over the table), and the dashboard reads the
``DeliveryStat`` rollup, the partial indexes of open and at-risk orders, and the owner index.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import django_filters
from django.core.exceptions import ValidationError
from django.db.models import Count, F, Max, Prefetch, Q, QuerySet, Sum
from django.utils import timezone

from catalog.models import Configuration, Product
from contacts.models import Account, Contact
from orders.models import (
    DeliveryStat,
    Order,
    OrderEvent,
    OrderLine,
    Quote,
    QuoteLine,
    Reservation,
    Shipment,
    ShipmentLine,
    StockLevel,
    Warehouse,
)
from sfa.filters import IdFilter, apply_filters
from sfa.models import User
from sfa.permissions import Scope, get_object_for, policy_for, scoped, team_member_ids

ZERO = Decimal("0")
OPEN_STATUSES = [str(s) for s in Order.OPEN]
QUOTE_OPEN_STATUSES = [
    Quote.Status.DRAFT,
    Quote.Status.PENDING_APPROVAL,
    Quote.Status.APPROVED,
    Quote.Status.SENT,
]


def _number(value: str) -> str:
    return value.strip().upper()


# --- Filters ----------------------------------------------------------------------------------------


class QuoteFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label="Number or customer")
    status = django_filters.ChoiceFilter(choices=Quote.Status.choices)
    owner = IdFilter(field_name="owner_id")
    account = IdFilter(field_name="account_id")
    contact = IdFilter(field_name="contact_id")
    opportunity = IdFilter(field_name="opportunity_id")
    open = django_filters.BooleanFilter(method="filter_open", label="Still open")
    needs_my_approval = django_filters.BooleanFilter(method="filter_needs_my_approval")

    class Meta:
        model = Quote
        fields = ["q", "status", "owner", "account", "contact", "opportunity", "open", "needs_my_approval"]

    def __init__(self, *args: Any, actor: User | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.actor = actor

    def filter_q(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(number=_number(value)) | Q(account__name__icontains=value))

    def filter_open(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        return (
            queryset.filter(status__in=QUOTE_OPEN_STATUSES)
            if value
            else queryset.exclude(status__in=QUOTE_OPEN_STATUSES)
        )

    def filter_needs_my_approval(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        if not value:
            return queryset
        # Quotes of the people the actor may approve for, waiting; nobody approves their own quote.
        waiting = queryset.filter(status=Quote.Status.PENDING_APPROVAL)
        return scoped(self.actor, waiting, "approve").exclude(owner=self.actor)


class OrderFilter(django_filters.FilterSet):
    """The order list's filters. Each one is answered by an index of ``Order`` (see its Meta)."""

    q = django_filters.CharFilter(method="filter_q", label="Order number")
    status = django_filters.CharFilter(method="filter_status", label="Status (or 'open')")
    owner = IdFilter(field_name="owner_id")
    at_risk = django_filters.BooleanFilter(method="filter_at_risk", label="At risk")
    ordered_after = django_filters.DateFilter(field_name="ordered_on", lookup_expr="gte", label="Ordered from")
    ordered_before = django_filters.DateFilter(field_name="ordered_on", lookup_expr="lte", label="Ordered until")
    account = IdFilter(field_name="account_id")
    contact = IdFilter(field_name="contact_id")
    opportunity = IdFilter(field_name="opportunity_id")
    customer = django_filters.CharFilter(method="filter_customer", label="Customer name")

    class Meta:
        model = Order
        fields = [
            "q",
            "status",
            "owner",
            "at_risk",
            "ordered_after",
            "ordered_before",
            "account",
            "contact",
            "opportunity",
            "customer",
        ]

    def filter_q(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        return queryset.filter(number=_number(value)) if value else queryset  # the unique index answers

    def filter_status(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value == "open":
            return queryset.filter(status__in=OPEN_STATUSES)
        if value not in Order.Status.values:
            raise ValidationError({"status": f"Unknown order status {value!r}."})
        return queryset.filter(status=value)

    def filter_at_risk(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        # ``~Q(risk="")`` is the predicate of the partial index order_risk_idx.
        return queryset.filter(~Q(risk=""), status__in=OPEN_STATUSES) if value else queryset.filter(risk="")

    def filter_customer(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        """Orders of the accounts and people whose name matches: the matches first (a few, by index), then
        the orders of those ids, so that no join over the order table is needed."""
        value = value.strip()
        if not value:
            return queryset
        accounts = list(Account.objects.filter(name__icontains=value).values_list("id", flat=True)[:50])
        contacts = list(
            Contact.objects.filter(Q(last_name__icontains=value) | Q(first_name__icontains=value)).values_list(
                "id", flat=True
            )[:50]
        )
        return queryset.filter(Q(account_id__in=accounts) | Q(contact_id__in=contacts))


# --- Quotes -----------------------------------------------------------------------------------------


def quote_list(*, actor: User, filters: Any = None) -> QuerySet[Quote]:
    """The quotes the actor may see, newest first, filtered (status, owner, customer, needs my approval)."""
    qs = scoped(actor, Quote.objects.select_related("account", "contact", "owner"))
    filterset = QuoteFilter(filters or None, queryset=qs, actor=actor)
    if filterset.is_bound and not filterset.is_valid():
        raise ValidationError({name: list(errors) for name, errors in filterset.errors.items()})
    return filterset.qs


def quote_get(*, actor: User, pk: Any, action: str = "view") -> Quote:
    qs = Quote.objects.select_related(
        "account", "contact", "contact__account", "owner", "opportunity", "lead", "approved_by"
    ).prefetch_related(
        Prefetch(
            "lines", queryset=QuoteLine.objects.select_related("product", "configuration").order_by("position", "id")
        )
    )
    return get_object_for(actor, qs, pk, action)


def approvals_waiting(*, actor: User) -> QuerySet[Quote]:
    """Quotes waiting for the actor's approval (their teams' for a manager, every one for an admin)."""
    return quote_list(actor=actor, filters={"needs_my_approval": "true"})


# --- Orders -----------------------------------------------------------------------------------------


def order_list(*, actor: User, filters: Any = None) -> QuerySet[Order]:
    qs = scoped(actor, Order.objects.select_related("account", "contact", "owner"))
    return apply_filters(OrderFilter, filters, qs)


def order_get(*, actor: User, pk: Any, action: str = "view") -> Order:
    qs = Order.objects.select_related("account", "contact", "owner", "quote", "opportunity")
    return get_object_for(actor, qs, pk, action)


@dataclass
class OrderDetail:
    lines: list[OrderLine]
    shipments: list[Shipment]
    events: list[OrderEvent]
    reservations: list[Reservation]


def order_detail(*, actor: User, order: Order) -> OrderDetail:
    """The order's lines (with their reservations), shipments (with their lines) and event history."""
    get_object_for(actor, Order.objects.all(), order.pk)
    lines = list(
        order.lines.select_related("product", "configuration")
        .prefetch_related(Prefetch("reservations", queryset=Reservation.objects.select_related("warehouse")))
        .order_by("position", "id")
    )
    for line in lines:
        line.quantity_open = line.quantity - line.quantity_shipped
        line.quantity_kept = line.quantity_shipped - line.quantity_returned
    shipments = list(
        order.shipments.select_related("by").prefetch_related(
            Prefetch("lines", queryset=ShipmentLine.objects.select_related("line", "warehouse").order_by("id"))
        )
    )
    events = list(order.events.select_related("by").order_by("at", "id"))
    labels = dict(Order.Status.choices)
    for event in events:
        event.from_label = labels.get(event.from_status, event.from_status)
        event.to_label = labels.get(event.to_status, event.to_status)
    reservations = [r for line in lines for r in line.reservations.all()]
    return OrderDetail(lines=lines, shipments=shipments, events=events, reservations=reservations)


def owner_choices(*, actor: User) -> QuerySet[User]:
    """Whose quotes and orders the actor may see (themselves included), for the owner filters.

    Read from the people, never from the million orders: a rep sees only themselves, a manager the
    members of the teams they manage, an admin every active user who can own a sale.
    """
    users = User.objects.order_by("first_name", "last_name", "id")
    scope = policy_for(Order).scope_for(actor, "view")
    if scope is Scope.ALL:
        return users.filter(Q(is_active=True) | Q(pk=actor.pk))
    if scope is Scope.TEAM:
        return users.filter(pk__in=team_member_ids(actor))
    return users.filter(pk=actor.pk)


# --- Stock ------------------------------------------------------------------------------------------


class StockFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label="Product name or SKU")
    warehouse = IdFilter(field_name="warehouse_id")
    short = django_filters.BooleanFilter(method="filter_short", label="Nothing available")

    class Meta:
        model = StockLevel
        fields = ["q", "warehouse", "short"]

    def filter_q(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(product__name__icontains=value) | Q(product__sku__istartswith=value))

    def filter_short(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        return queryset.filter(reserved__gte=F("on_hand")) if value else queryset


def stock_list(*, actor: User, filters: Any = None) -> QuerySet[StockLevel]:
    qs = scoped(actor, StockLevel.objects.select_related("product", "warehouse"))
    return apply_filters(StockFilter, filters, qs)


def warehouse_list(*, actor: User) -> QuerySet[Warehouse]:
    return scoped(actor, Warehouse.objects.all()).order_by("priority", "code")


# --- Lines for the quote editor ------------------------------------------------------------------------


def product_search(*, actor: User, query: str, limit: int = 8) -> list[Product]:
    """Active products whose name or SKU matches, with their latest saved configurations attached."""
    from catalog import selectors as catalog_selectors

    query = query.strip()
    if not query:
        return []
    products = list(
        catalog_selectors.product_list(actor=actor, filters={"q": query, "active": "true"}).order_by("name_key", "id")[
            :limit
        ]
    )
    configurable = [p.pk for p in products if p.is_configurable]
    configs: dict[int, list[Configuration]] = defaultdict(list)
    if configurable:
        for config in scoped(actor, Configuration.objects.filter(product_id__in=configurable)).order_by(
            "-created_at", "-id"
        )[:50]:
            if len(configs[config.product_id]) < 4:
                configs[config.product_id].append(config)
    for product in products:
        product.saved_configurations = configs.get(product.pk, [])
    return products


# --- Panels on other apps' pages ----------------------------------------------------------------------


def customer_sales(*, actor: User, account: Account | None = None, contact: Contact | None = None, limit: int = 8):
    """The latest quotes and orders of an account or a person that the actor may see."""
    if account is not None:
        where = {"account": account}
    elif contact is not None:
        where = {"contact": contact}
    else:
        raise ValueError("customer_sales needs an account or a contact")
    quotes = list(
        scoped(actor, Quote.objects.select_related("owner")).filter(**where).order_by("-created_at", "-id")[:limit]
    )
    orders = list(
        scoped(actor, Order.objects.select_related("owner")).filter(**where).order_by("-ordered_on", "-id")[:limit]
    )
    return {"quotes": quotes, "orders": orders}


def opportunity_sales(*, actor: User, opportunity) -> dict[str, list]:
    quotes = list(scoped(actor, Quote.objects.filter(opportunity=opportunity)).order_by("-created_at", "-id")[:20])
    orders = list(scoped(actor, Order.objects.filter(opportunity=opportunity)).order_by("-ordered_on", "-id")[:20])
    return {"quotes": quotes, "orders": orders}


def product_sales(*, actor: User, product: Product, today: date | None = None, recent_orders: int = 500):
    """What sells with a product and which accounts bought it.

    "Sells with it" counts the other products on the latest ``recent_orders`` orders that contain this
    product (the orderline_product_idx index answers the latest orders; company-wide figures, no
    customer names). "Who bought it" lists the accounts of the orders the actor may see, over two years.
    """
    today = today or timezone.localdate()
    order_ids = list(
        OrderLine.objects.filter(product=product)
        .exclude(order__status__in=[Order.Status.DRAFT, Order.Status.CANCELLED])
        .order_by("-order_id")
        .values_list("order_id", flat=True)[:recent_orders]
    )
    companions = (
        OrderLine.objects.filter(order_id__in=order_ids)
        .exclude(product=product)
        .values("product_id")
        .annotate(orders=Count("order_id", distinct=True))
        .order_by("-orders", "product_id")[:6]
    )
    companions = list(companions)
    names = Product.objects.in_bulk([c["product_id"] for c in companions])
    base = len(set(order_ids))
    sells_with = [
        {
            "product": names[c["product_id"]],
            "orders": c["orders"],
            "share": round(100 * c["orders"] / base) if base else 0,
        }
        for c in companions
        if c["product_id"] in names
    ]
    visible = (
        scoped(actor, Order.objects.all())
        .filter(ordered_on__gte=today - timedelta(days=730), account__isnull=False)
        .exclude(status__in=[Order.Status.DRAFT, Order.Status.CANCELLED])
    )
    buyers = list(
        OrderLine.objects.filter(product=product, order__in=visible)
        .values("order__account_id", "order__account__name")
        .annotate(units=Sum("quantity"), orders=Count("order_id", distinct=True))
        .order_by("-units", "order__account__name")[:8]
    )
    last = dict(
        OrderLine.objects.filter(
            product=product, order__in=visible, order__account_id__in=[b["order__account_id"] for b in buyers]
        )
        .values("order__account_id")
        .annotate(last=Max("order__ordered_on"))
        .values_list("order__account_id", "last")
    )
    for b in buyers:
        b["last"] = last.get(b["order__account_id"])
    return {"sells_with": sells_with, "orders_considered": base, "buyers": buyers}


# --- The fulfilment dashboard ------------------------------------------------------------------------


@dataclass
class MonthStat:
    month: date
    deliveries: int = 0
    on_time: int = 0
    days_total: int = 0

    @property
    def rate(self) -> float | None:
        return round(100 * self.on_time / self.deliveries, 1) if self.deliveries else None

    @property
    def avg_days(self) -> float | None:
        return round(self.days_total / self.deliveries, 1) if self.deliveries else None


@dataclass
class Backlog:
    by_status: list[dict[str, Any]] = field(default_factory=list)
    by_week: list[dict[str, Any]] = field(default_factory=list)
    count: int = 0
    value: dict[str, Decimal] = field(default_factory=dict)


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _months_back(day: date, n: int) -> date:
    """The first day of the month ``n`` months before ``day``'s (after it for a negative ``n``)."""
    index = day.year * 12 + day.month - 1 - n
    return date(index // 12, index % 12 + 1, 1)


def _month_series(first: date, last: date) -> list[date]:
    out, current = [], first
    while current <= last:
        out.append(current)
        current = _months_back(current, -1)
    return out


def fulfilment_summary(
    *, actor: User, today: date | None = None, months: int = 12, at_risk_limit: int = 20
) -> dict[str, Any]:
    """The fulfilment dashboard's figures for the actor.

    - ``at_risk``: the ``at_risk_limit`` most overdue open orders the actor sees with a risk flag (the
      partial index order_risk_idx), earliest promised date first, picked in SQL; ``at_risk_count``: all of
      them (the list page ``?at_risk=true`` shows the rest).
    - ``months`` / ``on_time``: deliveries, on-time rate and order-to-delivery days per month and over the
      last three months (this month and the two before), company-wide from the ``DeliveryStat`` rollup
      (summed over its owners).
    - ``mine``: for a rep (a manager: their teams) the same three months over the rollup rows of the
      owners they see (an admin's figure is the company's).
    - ``products``: order-to-delivery days by product and month, from ``DeliveryStat``.
    - ``backlog``: open orders the actor sees (order_open_promise_idx) by status and promised week.

    Nothing here reads the whole order table, so the page stays fast with millions of orders.
    """
    today = today or timezone.localdate()
    scope = policy_for(Order).scope_for(actor, "view")
    orders = scoped(actor, Order.objects.all())
    first_month = _months_back(today, months - 1)
    series = _month_series(first_month, _month_start(today))

    at_risk_qs = orders.filter(~Q(risk=""), status__in=OPEN_STATUSES)
    # The most overdue first, limited in SQL before the join (NULLS LAST on SQLite too, as PostgreSQL does).
    at_risk = list(
        at_risk_qs.order_by(F("promised_date").asc(nulls_last=True), "id").select_related(
            "account", "contact", "owner"
        )[:at_risk_limit]
    )
    at_risk_count = len(at_risk) if len(at_risk) < at_risk_limit else at_risk_qs.count()

    month_stats = _delivery_months(DeliveryStat.objects.filter(month__gte=first_month), series)
    on_time = _months_total(month_stats[-3:])
    mine = None
    if scope is not Scope.ALL:
        owners = team_member_ids(actor) if scope is Scope.TEAM else frozenset([actor.pk])
        recent = series[-3:]
        own = DeliveryStat.objects.filter(owner_id__in=owners, month__gte=recent[0])
        mine = _months_total(_delivery_months(own, recent))
    return {
        "today": today,
        "company_wide": scope is Scope.ALL,
        "at_risk": at_risk,
        "at_risk_count": at_risk_count,
        "on_time": on_time,
        "mine": mine,
        "months": month_stats,
        "products": _product_delivery_days(first_month=_months_back(today, 5)),
        "backlog": _backlog(orders, today),
    }


def _delivery_months(stats: QuerySet[DeliveryStat], series: list[date]) -> list[MonthStat]:
    """``stats`` (rollup rows) summed per month, over products and owners, one entry per month of ``series``."""
    by_month = {m: MonthStat(month=m) for m in series}
    rows = stats.values("month").annotate(d=Sum("deliveries"), o=Sum("on_time"), t=Sum("days_total")).order_by()
    for row in rows:
        stat = by_month.get(_month_start(row["month"]))
        if stat is not None:
            stat.deliveries, stat.on_time, stat.days_total = row["d"] or 0, row["o"] or 0, row["t"] or 0
    return [by_month[m] for m in series]


def _months_total(stats: list[MonthStat]) -> MonthStat:
    return MonthStat(
        month=stats[0].month,
        deliveries=sum(s.deliveries for s in stats),
        on_time=sum(s.on_time for s in stats),
        days_total=sum(s.days_total for s in stats),
    )


def _product_delivery_days(*, first_month: date, top: int = 8) -> dict[str, Any]:
    """Average order-to-delivery days for the most delivered products, per month since ``first_month``."""
    rows = list(  # summed over the owners
        DeliveryStat.objects.filter(month__gte=first_month)
        .values("product_id", "month")
        .annotate(d=Sum("deliveries"), o=Sum("on_time"), t=Sum("days_total"))
        .order_by()
        .values_list("product_id", "month", "d", "o", "t")
    )
    totals: dict[int, MonthStat] = {}
    cells: dict[tuple[int, date], MonthStat] = {}
    for product_id, month, deliveries, on_time, days_total in rows:
        total = totals.setdefault(product_id, MonthStat(month=first_month))
        total.deliveries += deliveries
        total.on_time += on_time
        total.days_total += days_total
        cells[(product_id, _month_start(month))] = MonthStat(month, deliveries, on_time, days_total)
    ranked = sorted(totals.items(), key=lambda kv: (-kv[1].deliveries, kv[0]))[:top]
    names = Product.objects.in_bulk([pid for pid, _ in ranked])
    months = _month_series(first_month, max([m for _, m in cells] or [first_month]))
    table = [
        {
            "product": names.get(pid),
            "total": total,
            "cells": [cells.get((pid, m)) for m in months],
        }
        for pid, total in ranked
        if pid in names
    ]
    return {"months": months, "rows": table}


def _week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _backlog(orders: QuerySet[Order], today: date, weeks: int = 8) -> Backlog:
    """Open orders by status and by promised week, per currency, from one grouped read of the open orders
    (the partial index order_open_promise_idx holds exactly them)."""
    backlog = Backlog()
    labels = dict(Order.Status.choices)
    this_week = _week_start(today)
    horizon = this_week + timedelta(weeks=weeks)
    status_rows: dict[str, dict[str, Any]] = {}
    buckets: dict[str, dict[str, Any]] = {}
    for key in ["overdue"] + [str(this_week + timedelta(weeks=i)) for i in range(weeks)] + ["later", "none"]:
        if key == "overdue":
            label = "Promised before this week"
        elif key == "later":
            label = f"From {horizon:%-d %b} on"
        elif key == "none":
            label = "No promised date"
        else:
            label = f"Week of {date.fromisoformat(key):%-d %b}"
        buckets[key] = {"key": key, "label": label, "count": 0, "value": {}}

    def add(entry: dict[str, Any], currency: str, count: int, value: Decimal) -> None:
        entry["count"] += count
        entry["value"][currency] = entry["value"].get(currency, ZERO) + value

    rows = (
        orders.filter(status__in=OPEN_STATUSES)
        .values("status", "promised_date", "currency")
        .annotate(n=Count("id"), v=Sum("total"))
        .order_by()
    )
    for row in rows:
        count, value, currency, promised = row["n"], row["v"] or ZERO, row["currency"], row["promised_date"]
        entry = status_rows.setdefault(
            row["status"], {"status": row["status"], "label": labels[row["status"]], "count": 0, "value": {}}
        )
        add(entry, currency, count, value)
        backlog.count += count
        backlog.value[currency] = backlog.value.get(currency, ZERO) + value
        if promised is None:
            key = "none"
        elif promised < this_week:
            key = "overdue"
        elif promised >= horizon:
            key = "later"
        else:
            key = str(_week_start(promised))
        add(buckets[key], currency, count, value)
    backlog.by_status = [status_rows[s] for s in OPEN_STATUSES if s in status_rows]
    backlog.by_week = [b for b in buckets.values() if b["count"] or b["key"] not in ("none", "overdue", "later")]
    return backlog
