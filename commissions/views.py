"""Commission pages: statements (list, detail, compute, adjust, approve, CSV for payroll), plans (list, editor),
an order's split, and the panels on the order and opportunity pages. Thin: selectors read, services write."""

from __future__ import annotations

import csv
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from commissions import calculator, forms, selectors, services
from commissions.models import CommissionSplit, Plan, Rule, Statement
from orders import selectors as order_selectors
from sfa.audit import audit_history
from sfa.listing import Sort, keyset_page
from sfa.models import User
from sfa.permissions import can, require
from sfa.views import add_form_errors, render_page


def _text(exc: Exception) -> str:
    return " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)


def _bad_request(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    return render(request, "sfa/error.html", {"errors": exc.messages}, status=400)


# --- Statements: the list ------------------------------------------------------------------------------------

STATEMENT_SORTS = [Sort("period", "period", "Month"), Sort("total", "total", "Total")]


@require_GET
def statement_list(request: HttpRequest) -> HttpResponse:
    require(request.user, "view", Statement)
    try:
        qs = selectors.statement_list(actor=request.user, filters=request.GET)
        page = keyset_page(qs, request.GET, sorts=STATEMENT_SORTS, default="-period")
    except ValidationError as exc:
        return _bad_request(request, exc)
    today = timezone.localdate()
    this_month = calculator.month_start(today)
    context = {
        "page": page,
        "reps": selectors.rep_choices(actor=request.user),
        "statuses": Statement.Status.choices,
        "can_compute": can(request.user, "add", Statement),
        "can_view_plans": can(request.user, "view", Plan),
        "compute_form": forms.ComputeForm(initial={"first": calculator.month_add(this_month, -1), "last": this_month}),
        "export_query": request.GET.urlencode(),
    }
    return render_page(request, "commissions/statement_list.html", context, partial="results")


@require_POST
def statements_compute(request: HttpRequest) -> HttpResponse:
    """Start the background job that computes the statements of a range of months."""
    form = forms.ComputeForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect("commissions:statement-list")
    try:
        job = services.statements_compute_start(
            actor=request.user, first=form.cleaned_data["first"], last=form.cleaned_data["last"]
        )
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, _text(exc))
        return redirect("commissions:statement-list")
    messages.success(request, f"{job.title}: computing in the background.")
    return redirect("job-detail", pk=job.pk)


# --- Statements: one statement -------------------------------------------------------------------------------


def _progress(plan: dict[str, Any]) -> dict[str, Any] | None:
    """The tier bar of one plan: a segment per tier (its share of the scale, how much of it the rep has filled)
    and the attainment marker. The scale reaches a quarter past the top threshold, or past the attainment."""
    if not plan.get("tiers") or not plan.get("quota") or plan.get("attainment") is None:
        return None
    attainment = Decimal(plan["attainment"])
    tiers = sorted(plan["tiers"], key=lambda t: Decimal(t["threshold"]))
    top = Decimal(tiers[-1]["threshold"])
    scale = max(Decimal("125"), top * Decimal("1.25"), attainment * Decimal("1.08"))
    segments = []
    for i, tier in enumerate(tiers):
        start = Decimal(tier["threshold"])
        end = Decimal(tiers[i + 1]["threshold"]) if i + 1 < len(tiers) else scale
        filled = min(max(attainment - start, Decimal(0)), end - start)
        share = float(filled * 100 / (end - start)) if end > start else 0.0
        segments.append(
            {
                "index": i,
                "left": float(start * 100 / scale),
                "width": float((end - start) * 100 / scale),
                "filled": share,
                "rate": tier["rate"],
                "threshold": tier["threshold"],
                "reached": share >= 25,  # the rate's label sits on the filled part: white text
            }
        )
    return {"marker": float(attainment * 100 / scale), "attainment": attainment, "segments": segments}


def _plain(plan: dict[str, Any]) -> dict[str, Any] | None:
    """A plain attainment bar for a plan without tiers (the quota still tells the rep where they stand)."""
    if plan.get("tiers") or plan.get("attainment") is None:
        return None
    attainment = Decimal(plan["attainment"])
    return {"fill": float(min(attainment, Decimal(100))), "over": attainment >= 100}


@require_GET
def statement_detail(request: HttpRequest, pk: int) -> HttpResponse:
    statement = selectors.statement_get(actor=request.user, pk=pk)
    return _statement_page(request, statement)


def _statement_page(request: HttpRequest, statement: Statement, *, adjust_form=None, status: int = 200) -> HttpResponse:
    lines = list(selectors.statement_lines(statement))
    visible = selectors.visible_order_ids(actor=request.user, order_ids={li.order_id for li in lines if li.order_id})
    for line in lines:
        line.order_visible = line.order_id in visible
    own = request.user.pk == statement.rep_id and not request.user.is_admin
    draft = not statement.is_locked
    plans = [{**plan, "progress": _progress(plan), "plain": _plain(plan)} for plan in statement.summary]
    context = {
        "statement": statement,
        "lines": lines,
        "plans": plans,
        "late_lines": sum(1 for line in lines if line.late),
        "can_approve": draft and not own and can(request.user, "approve", statement) and statement.computed_at,
        "can_adjust": draft and not own and can(request.user, "change", statement),
        "can_compute": draft and can(request.user, "add", statement),
        "adjust_form": adjust_form or forms.AdjustForm(),
        "history": audit_history(actor=request.user, instance=statement, limit=20),
        "rules": Rule,
    }
    return render(request, "commissions/statement_detail.html", context, status=status)


