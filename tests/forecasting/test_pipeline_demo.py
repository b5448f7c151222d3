"""The pipeline forecast's demo step: quotas grown from history, adjustments with notes, replayed snapshots."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from forecasting.demo_pipeline import demo_pipeline_forecast
from forecasting.models import Adjustment, PipelineSnapshot, Quota
from forecasting.pipeline_periods import QUARTER, YEAR, period_of
from leads.services import opportunity_create, opportunity_update
from sfa.demo import DemoContext
from tests.forecasting.factories import pipeline_fact, pipeline_stage


def test_the_demo_step_makes_quotas_adjustments_and_snapshots_once(org):
    today = timezone.localdate()
    this_year = period_of(YEAR, today, start_month=1)
    quarter = period_of(QUARTER, today, start_month=1)
    for month in this_year.shifted(-1).months:
        pipeline_fact(org.rep, month, 10000)  # 120,000 in the last fiscal year
    closed = [m for m in this_year.months if m < today.replace(day=1)]
    for month in closed:
        pipeline_fact(org.rep, month, 12000)  # this year's pace: 144,000
    pace = Decimal(144000) if closed else Decimal(120000)
    negotiation = pipeline_stage("commit")
    for owner in (org.rep, org.rep_b, org.rep_other):
        deal = opportunity_create(
            actor=owner, name="Fleet", amount=50000, expected_close=quarter.end, at=timezone.now() - timedelta(days=60)
        )
        opportunity_update(
            opportunity=deal, actor=owner, data={"stage": negotiation}, at=timezone.now() - timedelta(days=20)
        )
    opportunity_create(
        actor=org.rep_b, name="Bikes", amount=9000, expected_close=quarter.end, stage=pipeline_stage("best_case")
    )
    users = {"admin": org.admin, "director": org.director, "manager": org.manager, "manager2": org.manager_b}
    users |= {"rep": org.rep, "rep2": org.rep_b, "rep3": org.rep_other}
    ctx = DemoContext(password="x", users=users, log=lambda line: None)

    demo_pipeline_forecast(ctx)

    rita = Quota.objects.get(user=org.rep, period_start=this_year.start)
    middle = (Decimal(120000) + pace) / 2  # between last year and this year's pace, plus 0-8 %
    assert middle - 500 <= rita.amount <= middle * Decimal("1.08") + 500
    following = Quota.objects.get(user=org.rep, period_start=this_year.shifted(1).start).amount
    assert pace * Decimal("1.05") - 500 <= following <= pace * Decimal("1.12") + 500
    assert Quota.objects.filter(user__in=[org.rep_b, org.rep_other], period_start=this_year.start).count() == 2
    north = Quota.objects.get(team__name="North", period_start=this_year.start)
    members = Quota.objects.filter(user__team__name="North", period_start=this_year.start)
    assert north.amount == (sum(q.amount for q in members) * Decimal("0.95") / 1000).quantize(Decimal(1)) * 1000
    adjustments = list(Adjustment.objects.order_by("created_at"))
    assert len(adjustments) == 4 and all(a.note for a in adjustments)  # the org has no "Sales North" team
    assert {(a.period_start, a.period_end) for a in adjustments} == {(quarter.start, quarter.end)}
    assert PipelineSnapshot.objects.values("taken_on").distinct().count() >= 3  # the weeks the deals existed
    assert PipelineSnapshot.objects.filter(category="pipeline").exists()  # before they reached negotiation

    counts = (Quota.objects.count(), Adjustment.objects.count(), PipelineSnapshot.objects.count())
    demo_pipeline_forecast(ctx)
    assert (Quota.objects.count(), Adjustment.objects.count(), PipelineSnapshot.objects.count()) == counts
