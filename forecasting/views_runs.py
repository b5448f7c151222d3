"""The forecast dashboards (HTML + HTMX): the next fiscal year, drill-down, regions, reps, accuracy, runs.

Thin: ``forecasting.selectors_runs`` reads stored results scoped by the user, ``forecasting.services_runs``
starts runs and sets the fiscal calendar, ``forecasting.exports_runs`` writes the files. Charts are drawn by
static/js/forecast_charts.js from json_script data; every chart has a table of the same figures.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_POST

from forecasting import exports_runs, services_runs
from forecasting import selectors_runs as selectors
from forecasting.fiscal import fiscal_start_month
from forecasting.models import FiscalYear, ForecastRun, ForecastSeries, SeriesLevel
from forecasting.policies_runs import ForecastSeriesPolicy
from forecasting.selectors_runs import RunYears, key_from_url, url_key
from forecasting.services_runs import month_add, months_between
from sfa.permissions import Scope, can, require

DRILL_LEVELS = {
    "category": SeriesLevel.CATEGORY,
    "product": SeriesLevel.PRODUCT,
    "region": SeriesLevel.REGION,
    "rep": SeriesLevel.REP,
}
BREAKDOWNS = {"categories": SeriesLevel.CATEGORY, "regions": SeriesLevel.REGION, "reps": SeriesLevel.REP}
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


def sees_company(user) -> bool:
    """Managers and admins see the company's series; a rep only their own."""
    return ForecastSeriesPolicy().scope_for(user, "view") in (Scope.TEAM, Scope.ALL)


