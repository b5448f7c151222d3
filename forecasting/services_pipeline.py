"""Writes of the pipeline forecast: quotas, managers' adjustments, and the weekly pipeline snapshots.

Quotas and adjustments are for a rep or a team (exactly one). The policy (``forecasting.policies_pipeline``)
says whose: a manager's teams' reps and the teams they manage or below. On top of it nobody sets their own
quota or adjusts their own number (an admin excepted): that is the job of somebody above them. Every write
is audited; adjustments are never edited, a new one supersedes the last and keeps the history.

Snapshots: ``pipeline_snapshot_take`` writes this week's picture of the open pipeline (per owner, close
month, forecast category and stage) and replaces what the week had, so the weekly job may run twice;
``pipeline_snapshots_backfill`` reconstructs past weeks from the opportunities' stage history.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from forecasting.models import Adjustment, PipelineSnapshot, Quota
from forecasting.pipeline_periods import Period, month_end
from forecasting.selectors_pipeline import (
    ADJUSTABLE,
    CATEGORY_LABELS,
    OPEN_CATEGORIES,
    Converter,
    money,
    raw_amount,
    team_member_ids_below,
)
from leads.models import Opportunity, Stage, StageChange
from orders.ledger import RateTable
from sfa.audit import audit_record, diff, snapshot
from sfa.models import AuditAction, Team, User
from sfa.permissions import require
from sfa.services import model_create, model_delete, model_update

if TYPE_CHECKING:
    from forecasting.models import TargetMixin


def _amount(value: Any, field: str = "amount") -> Decimal:
    try:
        amount = Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, ValueError, AttributeError):
        raise ValidationError({field: f"{value!r} is not an amount."}) from None
    if not amount.is_finite() or amount < 0:
        raise ValidationError({field: "An amount cannot be negative."})
    return money(amount)


def _target(user: User | None, team: Team | None) -> dict[str, Any]:
    if (user is None) == (team is None):
        raise ValidationError("Choose a rep or a team (one of them).")
    return {"user": user, "team": team}


def _refuse_own(actor: User, user: User | None, what: str) -> None:
    if user is not None and user.pk == actor.pk and not actor.is_admin:
        raise PermissionDenied(f"Somebody above you sets your {what}.")


def _refuse_own_team(actor: User, team: Team | None) -> None:
    """A manager sets the quotas of the teams below theirs; their own team's comes from above them."""
    if team is not None and team.manager_id == actor.pk and not actor.is_admin:
        raise PermissionDenied(f"Somebody above you sets the quota of {team}, the team you manage.")


def _target_label(user: User | None, team: Team | None) -> str:
    return str(user) if user is not None else f"team {team}"


# --- Quotas ---------------------------------------------------------------------------------------------


def _check_quota_period(start: date, end: date) -> None:
    if start.day != 1 or end != month_end(end.replace(day=1)):
        raise ValidationError({"period": "A quota runs over whole months: from a first to a last day of a month."})
    if end < start:
        raise ValidationError({"period": "A quota cannot end before it starts."})


def _refuse_overlap(*, user: User | None, team: Team | None, start: date, end: date, exclude: int | None) -> None:
    """Overlapping quotas of one target would count twice when a period takes its share of each."""
    clash = Quota.objects.filter(user=user, team=team, period_start__lte=end, period_end__gte=start)
    if exclude is not None:
        clash = clash.exclude(pk=exclude)
    other = clash.first()
    if other is not None:
        when = f"{other.period_start:%-d %b %Y} – {other.period_end:%-d %b %Y}"
        raise ValidationError({"period": f"{_target_label(user, team)} has a quota for {when} already."})


@transaction.atomic
def quota_create(
    *,
    actor: User,
    period_start: date,
    period_end: date,
    amount: Any,
    user: User | None = None,
    team: Team | None = None,
    note: str = "",
) -> Quota:
    """A rep's or a team's quota (base currency) for whole months; one rep's or team's quotas never overlap."""
    target = _target(user, team)
    require(actor, "add", Quota(**target))
    _refuse_own(actor, user, "quota")
    _refuse_own_team(actor, team)
    _check_quota_period(period_start, period_end)
    # Two managers saving overlapping quotas for one target at once: the second waits on this row lock until
    # the first commits, then its overlap check sees the first quota (SQLite runs writers one at a time).
    (User if user is not None else Team).objects.select_for_update(no_key=True).filter(pk=(user or team).pk).first()
    _refuse_overlap(user=user, team=team, start=period_start, end=period_end, exclude=None)
    return model_create(
        model=Quota,
        actor=actor,
        data={
            **target,
            "period_start": period_start,
            "period_end": period_end,
            "amount": _amount(amount),
            "note": (note or "").strip()[:200],
            "created_by": actor,
        },
    )


