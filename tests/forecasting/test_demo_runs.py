"""The demo's forecasts: a run as of a year ago (for the accuracy history) and the current one; idempotent."""

import pytest

from forecasting.demo_runs import demo_forecast
from forecasting.models import ForecastRun
from forecasting.services_runs import last_closed_month, month_add
from sfa.demo import DemoContext
from tests.forecasting.factories import run_sales


@pytest.mark.django_db
def test_the_demo_forecasts_the_next_fiscal_year_and_has_a_year_of_accuracy(org):
    run_sales(org, months=30)
    logs: list[str] = []
    ctx = DemoContext(password="x", users={"admin": org.admin}, log=logs.append)
    demo_forecast(ctx)
    runs = list(ForecastRun.objects.order_by("history_end"))
    assert [r.status for r in runs] == ["done", "done"]
    as_of, current = runs
    assert current.history_end == last_closed_month() and as_of.history_end == month_add(current.history_end, -12)
    assert len(as_of.summary["accuracy"]) == 12 and "accuracy" not in current.summary
    assert all(0 <= m["in95"] <= 100 for m in as_of.summary["accuracy"])
    assert any("forecast FY" in line and "median MASE" in line for line in logs)
    demo_forecast(ctx)  # seed_demo run twice changes nothing
    assert ForecastRun.objects.count() == 2


@pytest.mark.django_db
def test_no_sales_no_demo_forecast(org):
    logs: list[str] = []
    demo_forecast(DemoContext(password="x", log=logs.append))
    assert not ForecastRun.objects.exists() and "nothing to forecast" in logs[0]