def _bad_request(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    return render(request, "sfa/error.html", {"errors": exc.messages}, status=400)


def _currency(run: ForecastRun) -> str:
    return run.summary.get("currency", "EUR")


def _run(request: HttpRequest) -> ForecastRun | None:
    require(request.user, "view", ForecastRun)
    return selectors.run_for_request(actor=request.user, run_id=request.GET.get("run"))


def _run_query(request: HttpRequest, run: ForecastRun) -> str:
    """``?run=`` kept on drill links when the page shows a run other than the latest."""
    return f"?run={run.pk}" if request.GET.get("run") else ""


def series_url(series: ForecastSeries, query: str = "") -> str:
    return reverse("forecasting:series", args=[series.level, url_key(series.key)]) + query


class MonthRow:
    """A month of a series on the page: the forecast, its ranges, the actual when it closed, a year earlier."""

    def __init__(self, point, year_ago: float | None):
        self.point = point
        self.year_ago = year_ago

    @property
    def change(self) -> float | None:
        if not self.year_ago:
            return None
        return round((self.point.forecast - self.year_ago) / self.year_ago * 100, 1)


def _month_rows(series: ForecastSeries, points: list, months: list[date]) -> list[MonthRow]:
    by_period = {p.period: p for p in points}
    rows = []
    for month in months:
        point = by_period.get(month)
        if point is None:
            continue
        rows.append(MonthRow(point, _history_value(series, month_add(month, -12))))
    return rows


def _history_value(series: ForecastSeries, month: date) -> float | None:
    if series.history_start is None:
        return None
    index = months_between(series.history_start, month)
    if 0 <= index < len(series.history):
        return series.history[index]
    return None


def _bars_data(rows: list[selectors.YearRow], currency: str, query: str) -> dict[str, Any]:
    """Horizontal bars of next year's forecast per series, with the 80 % range as error bars."""
    rows = rows[:25]
    return {
        "currency": currency,
        "labels": [r.series.label for r in rows],
        "forecast": [round(r.forecast) for r in rows],
        "lo80": [round(r.forecast - r.lo_80) for r in rows],
        "hi80": [round(r.hi_80 - r.forecast) for r in rows],
        "current": [round(r.current) if r.current is not None else None for r in rows],
        "urls": [series_url(r.series, query) for r in rows],
    }


def _months_data(rows: list[MonthRow], currency: str) -> dict[str, Any]:
    return {
        "currency": currency,
        "x": [f"{r.point.period:%b %Y}" for r in rows],
        "forecast": [round(r.point.forecast) for r in rows],
        "lo80": [round(r.point.forecast - r.point.lo_80) for r in rows],
        "hi80": [round(r.point.hi_80 - r.point.forecast) for r in rows],
        "year_ago": [round(r.year_ago) if r.year_ago is not None else None for r in rows],
    }


def _accuracy_data(history: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "runs": [
            {
                "label": f"Run of {h['run'].created_at:%-d %b %Y} (history to {h['run'].history_end:%b %Y})",
                "x": [m["period"] for m in h["months"]],
                "total_ape": [m["total_ape"] for m in h["months"]],
                "smape": [m["smape"] for m in h["months"]],
                "in80": [m["in80"] for m in h["months"]],
                "in95": [m["in95"] for m in h["months"]],
            }
            for h in history
        ]
    }


def _year_totals(series: ForecastSeries, points: list, years: RunYears, run: ForecastRun) -> dict[str, Any]:
    nxt = [p for p in points if p.period in set(years.next_months)]
    current_forecast = sum(p.forecast for p in points if p.period in set(years.current_months))
    actual = selectors.history_sum(series, [m for m in years.current_months if m <= run.history_end])
    current = None if actual is None else actual + current_forecast
    forecast = sum(p.forecast for p in nxt)
    return {
        "forecast": forecast,
        "lo_80": sum(p.lo_80 for p in nxt),
        "hi_80": sum(p.hi_80 for p in nxt),
        "lo_95": sum(p.lo_95 for p in nxt),
        "hi_95": sum(p.hi_95 for p in nxt),
        "current": current,
        "current_actual_months": len([m for m in years.current_months if m <= run.history_end]),
        "last": selectors.history_sum(series, years.last_months),
        "change": round((forecast - current) / current * 100, 1) if current else None,
    }


def _runs_card(request: HttpRequest, limit: int = 4) -> dict[str, Any]:
    runs = list(selectors.run_list(actor=request.user)[:limit])
    return {"runs": runs, "can_start": can(request.user, "add", ForecastRun)}


# --- The dashboard ---------------------------------------------------------------------------------------


@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    run = _run(request)
    context: dict[str, Any] = {
        "run": run,
        "tab": "forecast",
        "company": sees_company(request.user),
        **_runs_card(request),
    }
    if run is None:
        return render(request, "forecasting/dashboard.html", context)
    years = RunYears.of(run)
    currency = _currency(run)
    headline = selectors.headline_series(actor=request.user, run=run)
    company = sees_company(request.user) and headline is not None and headline.level == SeriesLevel.TOTAL
    query = _run_query(request, run)
    context.update(years=years, currency=currency, headline=headline, company=company, query=query)
    if headline is None:
        return render(request, "forecasting/dashboard.html", context)
    points = selectors.series_points(headline)
    months = _month_rows(headline, points, years.next_months)
    context.update(
        totals=_year_totals(headline, points, years, run),
        months=months,
        fan=selectors.fan_data(headline, points, currency),
        months_chart=_months_data(months, currency),
    )
    if company:
        categories = selectors.year_rows(
            selectors.series_list(actor=request.user, run=run, level=SeriesLevel.CATEGORY), run, years
        )
        for row in categories:
            row.url = series_url(row.series, query)
        history = selectors.accuracy_history(actor=request.user)
        context.update(
            categories=categories,
            categories_chart=_bars_data(categories, currency, query),
            accuracy=history,
            accuracy_chart=_accuracy_data(history),
        )
    return render(request, "forecasting/dashboard.html", context)


# --- Breakdowns: categories, regions, reps -------------------------------------------------------------------


@require_GET
def breakdown(request: HttpRequest, level_plural: str) -> HttpResponse:
    level = BREAKDOWNS.get(level_plural)
    if level is None:
        raise Http404("No such breakdown.")
    run = _run(request)
    context: dict[str, Any] = {
        "run": run,
        "tab": level_plural,
        "level": level,
        "level_plural": level_plural,
        "noun": level.label.lower(),
        "company": sees_company(request.user),
    }
    if run is not None:
        years = RunYears.of(run)
        currency = _currency(run)
        query = _run_query(request, run)
        rows = selectors.year_rows(selectors.series_list(actor=request.user, run=run, level=level), run, years)
        for row in rows:
            row.url = series_url(row.series, query)
        context.update(
            years=years,
            currency=currency,
            rows=rows,
            chart=_bars_data(rows, currency, query),
            total=sum(r.forecast for r in rows),
            query=query,
        )
    return render(request, "forecasting/breakdown.html", context)


# --- One series: category (with its products), product, region, rep --------------------------------------------


@require_GET
def series_detail(request: HttpRequest, level: str, key: str) -> HttpResponse:
    if level not in DRILL_LEVELS and level != SeriesLevel.TOTAL:
        raise Http404("No such forecast level.")
    run = _run(request)
    if run is None:
        return redirect("forecasting:dashboard")
    series = selectors.series_get(actor=request.user, run=run, level=level, key=key_from_url(key))
    years = RunYears.of(run)
    currency = _currency(run)
    query = _run_query(request, run)
    points = selectors.series_points(series)
    months = _month_rows(series, points, years.next_months)
    context: dict[str, Any] = {
        "run": run,
        "series": series,
        "years": years,
        "currency": currency,
        "query": query,
        "points": points,
        "months": months,
        "totals": _year_totals(series, points, years, run),
        "fan": selectors.fan_data(series, points, currency),
        "months_chart": _months_data(months, currency),
        "tab": {"category": "categories", "product": "categories", "region": "regions", "rep": "reps"}.get(level),
        "company": sees_company(request.user),
    }
    if level == SeriesLevel.CATEGORY:
        products = selectors.year_rows(
            selectors.series_list(actor=request.user, run=run, level=SeriesLevel.PRODUCT).filter(parent_key=series.key),
            run,
            years,
        )
        for row in products:
            row.url = series_url(row.series, query)
        context.update(products=products, products_chart=_bars_data(products, currency, query))
    if level == SeriesLevel.PRODUCT and series.parent_key:
        context["parent"] = (
            selectors.series_list(actor=request.user, run=run, level=SeriesLevel.CATEGORY, key=series.parent_key)
            .only("pk", "level", "key", "label")
            .first()
        )
    return render(request, "forecasting/series.html", context)


# --- Runs ---------------------------------------------------------------------------------------------------


@require_GET
def run_list(request: HttpRequest) -> HttpResponse:
    require(request.user, "view", ForecastRun)
    runs = list(selectors.run_list(actor=request.user)[:30])
    context = {
        "runs": runs,
        "tab": "runs",
        "can_start": can(request.user, "add", ForecastRun),
        "can_delete": can(request.user, "delete", ForecastRun),
        "company": sees_company(request.user),
        "fiscal_start": fiscal_start_month(),
        "can_set_fiscal": can(request.user, "change", FiscalYear),
        "month_names": list(enumerate(MONTHS, start=1)),
    }
    return render(request, "forecasting/runs.html", context)


@require_POST
def run_start(request: HttpRequest) -> HttpResponse:
    try:
        run = services_runs.forecast_run_start(actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("forecasting:run-list")
    messages.success(
        request, f"Forecast run {run.pk} started: FY{run.fiscal_year} from sales up to {run.history_end:%B %Y}."
    )
    return redirect("forecasting:run-detail", pk=run.pk)


@require_GET
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = selectors.run_get(actor=request.user, pk=pk)
    company = sees_company(request.user)
    failed = list(
        selectors.series_list(actor=request.user, run=run).exclude(error="").only("level", "label", "error")[:50]
    )
    context = {
        "run": run,
        "tab": "runs",
        "company": company,
        "failed": failed,
        "accuracy": selectors.accuracy_months(run) if company else [],
        "can_delete": can(request.user, "delete", run),
        "currency": _currency(run),
    }
    return render(request, "forecasting/run_detail.html", context)


@require_GET
def run_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress bar of one run (polled by HTMX every second while the run is going)."""
    run = selectors.run_get(actor=request.user, pk=pk)
    return render(request, "forecasting/partials/_run_progress.html", {"run": run})


@require_POST
def run_delete(request: HttpRequest, pk: int) -> HttpResponse:
    run = selectors.run_get(actor=request.user, pk=pk)
    try:
        services_runs.forecast_run_delete(actor=request.user, run=run)
    except ValidationError as exc:
        return _bad_request(request, exc)
    messages.success(request, f"Forecast run {pk} deleted.")
    return redirect("forecasting:run-list")


@require_POST
def fiscal_year_update(request: HttpRequest) -> HttpResponse:
    try:
        row = services_runs.fiscal_year_set(actor=request.user, start_month=int(request.POST.get("start_month", "0")))
    except (ValueError, ValidationError) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", ["Choose a month."])))
        return redirect("forecasting:run-list")
    messages.success(
        request, f"The fiscal year now starts in {MONTHS[row.start_month - 1]}. Start a run to forecast by it."
    )
    return redirect("forecasting:run-list")


# --- Exports ------------------------------------------------------------------------------------------------


@require_GET
def export(request: HttpRequest, fmt: str) -> HttpResponse:
    run = _run(request)
    if run is None:
        raise Http404("There is no finished forecast to export yet.")
    name = f"forecast-FY{run.fiscal_year}-run{run.pk}"
    if fmt == "csv":
        response = StreamingHttpResponse(
            exports_runs.csv_stream(actor=request.user, run=run), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        return response
    if fmt == "xlsx":
        return FileResponse(
            exports_runs.xlsx_file(actor=request.user, run=run),
            as_attachment=True,
            filename=f"{name}.xlsx",
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    raise Http404("Export as csv or xlsx.")


# --- The menu --------------------------------------------------------------------------------------------------


def register_ui() -> None:
    from sfa.ui import NavItem, nav_register

    nav_register(NavItem("Forecasts", "forecasting:dashboard", 9, lambda u: can(u, "view", ForecastRun)))


urlpatterns = [
    path("forecasting/", dashboard, name="dashboard"),
    path("forecasting/runs/", run_list, name="run-list"),
    path("forecasting/runs/start/", run_start, name="run-start"),
    path("forecasting/runs/<int:pk>/", run_detail, name="run-detail"),
    path("forecasting/runs/<int:pk>/progress/", run_progress, name="run-progress"),
    path("forecasting/runs/<int:pk>/delete/", run_delete, name="run-delete"),
    path("forecasting/fiscal-year/", fiscal_year_update, name="fiscal-year"),
    path("forecasting/export.<str:fmt>", export, name="export"),
    path("forecasting/by/<str:level_plural>/", breakdown, name="breakdown"),
    path("forecasting/series/<str:level>/<path:key>/", series_detail, name="series"),
]
