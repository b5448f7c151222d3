"""Quotas and adjustments: who may set them, the rules the services keep, and the audit trail."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from forecasting.models import Adjustment, Quota
from forecasting.pipeline_periods import period_parse
from forecasting.selectors_pipeline import adjustment_list, quota_list, quota_targets, target_history
from forecasting.services_pipeline import adjustment_create, quota_create, quota_delete, quota_update
from sfa.models import AuditEvent, Team
from tests.forecasting.factories import pipeline_deal

Q2 = period_parse("FY2026-Q2", start_month=1)
YEAR = {"period_start": date(2026, 1, 1), "period_end": date(2026, 12, 31)}


def teams():
    return {t.name: t for t in Team.objects.all()}


def test_a_manager_sets_the_quotas_of_their_reps_audited(org):
    quota = quota_create(actor=org.manager, user=org.rep, amount="120000", note="Plan", **YEAR)
    assert quota.amount == Decimal("120000.00") and quota.created_by == org.manager
    quota_update(actor=org.manager, quota=quota, amount="125000")
    events = AuditEvent.objects.filter(object_id=str(quota.pk), content_type__model="quota")
    assert {e.action for e in events} == {"create", "update"}
    assert events.get(action="update").changes["amount"] == ["120000.00", "125000.00"]
    quota_delete(actor=org.manager, quota=quota)
    assert not Quota.objects.exists()


@pytest.mark.parametrize(
    ("actor", "target"),
    [("rep", "rep"), ("rep", "rep_b"), ("manager", "rep_other"), ("manager", "manager"), ("manager_b", "rep")],
)
def test_who_may_not_set_a_quota(org, actor, target):
    with pytest.raises(PermissionDenied):
        quota_create(actor=getattr(org, actor), user=getattr(org, target), amount=1, **YEAR)


def test_team_quotas_come_from_above_the_teams_manager(org):
    t = teams()
    quota_create(actor=org.director, team=t["North"], amount=500000, **YEAR)
    with pytest.raises(PermissionDenied):
        quota_create(
            actor=org.manager, team=t["North"], amount=1, period_start=date(2027, 1, 1), period_end=date(2027, 12, 31)
        )
    with pytest.raises(PermissionDenied):
        quota_create(
            actor=org.manager, team=t["South"], amount=1, period_start=date(2027, 1, 1), period_end=date(2027, 12, 31)
        )
    quota_create(actor=org.admin, team=t["Europe"], amount=900000, **YEAR)
    users, team_choices = quota_targets(actor=org.manager)
    assert ({u.pk for u in users}, team_choices) == ({org.rep.pk, org.rep_b.pk}, [])
    users, team_choices = quota_targets(actor=org.director)
    assert {u.pk for u in users} == {org.manager.pk, org.manager_b.pk, org.rep.pk, org.rep_b.pk, org.rep_other.pk}
    assert {x.name for x in team_choices} == {"North", "South"}


def test_quotas_run_over_whole_months_and_never_overlap(org):
    quota_create(actor=org.manager, user=org.rep, amount=1, **YEAR)
    with pytest.raises(ValidationError, match="has a quota"):
        quota_create(
            actor=org.manager, user=org.rep, amount=1, period_start=date(2026, 4, 1), period_end=date(2026, 6, 30)
        )
    with pytest.raises(ValidationError, match="whole months"):
        quota_create(
            actor=org.manager, user=org.rep_b, amount=1, period_start=date(2026, 4, 2), period_end=date(2026, 6, 30)
        )
    with pytest.raises(ValidationError, match="negative"):
        quota_create(actor=org.manager, user=org.rep_b, amount=-5, **YEAR)
    with pytest.raises(ValidationError, match="rep or a team"):
        quota_create(actor=org.admin, user=org.rep_b, team=teams()["North"], amount=1, **YEAR)


def test_quota_visibility_rep_own_manager_team_other_manager_none(org):
    t = teams()
    mine = quota_create(actor=org.manager, user=org.rep, amount=1, **YEAR)
    colleague = quota_create(actor=org.manager, user=org.rep_b, amount=2, **YEAR)
    north = quota_create(actor=org.director, team=t["North"], amount=3, **YEAR)
    south = quota_create(actor=org.director, team=t["South"], amount=4, **YEAR)
    assert set(quota_list(actor=org.rep)) == {mine}
    assert set(quota_list(actor=org.manager)) == {mine, colleague, north}
    assert set(quota_list(actor=org.manager_b)) == {south}
    assert set(quota_list(actor=org.director)) == {mine, colleague, north, south}
    assert set(quota_list(actor=org.manager, filters={"team": t["North"].pk})) == {north}
    assert set(quota_list(actor=org.admin, filters={"period": "FY2027"})) == set()


def test_an_adjustment_needs_a_note_and_records_the_raw_roll_up(org):
    pipeline_deal(org.rep, category="commit", amount=10000, close=date(2026, 5, 10))
    with pytest.raises(ValidationError, match="note"):
        adjustment_create(actor=org.manager, user=org.rep, period=Q2, amount=9000, note="  ")
    with pytest.raises(ValidationError, match="Adjust one of"):
        adjustment_create(actor=org.manager, user=org.rep, period=Q2, amount=9000, note="x", category="closed_won")
    adjustment = adjustment_create(actor=org.manager, user=org.rep, period=Q2, amount=9000, note="Budget unsure")
    assert adjustment.raw_amount == Decimal("10000.00")
    assert (adjustment.period_start, adjustment.period_end) == (date(2026, 4, 1), date(2026, 6, 30))
    event = AuditEvent.objects.get(content_type__model="adjustment", object_id=str(adjustment.pk))
    assert event.note == "Budget unsure" and event.actor == org.manager


def test_a_team_adjustment_records_its_whole_subtree(org):
    pipeline_deal(org.rep, category="commit", amount=100, close=date(2026, 5, 10))
    pipeline_deal(org.rep_other, category="commit", amount=20, close=date(2026, 5, 10))
    pipeline_deal(org.manager, category="commit", amount=3, close=date(2026, 5, 10))
    adjustment = adjustment_create(actor=org.director, team=teams()["Europe"], period=Q2, amount=150, note="x")
    assert adjustment.raw_amount == Decimal("123.00")


@pytest.mark.parametrize(
    ("actor", "user", "team"),
    [
        ("rep", "rep", None),
        ("rep", "rep_b", None),
        ("manager", "manager", None),
        ("manager", "rep_other", None),
        ("manager", None, "South"),
        ("manager", None, "Europe"),
        ("manager_b", "rep", None),
    ],
)
def test_who_may_not_adjust(org, actor, user, team):
    with pytest.raises(PermissionDenied):
        adjustment_create(
            actor=getattr(org, actor),
            user=getattr(org, user) if user else None,
            team=teams()[team] if team else None,
            period=Q2,
            amount=1,
            note="x",
        )
    assert not Adjustment.objects.exists()


def test_a_new_adjustment_supersedes_and_the_history_stays(org):
    first = adjustment_create(actor=org.manager, user=org.rep, period=Q2, amount=1, note="first")
    second = adjustment_create(actor=org.manager, user=org.rep, period=Q2, amount=2, note="second")
    best = adjustment_create(actor=org.manager, user=org.rep, period=Q2, amount=3, note="best", category="best_case")
    history = target_history(actor=org.rep, target=first, period=Q2)
    assert [a.note for a in history] == ["best", "second", "first"]
    assert [a.is_standing for a in history] == [True, True, False]
    listed = {a.pk: a.superseded for a in adjustment_list(actor=org.manager)}
    assert listed == {first.pk: True, second.pk: False, best.pk: False}
    assert list(adjustment_list(actor=org.rep_b)) == []
    assert list(adjustment_list(actor=org.manager_b)) == []
    assert Adjustment.objects.count() == 3


@pytest.mark.django_db(transaction=True)
def test_two_managers_saving_overlapping_quotas_at_once_store_one(org, monkeypatch):
    import threading

    from django.db import connection

    from forecasting import services_pipeline

    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one write transaction at a time (BEGIN IMMEDIATE): the race cannot happen there")
    barrier = threading.Barrier(2, timeout=20)
    real = services_pipeline._check_quota_period

    def in_step(start, end):  # both saves have passed their checks before either reads for overlaps
        real(start, end)
        barrier.wait()

    monkeypatch.setattr(services_pipeline, "_check_quota_period", in_step)
    results: list = []

    def save(actor, start, end) -> None:
        try:
            results.append(quota_create(actor=actor, user=org.rep, amount=1000, period_start=start, period_end=end))
        except ValidationError as exc:
            results.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=save, args=(org.manager, date(2026, 1, 1), date(2026, 6, 30))),
        threading.Thread(target=save, args=(org.director, date(2026, 4, 1), date(2026, 9, 30))),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert Quota.objects.filter(user=org.rep).count() == 1
    refused = [r for r in results if isinstance(r, ValidationError)]
    assert len(refused) == 1 and "has a quota for" in str(refused[0]), results
