"""Reads of the pipeline forecast, quotas, adjustments and snapshots, always scoped by the acting user.

The forecast of a period: the open opportunities expected to close in it (commit, best case, pipeline;
omitted and lost ones left out) and the ones won in it, in the base currency, weighted by their
probability; per rep, and rolled up through the team hierarchy (a team is its members plus its child
teams). Beside each raw roll-up stands the adjusted number: a manager's latest adjustment of that rep or
team, else (for a team) the sum of its children's adjusted numbers. Attainment is what the sales ledger
booked in the period (``SalesFact`` month rows) over the quota.

Who sees what follows the policies: a rep only themselves, a manager the teams they manage (sub-teams
included) and themselves, an admin everything. A handful of queries, whatever the number of reps or deals.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Count, DecimalField, Exists, F, OuterRef, Q, QuerySet, Sum
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from forecasting.models import Adjustment, PipelineSnapshot, Quota, SalesFact
from forecasting.pipeline_periods import Period, elapsed_share, period_parse
from leads import selectors as lead_selectors
from leads.models import ForecastCategory, Opportunity, Stage
from orders.ledger import RateTable
from sfa.filters import IdFilter, apply_filters
from sfa.models import Team, User
from sfa.permissions import can, managed_team_ids, scoped, team_member_ids

if TYPE_CHECKING:
    from forecasting.models import TargetMixin

ZERO = Decimal("0")
CENT = Decimal("0.01")
COMMIT, BEST_CASE, PIPELINE, WON = (
    ForecastCategory.COMMIT.value,
    ForecastCategory.BEST_CASE.value,
    ForecastCategory.PIPELINE.value,
    ForecastCategory.CLOSED_WON.value,
)
OPEN_CATEGORIES = (COMMIT, BEST_CASE, PIPELINE)  # the forecast categories of open deals, surest first
ADJUSTABLE = OPEN_CATEGORIES
CATEGORY_LABELS = {COMMIT: "Commit", BEST_CASE: "Best case", PIPELINE: "Pipeline", WON: "Closed won"}


def money(value: Any) -> Decimal:
    # SQLite sums decimals as floats: back to cents through their text.
    return Decimal(str(value or 0)).quantize(CENT)


def local_bounds(period: Period) -> tuple[datetime, datetime]:
    """The period as aware datetimes: its first moment and the first moment after it."""
    tz = timezone.get_current_timezone()
    start = datetime.combine(period.start, time.min, tzinfo=tz)
    return start, datetime.combine(period.end + timedelta(days=1), time.min, tzinfo=tz)


# --- Who the actor sees ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """The reps (``user_ids``; None: everybody) and teams (``team_ids``) whose figures the actor sees."""

    user_ids: frozenset[int] | None
    team_ids: frozenset[int] | None

    def sees_user(self, user_id: int) -> bool:
        return self.user_ids is None or user_id in self.user_ids

    def sees_team(self, team_id: int) -> bool:
        return self.team_ids is None or team_id in self.team_ids


def visible_scope(*, actor: User) -> Scope:
    if actor.is_admin:
        return Scope(None, None)
    if actor.is_manager:
        return Scope(team_member_ids(actor), managed_team_ids(actor))
    return Scope(frozenset({actor.pk}), frozenset())


def may_adjust_user(actor: User, user_id: int) -> bool:
    """An admin anyone's number; a manager a member of the teams they manage, never their own."""
    if actor.is_admin:
        return True
    return actor.is_manager and user_id != actor.pk and user_id in team_member_ids(actor)


def may_adjust_team(actor: User, team_id: int) -> bool:
    """An admin any team's number; a manager the teams they manage and those below them."""
    return actor.is_admin or (actor.is_manager and team_id in managed_team_ids(actor))


def team_children(teams: Iterable[tuple[int, int | None]]) -> dict[int | None, list[int]]:
    children: dict[int | None, list[int]] = defaultdict(list)
    for team_id, parent_id in teams:
        children[parent_id].append(team_id)
    return children


