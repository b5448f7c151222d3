"""Accuracy as months close: actuals filled from the sales facts, each run's accuracy history, the nightly job."""

from decimal import Decimal

import pytest
from django.conf import settings

from forecasting.accuracy import forecast_actuals_fill, run_accuracy
from forecasting.models import ForecastPoint, ForecastRun, SalesFact
from forecasting.services_runs import month_add
from tests.forecasting.factories import stored_run


def add_fact(product, rep, month, revenue, region="Region 0", segment=""):
    SalesFact.objects.create(
        grain=SalesFact.Grain.MONTH,
        period=month,
        product=product,
        category=product.category,
        region=region,
        segment=segment,
        rep=rep,
        revenue=Decimal(revenue),
        units=1,
    )


@pytest.fixture
def as_of(org):
    """A stored run made a month earlier: its history ends two months ago, so its first month has closed."""
    run = stored_run(products=2, categories=1, regions=1, reps=[org.rep])
    ForecastRun.objects.filter(pk=run.pk).update(history_end=month_add(run.history_end, -1))
    for point in ForecastPoint.objects.filter(series__run=run).order_by("period"):  # earliest first: no clash
        point.period = month_add(point.period, -1)
        point.save(update_fields=["period"])
    run.refresh_from_db()
    return run


@pytest.mark.django_db
def test_closed_months_get_their_actuals_and_the_run_its_accuracy(org, as_of):
    from catalog.models import Product

    run = as_of
    closed = month_add(run.history_end, 1)
    products = list(Product.objects.filter(slug__startswith=f"stored-{run.pk}-").order_by("pk"))
    add_fact(products[0], org.rep, closed, "1300")  # exactly the forecast (1.3 x 1000)
    add_fact(products[0], org.rep, closed, "100", segment="consumer")
    # products[1] sold nothing that month: an actual of zero
    assert forecast_actuals_fill() == 6  # total, category, 2 products, region, rep
    points = {
        (p.series.level, p.series.key): p
        for p in ForecastPoint.objects.filter(series__run=run, period=closed).select_related("series")
    }
    assert points[("product", str(products[0].pk))].actual == 1400.0
    assert points[("product", str(products[1].pk))].actual == 0.0
    assert points[("total", "")].actual == 1400.0
    assert points[("rep", str(org.rep.pk))].actual == 1400.0
    assert points[("region", "Region 0")].actual == 1400.0
    assert ForecastPoint.objects.filter(series__run=run, actual__isnull=False).count() == 6  # open months stay empty

    run.refresh_from_db()
    (month,) = run.summary["accuracy"]
    assert month["period"] == closed.isoformat() and month["n"] == 2
    assert month["total_forecast"] == 2600.0 and month["total_actual"] == 1400.0
    assert month["total_ape"] == pytest.approx(85.71, abs=0.01)
    assert month["mape"] == pytest.approx(100 * 100 / 1400, abs=0.01)  # only the product that sold counts
    assert month["smape"] == pytest.approx((200 * 100 / 2700 + 200) / 2, abs=0.01)
    assert month["in80"] == 50.0 and month["in95"] == 50.0  # 1400 inside [1040, 1560]; 0 outside
    assert run_accuracy(run) == run.summary["accuracy"]
    assert forecast_actuals_fill() == 0  # nothing changed: nothing written


@pytest.mark.django_db
def test_a_late_return_in_a_recent_month_updates_its_actual(org, as_of):
    from catalog.models import Product

    run = as_of
    closed = month_add(run.history_end, 1)
    product = Product.objects.filter(slug__startswith=f"stored-{run.pk}-").order_by("pk").first()
    add_fact(product, org.rep, closed, "1000")
    forecast_actuals_fill()
    SalesFact.objects.filter(product=product).update(revenue=Decimal("800"))
    assert forecast_actuals_fill() > 0
    total = ForecastPoint.objects.get(series__run=run, series__level="total", period=closed)
    assert total.actual == 800.0


@pytest.mark.django_db
def test_the_dashboard_shows_the_accuracy_history(org, login, as_of):
    forecast_actuals_fill()
    html = login(org.manager).get("/forecasting/").content.decode()
    assert 'id="accuracy-data"' in html and "Inside 80 %" in html
    assert "accuracy-data" not in login(org.rep).get("/forecasting/").content.decode()


def test_the_nightly_job_is_scheduled_and_registered():
    from sfa.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["forecasting-fill-actuals"]
    app.loader.import_default_modules()
    assert entry["task"] == "forecasting.fill_actuals" and entry["task"] in app.tasks
    assert "forecasting.run_chunk" in app.tasks and "sfa.job.forecast_run" in app.tasks
