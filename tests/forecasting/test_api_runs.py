"""/api/forecasts/runs/ and /api/forecasts/series/: start (202), status, results; who sees which series."""

import pytest

from forecasting.models import ForecastRun
from sfa.models import JobStatus
from tests.forecasting.factories import run_sales, stored_run

RUNS = "/api/forecasts/runs/"
SERIES = "/api/forecasts/series/"


@pytest.mark.django_db
def test_a_manager_starts_a_run_and_polls_it_to_the_end(org, api, django_capture_on_commit_callbacks):
    run_sales(org, months=24)
    with django_capture_on_commit_callbacks(execute=True):
        response = api(org.manager).post(RUNS, {}, format="json")
    assert response.status_code == 202, response.content
    body = response.json()
    run_id, job_id = body["run"]["id"], body["job"]["id"]
    assert body["run"]["job"] == job_id and body["run"]["status"] == "pending"
    detail = api(org.manager).get(f"{RUNS}{run_id}/").json()
    assert detail["status"] == "done" and detail["progress"] == 100
    assert detail["series_total"] == 14 and detail["chunks_done"] == detail["chunks_total"] == 2
    assert detail["summary"]["median_mase"] > 0 and sum(detail["summary"]["models"].values()) == 14
    job = api(org.manager).get(f"/api/jobs/{job_id}/").json()
    assert job["status"] == JobStatus.SUCCEEDED and job["progress"] == 100
    listed = api(org.rep).get(RUNS).json()["results"]  # everybody sees that runs exist
    assert [r["id"] for r in listed] == [run_id]


@pytest.mark.django_db
def test_reps_cannot_start_runs_and_a_second_run_waits(org, api):
    run_sales(org, months=24)
    assert api(org.rep).post(RUNS, {}, format="json").status_code == 403
    assert api(org.manager).post(RUNS, {}, format="json").status_code == 202  # queued (no worker here)
    second = api(org.admin).post(RUNS, {}, format="json")
    assert second.status_code == 409 and "still running" in second.json()["detail"]
    assert api().get(RUNS).status_code == 401


@pytest.mark.django_db
def test_a_history_end_in_the_future_is_refused(org, api):
    run_sales(org, months=24)
    response = api(org.admin).post(RUNS, {"history_end": "2999-01-01"}, format="json")
    assert response.status_code == 400 and "has not closed" in str(response.json()["history_end"])


@pytest.mark.django_db
def test_series_default_to_the_latest_run_and_filter_by_level_and_key(org, api):
    old = stored_run(products=4, categories=2, regions=2, reps=[org.rep, org.rep_b, org.rep_other])
    ForecastRun.objects.filter(pk=old.pk).update(history_end=old.history_end.replace(year=old.history_end.year - 1))
    run = stored_run(products=4, categories=2, regions=2, reps=[org.rep, org.rep_b, org.rep_other])
    client = api(org.manager)
    page = client.get(SERIES, {"level": "product"}).json()["results"]
    assert len(page) == 4 and {s["run"] for s in page} == {run.pk}
    assert len(page[0]["points"]) == run.horizon and {"lo_80", "hi_95", "actual"} <= set(page[0]["points"][0])
    total = client.get(SERIES, {"level": "total", "key": ""}).json()["results"]
    assert [s["label"] for s in total] == ["All sales"] and len(total[0]["history"]) == 36
    category = page[0]["parent_key"]
    products = client.get(SERIES, {"parent": category}).json()["results"]
    assert {s["parent_key"] for s in products} == {category} and len(products) == 2
    older = client.get(SERIES, {"run": old.pk, "level": "total"}).json()["results"]
    assert older[0]["run"] == old.pk
    assert client.get(SERIES, {"level": "planet"}).status_code == 400


@pytest.mark.django_db
def test_a_rep_gets_only_their_own_series_and_a_manager_not_other_teams_reps(org, api):
    run = stored_run(products=4, categories=2, regions=2, reps=[org.rep, org.rep_b, org.rep_other])
    mine = api(org.rep).get(SERIES).json()["results"]
    assert [(s["level"], s["key"]) for s in mine] == [("rep", str(org.rep.pk))]
    theirs = api(org.rep_b).get(SERIES).json()["results"]
    assert [(s["level"], s["key"]) for s in theirs] == [("rep", str(org.rep_b.pk))]
    total_id = run.series.get(level="total").pk
    assert api(org.rep).get(f"{SERIES}{total_id}/").status_code == 404
    rep_b_series = run.series.get(level="rep", key=str(org.rep_b.pk)).pk
    assert api(org.rep).get(f"{SERIES}{rep_b_series}/").status_code == 404
    managed = api(org.manager).get(SERIES, {"level": "rep"}).json()["results"]
    assert {s["key"] for s in managed} == {str(org.rep.pk), str(org.rep_b.pk)}  # not rep_other (team south)
    assert api(org.manager).get(SERIES, {"level": "total"}).json()["results"]
    assert len(api(org.admin).get(SERIES, {"level": "rep"}).json()["results"]) == 3


@pytest.mark.django_db
def test_a_reps_run_summary_leaves_out_the_company_accuracy(org, api):
    run = stored_run(products=2, categories=1, regions=1, reps=[org.rep])
    run.summary["accuracy"] = [{"period": "2026-01-01", "total_actual": 123.0}]
    run.save(update_fields=["summary"])
    assert "accuracy" not in api(org.rep).get(f"{RUNS}{run.pk}/").json()["summary"]
    assert api(org.manager).get(f"{RUNS}{run.pk}/").json()["summary"]["accuracy"][0]["total_actual"] == 123.0


@pytest.mark.django_db
def test_admins_delete_a_finished_run(org, api):
    run = stored_run(products=2, categories=1, regions=1, reps=[org.rep])
    assert api(org.manager).delete(f"{RUNS}{run.pk}/").status_code == 403
    assert api(org.admin).delete(f"{RUNS}{run.pk}/").status_code == 204
    assert not ForecastRun.objects.filter(pk=run.pk).exists()
