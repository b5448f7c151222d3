"""/api/quotas/, /api/forecast-adjustments/ and /api/pipeline-forecast/: the same rules as the pages."""

import pytest

from forecasting.models import Adjustment, Quota
from sfa.models import Team

QUOTAS, ADJUSTMENTS, FORECAST = "/api/quotas/", "/api/forecast-adjustments/", "/api/pipeline-forecast/"


def ids(response):
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def keys(response):
    assert response.status_code == 200, response.content
    return {row["key"] for row in response.json()["rows"]}


def test_quotas_are_listed_by_scope_and_filtered(pipeline_sales, api):
    org = pipeline_sales.org
    own, other = Quota.objects.get(user=org.rep), Quota.objects.get(user=org.rep_other)
    north = Quota.objects.get(team__name="North")
    assert ids(api(org.rep).get(QUOTAS)) == {own.pk}
    assert ids(api(org.rep_b).get(QUOTAS)) == set()
    assert ids(api(org.manager).get(QUOTAS)) == {own.pk, north.pk}
    assert ids(api(org.manager_b).get(QUOTAS)) == {other.pk}
    admin = api(org.admin)
    assert ids(admin.get(QUOTAS, {"user": org.rep_other.pk})) == {other.pk}
    assert ids(admin.get(QUOTAS, {"team": north.team_id})) == {north.pk}
    assert ids(admin.get(QUOTAS, {"period": "2026-05"})) == {own.pk, other.pk, north.pk}
    assert ids(admin.get(QUOTAS, {"period": "FY2027"})) == set()
    assert admin.get(QUOTAS, {"period": "May"}).status_code == 400
    assert api(org.rep).get(f"{QUOTAS}{other.pk}/").status_code == 404


def test_a_manager_sets_and_changes_their_reps_quotas(pipeline_sales, api):
    org = pipeline_sales.org
    client = api(org.manager)
    created = client.post(QUOTAS, {"user": org.rep_b.pk, "period": "FY2027", "amount": "150000"}, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["period_start"], body["period_end"], body["period"]) == ("2027-01-01", "2027-12-31", "FY2027")
    patched = client.patch(f"{QUOTAS}{body['id']}/", {"amount": "160000", "note": "Bigger territory"}, format="json")
    assert patched.status_code == 200 and patched.json()["amount"] == "160000.00"
    assert client.delete(f"{QUOTAS}{body['id']}/").status_code == 204
    refused = client.post(QUOTAS, {"user": org.rep_other.pk, "period": "FY2027", "amount": "1"}, format="json")
    assert refused.status_code == 403
    overlap = client.post(QUOTAS, {"user": org.rep.pk, "period": "2026-05", "amount": "1"}, format="json")
    assert overlap.status_code == 400 and "period" in overlap.json()
    both = client.post(
        QUOTAS, {"user": org.rep.pk, "team": Team.objects.get(name="North").pk, "period": "FY2027", "amount": 1}
    )
    assert both.status_code == 400
    assert api(org.rep).post(QUOTAS, {"user": org.rep.pk, "period": "FY2027", "amount": "1"}).status_code == 403
    own = Quota.objects.get(user=org.rep)
    assert api(org.rep).patch(f"{QUOTAS}{own.pk}/", {"amount": "1"}, format="json").status_code == 403


def test_adjustments_are_created_with_a_note_and_listed_by_scope(pipeline_sales, api):
    org = pipeline_sales.org
    client = api(org.manager)
    payload = {"user": org.rep.pk, "period": "FY2026-Q2", "category": "commit", "amount": "9000"}
    assert client.post(ADJUSTMENTS, payload, format="json").status_code == 400  # no note
    created = client.post(ADJUSTMENTS, {**payload, "note": "Budget sign-off pending"}, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["raw_amount"], body["amount"], body["is_standing"]) == ("10000.00", "9000.00", True)
    again = client.post(ADJUSTMENTS, {**payload, "amount": "9500", "note": "Signed"}, format="json").json()
    colleague = client.post(ADJUSTMENTS, {**payload, "user": org.rep_b.pk, "note": "x"}, format="json").json()
    listed = api(org.rep).get(ADJUSTMENTS).json()["results"]
    assert [(a["id"], a["is_standing"]) for a in listed] == [(again["id"], True), (body["id"], False)]
    assert ids(api(org.manager_b).get(ADJUSTMENTS)) == set()
    assert ids(api(org.admin).get(ADJUSTMENTS, {"user": org.rep_b.pk})) == {colleague["id"]}
    assert api(org.rep).post(ADJUSTMENTS, {**payload, "note": "mine"}, format="json").status_code == 403
    other = {**payload, "user": org.rep_other.pk, "note": "x"}
    assert client.post(ADJUSTMENTS, other, format="json").status_code == 403
    assert api(org.manager).patch(f"{ADJUSTMENTS}{body['id']}/", {"amount": "1"}).status_code in (403, 405)
    assert Adjustment.objects.count() == 3