def team_subtree(team_id: int, children: dict[int | None, list[int]]) -> set[int]:
    """``team_id`` and every team below it."""
    seen: set[int] = set()
    stack = [team_id]
    while stack:
        current = stack.pop()
        if current not in seen:
            seen.add(current)
            stack.extend(children.get(current, []))
    return seen


def team_member_ids_below(team_id: int) -> set[int]:
    """Every member of ``team_id`` and of the teams below it (unscoped: the services check the actor first)."""
    children = team_children(Team.objects.values_list("id", "parent_id"))
    return set(User.objects.filter(team_id__in=team_subtree(team_id, children)).values_list("id", flat=True))


def user_label(row: dict[str, Any]) -> str:
    name = f"{row.get('first_name', '')} {row.get('last_name', '')}".strip()
    return name or row.get("username", "")


# --- Money in the base currency ----------------------------------------------------------------------------


def base_currency() -> str:
    from orders.services import order_settings

    return order_settings().base_currency


class Converter:
    """Amounts into the base currency at the rate valid on ``on``; a currency without a rate is counted apart."""

    def __init__(self, on: date, *, table: RateTable | None = None):
        self.table = table or RateTable()
        self.base = self.table.base
        self.on = on
        self.missing: dict[str, int] = defaultdict(int)
        self._rates: dict[str, Decimal | None] = {}

    def rate(self, currency: str) -> Decimal | None:
        if currency not in self._rates:
            try:
                self._rates[currency] = self.table.rate(currency, self.on)
            except ValidationError:
                self._rates[currency] = None
        return self._rates[currency]

    def __call__(self, amount: Any, currency: str, count: int = 1) -> Decimal | None:
        rate = self.rate(currency)
        if rate is None:
            self.missing[currency] += count
            return None
        return money(Decimal(str(amount or 0)) * rate)


# --- The forecast tree ----------------------------------------------------------------------------------------


@dataclass
class Cell:
    """One forecast category's deals: how many, their amount and their probability-weighted amount."""

    count: int = 0
    amount: Decimal = ZERO
    weighted: Decimal = ZERO

    def add(self, other: Cell) -> None:
        self.count += other.count
        self.amount += other.amount
        self.weighted += other.weighted


