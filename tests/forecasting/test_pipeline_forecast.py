"""The pipeline forecast: weighting, categories, base currency, the roll-up through the team hierarchy, the
adjusted numbers beside the raw ones, attainment, and who sees what."""

from datetime import date
from decimal import Decimal

import pytest

from forecasting.pipeline_periods import period_parse
from forecasting.selectors_pipeline import pipeline_forecast, quotas_in_period
from forecasting.services_pipeline import adjustment_create
from sfa.models import Team

TODAY = date(2026, 11, 27)


def forecast(actor, period, **kwargs):
    return pipeline_forecast(actor=actor, period=period, today=TODAY, **kwargs)


def node(result, kind, pk):
    found = result.find(kind, pk)
    assert found is not None, f"{kind} {pk} is not in the forecast"
    return found


def test_a_reps_figures_weighted_by_probability_grouped_by_category(pipeline_sales):
    org, q2 = pipeline_sales.org, pipeline_sales.period
    rep = node(forecast(org.admin, q2), "user", org.rep.pk)
    assert rep.raw("commit") == Decimal("10000.00") and rep.cells["commit"].weighted == Decimal("8000.00")
    assert rep.raw("best_case") == Decimal("5000.00") and rep.cells["best_case"].weighted == Decimal("3000.00")
    assert rep.raw("pipeline") == Decimal("2000.00") and rep.cells["pipeline"].weighted == Decimal("200.00")
    assert rep.weighted == Decimal("11200.00")
    # Won in the period counts as achieved; omitted, lost and July's deals do not count.
    assert rep.won == Decimal("3000.00")
    assert rep.open_count == 3


def test_amounts_in_the_base_currency_and_deals_without_a_rate_left_out(pipeline_sales):
    org, q2 = pipeline_sales.org, pipeline_sales.period
    result = forecast(org.admin, q2)
    assert node(result, "user", org.rep_b.pk).raw("commit") == Decimal("3600.00")
    assert result.missing == {"CHF": 1}


def test_roll_up_through_the_hierarchy_members_plus_child_teams(pipeline_sales):
    org, q2 = pipeline_sales.org, pipeline_sales.period
    result = forecast(org.admin, q2)
    north = node(result, "team", Team.objects.get(name="North").pk)
    europe = node(result, "team", Team.objects.get(name="Europe").pk)
    assert north.raw("commit") == Decimal("13600.00")
    assert north.booked == Decimal("20000.00")
    # Europe: its own members (the manager's pipeline deal) and both child teams.
    assert europe.raw("commit") == Decimal("33600.00")
    assert europe.raw("pipeline") == Decimal("3000.00")
    assert europe.booked == Decimal("40000.00")
    assert {c.label for c in europe.children} >= {"North", "South", "Marc Northboss"}
    assert [n.depth for n in (europe, north, node(result, "user", org.rep.pk))] == [0, 1, 2]
    # Teams with nothing in the period (marketing) are left out.
    assert all(n.label != "Marketing team" for n in result.rows())


def test_quota_attainment_from_booked_sales_with_team_quota_or_members_sum(pipeline_sales):
    org, q2 = pipeline_sales.org, pipeline_sales.period
    result = forecast(org.admin, q2)
    rep = node(result, "user", org.rep.pk)
    assert rep.quota == Decimal("30000.00") and rep.booked == Decimal("15000.00")
    assert rep.attainment == pytest.approx(50.0)
    assert rep.band == "danger"  # the quarter is over: 50 % is behind
    assert node(result, "user", org.rep_other.pk).band == "warn"  # 80 %
    north = node(result, "team", Team.objects.get(name="North").pk)
    assert north.quota == Decimal("50000.00") and not north.quota_is_sum
    south = node(result, "team", Team.objects.get(name="South").pk)
    assert south.quota == Decimal("25000.00") and south.quota_is_sum


def test_the_band_follows_the_share_of_the_period_gone_by(pipeline_sales):
    org, q2 = pipeline_sales.org, pipeline_sales.period
    halfway = pipeline_forecast(actor=org.admin, period=q2, today=date(2026, 5, 15))
    rep = node(halfway, "user", org.rep.pk)
    assert 45 < rep.expected < 55 and rep.band == "ok"
    before = pipeline_forecast(actor=org.admin, period=q2, today=date(2026, 3, 31))
    assert node(before, "user", org.rep.pk).band == "none"


def test_quotas_count_pro_rata_in_a_shorter_period():
    year = {"user_id": 1, "team_id": None, "period_start": date(2026, 1, 1), "period_end": date(2026, 12, 31)}
    shares = quotas_in_period([{**year, "amount": Decimal(36500)}], period_parse("2026-02", start_month=1))
    assert shares == {("user", 1): Decimal("2800.00")}