@require_POST
def statement_approve(request: HttpRequest, pk: int) -> HttpResponse:
    statement = selectors.statement_get(actor=request.user, pk=pk)
    try:
        services.statement_approve(statement=statement, actor=request.user)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, _text(exc))
    else:
        messages.success(request, f"Statement {statement} approved: it is locked now.")
    return redirect("commissions:statement-detail", pk=statement.pk)


@require_POST
def statement_adjust(request: HttpRequest, pk: int) -> HttpResponse:
    statement = selectors.statement_get(actor=request.user, pk=pk)
    form = forms.AdjustForm(request.POST)
    if form.is_valid():
        try:
            services.statement_adjust(statement=statement, actor=request.user, **form.cleaned_data)
        except PermissionDenied as exc:
            messages.error(request, _text(exc))
        except ValidationError as exc:
            add_form_errors(form, exc)
        else:
            messages.success(request, f"Statement {statement}: adjustment of {form.cleaned_data['amount']} added.")
            return redirect("commissions:statement-detail", pk=statement.pk)
    if not form.errors:
        return redirect("commissions:statement-detail", pk=statement.pk)
    return _statement_page(request, statement, adjust_form=form, status=400)


@require_POST
def statement_recompute(request: HttpRequest, pk: int) -> HttpResponse:
    statement = selectors.statement_get(actor=request.user, pk=pk)
    try:
        job = services.statements_compute_start(
            actor=request.user, first=statement.period, last=statement.period, rep_ids=[statement.rep_id]
        )
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, _text(exc))
        return redirect("commissions:statement-detail", pk=statement.pk)
    messages.success(request, f"Statement {statement}: computing again in the background.")
    return redirect("job-detail", pk=job.pk)


# --- CSV exports ---------------------------------------------------------------------------------------------