@dataclass
class Node:
    """A rep or a team in the roll-up, with its raw figures, quota, booked sales and adjusted numbers."""

    kind: str  # "user" or "team"
    id: int
    label: str
    children: list[Node] = field(default_factory=list)
    depth: int = 0
    cells: dict[str, Cell] = field(default_factory=lambda: {c: Cell() for c in (*OPEN_CATEGORIES, WON)})
    booked: Decimal = ZERO
    own_quota: Decimal | None = None
    quota: Decimal | None = None
    adjustments: dict[str, Adjustment] = field(default_factory=dict)  # the standing one per category
    adjusted: dict[str, Decimal] = field(default_factory=dict)
    can_adjust: bool = False
    is_actor: bool = False
    today_share: float = 1.0  # how much of the period has passed

    @property
    def key(self) -> str:
        return f"{self.kind}-{self.id}"

    def raw(self, category: str) -> Decimal:
        return self.cells[category].amount

    @property
    def open_count(self) -> int:
        return sum(self.cells[c].count for c in OPEN_CATEGORIES)

    @property
    def open_amount(self) -> Decimal:
        return sum((self.cells[c].amount for c in OPEN_CATEGORIES), ZERO)

    @property
    def weighted(self) -> Decimal:
        return sum((self.cells[c].weighted for c in OPEN_CATEGORIES), ZERO)

    @property
    def won(self) -> Decimal:
        return self.cells[WON].amount

    @property
    def quota_is_sum(self) -> bool:
        return self.quota is not None and self.own_quota is None

    @property
    def attainment(self) -> float | None:
        if not self.quota:
            return None
        return float(self.booked / self.quota * 100)

    @property
    def expected(self) -> float:
        """Where attainment should stand by now, pro rata of the period (100 once it is over)."""
        return round(self.today_share * 100, 1)

    @property
    def band(self) -> str:
        """ok: on pace (at least what the time passed asks for); warn: within 80 % of it; danger: below;
        none: no quota, or the period has not begun."""
        if self.attainment is None or self.today_share == 0:  # nothing to judge before the period starts
            return "none"
        needed = max(self.expected, 1.0)
        if self.attainment >= needed:
            return "ok"
        return "warn" if self.attainment >= 0.8 * needed else "danger"

    @property
    def categories(self) -> list[dict[str, Any]]:
        """Raw and adjusted per adjustable category, for templates and the API."""
        return [
            {
                "category": c,
                "label": CATEGORY_LABELS[c],
                "raw": self.raw(c),
                "adjusted": self.adjusted.get(c, self.raw(c)),
                "weighted": self.cells[c].weighted,
                "count": self.cells[c].count,
                "adjustment": self.adjustments.get(c),
                "differs": self.adjusted.get(c, self.raw(c)) != self.raw(c),
            }
            for c in ADJUSTABLE
        ]

    def walk(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            yield from child.walk()

    @property
    def is_empty(self) -> bool:
        return (
            not any(cell.count for cell in self.cells.values())
            and not self.booked
            and self.quota is None
            and not self.adjustments
            and all(child.is_empty for child in self.children)
        )


@dataclass
class StageRow:
    stage_id: int | None
    label: str
    order: tuple
    cells: dict[str, Cell] = field(default_factory=lambda: {c: Cell() for c in (*OPEN_CATEGORIES, WON)})

    @property
    def open_cells(self) -> list[Cell]:
        return [self.cells[c] for c in OPEN_CATEGORIES]

    @property
    def weighted(self) -> Decimal:
        return sum((cell.weighted for cell in self.open_cells), ZERO)

    @property
    def count(self) -> int:
        return sum(cell.count for cell in self.open_cells)


@dataclass
class PipelineForecast:
    period: Period
    currency: str
    today: date
    roots: list[Node]
    total: Node
    stages: list[StageRow]
    history: list[Adjustment]
    missing: dict[str, int]
    scope: Scope

    def rows(self) -> list[Node]:
        """The roll-up, depth first: each team followed by its sub-teams and members."""
        return [node for root in self.roots for node in root.walk()]

    def reps(self) -> list[Node]:
        return [node for node in self.rows() if node.kind == "user"]

    def teams(self) -> list[Node]:
        return [node for node in self.rows() if node.kind == "team"]

    def with_quota(self) -> list[Node]:
        return [node for node in self.rows() if node.quota is not None]

    def find(self, kind: str, pk: int) -> Node | None:
        return next((n for n in self.rows() if n.kind == kind and n.id == pk), None)

    @property
    def missing_count(self) -> int:
        return sum(self.missing.values())


def _opportunity_rows(actor: User, period: Period) -> QuerySet:
    """The actor's opportunities open with a close date in the period, or won in it, summed per owner,
    stage, category and currency."""
    start, after = local_bounds(period)
    in_period = Q(forecast_category__in=OPEN_CATEGORIES, expected_close__range=(period.start, period.end))
    won = Q(forecast_category=WON) & (
        Q(closed_at__gte=start, closed_at__lt=after)
        | Q(closed_at__isnull=True, expected_close__range=(period.start, period.end))
    )
    return (
        lead_selectors.opportunity_list(actor=actor)
        .filter(in_period | won)
        .order_by()
        .values("owner_id", "stage_id", "forecast_category", "currency")
        .annotate(
            n=Count("id"),
            total=Sum("amount"),
            weighted=Sum(F("amount") * F("probability"), output_field=DecimalField(max_digits=20, decimal_places=2)),
        )
    )


def quotas_in_period(quotas: Iterable[dict[str, Any]], period: Period) -> dict[tuple[str, int], Decimal]:
    """Each target's quota for ``period``: the quotas overlapping it, pro rata by days (as ``quota_amount``)."""
    out: dict[tuple[str, int], Decimal] = defaultdict(lambda: ZERO)
    for row in quotas:
        days = (row["period_end"] - row["period_start"]).days + 1
        overlap = (min(period.end, row["period_end"]) - max(period.start, row["period_start"])).days + 1
        if overlap <= 0:
            continue
        target = ("user", row["user_id"]) if row["user_id"] else ("team", row["team_id"])
        out[target] += row["amount"] * Decimal(overlap) / Decimal(days)
    return {key: value.quantize(CENT) for key, value in out.items()}


def booked_by_rep(*, user_ids: frozenset[int] | None, months: Iterable[date]) -> dict[int, Decimal]:
    """Revenue the sales ledger booked (base currency) per rep in ``months`` (first days), from the facts."""
    facts = SalesFact.objects.filter(grain=SalesFact.Grain.MONTH, period__in=list(months))
    if user_ids is not None:
        facts = facts.filter(rep_id__in=user_ids)
    return {
        rep: money(total)
        for rep, total in facts.order_by().values("rep_id").annotate(t=Sum("revenue")).values_list("rep_id", "t")
    }


def pipeline_forecast(
    *, actor: User, period: Period, today: date | None = None, prune: bool = True
) -> PipelineForecast:
    """The forecast of ``period`` as the actor may see it (see the module's docstring)."""
    today = today or timezone.localdate()
    scope = visible_scope(actor=actor)
    convert = Converter(min(today, period.end))

    teams = list(Team.objects.order_by("name").values_list("id", "name", "parent_id"))
    users_qs = User.objects.order_by("first_name", "last_name", "username")
    if scope.user_ids is not None:
        users_qs = users_qs.filter(pk__in=scope.user_ids)
    users = list(users_qs.values("id", "first_name", "last_name", "username", "team_id"))

    # Raw figures per rep, and per stage for the chart.
    per_user: dict[int, dict[str, Cell]] = defaultdict(lambda: {c: Cell() for c in (*OPEN_CATEGORIES, WON)})
    per_stage: dict[int, dict[str, Cell]] = defaultdict(lambda: {c: Cell() for c in (*OPEN_CATEGORIES, WON)})
    for row in _opportunity_rows(actor, period):
        amount = convert(row["total"], row["currency"], row["n"])
        if amount is None:
            continue
        weighted = convert(Decimal(str(row["weighted"] or 0)) / 100, row["currency"], 0) or ZERO
        cell = Cell(row["n"], amount, amount if row["forecast_category"] == WON else weighted)
        per_user[row["owner_id"]][row["forecast_category"]].add(cell)
        per_stage[row["stage_id"]][row["forecast_category"]].add(cell)

    quota_rows = Quota.objects.filter(period_start__lte=period.end, period_end__gte=period.start)
    quotas = quotas_in_period(
        scoped(actor, quota_rows).values("user_id", "team_id", "period_start", "period_end", "amount"), period
    )
    booked = booked_by_rep(user_ids=scope.user_ids, months=period.months)

    standing: dict[tuple[str, int], dict[str, Adjustment]] = defaultdict(dict)
    history = list(
        scoped(actor, Adjustment.objects.filter(period_start=period.start, period_end=period.end))
        .select_related("user", "team", "created_by")
        .order_by("-created_at", "-id")
    )
    for adjustment in history:  # newest first: the first seen per target and category stands
        target = ("user", adjustment.user_id) if adjustment.user_id else ("team", adjustment.team_id)
        standing[target].setdefault(adjustment.category, adjustment)
    for adjustment in history:
        target = ("user", adjustment.user_id) if adjustment.user_id else ("team", adjustment.team_id)
        adjustment.is_standing = standing[target].get(adjustment.category) is adjustment

    share = period.elapsed_share(today)

    def user_node(row: dict[str, Any]) -> Node:
        node = Node("user", row["id"], user_label(row), is_actor=row["id"] == actor.pk, today_share=share)
        node.cells = per_user.get(row["id"]) or node.cells
        node.booked = booked.get(row["id"], ZERO)
        node.own_quota = node.quota = quotas.get(("user", row["id"]))
        node.adjustments = standing.get(("user", row["id"]), {})
        node.can_adjust = may_adjust_user(actor, row["id"])
        return node

    # The tree: visible teams with their members and sub-teams; visible reps outside them stand alone.
    members: dict[int | None, list[dict[str, Any]]] = defaultdict(list)
    for row in users:
        members[row["team_id"]].append(row)
    visible_teams = {tid: name for tid, name, _ in teams if scope.sees_team(tid)}
    children = team_children((tid, parent) for tid, _, parent in teams)

    def team_node(team_id: int) -> Node:
        node = Node("team", team_id, visible_teams[team_id], today_share=share)
        node.children = [team_node(child) for child in children.get(team_id, []) if child in visible_teams]
        node.children += [user_node(row) for row in members.get(team_id, [])]
        node.own_quota = quotas.get(("team", team_id))
        node.adjustments = standing.get(("team", team_id), {})
        node.can_adjust = may_adjust_team(actor, team_id)
        return node

    parents = {tid: parent for tid, _, parent in teams}
    roots = [team_node(tid) for tid in visible_teams if parents.get(tid) not in visible_teams]
    roots += [user_node(row) for row in users if row["team_id"] not in visible_teams]
    for root in roots:
        _roll_up(root)
    if prune:
        # A rep's own row stays even when empty (their page is about them); a manager's or admin's only with figures.
        keep = actor.pk if not (actor.is_manager or actor.is_admin) else None
        roots = [root for root in (_pruned(r, keep) for r in roots) if root is not None]
    roots.sort(key=lambda n: (n.kind != "team", not n.is_actor, n.label))
    for root in roots:
        _set_depth(root, 0)

    total = Node("total", 0, "Everyone you see" if actor.is_manager or actor.is_admin else "You", today_share=share)
    total.children = roots
    _roll_up(total)
    total.children = []

    stage_info = {
        s["id"]: s
        for s in Stage.objects.filter(pk__in=list(per_stage)).values(
            "id", "name", "order", "pipeline__name", "pipeline_id"
        )
    }
    several = len({s["pipeline_id"] for s in stage_info.values()}) > 1
    stages = []
    for stage_id, cells in per_stage.items():
        info = stage_info.get(stage_id, {"name": "?", "order": 0, "pipeline__name": ""})
        label = f"{info['pipeline__name']}: {info['name']}" if several else info["name"]
        stages.append(StageRow(stage_id, label, (info["pipeline__name"], info["order"]), cells))
    stages.sort(key=lambda s: s.order)

    return PipelineForecast(
        period=period,
        currency=convert.base,
        today=today,
        roots=roots,
        total=total,
        stages=stages,
        history=history,
        missing=dict(convert.missing),
        scope=scope,
    )


def _roll_up(node: Node) -> None:
    """Children's figures into the team; the adjusted number is the team's own adjustment, else its
    children's adjusted numbers added up (a rep's: their own adjustment, else the raw figure)."""
    for child in node.children:
        _roll_up(child)
    if node.children:
        node.cells = {c: Cell() for c in (*OPEN_CATEGORIES, WON)}
        node.booked = ZERO
        for child in node.children:
            for category, cell in child.cells.items():
                node.cells[category].add(cell)
            node.booked += child.booked
    child_quotas = [child.quota for child in node.children if child.quota is not None]
    node.quota = node.own_quota if node.own_quota is not None else (sum(child_quotas, ZERO) if child_quotas else None)
    for category in ADJUSTABLE:
        if category in node.adjustments:
            node.adjusted[category] = node.adjustments[category].amount
        elif node.children:
            node.adjusted[category] = sum((child.adjusted[category] for child in node.children), ZERO)
        else:
            node.adjusted[category] = node.raw(category)


def _pruned(node: Node, keep: int | None) -> Node | None:
    """Without the reps and teams that have nothing in the period (but the rep ``keep``)."""
    node.children = [child for child in (_pruned(c, keep) for c in node.children) if child is not None]
    if node.is_empty and not node.children and not (node.kind == "user" and node.id == keep):
        return None
    return node


def _set_depth(node: Node, depth: int) -> None:
    node.depth = depth
    for child in node.children:
        _set_depth(child, depth + 1)


def raw_amount(*, user_ids: Iterable[int], period: Period, category: str, today: date | None = None) -> Decimal:
    """The raw roll-up of one category for these reps in ``period`` (unscoped: for the services' records)."""
    today = today or timezone.localdate()
    convert = Converter(min(today, period.end))
    rows = (
        Opportunity.objects.filter(
            owner_id__in=list(user_ids), forecast_category=category, expected_close__range=(period.start, period.end)
        )
        .order_by()
        .values("currency")
        .annotate(total=Sum("amount"), n=Count("id"))
    )
    return sum((convert(r["total"], r["currency"], r["n"]) or ZERO for r in rows), ZERO)


# --- Snapshots: how the forecast moved week over week ---------------------------------------------------------


@dataclass
class TrendWeek:
    taken_on: date
    amounts: dict[str, Decimal]
    weighted: Decimal

    @property
    def ordered(self) -> list[Decimal]:
        return [self.amounts[c] for c in OPEN_CATEGORIES]


def pipeline_trend(*, actor: User, period: Period, weeks: int = 12, today: date | None = None) -> list[TrendWeek]:
    """Per weekly snapshot of the last ``weeks`` weeks: the commit, best case and pipeline amounts of the deals
    then expected to close in ``period`` (the owners the actor sees)."""
    today = today or timezone.localdate()
    since = today - timedelta(days=today.weekday()) - timedelta(weeks=weeks - 1)
    rows = (
        scoped(actor, PipelineSnapshot.objects.filter(taken_on__gte=since, taken_on__lte=today))
        .filter(period__in=list(period.months), category__in=OPEN_CATEGORIES)
        .order_by()
        .values("taken_on", "category")
        .annotate(amount=Sum("amount"), weighted=Sum("weighted"))
    )
    by_week: dict[date, TrendWeek] = {}
    for row in rows:
        week = by_week.setdefault(
            row["taken_on"], TrendWeek(row["taken_on"], dict.fromkeys(OPEN_CATEGORIES, ZERO), ZERO)
        )
        week.amounts[row["category"]] += money(row["amount"])
        week.weighted += money(row["weighted"])
    return [by_week[d] for d in sorted(by_week)]


# --- Quotas and adjustments -------------------------------------------------------------------------------------


class PeriodFormField(forms.CharField):
    """A period key, cleaned into its Period (a bad key is the field's error)."""

    def clean(self, value: Any) -> Period | None:
        value = super().clean(value)
        if not value:
            return None
        try:
            return period_parse(value)
        except ValidationError as exc:
            # The message quotes what was typed: a % in it must not be read as a format placeholder.
            raise forms.ValidationError([m.replace("%", "%%") for m in exc.messages]) from None


@extend_schema_field(OpenApiTypes.STR)
class PeriodFilter(django_filters.Filter):
    """Rows whose period overlaps the one named."""

    field_class = PeriodFormField

    def filter(self, qs: QuerySet, value: Period | None) -> QuerySet:
        if value is None:
            return qs
        return qs.filter(period_start__lte=value.end, period_end__gte=value.start)


class _TargetFilter(django_filters.FilterSet):
    user = IdFilter(field_name="user_id")
    team = IdFilter(field_name="team_id")
    period = PeriodFilter(label="Period (2026-05, FY2027-Q1, FY2027): rows overlapping it")


class QuotaFilter(_TargetFilter):
    """Quotas of a rep or a team, or overlapping a period."""

    class Meta:
        model = Quota
        fields = ["user", "team", "period"]


class AdjustmentFilter(_TargetFilter):
    """Adjustments of a rep or a team, of a category, or overlapping a period."""

    category = django_filters.ChoiceFilter(choices=[(c, CATEGORY_LABELS[c]) for c in ADJUSTABLE])

    class Meta:
        model = Adjustment
        fields = ["user", "team", "period", "category"]


def quota_list(*, actor: User, filters: Any = None) -> QuerySet[Quota]:
    qs = scoped(actor, Quota.objects.select_related("user", "team", "created_by"))
    return apply_filters(QuotaFilter, filters, qs)


def quota_get(*, actor: User, pk: Any, action: str = "view") -> Quota:
    from sfa.permissions import get_object_for

    return get_object_for(actor, Quota.objects.select_related("user", "team"), pk, action)


def with_superseded(queryset: QuerySet[Adjustment]) -> QuerySet[Adjustment]:
    """Annotate ``superseded``: a later adjustment of the same rep or team, period and category exists."""
    later = Adjustment.objects.filter(
        Q(user__isnull=False, user=OuterRef("user")) | Q(team__isnull=False, team=OuterRef("team")),
        period_start=OuterRef("period_start"),
        period_end=OuterRef("period_end"),
        category=OuterRef("category"),
    ).filter(Q(created_at__gt=OuterRef("created_at")) | Q(created_at=OuterRef("created_at"), id__gt=OuterRef("id")))
    return queryset.annotate(superseded=Exists(later))


def adjustment_list(*, actor: User, filters: Any = None) -> QuerySet[Adjustment]:
    qs = scoped(actor, with_superseded(Adjustment.objects.select_related("user", "team", "created_by")))
    return apply_filters(AdjustmentFilter, filters, qs)


def target_history(*, actor: User, target: TargetMixin, period: Period) -> list[Adjustment]:
    """The adjustments of one rep or team in ``period``, newest first (the first per category stands)."""
    qs = adjustment_list(actor=actor).filter(period_start=period.start, period_end=period.end)
    qs = qs.filter(user_id=target.user_id) if target.user_id else qs.filter(team_id=target.team_id)
    rows = list(qs.order_by("-created_at", "-id"))
    seen: set[str] = set()
    for row in rows:
        row.is_standing = row.category not in seen
        seen.add(row.category)
    return rows


def may_change_quota(actor: User, quota: Quota) -> bool:
    """What the quota services allow: the policy, and never one's own quota or own team's (admins excepted)."""
    if not can(actor, "change", quota):
        return False
    if actor.is_admin:
        return True
    return quota.user_id != actor.pk and not (quota.team_id and quota.team.manager_id == actor.pk)


def quota_targets(*, actor: User) -> tuple[list[User], list[Team]]:
    """The reps and teams whose quotas the actor may set: a manager's teams' members (not themselves) and
    the teams below the ones they manage; an admin everyone active and every team."""
    users = User.objects.filter(is_active=True).order_by("first_name", "last_name", "username")
    teams = Team.objects.order_by("name")
    if actor.is_admin:
        return list(users), list(teams)
    if not actor.is_manager:
        return [], []
    below = [t for t in Team.objects.filter(pk__in=managed_team_ids(actor)) if t.manager_id != actor.pk]
    return list(users.filter(pk__in=team_member_ids(actor)).exclude(pk=actor.pk)), below


def quota_attainment(*, quotas: list[Quota], today: date | None = None) -> dict[int, dict[str, Any]]:
    """Per quota: what was booked in its period (a team's: its members and sub-teams') and the attainment."""
    if not quotas:
        return {}
    today = today or timezone.localdate()
    first = min(q.period_start for q in quotas).replace(day=1)
    last = max(q.period_end for q in quotas)
    facts = (
        SalesFact.objects.filter(grain=SalesFact.Grain.MONTH, period__gte=first, period__lte=last)
        .order_by()
        .values_list("rep_id", "period")
        .annotate(t=Sum("revenue"))
    )
    by_rep: dict[int, dict[date, Decimal]] = defaultdict(dict)
    for rep_id, month, total in facts:
        by_rep[rep_id][month] = money(total)
    teams = list(Team.objects.values_list("id", "parent_id"))
    children = team_children(teams)
    members: dict[int, list[int]] = defaultdict(list)
    for user_id, team_id in User.objects.filter(team__isnull=False).values_list("id", "team_id"):
        members[team_id].append(user_id)
    out = {}
    for quota in quotas:
        if quota.user_id:
            reps = [quota.user_id]
        else:
            reps = [u for t in team_subtree(quota.team_id, children) for u in members.get(t, [])]
        booked = sum(
            (v for rep in reps for m, v in by_rep.get(rep, {}).items() if quota.period_start <= m <= quota.period_end),
            ZERO,
        )
        share = elapsed_share(quota.period_start, quota.period_end, today)
        node = Node("user", 0, "", booked=booked, quota=quota.amount, today_share=share)
        out[quota.pk] = {"booked": booked, "attainment": node.attainment, "band": node.band, "expected": node.expected}
    return out