def test_the_adjusted_number_stands_beside_the_raw_roll_up_and_rolls_up(pipeline_sales):
    org, q2 = pipeline_sales.org, pipeline_sales.period
    north_team = Team.objects.get(name="North")
    adjustment_create(actor=org.manager, user=org.rep, period=q2, amount="9000", note="Fleet budget unsure")
    result = forecast(org.admin, q2)
    rep, north = node(result, "user", org.rep.pk), node(result, "team", north_team.pk)
    europe = node(result, "team", Team.objects.get(name="Europe").pk)
    assert (rep.raw("commit"), rep.adjusted["commit"]) == (Decimal("10000.00"), Decimal("9000.00"))
    assert (north.raw("commit"), north.adjusted["commit"]) == (Decimal("13600.00"), Decimal("12600.00"))
    assert europe.adjusted["commit"] == Decimal("32600.00")
    assert rep.adjusted["best_case"] == rep.raw("best_case")
    # The director's number for North overrides the sum of its reps' adjusted numbers.
    adjustment_create(actor=org.director, team=north_team, period=q2, amount="15000", note="Late small orders")
    result = forecast(org.admin, q2)
    assert node(result, "team", north_team.pk).adjusted["commit"] == Decimal("15000.00")
    assert node(result, "team", Team.objects.get(name="Europe").pk).adjusted["commit"] == Decimal("35000.00")
    assert node(result, "user", org.rep.pk).adjusted["commit"] == Decimal("9000.00")
    assert result.total.adjusted["commit"] == Decimal("35000.00") and result.total.raw("commit") == Decimal("33600")


def test_an_adjustment_of_another_period_does_not_apply(pipeline_sales):
    org, q2 = pipeline_sales.org, pipeline_sales.period
    adjustment_create(actor=org.manager, user=org.rep, period=period_parse("2026-05"), amount="1", note="May only")
    rep = node(forecast(org.admin, q2), "user", org.rep.pk)
    assert rep.adjusted["commit"] == rep.raw("commit")


def test_a_rep_sees_only_themselves(pipeline_sales):
    org, q2 = pipeline_sales.org, pipeline_sales.period
    result = forecast(org.rep_b, q2)
    assert [(n.kind, n.id) for n in result.rows()] == [("user", org.rep_b.pk)]
    assert result.total.raw("commit") == Decimal("3600.00")
    assert not any(n.can_adjust for n in result.rows())
    assert result.stages and sum(s.count for s in result.stages) == 1


def test_a_manager_sees_their_teams_and_themselves_not_another_team(pipeline_sales):
    org, q2 = pipeline_sales.org, pipeline_sales.period
    result = forecast(org.manager, q2)
    seen = {(n.kind, n.id) for n in result.rows()}
    north = Team.objects.get(name="North").pk
    assert seen == {("team", north), ("user", org.rep.pk), ("user", org.rep_b.pk), ("user", org.manager.pk)}
    assert result.total.raw("commit") == Decimal("13600.00")
    adjustable = {(n.kind, n.id) for n in result.rows() if n.can_adjust}
    assert adjustable == {("team", north), ("user", org.rep.pk), ("user", org.rep_b.pk)}
    other = forecast(org.manager_b, q2)
    assert ("user", org.rep.pk) not in {(n.kind, n.id) for n in other.rows()}
    assert other.total.raw("commit") == Decimal("20000.00")


def test_a_rep_sees_the_number_their_manager_set_but_not_a_colleagues(pipeline_sales):
    org, q2 = pipeline_sales.org, pipeline_sales.period
    adjustment_create(actor=org.manager, user=org.rep, period=q2, amount="9000", note="Mine")
    adjustment_create(actor=org.manager, user=org.rep_b, period=q2, amount="1000", note="Theirs")
    result = forecast(org.rep, q2)
    assert node(result, "user", org.rep.pk).adjusted["commit"] == Decimal("9000.00")
    assert [a.note for a in result.history] == ["Mine"]


def test_the_forecast_takes_a_fixed_number_of_queries(pipeline_sales, django_assert_max_num_queries):
    from tests.factories import UserFactory
    from tests.forecasting.factories import pipeline_deal

    org, q2 = pipeline_sales.org, pipeline_sales.period
    adjustment_create(actor=org.manager, user=org.rep, period=q2, amount="9000", note="x")
    with django_assert_max_num_queries(12):
        forecast(org.admin, q2)
    north = Team.objects.get(name="North")
    for n in range(15):
        rep = UserFactory(team=north)
        pipeline_deal(rep, category="commit", amount=100 + n, close=date(2026, 5, 1))
        pipeline_deal(rep, category="best_case", amount=100 + n, close=date(2026, 5, 1))
    with django_assert_max_num_queries(12):
        assert len(forecast(org.admin, q2).reps()) >= 18


def test_empty_rows_are_left_out_but_a_reps_own(pipeline_sales):
    from tests.factories import UserFactory

    org, q2 = pipeline_sales.org, pipeline_sales.period
    newcomer = UserFactory(team=Team.objects.get(name="North"))
    assert [(n.kind, n.id) for n in forecast(newcomer, q2).rows()] == [("user", newcomer.pk)]
    assert forecast(org.manager, q2).find("user", newcomer.pk) is None
    assert forecast(org.admin, q2).find("user", org.admin.pk) is None