class _Echo:
    def write(self, value: str) -> str:
        return value


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    """A spreadsheet runs a cell that starts like a formula (order line descriptions, notes): quote such text."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _csv(rows, columns: tuple[str, ...], filename: str) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())

    def stream():
        yield writer.writerow(columns)
        for row in rows:
            yield writer.writerow([_cell(value) for value in row])

    response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_GET
def export_payroll(request: HttpRequest) -> HttpResponse:
    """One row per rep and month (the statements the user sees, filtered like the list)."""
    require(request.user, "view", Statement)
    try:
        rows = selectors.payroll_rows(actor=request.user, filters=request.GET)
    except ValidationError as exc:
        return _bad_request(request, exc)
    return _csv(rows, selectors.PAYROLL_COLUMNS, f"commissions-payroll-{timezone.localdate():%Y%m%d}.csv")


@require_GET
def export_lines(request: HttpRequest) -> HttpResponse:
    """Every line of those statements: order, ledger entry, rule, basis, rate, amount."""
    require(request.user, "view", Statement)
    try:
        selectors.statement_list(actor=request.user, filters=request.GET).exists()  # bad filters answer 400 here
    except ValidationError as exc:
        return _bad_request(request, exc)
    rows = selectors.line_rows(actor=request.user, filters=request.GET)
    return _csv(rows, selectors.LINE_COLUMNS, f"commissions-lines-{timezone.localdate():%Y%m%d}.csv")


# --- Plans ---------------------------------------------------------------------------------------------------


@require_GET
def plan_list(request: HttpRequest) -> HttpResponse:
    require(request.user, "view", Plan)
    plans = list(selectors.plan_list(actor=request.user).order_by("-is_active", "-effective_from", "name"))
    for plan in plans:
        plan.can_change = can(request.user, "change", plan)
        plan.tier_rows = sorted(plan.tiers.all(), key=lambda t: t.threshold)
    return render(request, "commissions/plan_list.html", {"plans": plans, "can_add": can(request.user, "add", Plan)})


def _plan_initial(plan: Plan) -> dict[str, Any]:
    return {
        "users": [p.user for p in plan.participants.all() if p.user_id],
        "teams": [p.team for p in plan.participants.all() if p.team_id],
    }


@require_http_methods(["GET", "POST"])
def plan_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """Create a plan or change one: its fields, participants, tiers, category rates and SPIFs."""
    plan = selectors.plan_get(actor=request.user, pk=pk, action="change") if pk else None
    if plan is None:
        require(request.user, "add", Plan)
    if request.method == "POST":
        form = forms.PlanForm(request.POST, instance=plan)
        tiers = forms.TierFormSet(request.POST, prefix="tiers")
        rates = forms.CategoryRateFormSet(request.POST, prefix="rates")
        spifs = forms.SpifFormSet(request.POST, prefix="spifs")
        if all([form.is_valid(), tiers.is_valid(), rates.is_valid(), spifs.is_valid()]):
            data = {name: form.cleaned_data[name] for name in services.PLAN_FIELDS}
            try:
                saved = services.plan_save(
                    actor=request.user,
                    plan=plan,
                    data=data,
                    users=form.cleaned_data["users"],
                    teams=form.cleaned_data["teams"],
                    tiers=[(row["threshold"], row["rate"]) for row in forms.filled(tiers)],
                    category_rates=[(row["category"], row["rate"]) for row in forms.filled(rates)],
                    spifs=[
                        {k: row[k] for k in ("product", "amount_per_unit", "starts_on", "ends_on")}
                        for row in forms.filled(spifs)
                    ],
                )
            except ValidationError as exc:
                add_form_errors(form, exc)
            else:
                messages.success(request, f"Plan “{saved}” saved. Compute the open months again to apply it.")
                return redirect("commissions:plan-list")
    else:
        form = forms.PlanForm(instance=plan, initial=_plan_initial(plan) if plan else None)
        tiers = forms.TierFormSet(
            prefix="tiers",
            initial=[{"threshold": t.threshold, "rate": t.rate} for t in plan.tiers.all()] if plan else None,
        )
        rates = forms.CategoryRateFormSet(
            prefix="rates",
            initial=[{"category": r.category, "rate": r.rate} for r in plan.category_rates.all()] if plan else None,
        )
        spifs = forms.SpifFormSet(
            prefix="spifs",
            initial=[
                {
                    "product": s.product,
                    "amount_per_unit": s.amount_per_unit,
                    "starts_on": s.starts_on,
                    "ends_on": s.ends_on,
                }
                for s in plan.spifs.all()
            ]
            if plan
            else None,
        )
    context = {
        "plan": plan,
        "form": form,
        "tiers": tiers,
        "rates": rates,
        "spifs": spifs,
        "can_delete": plan is not None and can(request.user, "delete", plan) and not selectors.plan_in_use(plan),
        "history": audit_history(actor=request.user, instance=plan, limit=10) if plan else [],
    }
    return render(request, "commissions/plan_form.html", context, status=400 if form.errors else 200)


@require_POST
def plan_delete(request: HttpRequest, pk: int) -> HttpResponse:
    plan = selectors.plan_get(actor=request.user, pk=pk, action="delete")
    try:
        services.plan_delete(plan=plan, actor=request.user)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, _text(exc))
        return redirect("commissions:plan-edit", pk=plan.pk)
    messages.success(request, f"Plan “{plan}” deleted.")
    return redirect("commissions:plan-list")


# --- An order's split ----------------------------------------------------------------------------------------


@require_POST
def order_split(request: HttpRequest, pk: int) -> HttpResponse:
    """Set the split of an order from the order page: ``rep-N`` / ``percent-N`` pairs (empty rows ignored)."""
    order = order_selectors.order_get(actor=request.user, pk=pk)
    back = f"{reverse('orders:order-detail', args=[order.pk])}#commission"
    pairs = []
    try:
        for key in request.POST:
            if not key.startswith("rep-"):
                continue
            suffix = key.removeprefix("rep-")
            rep_id, percent = request.POST.get(key, "").strip(), request.POST.get(f"percent-{suffix}", "").strip()
            if not rep_id and not percent:
                continue
            rep = User.objects.filter(pk=rep_id, is_active=True).first() if rep_id.isdigit() else None
            if rep is None:
                raise ValidationError("Choose a person for each share.")
            pairs.append((rep, percent or "0"))
        services.order_splits_set(order=order, splits=pairs, actor=request.user)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, _text(exc))
        return redirect(back)
    messages.success(
        request,
        f"Order {order}: split saved." if pairs else f"Order {order}: the split is removed (100 % to the owner).",
    )
    return redirect(back)


# --- Panels on the order and opportunity pages (registered in CommissionsConfig.ready) ---------------------------


def order_panel(request: HttpRequest, order) -> dict[str, Any] | None:
    """The order's split (editable by the rep's managers) and the commission lines it made that the user sees."""
    data = selectors.order_commission(actor=request.user, order=order)
    if data is None:
        return None
    may_split = can(request.user, "change", CommissionSplit(order=order))
    data["can_split"] = may_split
    if may_split:
        data["people"] = list(
            User.objects.filter(is_active=True, department__is_sales=True).order_by("first_name", "last_name")
        )
        data["rows"] = [(s.rep_id, s.percent) for s in data["splits"]] + [(None, None)] * 2
        data["split_url"] = reverse("commissions:order-split", args=[order.pk])
    return data


def opportunity_panel(request: HttpRequest, opportunity) -> dict[str, Any] | None:
    """What the open deal would earn its owner if it closed this month (owner, their managers and admins)."""
    return selectors.opportunity_estimate(actor=request.user, opportunity=opportunity)
