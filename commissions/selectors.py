"""Reads of the commissions app, always scoped by the acting user through the policies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import django_filters
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db.models import QuerySet
from django.utils import timezone

from commissions import calculator, plan_math
from commissions.models import CommissionSplit, Plan, Rule, Statement, StatementLine
from commissions.plan_math import HUNDRED, ZERO, Credit, money
from orders.services import order_settings
from sfa.filters import IdFilter, apply_filters
from sfa.models import User
from sfa.permissions import can, get_object_for, scoped

if TYPE_CHECKING:
    from leads.models import Opportunity
    from orders.models import Order


MONTH_VALIDATOR = RegexValidator(r"^\d{4}-(0[1-9]|1[0-2])(-\d{2})?$", "Enter a month as YYYY-MM.")


def _month(value: str) -> date:
    """``2026-03`` (or a full date; the field's validator checked the shape) as the first day of its month."""
    try:
        return calculator.month_start(date.fromisoformat(value if len(value) > 7 else f"{value}-01"))
    except ValueError:
        raise ValidationError({"period": f"{value!r} is not a month (YYYY-MM)."}) from None


class StatementFilter(django_filters.FilterSet):
    rep = IdFilter(field_name="rep_id")
    status = django_filters.ChoiceFilter(choices=Statement.Status.choices)
    period = django_filters.CharFilter(method="filter_period", validators=[MONTH_VALIDATOR], help_text="YYYY-MM")
    period_from = django_filters.CharFilter(
        method="filter_from", validators=[MONTH_VALIDATOR], help_text="From this month on, YYYY-MM"
    )
    period_to = django_filters.CharFilter(
        method="filter_to", validators=[MONTH_VALIDATOR], help_text="Up to this month, YYYY-MM"
    )

    class Meta:
        model = Statement
        fields = ["rep", "status"]

    def filter_period(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        return qs.filter(period=_month(value))

    def filter_from(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        return qs.filter(period__gte=_month(value))

    def filter_to(self, qs: QuerySet, name: str, value: str) -> QuerySet:
        return qs.filter(period__lte=_month(value))


def statement_list(*, actor: User, filters: Any = None) -> QuerySet[Statement]:
    """The statements the actor may see (a rep: their own; a manager: their teams'; an admin: all)."""
    qs = scoped(actor, Statement.objects.select_related("rep", "rep__team", "approved_by"))
    return apply_filters(StatementFilter, filters, qs)


def statement_get(*, actor: User, pk: Any, action: str = "view") -> Statement:
    """One statement: 404 for a statement the actor may not see, 403 for one they may see but not ``action``."""
    return get_object_for(actor, Statement.objects.select_related("rep", "approved_by", "job"), pk, action)


def statement_lines(statement: Statement) -> QuerySet[StatementLine]:
    return statement.lines.select_related("plan", "order", "created_by").order_by("on", "order_number", "id")


def visible_order_ids(*, actor: User, order_ids: set[int]) -> set[int]:
    """Which of these orders the actor may open (a split line may come from a colleague's order)."""
    from orders.models import Order

    return set(scoped(actor, Order.objects.filter(pk__in=order_ids)).values_list("pk", flat=True))


def rep_choices(*, actor: User) -> QuerySet[User]:
    """The people whose statements the actor sees (for the list's filter)."""
    ids = scoped(actor, Statement.objects.all()).values("rep_id")
    return User.objects.filter(pk__in=ids).order_by("first_name", "last_name", "username")


def plan_list(*, actor: User) -> QuerySet[Plan]:
    return scoped(
        actor,
        Plan.objects.select_related("created_by").prefetch_related("participants__user", "participants__team", "tiers"),
    )


def plan_get(*, actor: User, pk: Any, action: str = "view") -> Plan:
    return get_object_for(
        actor,
        Plan.objects.prefetch_related(
            "participants__user", "participants__team", "tiers", "category_rates__category", "spifs__product"
        ),
        pk,
        action,
    )


def plan_in_use(plan: Plan) -> bool:
    """Whether statements hold lines of the plan (then it is made inactive, never deleted)."""
    return StatementLine.objects.filter(plan=plan).exists()


# --- CSV exports ------------------------------------------------------------------------------------------------

PAYROLL_COLUMNS = (
    "rep_username",
    "rep_name",
    "period",
    "status",
    "currency",
    "credited_sales",
    "quota",
    "commission",
    "spif",
    "cap",
    "clawback",
    "adjustments",
    "carried_in",
    "carried_out",
    "total",
    "approved_by",
    "approved_at",
)
LINE_COLUMNS = (
    "rep_username",
    "period",
    "statement_status",
    "on",
    "event",
    "rule",
    "plan",
    "order",
    "order_line_id",
    "ledger_entry_id",
    "payment_id",
    "description",
    "units",
    "split_percent",
    "basis_amount",
    "rate",
    "amount",
    "late",
    "detail",
)


def payroll_rows(*, actor: User, filters: Any = None) -> list[list[Any]]:
    """One row per rep and month for payroll."""
    rows = []
    for s in statement_list(actor=actor, filters=filters).order_by("period", "rep__username"):
        rows.append(
            [
                s.rep.username,
                s.rep.get_full_name(),
                f"{s.period:%Y-%m}",
                s.status,
                s.currency,
                s.credited,
                s.quota if s.quota is not None else "",
                s.commission,
                s.spif,
                s.cap,
                s.clawback,
                s.adjustments,
                s.carried_in,
                s.carried_out,
                s.total,
                s.approved_by.username if s.approved_by else "",
                s.approved_at.isoformat() if s.approved_at else "",
            ]
        )
    return rows


def line_rows(*, actor: User, filters: Any = None):
    """Every line of the statements matching ``filters``, one CSV row each (a generator: large exports stream)."""
    statements = statement_list(actor=actor, filters=filters)
    lines = (
        StatementLine.objects.filter(statement__in=statements)
        .select_related("statement__rep", "plan")
        .order_by("statement__period", "statement__rep__username", "on", "id")
    )
    for line in lines.iterator(chunk_size=2000):
        yield [
            line.statement.rep.username,
            f"{line.statement.period:%Y-%m}",
            line.statement.status,
            line.on.isoformat(),
            line.event,
            line.rule,
            line.plan.name if line.plan else "",
            line.order_number,
            line.order_line_id or "",
            line.entry_id or "",
            line.payment_id or "",
            line.description,
            line.units,
            line.split_percent,
            line.basis_amount,
            line.rate if line.rate is not None else "",
            line.amount,
            "yes" if line.late else "",
            line.detail,
        ]


# --- Panels: the order page and the opportunity page ------------------------------------------------------------


def order_commission(*, actor: User, order: Order) -> dict[str, Any] | None:
    """An order's split and the statement lines it made that the actor may see."""
    if not can(actor, "view", CommissionSplit(order=order)):
        return None
    splits = list(order.commission_splits.select_related("rep").order_by("-percent", "rep_id"))
    lines = list(
        StatementLine.objects.filter(order=order, statement__in=scoped(actor, Statement.objects.all()))
        .select_related("statement__rep", "plan")
        .order_by("on", "statement__rep_id", "id")[:200]
    )
    total = money(sum((line.amount for line in lines), ZERO))
    return {"splits": splits, "lines": lines, "total": total, "currency": order_settings().base_currency}


@dataclass
class PlanEstimate:
    plan: Plan
    commission: Decimal
    spif: Decimal
    capped: Decimal
    total: Decimal
    rate_before: Decimal
    rate_after: Decimal


def opportunity_estimate(*, actor: User, opportunity: Opportunity, today: date | None = None) -> dict[str, Any] | None:
    """What the open ``opportunity`` would earn its owner if it closed this month, at the owner's plans' rates
    and the attainment reached so far this month (None when the actor may not see the owner's statements or
    the deal is closed). Assumes the whole deal is credited this month, to the owner alone."""
    from orders.ledger import exchange_rate

    if opportunity.forecast_category in ("closed_won", "closed_lost"):
        return None
    rep = opportunity.owner
    if not can(actor, "view", Statement(rep=rep)):
        return None
    today = today or timezone.localdate()
    start = calculator.month_start(today)
    plans = [p for p in calculator.plans_for(rep, start, calculator.month_end(start)) if calculator.in_effect(p, today)]
    base = order_settings().base_currency
    out: dict[str, Any] = {"currency": base, "plans": [], "total": ZERO, "month": start, "error": ""}
    if not plans:
        return out
    try:
        rate = exchange_rate(opportunity.currency, today)
    except ValidationError as exc:
        out["error"] = " ".join(exc.messages)
        return out
    lines = list(opportunity.lines.select_related("product"))
    items = [
        (money(line.quantity * line.unit_price * rate), line.product.category_id, line.product_id, line.quantity)
        for line in lines
        if line.product_id
    ]
    if not items:
        items = [(money(opportunity.amount * rate), None, None, Decimal("0"))]
    categories = calculator.Categories()
    month = calculator.month_compute(rep, start, categories=categories)
    by_plan = {s["plan"]: s for s in month.summary}
    quota = month.quota
    for plan in plans:
        summary = by_plan.get(plan.pk, {})
        credited = summary.get("credited_amount", ZERO)
        earned_so_far = sum(
            (
                line.amount
                for line in month.lines
                if line.plan_id == plan.pk and line.rule in (Rule.BASE, Rule.CATEGORY, Rule.TIER)
            ),
            ZERO,
        )
        spif_so_far = sum(
            (line.amount for line in month.lines if line.plan_id == plan.pk and line.rule == Rule.SPIF), ZERO
        )
        tiers = calculator.plan_tiers(plan)
        rates = {r.category_id: r.rate for r in plan.category_rates.all()}
        credits = []
        for amount, category_id, _product, _qty in items:
            found = categories.rate(rates, category_id) if category_id else None
            credits.append(Credit(amount, found[0] if found else None))
        pieces = plan_math.price_credits(
            credits, base_rate=plan.base_rate, tiers=tiers, quota=quota, position=credited, exact_before=earned_so_far
        )
        commission = money(sum((p.amount for p in pieces), ZERO))
        spif = ZERO
        for _amount, _category, product_id, quantity in items:
            for s in plan.spifs.all():
                if s.product_id == product_id and s.starts_on <= today <= s.ends_on:
                    spif += money(s.amount_per_unit * quantity)
        total = commission + spif
        capped = ZERO
        if plan.cap_amount is not None:
            room = max(plan.cap_amount - (earned_so_far + spif_so_far), ZERO)
            if total > room:
                capped = money(room - total)
                total = room
        added = sum((c.amount for c in credits), ZERO)
        out["plans"].append(
            PlanEstimate(
                plan=plan,
                commission=commission,
                spif=money(spif),
                capped=capped,
                total=money(total),
                rate_before=plan_math.current_rate(tiers, quota, credited, plan.base_rate),
                rate_after=plan_math.current_rate(tiers, quota, credited + added, plan.base_rate),
            )
        )
        out.setdefault("credited", credited)
        out.setdefault("added", added)
    out["total"] = money(sum((p.total for p in out["plans"]), ZERO))
    out["quota"] = quota
    if quota:
        out["attainment_before"] = (out["credited"] * HUNDRED / quota).quantize(Decimal("0.1"))
        out["attainment_after"] = ((out["credited"] + out["added"]) * HUNDRED / quota).quantize(Decimal("0.1"))
    return out
