"""The forecast dashboards: what each role sees, drill-down, the runs page and its progress, few queries."""

import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from forecasting.models import FiscalYear, ForecastRun
from tests.forecasting.factories import run_sales, stored_run

DASHBOARD = "/forecasting/"


@pytest.fixture
def run(org):
    return stored_run(products=6, categories=2, regions=2, reps=[org.rep, org.rep_b, org.rep_other])


def chart_data(response, name):
    match = re.search(rf'<script id="{name}" type="application/json">(.*?)</script>', response.content.decode())
    return json.loads(match.group(1))


@pytest.mark.django_db
def test_the_manager_sees_the_next_fiscal_year_fan_chart_months_and_categories(org, login, run):
    response = login(org.manager).get(DASHBOARD)
    assert response.status_code == 200
    html = response.content.decode()
    assert f"Sales forecast FY{run.fiscal_year}" in html
    fan = chart_data(response, "fan-data")
    assert len(fan["history"]["y"]) == 36 and len(fan["forecast"]["y"]) == run.horizon
    forecast = fan["forecast"]
    assert all(lo <= y <= hi for lo, y, hi in zip(forecast["lo95"], forecast["y"], forecast["hi95"], strict=True))
    months = chart_data(response, "months-data")
    assert len(months["x"]) == 12  # the twelve months of the next fiscal year
    categories = chart_data(response, "categories-data")
    assert len(categories["labels"]) == 2
    assert categories["urls"][0].startswith("/forecasting/series/category/")
    # Screen readers get the figures: tables beside every chart.
    assert html.count('role="img"') == 3 and "The figures" in html and "<caption" in html
    assert "Start forecast run" in html and "Export XLSX" in html


@pytest.mark.django_db
def test_a_rep_sees_only_their_own_forecast(org, login, run):
    client = login(org.rep)
    response = client.get(DASHBOARD)
    html = response.content.decode()
    assert "Your sales forecast" in html and "All sales" not in html
    assert chart_data(response, "fan-data")["label"] == org.rep.get_full_name()
    assert "categories-data" not in html and "Start forecast run" not in html
    total = run.series.get(level="total")
    category = run.series.filter(level="category").first()
    assert client.get(reverse("forecasting:series", args=["total", "-"])).status_code == 404
    assert client.get(reverse("forecasting:series", args=["category", category.key])).status_code == 404
    assert client.get(reverse("forecasting:series", args=["rep", str(org.rep_b.pk)])).status_code == 404
    assert client.get(reverse("forecasting:series", args=["rep", str(org.rep.pk)])).status_code == 200
    assert client.get("/forecasting/by/categories/").content.decode().count("/forecasting/series/category/") == 0
    assert total.label not in client.get("/forecasting/by/reps/").content.decode()


@pytest.mark.django_db
def test_a_second_rep_sees_theirs_not_the_first_reps(org, login, run):
    response = login(org.rep_b).get(DASHBOARD)
    assert chart_data(response, "fan-data")["label"] == org.rep_b.get_full_name()
    assert org.rep.get_full_name() not in response.content.decode()


@pytest.mark.django_db
def test_a_manager_sees_the_reps_of_their_teams_only(org, login, run):
    html = login(org.manager).get("/forecasting/by/reps/").content.decode()
    assert org.rep.get_full_name() in html and org.rep_b.get_full_name() in html
    assert org.rep_other.get_full_name() not in html
    other = reverse("forecasting:series", args=["rep", str(org.rep_other.pk)])
    assert login(org.manager).get(other).status_code == 404
    assert login(org.manager_b).get(other).status_code == 200


@pytest.mark.django_db
def test_drill_down_from_a_category_to_its_products_and_back(org, login, run):
    client = login(org.manager)
    category = run.series.filter(level="category").order_by("label").first()
    response = client.get(reverse("forecasting:series", args=["category", category.key]))
    html = response.content.decode()
    products = run.series.filter(level="product", parent_key=category.key)
    assert response.status_code == 200 and products.count() == 3
    for product in products:
        assert f"/forecasting/series/product/{product.key}/" in html
    product = products.first()
    page = client.get(reverse("forecasting:series", args=["product", product.key])).content.decode()
    assert product.label in page and f'/forecasting/series/category/{category.key}/">{category.label}</a>' in page
    assert "ETS(A,N,A)" in page and "Backtest MASE" in page


