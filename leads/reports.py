"""Pipeline figures: the board's column totals, the opportunity page's stage history, and the reports
(stage durations, win rates, pipeline movement, funnel), all computed from what the actor may see.

Reads only. Every queryset starts from ``leads.selectors.opportunity_list`` so the policies scope it;
the history-based figures replay the StageChange rows of those opportunities in Python, because "what
was the amount when it was won" and "how long did it sit in Proposal" are questions about sequences
that portable SQL answers badly. The replay takes two queries whatever the number of opportunities.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, DecimalField, ExpressionWrapper, F, QuerySet, Sum
from django.utils import timezone

from leads import selectors
from leads.models import ForecastCategory, Opportunity, Pipeline, Stage, StageChange
from sfa.models import User

CLOSED = (ForecastCategory.CLOSED_WON, ForecastCategory.CLOSED_LOST)
SYMBOLS = {"EUR": "€", "GBP": "£", "USD": "$", "CHF": "CHF ", "JPY": "¥"}
ZERO = Decimal("0")


# --- Money -------------------------------------------------------------------------------------------


def format_money(amount: Decimal | int | float, currency: str) -> str:
    """``€12,500`` / ``£980`` / ``SEK 4,000``: whole units, grouped; the pages show no cents."""
    symbol = SYMBOLS.get(currency, f"{currency} ")
    value = Decimal(amount).quantize(Decimal("1"))
    sign = "−" if value < 0 else ""
    return f"{sign}{symbol}{abs(value):,}"


class Money(dict):
    """Amounts per currency: sums across currencies are never added together."""

    def add(self, currency: str, amount: Decimal | None) -> None:
        self[currency] = self.get(currency, ZERO) + (amount or ZERO)

    def __str__(self) -> str:
        shown = [(c, v) for c, v in sorted(self.items(), key=lambda cv: -cv[1]) if v]
        if not shown:
            return format_money(0, next(iter(self), "EUR"))
        return " + ".join(format_money(v, c) for c, v in shown)


# --- The board --------------------------------------------------------------------------------------


@dataclass
class Column:
    stage: Stage
    cards: list[Opportunity]
    count: int = 0
    amount: Money = field(default_factory=Money)
    weighted: Money = field(default_factory=Money)
    closed_since: date | None = None

    @property
    def more(self) -> int:
        return max(0, self.count - len(self.cards))


def _weighted() -> ExpressionWrapper:
    return ExpressionWrapper(
        F("amount") * F("probability") / Decimal("100"), output_field=DecimalField(max_digits=18, decimal_places=4)
    )


@dataclass
class Totals:
    count: int = 0
    amount: Money = field(default_factory=Money)
    weighted: Money = field(default_factory=Money)


def open_totals(*, actor: User, pipeline: Pipeline, filters: Mapping[str, Any] | None = None) -> Totals:
    """Count, amount and weighted amount of the open opportunities on the board (one query)."""
    qs = selectors.opportunity_list(actor=actor, filters={**(filters or {}), "pipeline": pipeline.pk})
    rows = (
        qs.exclude(stage__forecast_category__in=CLOSED)
        .order_by()
        .values("currency")
        .annotate(n=Count("id"), total=Sum("amount"), weighted=Sum(_weighted()))
    )
    totals = Totals()
    for row in rows:
        totals.count += row["n"]
        totals.amount.add(row["currency"], Decimal(str(row["total"] or 0)))
        totals.weighted.add(row["currency"], Decimal(str(row["weighted"] or 0)))
    return totals


def board_columns(
    *,
    actor: User,
    pipeline: Pipeline,
    filters: Mapping[str, Any] | None = None,
    closed_days: int | None = 90,
    stage_ids: Iterable[int] | None = None,
    limit: int = 100,
    today: date | None = None,
) -> list[Column]:
    """One column per stage of ``pipeline`` with its cards (earliest close first, at most ``limit``) and
    the count, amount and weighted amount (amount × probability) of every opportunity in it.

    Closed columns hold only what closed in the last ``closed_days`` days (None: everything), so that
    eighteen months of won deals do not bury the board. ``stage_ids`` limits the columns computed (the
    move endpoint re-renders two of them).
    """
    today = today or timezone.localdate()
    qs = selectors.opportunity_list(actor=actor, filters={**(filters or {}), "pipeline": pipeline.pk})
    closed_since = today - timedelta(days=closed_days) if closed_days else None
    if closed_since:
        qs = qs.exclude(stage__forecast_category__in=CLOSED, closed_at__date__lt=closed_since)
    stages = list(pipeline.stages.order_by("order"))
    if stage_ids is not None:
        wanted = {int(s) for s in stage_ids}
        stages = [s for s in stages if s.pk in wanted]
    columns = {s.pk: Column(stage=s, cards=[], closed_since=closed_since if s.is_closed else None) for s in stages}
    totals = (
        qs.filter(stage_id__in=columns)
        .order_by()
        .values("stage_id", "currency")
        .annotate(n=Count("id"), total=Sum("amount"), weighted=Sum(_weighted()))
    )
    for row in totals:
        column = columns[row["stage_id"]]
        column.count += row["n"]
        column.amount.add(row["currency"], Decimal(str(row["total"] or 0)))
        column.weighted.add(row["currency"], Decimal(str(row["weighted"] or 0)))
    for stage_id, column in columns.items():
        cards = list(qs.filter(stage_id=stage_id).order_by("expected_close", "id")[:limit])
        for card in cards:
            card.amount_display = format_money(card.amount, card.currency)
            card.is_overdue = not column.stage.is_closed and card.expected_close < today
        column.cards = cards
    return list(columns.values())


# --- One opportunity's history ----------------------------------------------------------------------

FIELD_LABELS = {
    "stage_id": "Stage",
    "amount": "Amount",
    "probability": "Probability",
    "expected_close": "Expected close",
    "forecast_category": "Forecast category",
}


def format_duration(delta: timedelta) -> str:
    seconds = max(0, delta.total_seconds())
    if seconds < 3600:
        return f"{max(1, round(seconds / 60))} min"
    if seconds < 2 * 86400:
        hours = round(seconds / 3600)
        return f"{hours} hour{'s' if hours != 1 else ''}"
    days = round(seconds / 86400)
    return f"{days} days"


@dataclass
class HistoryRow:
    change: StageChange
    moved: bool  # the stage changed (or the opportunity was created)
    items: list[tuple[str, str, str]]  # (label, before, after) of what changed besides the stage
    time_in_previous: str = ""  # how long it had been in the stage it left


@dataclass
class StageTime:
    stage: Stage
    duration: timedelta
    visits: int
    current: bool

    @property
    def display(self) -> str:
        return format_duration(self.duration)


def _display(name: str, value: Any, currency: str, stages: Mapping[int, Stage]) -> str:
    if value in (None, ""):
        return "—"
    if name == "stage_id":
        stage = stages.get(value)
        return stage.name if stage else f"#{value}"
    if name == "amount":
        return format_money(Decimal(str(value)), currency)
    if name == "probability":
        return f"{value}%"
    if name == "expected_close":
        try:
            return f"{date.fromisoformat(str(value)):%-d %b %Y}"
        except ValueError:
            return str(value)
    if name == "forecast_category":
        return str(dict(ForecastCategory.choices).get(value, value))
    return str(value)


def opportunity_history(
    *, actor: User, opportunity: Opportunity, now: datetime | None = None
) -> tuple[list[HistoryRow], list[StageTime]]:
    """The stage history as the opportunity page shows it: each change (newest first) with what changed
    and how long the opportunity had been in the stage it left; and the total time spent in each stage."""
    now = now or timezone.now()
    changes = list(selectors.stage_history(actor=actor, opportunity=opportunity))
    stages = {s.pk: s for s in Stage.objects.filter(pipeline_id=opportunity.pipeline_id)}
    for change in changes:  # a stage of an earlier pipeline, should the opportunity have moved
        for stage in (change.from_stage, change.to_stage):
            if stage is not None:
                stages.setdefault(stage.pk, stage)
    rows: list[HistoryRow] = []
    entered: datetime | None = None
    spent: dict[int, timedelta] = defaultdict(timedelta)
    visits: dict[int, int] = defaultdict(int)
    current: int | None = None
    for change in changes:
        moved = change.from_stage_id is None or change.from_stage_id != change.to_stage_id
        row = HistoryRow(
            change=change,
            moved=moved,
            items=[
                (FIELD_LABELS.get(name, name), *(_display(name, v, opportunity.currency, stages) for v in pair))
                for name, pair in change.changes.items()
                if name != "stage_id"
            ],
        )
        if moved:
            if current is not None and entered is not None:
                spent[current] += change.at - entered
                row.time_in_previous = format_duration(change.at - entered)
            current, entered = change.to_stage_id, change.at
            visits[current] += 1
        rows.append(row)
    if current is not None and entered is not None and not stages[current].is_closed:
        spent[current] += now - entered
    times = [
        StageTime(stage=stages[pk], duration=spent[pk], visits=visits[pk], current=pk == current)
        for pk in sorted(visits, key=lambda pk: (stages[pk].order, pk))
    ]
    rows.reverse()
    return rows, times


# --- Replaying the history for the reports ------------------------------------------------------------


@dataclass
class State:
    stage_id: int
    amount: Decimal
    expected_close: date | None


@dataclass
class Event:
    """One StageChange row as the reports read it, with the state right after it."""

    at: datetime
    from_stage_id: int | None
    to_stage_id: int
    changes: dict[str, list[Any]]
    state: State


@dataclass
class Timeline:
    id: int
    name: str
    owner_id: int
    currency: str
    events: list[Event]

    def state_before(self, moment: datetime) -> State | None:
        state = None
        for event in self.events:
            if event.at >= moment:
                break
            state = event.state
        return state


def _as_date(value: Any) -> date | None:
    if value in (None, ""):
        return None
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def replay(opportunities: Iterable[tuple[int, str, int, str]], rows: Iterable[tuple]) -> list[Timeline]:
    """Timelines from (id, name, owner_id, currency) and StageChange rows (opportunity_id, at, from_stage_id,
    to_stage_id, changes) sorted by opportunity, time and id. A pure function: the tests feed it by hand."""
    timelines = {
        oid: Timeline(id=oid, name=name, owner_id=owner, currency=cur, events=[])
        for oid, name, owner, cur in opportunities
    }
    for opportunity_id, at, from_stage_id, to_stage_id, changes in rows:
        timeline = timelines.get(opportunity_id)
        if timeline is None:
            continue
        previous = timeline.events[-1].state if timeline.events else None
        amount = previous.amount if previous else ZERO
        close = previous.expected_close if previous else None
        if "amount" in changes:
            amount = Decimal(str(changes["amount"][1] or 0))
        if "expected_close" in changes:
            close = _as_date(changes["expected_close"][1])
        state = State(stage_id=to_stage_id, amount=amount, expected_close=close)
        timeline.events.append(Event(at, from_stage_id, to_stage_id, changes or {}, state))
    return list(timelines.values())


def load_timelines(opportunities: QuerySet[Opportunity], *, until: datetime) -> list[Timeline]:
    """The timelines of ``opportunities`` (already scoped) up to ``until``: two queries."""
    opportunities = opportunities.filter(created_at__lt=until)
    heads = list(opportunities.order_by().values_list("id", "name", "owner_id", "currency"))
    rows = (
        StageChange.objects.filter(opportunity__in=opportunities.values("id"), at__lt=until)
        .order_by("opportunity_id", "at", "id")
        .values_list("opportunity_id", "at", "from_stage_id", "to_stage_id", "changes")
    )
    return replay(heads, rows.iterator())


# --- Stage durations ------------------------------------------------------------------------------


@dataclass
class Stay:
    opportunity_id: int
    stage_id: int
    entered: datetime
    left: datetime | None  # None: still there at the end of the period


def stays(timelines: Iterable[Timeline]) -> list[Stay]:
    """Each uninterrupted stay of an opportunity in a stage: entered by the row that moved it there."""
    out: list[Stay] = []
    for timeline in timelines:
        current: tuple[int, datetime] | None = None
        for event in timeline.events:
            if current is None or event.to_stage_id != current[0]:
                if current is not None:
                    out.append(Stay(timeline.id, current[0], current[1], event.at))
                current = (event.to_stage_id, event.at)
        if current is not None:
            out.append(Stay(timeline.id, current[0], current[1], None))
    return out


@dataclass
class StageDuration:
    stage: Stage
    completed: int  # stays that ended inside the period
    median_days: float | None
    mean_days: float | None
    open_now: int  # still in the stage at the end of the period
    open_median_days: float | None


def _days(delta: timedelta) -> float:
    return delta.total_seconds() / 86400


def stage_durations(
    timelines: list[Timeline], stages: list[Stage], *, since: datetime, until: datetime
) -> list[StageDuration]:
    """Median days spent in each open stage, over the stays that ended in [since, until)."""
    done: dict[int, list[float]] = defaultdict(list)
    ongoing: dict[int, list[float]] = defaultdict(list)
    for stay in stays(timelines):
        if stay.left is None:
            ongoing[stay.stage_id].append(_days(until - stay.entered))
        elif since <= stay.left < until:
            done[stay.stage_id].append(_days(stay.left - stay.entered))
    out = []
    for stage in stages:
        if stage.is_closed:
            continue
        days, age = done.get(stage.pk, []), ongoing.get(stage.pk, [])
        out.append(
            StageDuration(
                stage=stage,
                completed=len(days),
                median_days=round(statistics.median(days), 1) if days else None,
                mean_days=round(statistics.fmean(days), 1) if days else None,
                open_now=len(age),
                open_median_days=round(statistics.median(age), 1) if age else None,
            )
        )
    return out


# --- Closing: win rates -----------------------------------------------------------------------------


@dataclass
class Closing:
    timeline: Timeline
    at: datetime
    won: bool
    amount: Decimal
    cycle_days: float  # from creation to the close


def closings(
    timelines: Iterable[Timeline], stage_by_id: Mapping[int, Stage], *, since: datetime, until: datetime
) -> list[Closing]:
    """Opportunities closed (won or lost) inside [since, until) and still closed at its end: the last
    move into a closed stage counts, so a deal lost, reopened and then won is one win."""
    out = []
    for timeline in timelines:
        if not timeline.events:
            continue
        last = timeline.events[-1]
        final = stage_by_id.get(last.state.stage_id)
        if final is None or not final.is_closed:
            continue
        closing = next((e for e in reversed(timeline.events) if e.from_stage_id != e.to_stage_id), last)
        if not since <= closing.at < until:
            continue
        out.append(
            Closing(
                timeline=timeline,
                at=closing.at,
                won=final.forecast_category == ForecastCategory.CLOSED_WON,
                amount=closing.state.amount,
                cycle_days=_days(closing.at - timeline.events[0].at),
            )
        )
    return out


@dataclass
class WinRate:
    owner: User | None  # None: everyone together
    won: int = 0
    lost: int = 0
    won_amount: Decimal = ZERO
    lost_amount: Decimal = ZERO
    cycle_days: list[float] = field(default_factory=list)

    @property
    def closed(self) -> int:
        return self.won + self.lost

    @property
    def rate(self) -> float | None:
        """Won / closed, in percent (None without any closed deal)."""
        return round(100 * self.won / self.closed, 1) if self.closed else None

    @property
    def amount_rate(self) -> float | None:
        total = self.won_amount + self.lost_amount
        return round(float(100 * self.won_amount / total), 1) if total else None

    @property
    def median_cycle_days(self) -> float | None:
        return round(statistics.median(self.cycle_days)) if self.cycle_days else None


def win_rates(closed: list[Closing], owners: Mapping[int, User]) -> tuple[list[WinRate], WinRate]:
    """Per owner (best rate first) and overall."""
    per_owner: dict[int, WinRate] = {}
    overall = WinRate(owner=None)
    for closing in closed:
        owner_id = closing.timeline.owner_id
        row = per_owner.setdefault(owner_id, WinRate(owner=owners.get(owner_id)))
        for target in (row, overall):
            if closing.won:
                target.won += 1
                target.won_amount += closing.amount
                target.cycle_days.append(closing.cycle_days)
            else:
                target.lost += 1
                target.lost_amount += closing.amount
    rows = sorted(per_owner.values(), key=lambda r: (-(r.rate or 0), -r.closed, str(r.owner)))
    return rows, overall


# --- Pipeline movement ------------------------------------------------------------------------------

MOVEMENT_KINDS = [
    ("entered", "Entered", "created in the period"),
    ("advanced", "Advanced", "moved to a later open stage"),
    ("moved_back", "Moved back", "moved to an earlier stage"),
    ("slipped", "Slipped", "expected close moved later"),
    ("pulled_in", "Pulled in", "expected close moved earlier"),
    ("won", "Won", "closed won"),
    ("lost", "Lost", "closed lost"),
]


@dataclass
class MovementItem:
    timeline: Timeline
    at: datetime
    amount: Decimal
    detail: str = ""
    days: int = 0  # slipped / pulled in: by how many days


@dataclass
class MovementRow:
    kind: str
    label: str
    help: str
    items: list[MovementItem] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.items)

    @property
    def amount(self) -> Decimal:
        return sum((i.amount for i in self.items), ZERO)

    @property
    def days(self) -> int:
        return sum(i.days for i in self.items)


@dataclass
class Movement:
    rows: list[MovementRow]
    open_start: int
    open_start_amount: Decimal
    open_end: int
    open_end_amount: Decimal

    def row(self, kind: str) -> MovementRow:
        return next(r for r in self.rows if r.kind == kind)

    @property
    def other_change(self) -> Decimal:
        """What the entered, won and lost amounts do not explain: amount changes and reopened deals."""
        return (
            self.open_end_amount
            - self.open_start_amount
            - self.row("entered").amount
            + self.row("won").amount
            + self.row("lost").amount
        )


def _is_closed(stage_id: int, stage_by_id: Mapping[int, Stage]) -> bool:
    stage = stage_by_id.get(stage_id)
    return stage is not None and stage.is_closed


def _is_open(state: State | None, stage_by_id: Mapping[int, Stage]) -> bool:
    stage = stage_by_id.get(state.stage_id) if state else None
    return stage is not None and not stage.is_closed


def pipeline_movement(
    timelines: list[Timeline],
    stage_by_id: Mapping[int, Stage],
    *,
    since: datetime,
    until: datetime,
    closed: list[Closing] | None = None,
) -> Movement:
    """What happened to the pipeline in [since, until): each opportunity appears at most once per kind
    (its last event of that kind), with its amount at that moment."""
    per_kind: dict[str, dict[int, MovementItem]] = {kind: {} for kind, _, _ in MOVEMENT_KINDS}
    open_start = open_end = 0
    start_amount = end_amount = ZERO
    for timeline in timelines:
        start = timeline.state_before(since)
        if _is_open(start, stage_by_id):
            open_start += 1
            start_amount += start.amount
        end = timeline.events[-1].state if timeline.events else None
        if _is_open(end, stage_by_id):
            open_end += 1
            end_amount += end.amount
        for event in timeline.events:
            if not since <= event.at < until:
                continue
            item = MovementItem(timeline=timeline, at=event.at, amount=event.state.amount)
            if event.from_stage_id is None:
                per_kind["entered"][timeline.id] = item
            elif event.from_stage_id != event.to_stage_id:
                before, after = stage_by_id.get(event.from_stage_id), stage_by_id.get(event.to_stage_id)
                if before and after and not after.is_closed:
                    kind = "advanced" if (not before.is_closed and after.order > before.order) else "moved_back"
                    item.detail = f"{before.name} → {after.name}"
                    per_kind[kind][timeline.id] = item
            close = event.changes.get("expected_close")
            closing = event.from_stage_id != event.to_stage_id and _is_closed(event.to_stage_id, stage_by_id)
            if close and event.from_stage_id is not None and not closing:  # a win dated on its day is no pull-in
                old, new = _as_date(close[0]), _as_date(close[1])
                if old and new and new != old:
                    kind = "slipped" if new > old else "pulled_in"
                    earlier = per_kind[kind].get(timeline.id)
                    days = abs((new - old).days) + (earlier.days if earlier else 0)
                    per_kind[kind][timeline.id] = MovementItem(
                        timeline=timeline,
                        at=event.at,
                        amount=event.state.amount,
                        detail=f"{old:%-d %b %Y} → {new:%-d %b %Y}",
                        days=days,
                    )
    if closed is None:
        closed = closings(timelines, stage_by_id, since=since, until=until)
    for closing in closed:
        kind = "won" if closing.won else "lost"
        per_kind[kind][closing.timeline.id] = MovementItem(
            timeline=closing.timeline, at=closing.at, amount=closing.amount
        )
    rows = [
        MovementRow(
            kind=kind, label=label, help=help_text, items=sorted(per_kind[kind].values(), key=lambda i: -i.amount)
        )
        for kind, label, help_text in MOVEMENT_KINDS
    ]
    return Movement(
        rows=rows, open_start=open_start, open_start_amount=start_amount, open_end=open_end, open_end_amount=end_amount
    )


# --- Funnel -----------------------------------------------------------------------------------------


@dataclass
class FunnelStep:
    stage: Stage
    reached: int
    share: float | None  # of those that entered the funnel, in percent


def funnel(timelines: Iterable[Timeline], stages: list[Stage], *, since: datetime, until: datetime) -> list[FunnelStep]:
    """Of the opportunities created in [since, until), how many reached each stage (Closed lost left out):
    reaching a stage means having been in it or in any later stage other than Closed lost."""
    path = [s for s in stages if s.forecast_category != ForecastCategory.CLOSED_LOST]
    order = {s.pk: i for i, s in enumerate(path)}
    furthest: list[int] = []
    for timeline in timelines:
        if not timeline.events or not since <= timeline.events[0].at < until:
            continue
        visited = [order[e.to_stage_id] for e in timeline.events if e.to_stage_id in order]
        if visited:
            furthest.append(max(visited))
    entered = len(furthest)
    return [
        FunnelStep(
            stage=stage,
            reached=(n := sum(1 for f in furthest if f >= i)),
            share=round(100 * n / entered, 1) if entered else None,
        )
        for i, stage in enumerate(path)
    ]


# --- The reports page -------------------------------------------------------------------------------


@dataclass
class PipelineReport:
    since: datetime
    until: datetime
    currency: str
    currencies: list[str]
    durations: list[StageDuration]
    win_rates: list[WinRate]
    overall: WinRate
    movement: Movement
    funnel: list[FunnelStep]
    other_currency_count: int


def pipeline_report(
    *,
    actor: User,
    pipeline: Pipeline,
    since: datetime,
    until: datetime,
    owner: int | None = None,
    currency: str | None = None,
) -> PipelineReport:
    """Every figure of the reports page for one pipeline, period and currency (amounts in different
    currencies are never added up; the other currencies' opportunities are counted and left out)."""
    filters: dict[str, Any] = {"pipeline": pipeline.pk}
    if owner:
        filters["owner"] = owner
    scope = selectors.opportunity_list(actor=actor, filters=filters)
    by_currency = dict(
        scope.filter(created_at__lt=until)
        .order_by()
        .values_list("currency")
        .annotate(n=Count("id"))
        .values_list("currency", "n")
    )
    currencies = sorted(by_currency, key=lambda c: (-by_currency[c], c)) or ["EUR"]
    currency = currency if currency in by_currency else currencies[0]
    timelines = load_timelines(scope.filter(currency=currency), until=until)
    stages = list(pipeline.stages.order_by("order"))
    stage_by_id = {s.pk: s for s in Stage.objects.all()}
    owners = {u.pk: u for u in User.objects.filter(pk__in={t.owner_id for t in timelines})}
    closed = closings(timelines, stage_by_id, since=since, until=until)
    rates, overall = win_rates(closed, owners)
    return PipelineReport(
        since=since,
        until=until,
        currency=currency,
        currencies=currencies,
        durations=stage_durations(timelines, stages, since=since, until=until),
        win_rates=rates,
        overall=overall,
        movement=pipeline_movement(timelines, stage_by_id, since=since, until=until, closed=closed),
        funnel=funnel(timelines, stages, since=since, until=until),
        other_currency_count=sum(n for c, n in by_currency.items() if c != currency),
    )
