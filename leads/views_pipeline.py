"""The pipeline: kanban board, list, opportunity pages and pipeline reports. Thin: leads.services decides,
leads.selectors and leads.reports read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from contacts import selectors as contact_selectors
from contacts.models import Account, Contact
from leads import reports, selectors, services
from leads.filters import OpportunityListFilter
from leads.forms_pipeline import OpportunityCreateForm, OpportunityEditForm, OpportunityLineForm, ReportForm
from leads.models import ForecastCategory, Opportunity, OpportunityLine, Pipeline, Stage
from leads.services import pipeline_default
from leads.ui import opportunity_panels
from sfa.filters import apply_filters
from sfa.listing import Sort, keyset_page
from sfa.models import User
from sfa.permissions import can, get_object_for, require
from sfa.views import add_form_errors, render_page

CLOSED_WINDOWS = [(30, "Last 30 days"), (90, "Last 90 days"), (365, "Last 12 months"), (0, "All time")]
BOARD_FILTERS = ("owner", "close_after", "close_before")
LOST_REASONS = [
    "Price too high",
    "Chose a competitor",
    "No budget this year",
    "Project cancelled",
    "No decision, went silent",
    "Delivery time too long",
]


def _bad_request(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    return render(request, "sfa/error.html", {"errors": exc.messages}, status=400)


def _pipeline(request: HttpRequest, params: Any) -> Pipeline:
    """The pipeline asked for (``?pipeline=<id>``), else the default one."""
    pk = params.get("pipeline")
    if pk:
        return get_object_for(request.user, Pipeline.objects.all(), pk)
    return pipeline_default()


def _next_url(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return target
    return fallback


# --- The board -------------------------------------------------------------------------------------


@dataclass
class BoardParams:
    pipeline: Pipeline
    filters: dict[str, str]
    closed_days: int

    @property
    def url(self) -> str:
        query = {**self.filters, "closed": self.closed_days, "pipeline": self.pipeline.pk}
        return f"{reverse('leads:board')}?{urlencode(query)}"

    def totals(self, actor: User) -> reports.Totals:
        return reports.open_totals(actor=actor, pipeline=self.pipeline, filters=self.filters)


def _board_params(request: HttpRequest, data: Any) -> BoardParams:
    filters = {k: data.get(k) for k in BOARD_FILTERS if data.get(k)}
    try:
        closed_days = int(data.get("closed") or 90)
    except ValueError as exc:
        raise ValidationError({"closed": "Choose how far back closed deals are shown."}) from exc
    if closed_days not in dict(CLOSED_WINDOWS):
        raise ValidationError({"closed": "Choose how far back closed deals are shown."})
    return BoardParams(pipeline=_pipeline(request, data), filters=filters, closed_days=closed_days)


def _columns(request: HttpRequest, params: BoardParams, stage_ids: list[int] | None = None) -> list[reports.Column]:
    return reports.board_columns(
        actor=request.user,
        pipeline=params.pipeline,
        filters=params.filters,
        closed_days=params.closed_days or None,
        stage_ids=stage_ids,
    )


@require_GET
def board(request: HttpRequest) -> HttpResponse:
    try:
        params = _board_params(request, request.GET)
        columns = _columns(request, params)
    except ValidationError as exc:
        return _bad_request(request, exc)
    context = {
        "params": params,
        "columns": columns,
        "stages": [c.stage for c in columns],
        "totals": params.totals(request.user),
        "owners": selectors.visible_owners(actor=request.user),
        "pipelines": selectors.visible_pipelines(actor=request.user),
        "closed_windows": CLOSED_WINDOWS,
        "can_add": can(request.user, "add", Opportunity),
        "tab": "board",
    }
    return render_page(request, "leads/pipeline/board.html", context, partial="board")


@require_POST
def opportunity_move(request: HttpRequest, pk: int) -> HttpResponse:
    """Move one card to another stage (drag and drop, or the card's "Move to…" form) through
    services.opportunity_move. For HTMX it answers a message and the two columns concerned, re-rendered
    from the database, so a refused move snaps back; a lost deal without a reason gets the dialog asking
    for it. Without JavaScript it redirects back to the board (or shows the reason form)."""
    try:
        params = _board_params(request, request.POST)
    except ValidationError as exc:
        return _bad_request(request, exc)
    from_stage, target = _int(request.POST.get("from_stage")), _int(request.POST.get("stage"))
    stage = None
    try:
        opportunity = selectors.opportunity_get(actor=request.user, pk=pk, action="change")
        from_stage, params.pipeline = opportunity.stage_id, opportunity.pipeline
        stage = get_object_for(request.user, Stage.objects.select_related("pipeline"), request.POST.get("stage"))
        if stage.pk == opportunity.stage_id:
            return _move_answer(
                request, params, opportunity, [from_stage], "info", f"{opportunity} is in {stage} already."
            )
        services.opportunity_move(
            opportunity=opportunity,
            stage=stage,
            actor=request.user,
            via="board",
            lost_reason=request.POST.get("lost_reason", "").strip(),
        )
    except Http404:
        text = "This opportunity is not on your board (any more), or that stage does not exist."
        return _move_answer(request, params, None, [from_stage, target], "error", text, status=404)
    except PermissionDenied as exc:
        text = f"Not moved: {exc}"
        return _move_answer(request, params, None, [from_stage, target], "error", text, status=403)
    except ValidationError as exc:
        if hasattr(exc, "error_dict") and "lost_reason" in exc.error_dict:
            return _lost_reason_answer(request, params, opportunity, stage, [from_stage, target])
        text = f"Not moved: {' '.join(exc.messages)}"
        return _move_answer(request, params, opportunity, [from_stage, target], "error", text, status=400)
    text = f"Moved “{opportunity}” to {stage}."
    return _move_answer(request, params, opportunity, [from_stage, stage.pk], "success", text)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _move_answer(
    request: HttpRequest,
    params: BoardParams,
    opportunity: Opportunity | None,
    stage_ids: list[int | None],
    level: str,
    text: str,
    status: int = 200,
    dialog: dict | None = None,
) -> HttpResponse:
    if not request.htmx:
        getattr(messages, level)(request, text)
        return redirect(_next_url(request, params.url))
    ids = [s for s in dict.fromkeys(stage_ids) if s is not None]
    columns = _columns(request, params, stage_ids=ids) if ids else []
    context = {
        "level": level,
        "text": text,
        "columns": columns,
        "stages": list(params.pipeline.stages.order_by("order")),
        "params": params,
        "focus": f"opp-{opportunity.pk}" if opportunity is not None and level == "success" else "",
        "dialog": dialog,
        "totals": params.totals(request.user) if level == "success" else None,
    }
    return render(request, "leads/pipeline/_move_answer.html", context, status=status)


def _lost_reason_answer(
    request: HttpRequest, params: BoardParams, opportunity: Opportunity, stage: Stage, stage_ids: list[int | None]
) -> HttpResponse:
    asked = "lost_reason" in request.POST
    dialog = {
        "opportunity": opportunity,
        "stage": stage,
        "error": "Say why the opportunity was lost." if asked else "",
        "next": _next_url(request, params.url),
        "suggestions": LOST_REASONS,
    }
    if not request.htmx:
        context = {"dialog": dialog, "params": params, "tab": "board"}
        return render(request, "leads/pipeline/lost_reason.html", context, status=400 if asked else 200)
    text = f"Why was “{opportunity}” lost? Say it in the dialog to move it to {stage}."
    # Both columns come back as stored: the card dropped on "Closed lost" returns until the reason is given.
    return _move_answer(request, params, opportunity, stage_ids, "info", text, dialog=dialog)


# --- The list ---------------------------------------------------------------------------------------

LIST_SORTS = [
    Sort("close", "expected_close", "Expected close"),
    Sort("amount", "amount", "Amount"),
    Sort("name", "name", "Name"),
    Sort("stage", "stage__order", "Stage"),
    Sort("created", "created_at", "Created"),
]


@require_GET
def opportunity_list(request: HttpRequest) -> HttpResponse:
    params = request.GET.copy()
    # Open deals unless asked otherwise: "all" (or an empty choice) shows closed ones too.
    if "is_open" not in params:
        params["is_open"] = "true"
    elif params["is_open"] in ("", "all"):
        del params["is_open"]
    try:
        qs = apply_filters(OpportunityListFilter, params, selectors.opportunity_list(actor=request.user))
        page = keyset_page(qs, request.GET, sorts=LIST_SORTS, default="close")
    except ValidationError as exc:
        return _bad_request(request, exc)
    today = timezone.localdate()
    for row in page.rows:
        row.amount_display = reports.format_money(row.amount, row.currency)
        row.is_overdue = row.expected_close < today and row.forecast_category not in reports.CLOSED
    pipelines = selectors.visible_pipelines(actor=request.user)
    context = {
        "page": page,
        "owners": selectors.visible_owners(actor=request.user),
        "stages": Stage.objects.filter(pipeline__in=pipelines).select_related("pipeline").order_by("pipeline", "order"),
        "categories": ForecastCategory.choices,
        "can_add": can(request.user, "add", Opportunity),
        "is_open": params.get("is_open", "all"),
        "tab": "list",
    }
    return render_page(request, "leads/pipeline/list.html", context, partial="results")


# --- One opportunity --------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def opportunity_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The deal: details, lines, the edit form (opportunity_update, via="form") and the stage history."""
    opportunity = selectors.opportunity_get(actor=request.user, pk=pk)
    can_change = can(request.user, "change", opportunity)
    if request.method == "POST" and not can_change:
        raise PermissionDenied("Your role does not allow you to change this opportunity.")
    form = (
        OpportunityEditForm(request.POST or None, opportunity=opportunity, actor=request.user) if can_change else None
    )
    status = 200
    if form is not None and request.method == "POST":
        if form.is_valid():
            try:
                changed = services.opportunity_update(
                    opportunity=opportunity, actor=request.user, data=form.service_data(), via="form"
                )
            except ValidationError as exc:
                add_form_errors(form, exc)
            except PermissionDenied as exc:
                form.add_error(None, str(exc))
            else:
                if changed:
                    labels = [
                        str(form.fields[f].label or f.replace("_", " ")).lower() for f in changed if f in form.fields
                    ]
                    messages.success(request, f"Saved: {', '.join(labels)}." if labels else "Saved.")
                else:
                    messages.info(request, "Nothing changed.")
                return redirect("leads:opportunity-detail", pk=opportunity.pk)
        status = 400
        opportunity = selectors.opportunity_get(actor=request.user, pk=pk)  # the form may have touched the instance
    line_form = OpportunityLineForm(actor=request.user) if can_change else None
    return _detail_page(request, opportunity, form=form, line_form=line_form, status=status)


def _detail_page(
    request: HttpRequest,
    opportunity: Opportunity,
    *,
    form: OpportunityEditForm | None,
    line_form: OpportunityLineForm | None,
    status: int = 200,
) -> HttpResponse:
    can_change = can(request.user, "change", opportunity)
    history, stage_times = reports.opportunity_history(actor=request.user, opportunity=opportunity)
    lines = list(opportunity.lines.select_related("product", "configuration"))
    for line in lines:
        line.total_display = reports.format_money(line.quantity * line.unit_price, opportunity.currency)
        line.unit_display = reports.format_money(line.unit_price, opportunity.currency)
    longest = max((t.duration for t in stage_times), default=timedelta(0))
    for t in stage_times:
        t.share = f"{100 * t.duration / longest:.1f}" if longest else "0"
    context = {
        "opportunity": opportunity,
        "amount_display": reports.format_money(opportunity.amount, opportunity.currency),
        "weighted_display": reports.format_money(
            opportunity.amount * opportunity.probability / Decimal(100), opportunity.currency
        ),
        "lines": lines,
        "lines_total": reports.format_money(
            sum((li.quantity * li.unit_price for li in lines), Decimal(0)), opportunity.currency
        ),
        "form": form,
        "line_form": line_form,
        "history": history,
        "stage_times": stage_times,
        "can_change": can_change,
        "panels": opportunity_panels(request, opportunity),
        "tab": "list",
    }
    return render(request, "leads/pipeline/detail.html", context, status=status)


@require_POST
def opportunity_line_add(request: HttpRequest, pk: int) -> HttpResponse:
    """Add a line (services.opportunity_line_add): back to the deal, or the deal with the form's errors."""
    opportunity = selectors.opportunity_get(actor=request.user, pk=pk, action="change")
    line_form = OpportunityLineForm(request.POST, actor=request.user)
    if line_form.is_valid():
        try:
            line = services.opportunity_line_add(
                opportunity=opportunity, actor=request.user, via="form", **line_form.service_kwargs()
            )
        except ValidationError as exc:
            add_form_errors(line_form, exc)
        except PermissionDenied as exc:
            line_form.add_error(None, str(exc))
        else:
            messages.success(request, f"Added “{line}”: the amount is now the lines' total.")
            return redirect(reverse("leads:opportunity-detail", args=[opportunity.pk]) + "#lines")
    edit_form = OpportunityEditForm(opportunity=opportunity, actor=request.user)
    return _detail_page(request, opportunity, form=edit_form, line_form=line_form, status=400)


@require_POST
def opportunity_line_remove(request: HttpRequest, pk: int, line_id: int) -> HttpResponse:
    """Take a line off the deal (services.opportunity_line_remove) and go back to the deal."""
    opportunity = selectors.opportunity_get(actor=request.user, pk=pk, action="change")
    line = OpportunityLine.objects.filter(opportunity=opportunity, pk=line_id).first()
    if line is None:
        raise Http404(f"Opportunity {opportunity} has no line with id {line_id}.")
    try:
        services.opportunity_line_remove(line=line, actor=request.user, via="form")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Removed “{line}”: the amount is now the lines' total.")
    return redirect(reverse("leads:opportunity-detail", args=[opportunity.pk]) + "#lines")


ACCOUNT_CHOICES = 60


def _account_options(request: HttpRequest, query: str, selected: Account | None) -> list[Account]:
    accounts = contact_selectors.account_list(actor=request.user, filters={"q": query} if query else None)
    if not query:
        accounts = accounts.filter(owner=request.user)
    options = list(accounts.order_by("name_key", "id")[:ACCOUNT_CHOICES])
    if selected is not None and all(a.pk != selected.pk for a in options):
        options.insert(0, selected)
    return options


def _contact_options(request: HttpRequest, account: Account | None) -> list[Contact]:
    if account is None:
        return []
    return list(
        contact_selectors.contact_list(actor=request.user).filter(account=account).order_by("last_key", "id")[:200]
    )


@require_http_methods(["GET", "POST"])
def opportunity_new(request: HttpRequest) -> HttpResponse:
    """A new deal through opportunity_create. The account list answers a search (HTMX as you type, or the
    "Find" button without JavaScript); the person list follows the chosen account."""
    require(request.user, "add", Opportunity)
    data = request.POST if request.method == "POST" else None
    initial = {
        "account": request.GET.get("account"),
        "contact": request.GET.get("contact"),
        "expected_close": timezone.localdate() + timedelta(days=90),
        "stage": pipeline_default().stages.order_by("order").first(),
        "owner": request.user.pk,
    }
    finding = data is not None and "find" in data
    if finding:  # the "Find" button (no JavaScript): show the matches, not errors on a half-filled form
        form = OpportunityCreateForm(None, actor=request.user, initial={**initial, **data.dict()})
    else:
        form = OpportunityCreateForm(data, actor=request.user, initial=initial)
    source = data or request.GET
    account = _chosen(form.fields["account"].queryset, source.get("account"))
    if account is None and data is None and initial["contact"]:
        contact = _chosen(form.fields["contact"].queryset, initial["contact"])
        account = contact.account if contact else None
        form.initial["account"] = account.pk if account else None
    query = source.get("account_q", "").strip()
    status = 200
    if data is not None and not finding:
        if form.is_valid():
            try:
                opportunity = services.opportunity_create(actor=request.user, via="form", **form.service_kwargs())
            except ValidationError as exc:
                add_form_errors(form, exc)
            except PermissionDenied as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, f"“{opportunity}” is in {opportunity.stage}.")
                return redirect("leads:opportunity-detail", pk=opportunity.pk)
        status = 400
    context = {
        "form": form,
        "account_options": _account_options(request, query, account),
        "account_q": query,
        "selected_account": account.pk if account else None,
        "contact_options": _contact_options(request, account),
        "selected_contact": _int(source.get("contact")),
        "tab": "list",
    }
    part = request.GET.get("part")
    if request.htmx and part in ("accounts", "contacts"):
        return render(request, f"leads/pipeline/new.html#{part}", context)
    return render(request, "leads/pipeline/new.html", context, status=status)