@transaction.atomic
def quota_update(*, actor: User, quota: Quota, amount: Any = None, note: str | None = None) -> Quota:
    """A quota's amount or note (its rep or team and its period stay: delete it and set a new one)."""
    quota = Quota.objects.select_for_update(of=("self",)).select_related("user", "team").get(pk=quota.pk)
    require(actor, "change", quota)
    _refuse_own(actor, quota.user, "quota")
    _refuse_own_team(actor, quota.team)
    data: dict[str, Any] = {}
    if amount is not None:
        data["amount"] = _amount(amount)
    if note is not None:
        data["note"] = note.strip()[:200]
    model_update(instance=quota, actor=actor, data=data)
    return quota


@transaction.atomic
def quota_delete(*, actor: User, quota: Quota) -> None:
    require(actor, "delete", quota)
    _refuse_own(actor, quota.user, "quota")
    _refuse_own_team(actor, quota.team)
    model_delete(instance=quota, actor=actor)


# --- Adjustments ------------------------------------------------------------------------------------------


@transaction.atomic
def adjustment_create(
    *,
    actor: User,
    period: Period,
    amount: Any,
    note: str,
    category: str = "commit",
    user: User | None = None,
    team: Team | None = None,
) -> Adjustment:
    """A manager's number for a rep's or team's forecast category in ``period``, with the reason.

    It stands beside the raw roll-up (kept on the row as it was when adjusted) until a newer adjustment of
    the same rep or team, period and category supersedes it; nothing is ever edited, so the history stays.
    """
    target = _target(user, team)
    require(actor, "add", Adjustment(**target))
    _refuse_own(actor, user, "forecast")
    if category not in ADJUSTABLE:
        raise ValidationError({"category": f"Adjust one of: {', '.join(CATEGORY_LABELS[c] for c in ADJUSTABLE)}."})
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": "Say why: an adjustment needs a note."})
    if user is not None and not user.is_active:
        raise ValidationError({"user": f"{user} no longer works here."})
    owners = [user.pk] if user is not None else team_member_ids_below(team.pk)
    adjustment = Adjustment.objects.create(
        **target,
        period_start=period.start,
        period_end=period.end,
        category=category,
        amount=_amount(amount),
        raw_amount=raw_amount(user_ids=owners, period=period, category=category),
        note=note,
        created_by=actor,
    )
    audit_record(
        actor=actor,
        instance=adjustment,
        action=AuditAction.CREATE,
        changes=diff({}, snapshot(adjustment)),
        note=note,
    )
    return adjustment


def adjustment_target(*, actor: User, user_id: Any = None, team_id: Any = None) -> TargetMixin:
    """An unsaved Adjustment naming the rep or team, checked: a target the actor may not see is a 404,
    one they see but may not adjust a 403 (the services check again when writing)."""
    from django.http import Http404

    from forecasting.selectors_pipeline import may_adjust_team, may_adjust_user, visible_scope

    scope = visible_scope(actor=actor)
    try:
        if user_id not in (None, ""):
            user = User.objects.get(pk=int(user_id))
            if not scope.sees_user(user.pk):
                raise Http404("No such rep.")
            if not may_adjust_user(actor, user.pk):
                raise PermissionDenied("You may not adjust this rep's number.")
            return Adjustment(user=user)
        if team_id not in (None, ""):
            team = Team.objects.get(pk=int(team_id))
            if not scope.sees_team(team.pk):
                raise Http404("No such team.")
            if not may_adjust_team(actor, team.pk):
                raise PermissionDenied("You may not adjust this team's number.")
            return Adjustment(team=team)
    except (User.DoesNotExist, Team.DoesNotExist, ValueError, TypeError):
        raise Http404("No such rep or team.") from None
    raise Http404("Name a rep or a team.")


# --- Weekly snapshots -------------------------------------------------------------------------------------------


def week_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


@dataclass
class _State:
    stage_id: int
    amount: Decimal
    probability: int
    category: str
    close: date | None


Cells = dict[tuple[int, date, str, int | None], list]


def _add(cells: Cells, convert: Converter, *, owner: int, state: _State, currency: str) -> None:
    if state.category not in OPEN_CATEGORIES or state.close is None:
        return
    amount = convert(state.amount, currency)
    if amount is None:
        return
    cell = cells.setdefault((owner, state.close.replace(day=1), state.category, state.stage_id), [0, 0, 0])
    cell[0] += 1
    cell[1] += amount
    cell[2] += money(amount * state.probability / 100)


