"""Demo forecasts: the next fiscal year forecast from the demo's three years of orders, run right away.

Two runs, both made in this process with the same steps as the background job (no worker needed):

- one "as of" twelve months ago, whose forecast months have mostly closed since, so the dashboard's
  accuracy history (forecast against actual, interval coverage) has a year to show;
- the current one, from the last closed month to the end of the next fiscal year.

Idempotent: a run with the same history end that is done already is kept.
"""

from __future__ import annotations

import time

from sfa.demo import DemoContext, demo_step

BACKTEST_MONTHS = 12


@demo_step(order=90)
def demo_forecast(ctx: DemoContext) -> None:
    from forecasting.models import ForecastRun, SalesFact
    from forecasting.services_runs import (
        MIN_HISTORY_MONTHS,
        forecast_run_create,
        forecast_run_execute,
        last_closed_month,
        month_add,
        months_between,
    )

    first = SalesFact.objects.filter(grain=SalesFact.Grain.MONTH).order_by("period").values_list("period", flat=True)
    first = first.first()
    if first is None:
        ctx.log("forecast: no sales facts, nothing to forecast")
        return
    admin = ctx.users.get("admin")
    latest = last_closed_month()
    for history_end in (month_add(latest, -BACKTEST_MONTHS), latest):
        if months_between(first, history_end) + 1 < MIN_HISTORY_MONTHS:
            continue
        done = ForecastRun.objects.filter(history_end=history_end, status=ForecastRun.Status.DONE).first()
        if done is not None:
            ctx.log(f"forecast: FY{done.fiscal_year} from history to {history_end:%b %Y} already there")
            continue
        started = time.perf_counter()
        run = forecast_run_execute(forecast_run_create(actor=admin, history_end=history_end))
        summary = run.summary
        ctx.log(
            f"forecast FY{run.fiscal_year} (history to {history_end:%b %Y}): {run.series_total} series in "
            f"{run.chunks_total} chunks, {time.perf_counter() - started:.1f} s, median MASE "
            f"{summary.get('median_mase')}, models {summary.get('models')}"
        )