def test_the_pipeline_forecast_by_rep_with_raw_and_adjusted(pipeline_sales, api):
    org = pipeline_sales.org
    api(org.manager).post(
        ADJUSTMENTS, {"user": org.rep.pk, "period": "FY2026-Q2", "amount": "9000", "note": "x"}, format="json"
    )
    response = api(org.manager).get(FORECAST, {"period": "FY2026-Q2", "group_by": "rep"})
    assert keys(response) == {f"user-{org.rep.pk}", f"user-{org.rep_b.pk}", f"user-{org.manager.pk}"}
    body = response.json()
    assert (body["currency"], body["period_start"], body["unconverted"]) == ("EUR", "2026-04-01", {"CHF": 1})
    rep = next(r for r in body["rows"] if r["key"] == f"user-{org.rep.pk}")
    commit = next(c for c in rep["categories"] if c["category"] == "commit")
    assert (commit["raw"], commit["adjusted"], commit["weighted"]) == ("10000.00", "9000.00", "8000.00")
    assert (rep["quota"], rep["booked"], rep["attainment"], rep["won"]) == ("30000.00", "15000.00", 50.0, "3000.00")
    assert rep["parent"] == f"team-{Team.objects.get(name='North').pk}"
    total = next(c for c in body["total"]["categories"] if c["category"] == "commit")
    assert (total["raw"], total["adjusted"]) == ("13600.00", "12600.00")


@pytest.mark.parametrize(
    ("actor", "expected"),
    [("rep", {"rep"}), ("rep_b", {"rep_b"}), ("manager_b", {"rep_other"})],
)
def test_nobody_gets_a_colleagues_numbers_from_the_forecast_api(pipeline_sales, api, actor, expected):
    org = pipeline_sales.org
    client = api(getattr(org, actor))
    assert keys(client.get(FORECAST, {"period": "FY2026-Q2"})) == {f"user-{getattr(org, n).pk}" for n in expected}
    teams = keys(client.get(FORECAST, {"period": "FY2026-Q2", "group_by": "team"}))
    assert teams == (set() if actor.startswith("rep") else {f"team-{Team.objects.get(name='South').pk}"})


def test_the_pipeline_forecast_by_team_category_and_stage(pipeline_sales, api):
    org = pipeline_sales.org
    client = api(org.admin)
    europe, north = Team.objects.get(name="Europe"), Team.objects.get(name="North")
    teams = client.get(FORECAST, {"period": "FY2026-Q2", "group_by": "team"}).json()["rows"]
    by_key = {r["key"]: r for r in teams}
    assert by_key[f"team-{north.pk}"]["parent"] == f"team-{europe.pk}"
    assert by_key[f"team-{europe.pk}"]["amount"] == "41600.00"  # commit 33,600 + best 5,000 + pipeline 3,000
    categories = client.get(FORECAST, {"period": "FY2026-Q2", "group_by": "category"}).json()["rows"]
    assert [(r["key"], r["amount"]) for r in categories[:3]] == [
        ("commit", "33600.00"),
        ("best_case", "5000.00"),
        ("pipeline", "3000.00"),
    ]
    assert categories[3]["key"] == "closed_won" and categories[3]["won"] == "3000.00"
    stages = client.get(FORECAST, {"period": "FY2026-Q2", "group_by": "stage"}).json()["rows"]
    assert all(c["adjusted"] is None for r in stages for c in r["categories"])
    assert sum(r["count"] for r in stages) == 6  # open in Q2, with a rate (not the omitted, lost or CHF ones)
    assert client.get(FORECAST, {"group_by": "product"}).status_code == 400
    assert client.get(FORECAST, {"period": "Q5"}).status_code == 400
    assert client.get(FORECAST).status_code == 200  # this quarter by default
    assert api().get(FORECAST).status_code == 401
