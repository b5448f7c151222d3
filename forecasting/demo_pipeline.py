"""Demo pipeline forecast: quotas for every selling rep and sales team for this fiscal year and the next
(between last year's bookings and this year's pace), a few managers' adjustments with their notes
(one superseded, so the history shows), and twelve weekly pipeline snapshots reconstructed from the
opportunities' stage history.

Idempotent: quotas are made only where a rep or team has none for the year, adjustments only when the
demo's first is missing, and the snapshot backfill keeps weeks that have rows already.
"""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone

from sfa.demo import DemoContext, demo_step

SEED = 9508
THOUSAND = Decimal("1000")
FIRST_NOTE = (
    "Two of Rita's commits wait for the customer's fleet budget sign-off in December: I count 85 % until the PO."
)


def _round(value: Decimal) -> Decimal:
    return (value / THOUSAND).quantize(Decimal("1")) * THOUSAND


@demo_step(order=95)
def demo_pipeline_forecast(ctx: DemoContext) -> None:
    from forecasting.models import Adjustment, Quota, SalesFact
    from forecasting.pipeline_periods import QUARTER, YEAR, period_of
    from forecasting.selectors_pipeline import team_children, team_subtree
    from forecasting.services_pipeline import pipeline_snapshots_backfill, quota_create
    from leads.models import Opportunity
    from sfa.models import Team, User

    admin = ctx.users.get("admin") or User.objects.filter(username="admin").first()
    if admin is None:
        ctx.log("pipeline forecast: no demo admin, skipped")
        return
    rng = random.Random(SEED)  # noqa: S311 (demo data)
    today = timezone.localdate()
    this_year = period_of(YEAR, today)
    last_year, next_year = this_year.shifted(-1), this_year.shifted(1)

    # Who sells: the sales department's people who own deals or booked sales.
    sellers = set(Opportunity.objects.values_list("owner_id", flat=True).distinct())
    sellers |= set(SalesFact.objects.values_list("rep_id", flat=True).distinct())
    reps = list(
        User.objects.filter(pk__in=sellers, is_active=True, department__is_sales=True, team__isnull=False).order_by(
            "username"
        )
    )

    def booked(start, end) -> dict[int, Decimal]:
        rows = (
            SalesFact.objects.filter(grain=SalesFact.Grain.MONTH, period__gte=start, period__lte=end, rep__in=reps)
            .values_list("rep_id")
            .annotate(total=Sum("revenue"))
            .values_list("rep_id", "total")
        )
        return {rep_id: Decimal(str(total or 0)) for rep_id, total in rows}

    # A planner's numbers: this year's between last year's bookings and this year's pace so far (closed
    # months, annualised); next year's this year's pace plus 5-12 %.
    closed = [m for m in this_year.months if m < today.replace(day=1)]
    last, so_far = booked(last_year.start, last_year.end), booked(this_year.start, today.replace(day=1) - timedelta(1))
    known = sorted(v for v in last.values() if v)
    typical = known[len(known) // 2] if known else Decimal("600000")

    made = 0
    rep_quota: dict[tuple[int, str], Decimal] = {}
    for rep in reps:
        history = last.get(rep.pk) or typical * Decimal("0.6")
        pace = so_far.get(rep.pk, Decimal(0)) * 12 / len(closed) if closed else history
        plans = {
            this_year: (
                (history + (pace or history)) / 2 * Decimal(str(rng.uniform(1.0, 1.08))),
                "last year and this year's pace",
            ),
            next_year: ((pace or history) * Decimal(str(rng.uniform(1.05, 1.12))), "this year's pace plus growth"),
        }
        for year, (value, why) in plans.items():
            rep_quota[(rep.pk, year.key)] = _round(value)
            if not Quota.objects.filter(user=rep, period_start=year.start).exists():
                quota_create(
                    actor=admin,
                    user=rep,
                    period_start=year.start,
                    period_end=year.end,
                    amount=_round(value),
                    note=f"{year.short_label}: from {why}",
                )
                made += 1

    # Sales teams: a little below the sum of their reps' quotas (the usual cushion for the team's manager).
    teams = list(Team.objects.filter(department__is_sales=True))
    children = team_children(Team.objects.values_list("id", "parent_id"))
    for team in teams:
        below = team_subtree(team.pk, children)
        members = [rep.pk for rep in reps if rep.team_id in below]
        if not members:
            continue
        for year in (this_year, next_year):
            total = sum((rep_quota[(m, year.key)] for m in members), Decimal(0))
            if not Quota.objects.filter(team=team, period_start=year.start).exists():
                quota_create(
                    actor=admin,
                    team=team,
                    period_start=year.start,
                    period_end=year.end,
                    amount=_round(total * Decimal("0.95")),
                    note="95 % of the reps' quotas",
                )
                made += 1

    adjustments = (
        _adjustments(ctx, period_of(QUARTER, today)) if not Adjustment.objects.filter(note=FIRST_NOTE).exists() else 0
    )
    snapshots = pipeline_snapshots_backfill(weeks=12, today=today)
    ctx.log(
        f"pipeline forecast: {made} quotas ({this_year.short_label}, {next_year.short_label}), {adjustments} "
        f"adjustments, {snapshots['weeks']} weekly snapshots ({snapshots['rows']} rows) replayed from the stage history"
    )


def _adjustments(ctx: DemoContext, quarter) -> int:
    """This quarter's calls: a manager trims a rep's commit, raises another's best case, and corrects a call
    a week later (the first is kept as superseded); the director adjusts a team."""
    from forecasting.models import Adjustment
    from forecasting.selectors_pipeline import raw_amount, team_member_ids_below
    from forecasting.services_pipeline import adjustment_create
    from sfa.models import Team, User

    def user(name: str):
        return ctx.users.get(name) or User.objects.filter(username=name).first()

    plan = [
        ("manager", "rep", None, "commit", Decimal("0.85"), FIRST_NOTE, 9),
        (
            "manager",
            "rep2",
            None,
            "best_case",
            Decimal("1.20"),
            "Tom's test rides at the logistics park went well: the staff bike scheme looks likely this quarter.",
            6,
        ),
        (
            "manager2",
            "rep3",
            None,
            "commit",
            Decimal("0.90"),
            "The wallbox tender slipped once already; 90 % until the customer confirms the install date.",
            8,
        ),
        (
            "manager2",
            "rep3",
            None,
            "commit",
            Decimal("0.97"),
            "Install date confirmed for the 14th: back to nearly all of Lena's commit.",
            1,
        ),
        (
            "director",
            None,
            "Sales North",
            "commit",
            Decimal("1.05"),
            "North usually closes a few small fleet orders late in the quarter that are not in the pipeline yet.",
            2,
        ),
    ]
    made = 0
    for manager_name, rep_name, team_name, category, factor, note, days_ago in plan:
        manager = user(manager_name)
        rep = user(rep_name) if rep_name else None
        team = Team.objects.filter(name=team_name).first() if team_name else None
        if manager is None or (rep_name and rep is None) or (team_name and team is None):
            continue
        owners = [rep.pk] if rep is not None else team_member_ids_below(team.pk)
        raw = raw_amount(user_ids=owners, period=quarter, category=category)
        if not raw:
            continue
        adjustment = adjustment_create(
            actor=manager,
            user=rep,
            team=team,
            period=quarter,
            category=category,
            amount=_round(raw * factor),
            note=note,
        )
        Adjustment.objects.filter(pk=adjustment.pk).update(created_at=timezone.now() - timedelta(days=days_ago))
        made += 1
    return made
