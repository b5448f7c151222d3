"""Weekly pipeline snapshots: the job's week replaced when it runs again, past weeks replayed from the stage
history, the week-over-week trend, and the beat schedule."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from forecasting.models import PipelineSnapshot
from forecasting.selectors_pipeline import pipeline_trend
from forecasting.services_pipeline import pipeline_snapshot_take, pipeline_snapshots_backfill
from leads.services import opportunity_create, opportunity_update
from tests.forecasting.factories import pipeline_deal, pipeline_stage

THURSDAY = date(2026, 5, 14)
MONDAY = date(2026, 5, 11)


def at(day: date, hour: int = 10) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour)))


def test_the_weekly_snapshot_groups_open_deals_and_replaces_its_week(org):
    deal = pipeline_deal(org.rep, category="commit", amount=1000, close=date(2026, 6, 20))
    pipeline_deal(org.rep, category="commit", amount=500, close=date(2026, 6, 2))
    pipeline_deal(org.rep, category="best_case", amount=800, close=date(2026, 7, 1), probability=50)
    pipeline_deal(org.rep, category="closed_won", amount=9000, close=date(2026, 5, 1))
    pipeline_deal(org.rep, category="omitted", amount=9000, close=date(2026, 6, 1))
    assert pipeline_snapshot_take(today=THURSDAY) == 2
    june = PipelineSnapshot.objects.get(taken_on=MONDAY, period=date(2026, 6, 1))
    assert (june.category, june.count, june.amount, june.weighted) == (
        "commit",
        2,
        Decimal("1500.00"),
        Decimal("1200.00"),
    )
    assert PipelineSnapshot.objects.get(period=date(2026, 7, 1)).weighted == Decimal("400.00")

    deal.amount = Decimal(2000)
    deal.save(update_fields=["amount"])
    assert pipeline_snapshot_take(today=THURSDAY + timedelta(days=1)) == 2  # same week: replaced, not added
    assert PipelineSnapshot.objects.filter(taken_on=MONDAY).count() == 2
    assert PipelineSnapshot.objects.get(taken_on=MONDAY, period=date(2026, 6, 1)).amount == Decimal("2500.00")
    pipeline_snapshot_take(today=THURSDAY + timedelta(days=7))
    assert PipelineSnapshot.objects.values("taken_on").distinct().count() == 2


def test_past_weeks_are_replayed_from_the_stage_history(org):
    stages = {s.name: s for s in pipeline_stage("pipeline").pipeline.stages.all()}
    deal = opportunity_create(
        actor=org.rep, name="Fleet", amount=1000, expected_close=date(2026, 6, 15), at=at(date(2026, 4, 22))
    )
    # Prospecting (pipeline, 10 %) until 6 May, then Negotiation (commit) with a new amount, then a slip.
    opportunity_update(
        opportunity=deal, actor=org.rep, data={"stage": stages["Negotiation"], "amount": 1500}, at=at(date(2026, 5, 6))
    )
    opportunity_update(
        opportunity=deal, actor=org.rep, data={"expected_close": date(2026, 7, 10)}, at=at(date(2026, 5, 13))
    )
    later = opportunity_create(
        actor=org.rep, name="Later", amount=50, expected_close=date(2026, 6, 1), at=at(date(2026, 5, 12))
    )
    assert later.pk

    result = pipeline_snapshots_backfill(weeks=4, today=date(2026, 5, 20))
    assert result["weeks"] == 4
    rows = {(r.taken_on, r.period, r.category): r for r in PipelineSnapshot.objects.all()}
    assert (date(2026, 4, 27), date(2026, 6, 1), "pipeline") in rows
    assert rows[(date(2026, 4, 27), date(2026, 6, 1), "pipeline")].weighted == Decimal("100.00")
    week_of_11th = rows[(date(2026, 5, 11), date(2026, 6, 1), "commit")]
    assert (week_of_11th.amount, week_of_11th.weighted) == (Decimal("1500.00"), Decimal("1200.00"))
    assert (date(2026, 5, 18), date(2026, 7, 1), "commit") in rows  # the slip moved it to July
    assert (date(2026, 5, 18), date(2026, 6, 1), "pipeline") in rows  # "Later" from its creation on
    assert not any(k[0] == date(2026, 5, 11) and k[2] == "pipeline" for k in rows)  # created after that Monday
    assert all(k[0] != date(2026, 4, 20) for k in rows)  # before the deal existed

    # Weeks with rows are kept unless replaced.
    assert pipeline_snapshots_backfill(weeks=4, today=date(2026, 5, 20)) == {"weeks": 0, "rows": 0}
    assert pipeline_snapshots_backfill(weeks=4, today=date(2026, 5, 20), replace=True)["weeks"] == 4


def test_the_trend_shows_each_category_week_by_week_for_the_period(org):
    from forecasting.pipeline_periods import period_parse

    q2 = period_parse("FY2026-Q2", start_month=1)
    deal = pipeline_deal(org.rep, category="pipeline", amount=1000, close=date(2026, 6, 15))
    pipeline_snapshot_take(today=date(2026, 5, 4))
    deal.forecast_category, deal.probability = "commit", 80
    deal.save(update_fields=["forecast_category", "probability"])
    pipeline_deal(org.rep_other, category="commit", amount=777, close=date(2026, 6, 15))
    pipeline_snapshot_take(today=date(2026, 5, 11))
    weeks = pipeline_trend(actor=org.manager, period=q2, today=date(2026, 5, 12))
    assert [w.taken_on for w in weeks] == [date(2026, 5, 4), date(2026, 5, 11)]
    assert [w.amounts["pipeline"] for w in weeks] == [Decimal("1000.00"), Decimal("0")]
    assert [w.amounts["commit"] for w in weeks] == [Decimal("0"), Decimal("1000.00")]  # rep_other's is not theirs
    assert pipeline_trend(actor=org.manager, period=period_parse("FY2026-Q3"), today=date(2026, 5, 12)) == []


def test_the_weekly_job_is_scheduled_and_registered(org):
    from sfa.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["forecasting-pipeline-snapshot"]
    assert entry["task"] in app.tasks
    pipeline_deal(org.rep, category="commit", amount=10, close=timezone.localdate())
    assert app.tasks[entry["task"]].apply().get() == 1
