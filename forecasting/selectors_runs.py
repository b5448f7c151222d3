"""Reads of forecast runs and their series for the dashboards, the exports and the API, scoped by the actor.

Everything here reads stored results (the run's series with their history, its points with actuals) and
never sums the sales facts, so that a dashboard costs a handful of indexed queries however many orders
there are. Fiscal years come from ``forecasting.fiscal``: the run's ``fiscal_year`` is the year planned,
the one before it the current year (partly actual, partly forecast), the one before that the last full year.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db.models import Q, QuerySet, Sum
from django.http import Http404

from forecasting.fiscal import fiscal_start_month, fiscal_year_months
from forecasting.models import ForecastPoint, ForecastRun, ForecastSeries, SeriesLevel
from forecasting.services_runs import month_add, months_between
from sfa.permissions import get_object_for, scoped

LEVEL_PLURAL = {
    SeriesLevel.CATEGORY: "categories",
    SeriesLevel.PRODUCT: "products",
    SeriesLevel.REGION: "regions",
    SeriesLevel.REP: "reps",
}
EMPTY_KEY = "-"  # the URL of a series with an empty key (sales without a region)


def url_key(key: str) -> str:
    return key or EMPTY_KEY


def key_from_url(value: str) -> str:
    return "" if value == EMPTY_KEY else value


# --- Runs --------------------------------------------------------------------------------------------


def run_list(*, actor) -> QuerySet[ForecastRun]:
    return scoped(actor, ForecastRun.objects.select_related("job", "created_by"))


def run_latest(*, actor) -> ForecastRun | None:
    """The newest finished forecast: the done run with the latest history (then the last made)."""
    return (
        scoped(actor, ForecastRun.objects.filter(status=ForecastRun.Status.DONE))
        .order_by("-history_end", "-created_at", "-id")
        .first()
    )


def run_get(*, actor, pk: Any) -> ForecastRun:
    return get_object_for(actor, ForecastRun.objects.select_related("job", "created_by"), pk)


def run_for_request(*, actor, run_id: Any = None) -> ForecastRun | None:
    """The run a page or an export asks for (``?run=``), or the latest done one."""
    if run_id not in (None, ""):
        return run_get(actor=actor, pk=run_id)
    return run_latest(actor=actor)


def runs_running(*, actor) -> QuerySet[ForecastRun]:
    return run_list(actor=actor).filter(status__in=[ForecastRun.Status.PENDING, ForecastRun.Status.RUNNING])


def run_progress(run: ForecastRun) -> int:
    """0-100: the job's progress while it runs (planning, chunks, reconciling), 100 once done."""
    if run.status == ForecastRun.Status.DONE:
        return 100
    if run.job is not None:
        return run.job.progress
    if run.chunks_total:
        return int(5 + 90 * run.chunks_done / run.chunks_total)
    return 0


# --- Series -------------------------------------------------------------------------------------------


def series_list(*, actor, run: ForecastRun, level: str | None = None, key: str | None = None) -> QuerySet:
    """The run's series the actor may see, optionally of one level and key."""
    qs = ForecastSeries.objects.filter(run=run)
    if level:
        qs = qs.filter(level=level)
    if key is not None:
        qs = qs.filter(key=key)
    return scoped(actor, qs)


def series_get(*, actor, run: ForecastRun, level: str, key: str) -> ForecastSeries:
    series = series_list(actor=actor, run=run, level=level, key=key).first()
    if series is None:
        raise Http404("No such forecast series in this run, or not one you may see.")
    return series


def headline_series(*, actor, run: ForecastRun) -> ForecastSeries | None:
    """What the dashboard leads with: the company total, or (for a rep, who may not see it) their own series."""
    visible = series_list(actor=actor, run=run)
    total = visible.filter(level=SeriesLevel.TOTAL).first()
    if total is not None:
        return total
    return visible.filter(level=SeriesLevel.REP, key=str(actor.pk)).first()


# --- Fiscal years of a run ----------------------------------------------------------------------------


@dataclass
class RunYears:
    """The fiscal years a run speaks of, as month lists (first days)."""

    next_year: int
    next_months: list[date]
    current_year: int
    current_months: list[date]
    last_year: int
    last_months: list[date]

    @classmethod
    def of(cls, run: ForecastRun) -> RunYears:
        start = run.summary.get("fiscal_start_month") or fiscal_start_month()
        return cls(
            next_year=run.fiscal_year,
            next_months=fiscal_year_months(run.fiscal_year, start_month=start),
            current_year=run.fiscal_year - 1,
            current_months=fiscal_year_months(run.fiscal_year - 1, start_month=start),
            last_year=run.fiscal_year - 2,
            last_months=fiscal_year_months(run.fiscal_year - 2, start_month=start),
        )