def _chosen(queryset: QuerySet, pk: Any) -> Any:
    pk = _int(pk)
    return queryset.filter(pk=pk).first() if pk else None


# --- Reports ----------------------------------------------------------------------------------------


def _periods(today: date) -> list[tuple[str, date, date]]:
    quarter_start = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    last_quarter_end = quarter_start - timedelta(days=1)
    last_quarter_start = date(last_quarter_end.year, 3 * ((last_quarter_end.month - 1) // 3) + 1, 1)
    return [
        ("Last 30 days", today - timedelta(days=29), today),
        ("Last 90 days", today - timedelta(days=89), today),
        ("This quarter", quarter_start, today),
        ("Last quarter", last_quarter_start, last_quarter_end),
        ("Last 12 months", today - timedelta(days=364), today),
    ]


def _aware(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


@require_GET
def pipeline_reports(request: HttpRequest) -> HttpResponse:
    form = ReportForm(request.GET)
    if not form.is_valid():
        return _bad_request(request, ValidationError([e for errors in form.errors.values() for e in errors]))
    today = timezone.localdate()
    end = form.cleaned_data["end"] or today
    start = form.cleaned_data["start"] or end - timedelta(days=89)
    try:
        pipeline = _pipeline(request, request.GET)
        report = reports.pipeline_report(
            actor=request.user,
            pipeline=pipeline,
            since=_aware(start),
            until=_aware(end + timedelta(days=1)),
            owner=form.cleaned_data["owner"],
            currency=(form.cleaned_data["currency"] or "").upper() or None,
        )
    except ValidationError as exc:
        return _bad_request(request, exc)
    money = partial(reports.format_money, currency=report.currency)
    context = {
        "report": report,
        "money": money,
        "start": start,
        "end": end,
        "periods": [(label, s, e, s == start and e == end) for label, s, e in _periods(today)],
        "pipeline": pipeline,
        "pipelines": selectors.visible_pipelines(actor=request.user),
        "owners": selectors.visible_owners(actor=request.user),
        "owner": form.cleaned_data["owner"],
        "charts": _report_charts(report, money),
        "movement": _movement_rows(report, money),
        "rates": _rate_rows(report, money),
        "tab": "reports",
    }
    return render(request, "leads/pipeline/reports.html", context)


# --- Charts: geometry for the inline SVG templates (leads/pipeline/_chart.html) ------------------------

ROW_HEIGHT = 44
BAR_HEIGHT = 14


def _chart(
    chart_id: str, title: str, bars: list[dict[str, Any]], *, scale: float | None = None, centred: bool = False
) -> dict[str, Any]:
    """Horizontal bars, one row each: label left and value right on a line, the bar below it.

    Each bar gives ``label``, ``display`` and ``value`` (or ``start`` and ``end`` for a floating bar of a
    waterfall). Positions are percentages of the width, so the SVG follows its container's width while
    its text keeps its size on a phone.
    """
    top = scale or max([abs(b.get("end", b.get("value", 0)) or 0) for b in bars] + [0]) or 1
    rows = []
    for index, bar in enumerate(bars):
        start, end = float(bar.get("start", 0)), float(bar.get("end", bar.get("value", 0)) or 0)
        low, high = sorted((start, end))
        width = 100 * (high - low) / float(top)
        x = (100 - width) / 2 if centred else 100 * low / float(top)
        y = index * ROW_HEIGHT
        rows.append(
            {
                **bar,
                "x": f"{max(0.0, x):.2f}",
                "w": f"{max(0.0, min(100.0, width)):.2f}",
                "label_y": y + 14,
                "bar_y": y + 22,
                "tone": bar.get("tone", "primary"),
            }
        )
    return {
        "id": chart_id,
        "title": title,
        "bars": rows,
        "height": len(bars) * ROW_HEIGHT,
        "bar_height": BAR_HEIGHT,
        "centred": centred,
    }


def _report_charts(report: reports.PipelineReport, money) -> dict[str, Any]:
    movement = report.movement
    start = float(movement.open_start_amount)
    steps = [
        ("Open at the start", 0.0, start, "neutral", money(movement.open_start_amount)),
    ]
    level = start
    for kind, sign, tone in (("entered", 1, "ok"), ("won", -1, "won"), ("lost", -1, "danger")):
        amount = float(movement.row(kind).amount)
        steps.append(
            (
                movement.row(kind).label,
                level,
                level + sign * amount,
                tone,
                f"{'+' if sign > 0 else '−'}{money(movement.row(kind).amount)}",
            )
        )
        level += sign * amount
    other = float(movement.other_change)
    steps.append(
        (
            "Amount changes, reopened",
            level,
            level + other,
            "warn",
            f"{'+' if other >= 0 else '−'}{money(abs(movement.other_change))}",
        )
    )
    steps.append(("Open at the end", 0.0, float(movement.open_end_amount), "neutral", money(movement.open_end_amount)))
    top = max([max(s[1], s[2]) for s in steps] + [1])
    waterfall = _chart(
        "chart-movement",
        "Open pipeline from the start to the end of the period",
        [
            {"label": label, "start": max(0.0, a), "end": max(0.0, b), "tone": tone, "display": shown}
            for label, a, b, tone, shown in steps
        ],
        scale=top,
    )
    durations = _chart(
        "chart-durations",
        "Median days in each stage",
        [
            {
                "label": d.stage.name,
                "value": d.median_days or 0,
                "display": f"{d.median_days:g} days" if d.median_days is not None else "—",
            }
            for d in report.durations
        ],
    )
    rates = _chart(
        "chart-win-rates",
        "Win rate per owner",
        [
            {
                "label": str(r.owner),
                "value": r.rate or 0,
                "display": f"{r.rate:g}% of {r.closed}",
                "tone": "won",
            }
            for r in report.win_rates
        ]
        + (
            [
                {
                    "label": "Everyone",
                    "value": report.overall.rate or 0,
                    "display": f"{report.overall.rate:g}% of {report.overall.closed}",
                    "tone": "neutral",
                }
            ]
            if report.overall.closed
            else []
        ),
        scale=100,
    )
    funnel = _chart(
        "chart-funnel",
        "How far the opportunities created in the period got",
        [
            {
                "label": step.stage.name,
                "value": step.reached,
                "display": f"{step.reached}" + (f" · {step.share:g}%" if step.share is not None else ""),
                "tone": "won" if step.stage.is_closed else "primary",
            }
            for step in report.funnel
        ],
        centred=True,
    )
    return {"waterfall": waterfall, "durations": durations, "rates": rates, "funnel": funnel}


def _movement_rows(report: reports.PipelineReport, money) -> list[dict[str, Any]]:
    out = []
    for row in report.movement.rows:
        out.append(
            {
                "row": row,
                "amount": money(row.amount),
                "items": [{"item": item, "amount": money(item.amount)} for item in row.items[:25]],
                "more": max(0, row.count - 25),
            }
        )
    return out


def _rate_rows(report: reports.PipelineReport, money) -> list[dict[str, Any]]:
    return [
        {"rate": r, "won": money(r.won_amount), "lost": money(r.lost_amount)}
        for r in [*report.win_rates, report.overall]
    ]


urlpatterns: list = [
    path("pipeline/", board, name="board"),
    path("pipeline/list/", opportunity_list, name="opportunity-list"),
    path("pipeline/reports/", pipeline_reports, name="pipeline-reports"),
    path("opportunities/new/", opportunity_new, name="opportunity-create"),
    path("opportunities/<int:pk>/", opportunity_detail, name="opportunity-detail"),
    path("opportunities/<int:pk>/move/", opportunity_move, name="opportunity-move"),
    path("opportunities/<int:pk>/lines/", opportunity_line_add, name="opportunity-line-add"),
    path("opportunities/<int:pk>/lines/<int:line_id>/remove/", opportunity_line_remove, name="opportunity-line-remove"),
]
