"""The pipeline forecast page (with the managers' Adjust form) and the quota pages (HTML + HTMX).

Thin: ``forecasting.selectors_pipeline`` reads, scoped by the user; ``forecasting.services_pipeline`` writes
and decides (a refusal comes back as the service's own message).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from forecasting import selectors_pipeline as selectors
from forecasting import services_pipeline as services
from forecasting.fiscal import fiscal_start_month
from forecasting.forms_pipeline import AdjustForm, QuotaEditForm, QuotaForm
from forecasting.models import Quota
from forecasting.pipeline_periods import MONTH, QUARTER, YEAR, Period, bounds_label, period_choices, period_of
from forecasting.pipeline_periods import period_parse as parse
from sfa.models import Team, User
from sfa.permissions import can, require
from sfa.views import add_form_errors

ADJUST_ROW = "adjust-form-{key}"


def _period(request: HttpRequest, start_month: int) -> Period:
    key = request.GET.get("period") or request.POST.get("period")
    if key:
        return parse(key, start_month=start_month)
    return period_of(QUARTER, timezone.localdate(), start_month=start_month)


def _bad_request(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    return render(request, "sfa/error.html", {"errors": exc.messages}, status=400)


def _quick_periods(start_month: int) -> list[tuple[str, Period]]:
    today = timezone.localdate()
    this_quarter = period_of(QUARTER, today, start_month=start_month)
    this_year = period_of(YEAR, today, start_month=start_month)
    return [
        ("This month", period_of(MONTH, today, start_month=start_month)),
        ("This quarter", this_quarter),
        ("Next quarter", this_quarter.shifted(1, start_month=start_month)),
        ("This fiscal year", this_year),
        ("Next fiscal year", this_year.shifted(1, start_month=start_month)),
    ]


def _section(request: HttpRequest) -> dict[str, Any]:
    """What the forecasting section's tabs need (forecasting/_tabs.html): whether the company's tabs show."""
    from forecasting.views_runs import sees_company

    return {"sees_company": sees_company(request.user)}


def _f(value: Any) -> float:
    return round(float(value or 0), 2)


def _stage_chart(forecast: selectors.PipelineForecast) -> dict[str, Any]:
    """Stacked bars: per stage, the amount of each forecast category (closed won as its own bar)."""
    open_rows = [row for row in forecast.stages if any(row.cells[c].count for c in selectors.OPEN_CATEGORIES)]
    won = forecast.total.cells[selectors.WON]
    return {
        "currency": forecast.currency,
        "stages": [row.label for row in open_rows],
        "series": [
            {
                "category": c,
                "label": selectors.CATEGORY_LABELS[c],
                "amount": [_f(row.cells[c].amount) for row in open_rows],
                "weighted": [_f(row.cells[c].weighted) for row in open_rows],
                "count": [row.cells[c].count for row in open_rows],
            }
            for c in selectors.OPEN_CATEGORIES
        ],
        "won": {"amount": _f(won.amount), "count": won.count},
    }


def _trend_chart(trend: list[selectors.TrendWeek], currency: str) -> dict[str, Any]:
    return {
        "currency": currency,
        "weeks": [week.taken_on.isoformat() for week in trend],
        "series": [
            {
                "category": c,
                "label": selectors.CATEGORY_LABELS[c],
                "amount": [_f(week.amounts[c]) for week in trend],
            }
            for c in selectors.OPEN_CATEGORIES
        ],
        "weighted": [_f(week.weighted) for week in trend],
    }


def _rollup_context(request: HttpRequest, period: Period) -> dict[str, Any]:
    forecast = selectors.pipeline_forecast(actor=request.user, period=period)
    return {
        "forecast": forecast,
        "period": period,
        "currency": forecast.currency,
        "can_adjust_any": any(node.can_adjust for node in forecast.rows()),
    }


@require_GET
def pipeline(request: HttpRequest) -> HttpResponse:
    """Pipeline by stage and category, quota attainment, the roll-up with raw and adjusted numbers, the trend."""
    require(request.user, "view", Quota)
    start_month = fiscal_start_month()
    try:
        period = _period(request, start_month)
    except ValidationError as exc:
        return _bad_request(request, exc)
    context = _rollup_context(request, period)
    forecast = context["forecast"]
    trend = selectors.pipeline_trend(actor=request.user, period=period)
    context.update(
        trend=trend,
        stage_chart=_stage_chart(forecast),
        trend_chart=_trend_chart(trend, forecast.currency),
        choices=period_choices(timezone.localdate(), start_month=start_month),
        quick=_quick_periods(start_month),
        previous=period.shifted(-1, start_month=start_month),
        following=period.shifted(1, start_month=start_month),
        categories=[(c, selectors.CATEGORY_LABELS[c]) for c in selectors.OPEN_CATEGORIES],
        **_section(request),
    )
    return render(request, "forecasting/pipeline.html", context)


def _adjust_context(request: HttpRequest, form: AdjustForm, target, period: Period) -> dict[str, Any]:
    node_key = f"user-{target.user_id}" if target.user_id else f"team-{target.team_id}"
    return {
        "form": form,
        "target": target.user or target.team,
        "target_kind": "user" if target.user_id else "team",
        "node_key": node_key,
        "row_id": ADJUST_ROW.format(key=node_key),
        "period": period,
        "history": selectors.target_history(actor=request.user, target=target, period=period),
        "currency": selectors.base_currency(),
    }


@require_http_methods(["GET", "POST"])
def pipeline_adjust(request: HttpRequest) -> HttpResponse:
    """The Adjust form of one rep or team (``?user=`` or ``?team=``, ``period=``): an HTMX row under theirs on
    the pipeline page, or a page of its own without JavaScript."""
    data = request.POST if request.method == "POST" else request.GET
    start_month = fiscal_start_month()
    try:
        period = _period(request, start_month)
    except ValidationError as exc:
        return _bad_request(request, exc)
    target = services.adjustment_target(actor=request.user, user_id=data.get("user"), team_id=data.get("team"))
    partial = bool(request.htmx)
    if request.method == "GET":
        node = selectors.pipeline_forecast(actor=request.user, period=period, prune=False).find(
            "user" if target.user_id else "team", target.user_id or target.team_id
        )
        standing = node.adjusted.get("commit") if node else None
        form = AdjustForm(
            initial={
                "user": target.user_id,
                "team": target.team_id,
                "period": period.key,
                "category": "commit",
                "amount": standing,
            }
        )
        context = _adjust_context(request, form, target, period)
        template = "forecasting/partials/_pipeline_adjust_form.html" if partial else "forecasting/pipeline_adjust.html"
        return render(request, template, context)

    form = AdjustForm(request.POST)
    if form.is_valid():
        try:
            services.adjustment_create(
                actor=request.user,
                period=form.cleaned_data["period"],
                category=form.cleaned_data["category"],
                amount=form.cleaned_data["amount"],
                note=form.cleaned_data["note"],
                user=target.user,
                team=target.team,
            )
        except ValidationError as exc:
            add_form_errors(form, exc)
    if form.errors:
        context = _adjust_context(request, form, target, period)
        if partial:
            response = render(request, "forecasting/partials/_pipeline_adjust_form.html", context, status=400)
            response["HX-Retarget"] = f"#{context['row_id']}"
            response["HX-Reswap"] = "outerHTML"
            return response
        return render(request, "forecasting/pipeline_adjust.html", context, status=400)
    label = str(target.user or target.team)
    if not partial:
        messages.success(request, f"{label}: adjusted for {period.short_label}.")
        return redirect(f"{reverse('forecasting:pipeline')}?period={period.key}")
    context = _rollup_context(request, period)
    context["flash"] = f"{label}: adjusted for {period.short_label}."
    return render(request, "forecasting/partials/_pipeline_rollup.html", context)


# --- Quotas -----------------------------------------------------------------------------------------------


@require_GET
def quota_list(request: HttpRequest) -> HttpResponse:
    """The quotas of a fiscal year the user may see, with what was booked against each."""
    start_month = fiscal_start_month()
    today = timezone.localdate()
    try:
        year = parse(request.GET.get("year") or period_of(YEAR, today, start_month=start_month).key)
        if year.kind != YEAR:
            raise ValidationError("Choose a fiscal year (FY2027).")
        quotas = list(
            selectors.quota_list(actor=request.user, filters={"period": year.key}).order_by(
                "team__name", "user__first_name", "user__last_name", "period_start", "id"
            )
        )
    except ValidationError as exc:
        return _bad_request(request, exc)
    figures = selectors.quota_attainment(quotas=quotas, today=today)
    rows = [
        {
            "quota": q,
            "period": bounds_label(q.period_start, q.period_end, start_month=start_month),
            **figures[q.pk],
            "can_change": selectors.may_change_quota(request.user, q),
        }
        for q in quotas
    ]
    current = period_of(YEAR, today, start_month=start_month)
    context = {
        "rows": rows,
        "team_rows": [r for r in rows if r["quota"].team_id],
        "user_rows": [r for r in rows if r["quota"].user_id],
        "year": year,
        "years": [current.shifted(-1), current, current.shifted(1)],
        "can_add": can(request.user, "add", Quota),
        "currency": selectors.base_currency(),
        **_section(request),
    }
    return render(request, "forecasting/quota_list.html", context)


def _quota_form_context(request: HttpRequest) -> dict[str, Any]:
    users, teams = selectors.quota_targets(actor=request.user)
    return {"users": users, "teams": teams, "periods": period_choices(timezone.localdate())}


@require_http_methods(["GET", "POST"])
def quota_create(request: HttpRequest) -> HttpResponse:
    require(request.user, "add", Quota)
    choices = _quota_form_context(request)
    initial = {"period": period_of(YEAR, timezone.localdate()).shifted(1).key}
    form = QuotaForm(request.POST or None, initial=initial, **choices)
    if request.method == "POST" and form.is_valid():
        user_id, team_id = form.target_ids()
        period = form.cleaned_data["period"]
        try:
            quota = services.quota_create(
                actor=request.user,
                user=User.objects.get(pk=user_id) if user_id else None,
                team=Team.objects.get(pk=team_id) if team_id else None,
                period_start=period.start,
                period_end=period.end,
                amount=form.cleaned_data["amount"],
                note=form.cleaned_data["note"],
            )
        except ValidationError as exc:
            add_form_errors(form, exc)
        else:
            messages.success(request, f"Quota set for {quota.user or quota.team}: {period.short_label}.")
            return redirect(f"{reverse('forecasting:quota-list')}?year=FY{period.fiscal_year}")
    context = {
        "form": form,
        "title": "New quota",
        "intro": "What a rep or a team is expected to book in a period, in the base currency. A team's quota may "
        "differ from the sum of its members'. Quotas of one rep or team may not overlap.",
        "submit": "Set quota",
        "cancel_url": reverse("forecasting:quota-list"),
    }
    return render(request, "sfa/form.html", context, status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
def quota_edit(request: HttpRequest, pk: int) -> HttpResponse:
    quota = selectors.quota_get(actor=request.user, pk=pk, action="change")
    form = QuotaEditForm(request.POST or None, initial={"amount": quota.amount, "note": quota.note})
    if request.method == "POST" and form.is_valid():
        try:
            services.quota_update(
                actor=request.user, quota=quota, amount=form.cleaned_data["amount"], note=form.cleaned_data["note"]
            )
        except ValidationError as exc:
            add_form_errors(form, exc)
        else:
            messages.success(request, "Quota saved.")
            return redirect(_year_url(quota))
    context = {
        "form": form,
        "title": f"Quota of {quota.user or quota.team}, {bounds_label(quota.period_start, quota.period_end)}",
        "submit": "Save",
        "cancel_url": _year_url(quota),
    }
    return render(request, "sfa/form.html", context, status=400 if form.errors else 200)


def _year_url(quota: Quota) -> str:
    year = period_of(YEAR, quota.period_start)
    return f"{reverse('forecasting:quota-list')}?year={year.key}"


@require_POST
def quota_delete(request: HttpRequest, pk: int) -> HttpResponse:
    quota = selectors.quota_get(actor=request.user, pk=pk, action="delete")
    back = _year_url(quota)
    services.quota_delete(actor=request.user, quota=quota)
    messages.success(request, f"Quota of {quota.user or quota.team} deleted.")
    return redirect(back)


urlpatterns = [
    path("forecasting/pipeline/", pipeline, name="pipeline"),
    path("forecasting/pipeline/adjust/", pipeline_adjust, name="pipeline-adjust"),
    path("forecasting/quotas/", quota_list, name="quota-list"),
    path("forecasting/quotas/new/", quota_create, name="quota-create"),
    path("forecasting/quotas/<int:pk>/edit/", quota_edit, name="quota-edit"),
    path("forecasting/quotas/<int:pk>/delete/", quota_delete, name="quota-delete"),
]