def history_sum(series: ForecastSeries, months: list[date]) -> float | None:
    """The series' actual revenue over ``months``, None when its history does not cover them all.

    A series whose history starts later than a month (a product launched since) counts that month as zero.
    """
    if series.history_start is None:
        return 0.0
    total = 0.0
    end = month_add(series.history_start, len(series.history) - 1)
    for month in months:
        if month > end:
            return None
        index = months_between(series.history_start, month)
        total += series.history[index] if index >= 0 else 0.0
    return total


@dataclass
class YearRow:
    """One series on a fiscal-year table: next year's forecast with its range, this year's outlook."""

    series: ForecastSeries
    forecast: float = 0.0
    lo_80: float = 0.0
    hi_80: float = 0.0
    lo_95: float = 0.0
    hi_95: float = 0.0
    current: float | None = None  # this fiscal year: actual months plus forecast months
    last: float | None = None  # the last full fiscal year, actual
    extra: dict = field(default_factory=dict)

    @property
    def change(self) -> float | None:
        if not self.current:
            return None
        return round((self.forecast - self.current) / self.current * 100, 1)


def year_rows(series: QuerySet[ForecastSeries], run: ForecastRun, years: RunYears) -> list[YearRow]:
    """Next fiscal year's forecast per series (sum of its months; the range sums the monthly bounds, which
    assumes the months' errors move together: a cautious range), and the current year's outlook.

    Two queries: the series (with their history) and one aggregate over their points.
    """
    rows = {s.pk: YearRow(series=s) for s in series}
    if not rows:
        return []
    nxt = Q(period__in=years.next_months)
    cur = Q(period__in=years.current_months)
    sums = (
        ForecastPoint.objects.filter(series_id__in=list(rows))
        .values("series_id")
        .annotate(
            f=Sum("forecast", filter=nxt),
            lo80=Sum("lo_80", filter=nxt),
            hi80=Sum("hi_80", filter=nxt),
            lo95=Sum("lo_95", filter=nxt),
            hi95=Sum("hi_95", filter=nxt),
            cur=Sum("forecast", filter=cur & Q(period__gt=run.history_end)),
        )
        .order_by()
    )
    for s in sums:
        row = rows[s["series_id"]]
        row.forecast, row.lo_80, row.hi_80 = s["f"] or 0.0, s["lo80"] or 0.0, s["hi80"] or 0.0
        row.lo_95, row.hi_95 = s["lo95"] or 0.0, s["hi95"] or 0.0
        actual = history_sum(row.series, [m for m in years.current_months if m <= run.history_end])
        row.current = None if actual is None else actual + (s["cur"] or 0.0)
    for row in rows.values():
        row.last = history_sum(row.series, years.last_months)
    return sorted(rows.values(), key=lambda r: -r.forecast)


def series_points(series: ForecastSeries) -> list[ForecastPoint]:
    return list(series.points.order_by("period"))


def fan_data(series: ForecastSeries, points: list[ForecastPoint], currency: str) -> dict[str, Any]:
    """The fan chart's data (json_script): history, forecast with 80/95 bands, actuals of closed months."""
    history_x = (
        [month_add(series.history_start, i).isoformat() for i in range(len(series.history))]
        if series.history_start
        else []
    )
    closed = [p for p in points if p.actual is not None]
    return {
        "label": series.label,
        "currency": currency,
        "history": {"x": history_x, "y": series.history},
        "forecast": {
            "x": [p.period.isoformat() for p in points],
            "y": [round(p.forecast, 2) for p in points],
            "lo80": [round(p.lo_80, 2) for p in points],
            "hi80": [round(p.hi_80, 2) for p in points],
            "lo95": [round(p.lo_95, 2) for p in points],
            "hi95": [round(p.hi_95, 2) for p in points],
        },
        "actual": {"x": [p.period.isoformat() for p in closed], "y": [p.actual for p in closed]},
    }


def accuracy_history(*, actor, limit: int = 8) -> list[dict[str, Any]]:
    """The accuracy of the latest runs that have closed months, newest first (from their stored summaries)."""
    runs = (
        scoped(actor, ForecastRun.objects.filter(status=ForecastRun.Status.DONE))
        .order_by("-history_end", "-created_at")
        .only("pk", "history_end", "fiscal_year", "summary", "created_at")[:limit]
    )
    return [{"run": run, "months": accuracy_months(run)} for run in runs if run.summary.get("accuracy")]


def accuracy_months(run: ForecastRun) -> list[dict[str, Any]]:
    """The run's stored accuracy history (forecasting.accuracy), each month with its date as ``month``."""
    return [{**m, "month": date.fromisoformat(m["period"])} for m in run.summary.get("accuracy", [])]