@pytest.mark.django_db
def test_regions_and_an_empty_region_have_pages(org, login, run):
    client = login(org.admin)
    assert "Region 0" in client.get("/forecasting/by/regions/").content.decode()
    assert client.get(reverse("forecasting:series", args=["region", "Region 1"])).status_code == 200
    run.series.filter(level="region", key="Region 1").update(key="", label="No region")
    assert client.get(reverse("forecasting:series", args=["region", "-"])).status_code == 200
    assert client.get("/forecasting/by/planets/").status_code == 404


@pytest.mark.django_db
def test_an_older_run_is_shown_when_asked_and_drill_links_keep_it(org, login, run):
    newer = stored_run(products=2, categories=1, regions=1, reps=[org.rep])
    client = login(org.manager)
    assert f"run {newer.pk} of" in client.get(DASHBOARD).content.decode()
    html = client.get(f"{DASHBOARD}?run={run.pk}").content.decode()
    assert f"run {run.pk} of" in html and f"?run={run.pk}" in html


@pytest.mark.django_db
def test_no_run_yet_offers_to_start_one(org, login):
    html = login(org.manager).get(DASHBOARD).content.decode()
    assert "No forecast yet" in html and "Start forecast run" in html
    assert "A manager or an admin starts" in login(org.rep).get(DASHBOARD).content.decode()


@pytest.mark.django_db
def test_the_dashboard_reads_stored_results_in_a_few_queries(org, login):
    stored_run(products=60, categories=6, regions=8, reps=[org.rep, org.rep_b, org.rep_other])
    client = login(org.manager)
    client.get(DASHBOARD)  # warm the session and the content types
    with CaptureQueriesContext(connection) as queries:
        assert client.get(DASHBOARD).status_code == 200
    assert len(queries) <= 14, "\n".join(q["sql"][:160] for q in queries.captured_queries)
    stored_run(products=600, categories=6, regions=8, reps=[org.rep])
    with CaptureQueriesContext(connection) as more:
        assert client.get(DASHBOARD).status_code == 200
    assert len(more) == len(queries)  # ten times the products, the same queries
    for url in ("/forecasting/by/categories/", "/forecasting/by/regions/", "/forecasting/runs/"):
        with CaptureQueriesContext(connection) as page:
            assert client.get(url).status_code == 200
        assert len(page) <= 10, url


@pytest.mark.django_db
def test_starting_a_run_from_the_page_shows_its_progress_until_done(org, login, django_capture_on_commit_callbacks):
    run_sales(org, months=24)
    client = login(org.manager)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("forecasting:run-start"))
    run = ForecastRun.objects.get()
    assert response.status_code == 302 and response.url == reverse("forecasting:run-detail", args=[run.pk])
    detail = client.get(response.url).content.decode()
    assert 'aria-valuenow="100"' in detail and "View the forecast" in detail and "Models chosen" in detail
    assert login(org.rep).post(reverse("forecasting:run-start")).status_code == 403


@pytest.mark.django_db
def test_the_progress_bar_polls_while_the_run_goes(org, login):
    run_sales(org, months=24)
    client = login(org.manager)
    client.post(reverse("forecasting:run-start"))  # the job waits for a worker (on_commit not run here)
    run = ForecastRun.objects.get()
    partial = client.get(reverse("forecasting:run-progress", args=[run.pk])).content.decode()
    assert 'hx-trigger="every 1s"' in partial and "Waiting for a worker" in partial
    ForecastRun.objects.filter(pk=run.pk).update(status="running", chunks_total=4, chunks_done=1, series_total=40)
    partial = client.get(reverse("forecasting:run-progress", args=[run.pk])).content.decode()
    assert "1 of 4 chunks forecast" in partial and 'hx-trigger="every 1s"' in partial
    ForecastRun.objects.filter(pk=run.pk).update(status="done", chunks_done=4)
    partial = client.get(reverse("forecasting:run-progress", args=[run.pk])).content.decode()
    assert "hx-trigger" not in partial and 'aria-valuenow="100"' in partial
    listing = client.get("/forecasting/runs/").content.decode()
    assert f"Run {run.pk}" in listing


@pytest.mark.django_db
def test_admins_set_the_fiscal_year_start(org, login):
    assert login(org.manager).post("/forecasting/fiscal-year/", {"start_month": 4}).status_code == 403
    response = login(org.admin).post("/forecasting/fiscal-year/", {"start_month": 4})
    assert response.status_code == 302 and FiscalYear.objects.get().start_month == 4
    login(org.admin).post("/forecasting/fiscal-year/", {"start_month": 13})
    assert FiscalYear.objects.get().start_month == 4


@pytest.mark.django_db
def test_the_menu_offers_forecasts_to_every_signed_in_role(org, login):
    for user in (org.rep, org.manager, org.admin):
        assert 'href="/forecasting/"' in login(user).get("/").content.decode()
