"""Forecasts against what was sold: actuals for the months that closed, and each run's accuracy history.

``forecast_actuals_fill`` runs every night (``forecasting.fill_actuals`` in the beat schedule) and right
after a run finishes: it writes the booked revenue of every closed month into the run's points
(``ForecastPoint.actual``; a month without sales is an actual of zero) and recomputes the run's
accuracy history, ``run.summary["accuracy"]``: per closed month,

- ``total_ape``: the total's absolute percentage error;
- ``mape`` and ``smape``: the products' mean absolute percentage error (products that sold that month)
  and symmetric MAPE (0-200; products with a forecast or a sale);
- ``in80`` and ``in95``: the share of products whose actual fell inside the 80 % and 95 % intervals
  (close to 80 and 95 when the intervals are honest);
- ``n``: how many products.

Months are re-read for three months after they close, so late cancellations and returns are counted.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from statistics import fmean

from django.db import transaction
from django.db.models import Q, Sum

from forecasting.models import ForecastPoint, ForecastRun, SalesFact, SeriesLevel
from forecasting.services_runs import last_closed_month, month_add

REFRESH_MONTHS = 3
FIELD_OF_LEVEL = {
    SeriesLevel.PRODUCT: "product_id",
    SeriesLevel.CATEGORY: "product__category_id",
    SeriesLevel.REGION: "region",
    SeriesLevel.REP: "rep_id",
}


def actuals_for(months: set[date]) -> dict[tuple[str, str, date], float]:
    """Booked revenue per (level, key, month) for ``months``: one aggregate query per level."""
    facts = SalesFact.objects.filter(grain=SalesFact.Grain.MONTH, period__in=sorted(months))
    out: dict[tuple[str, str, date], float] = {}
    for row in facts.values("period").annotate(v=Sum("revenue")).order_by():
        out[(SeriesLevel.TOTAL.value, "", row["period"])] = float(row["v"])
    for level, field in FIELD_OF_LEVEL.items():
        for row in facts.values(field, "period").annotate(v=Sum("revenue")).order_by():
            out[(level.value, str(row[field]), row["period"])] = float(row["v"])
    return out


def forecast_actuals_fill(*, run_ids: list[int] | None = None, today: date | None = None) -> int:
    """Fill the actuals of closed months in done runs (all, or ``run_ids``) and their accuracy. Returns points set."""
    last_closed = last_closed_month(today)
    refresh_from = month_add(last_closed, 1 - REFRESH_MONTHS)
    runs = ForecastRun.objects.filter(status=ForecastRun.Status.DONE, history_end__lt=last_closed)
    if run_ids is not None:
        runs = runs.filter(pk__in=run_ids)
    updated = 0
    for run in runs.only("pk", "history_end", "horizon", "summary"):
        last = min(last_closed, month_add(run.history_end, run.horizon))
        points = list(
            ForecastPoint.objects.filter(series__run=run, period__lte=last)
            .filter(Q(actual__isnull=True) | Q(period__gte=refresh_from))
            .select_related("series")
            .only("pk", "period", "actual", "series__level", "series__key")
        )
        if not points:
            continue
        actuals = actuals_for({p.period for p in points})
        changed = []
        for point in points:
            value = round(actuals.get((point.series.level, point.series.key, point.period), 0.0), 2)
            if point.actual != value:
                point.actual = value
                changed.append(point)
        with transaction.atomic():
            ForecastPoint.objects.bulk_update(changed, ["actual"], batch_size=1000)
            summary = ForecastRun.objects.select_for_update().get(pk=run.pk).summary
            summary["accuracy"] = run_accuracy(run)
            ForecastRun.objects.filter(pk=run.pk).update(summary=summary)
        updated += len(changed)
    return updated


def run_accuracy(run: ForecastRun) -> list[dict]:
    """Per closed month of ``run``: the total's error, the products' MAPE, sMAPE and interval coverage."""
    rows = ForecastPoint.objects.filter(
        series__run=run, series__level__in=[SeriesLevel.TOTAL, SeriesLevel.PRODUCT], actual__isnull=False
    ).values_list("series__level", "period", "forecast", "actual", "lo_80", "hi_80", "lo_95", "hi_95")
    months: dict[date, dict] = defaultdict(lambda: {"ape": [], "sape": [], "in80": [], "in95": [], "total": None})
    for level, period, forecast, actual, lo80, hi80, lo95, hi95 in rows:
        month = months[period]
        if level == SeriesLevel.TOTAL:
            month["total"] = (forecast, actual, lo80 <= actual <= hi80, lo95 <= actual <= hi95)
            continue
        if actual > 0:
            month["ape"].append(abs(forecast - actual) / actual * 100)
        if abs(forecast) + abs(actual) > 0:
            month["sape"].append(200 * abs(forecast - actual) / (abs(forecast) + abs(actual)))
        month["in80"].append(lo80 <= actual <= hi80)
        month["in95"].append(lo95 <= actual <= hi95)
    history = []
    for period in sorted(months):
        m = months[period]
        total = m["total"]
        history.append(
            {
                "period": period.isoformat(),
                "total_forecast": round(total[0], 2) if total else None,
                "total_actual": round(total[1], 2) if total else None,
                "total_ape": round(abs(total[0] - total[1]) / total[1] * 100, 2) if total and total[1] > 0 else None,
                "total_in80": total[2] if total else None,
                "total_in95": total[3] if total else None,
                "mape": round(fmean(m["ape"]), 2) if m["ape"] else None,
                "smape": round(fmean(m["sape"]), 2) if m["sape"] else None,
                "in80": round(100 * fmean(m["in80"]), 1) if m["in80"] else None,
                "in95": round(100 * fmean(m["in95"]), 1) if m["in95"] else None,
                "n": len(m["in80"]),
            }
        )
    return history