@transaction.atomic
def _write_week(taken_on: date, cells: Cells) -> int:
    PipelineSnapshot.objects.filter(taken_on=taken_on).delete()
    rows = [
        PipelineSnapshot(
            taken_on=taken_on,
            owner_id=owner,
            period=period,
            category=category,
            stage_id=stage_id,
            count=count,
            amount=amount,
            weighted=weighted,
        )
        for (owner, period, category, stage_id), (count, amount, weighted) in cells.items()
    ]
    PipelineSnapshot.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


def pipeline_snapshot_take(*, today: date | None = None) -> int:
    """This week's snapshot of the open pipeline (taken on the Monday), replacing the week's rows. Returns the rows."""
    today = today or timezone.localdate()
    monday = week_of(today)
    convert = Converter(today)
    cells: Cells = {}
    rows = Opportunity.objects.filter(forecast_category__in=OPEN_CATEGORIES).values_list(
        "owner_id", "stage_id", "amount", "probability", "forecast_category", "expected_close", "currency"
    )
    for owner, stage_id, amount, probability, category, close, currency in rows.iterator():
        _add(
            cells, convert, owner=owner, state=_State(stage_id, amount, probability, category, close), currency=currency
        )
    return _write_week(monday, cells)


def _mondays(weeks: int, today: date) -> list[date]:
    this = week_of(today)
    return [this - timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]


def _as_date(value: Any) -> date | None:
    if value in (None, ""):
        return None
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def pipeline_snapshots_backfill(*, weeks: int = 12, today: date | None = None, replace: bool = False) -> dict[str, Any]:
    """The snapshots of the last ``weeks`` Mondays (this week's included) as they would have been taken at the
    start of each Monday, replayed from the opportunities' stage history (StageChange: stage, amount,
    probability, forecast category, close date). Weeks that have rows already are kept unless ``replace``.

    What history does not record is taken as it is now: the owner, the currency, and, for a deal without any
    history row, its current state from its creation on.
    """
    today = today or timezone.localdate()
    tz = timezone.get_current_timezone()
    mondays = _mondays(weeks, today)
    if not replace:
        done = set(PipelineSnapshot.objects.filter(taken_on__in=mondays).values_list("taken_on", flat=True).distinct())
        mondays = [m for m in mondays if m not in done]
    if not mondays:
        return {"weeks": 0, "rows": 0}
    moments = [datetime.combine(m, time.min, tzinfo=tz) for m in mondays]
    stage_category = dict(Stage.objects.values_list("id", "forecast_category"))
    heads = {
        pk: (owner, currency, created, _State(stage, amount, probability, category, close))
        for pk, owner, currency, created, stage, amount, probability, category, close in Opportunity.objects.filter(
            created_at__lt=moments[-1]
        ).values_list(
            "id",
            "owner_id",
            "currency",
            "created_at",
            "stage_id",
            "amount",
            "probability",
            "forecast_category",
            "expected_close",
        )
    }
    # Per opportunity, its states over time: the moments of its changes and the state after each.
    timelines: dict[int, tuple[list[datetime], list[_State]]] = defaultdict(lambda: ([], []))
    history = (
        StageChange.objects.filter(opportunity_id__in=list(heads), at__lt=moments[-1])
        .order_by("opportunity_id", "at", "id")
        .values_list("opportunity_id", "at", "to_stage_id", "changes")
    )
    for opportunity_id, at, to_stage, changes in history.iterator():
        times, states = timelines[opportunity_id]
        previous = states[-1] if states else None
        changes = changes or {}
        state = _State(
            stage_id=to_stage,
            amount=Decimal(str(changes["amount"][1]))
            if "amount" in changes
            else (previous.amount if previous else Decimal(0)),
            probability=int(changes["probability"][1])
            if "probability" in changes
            else (previous.probability if previous else 0),
            # A change of category is recorded; unrecorded, it stayed (a new deal: its stage's).
            category=changes["forecast_category"][1]
            if "forecast_category" in changes
            else (previous.category if previous else stage_category.get(to_stage, "")),
            close=_as_date(changes["expected_close"][1])
            if "expected_close" in changes
            else (previous.close if previous else None),
        )
        times.append(at)
        states.append(state)

    written = 0
    rates = RateTable()
    for monday, moment in zip(mondays, moments, strict=True):
        convert = Converter(monday, table=rates)
        cells: Cells = {}
        for pk, (owner, currency, created, current) in heads.items():
            if created >= moment:
                continue
            if pk not in timelines:
                state = current
            else:
                times, states = timelines[pk]
                index = bisect.bisect_left(times, moment) - 1
                if index < 0:
                    continue
                state = states[index]
            _add(cells, convert, owner=owner, state=state, currency=currency)
        written += _write_week(monday, cells)
    return {"weeks": len(mondays), "rows": written}
