"""Lead pages: list with the unassigned queue, detail, new lead, status, assignment, conversion."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from contacts.selectors import timeline
from leads import selectors, services
from leads.forms import ConvertForm, LeadForm, StatusForm
from leads.models import Lead, LeadSource, RelatedProductRule
from sfa.listing import Sort, keyset_page
from sfa.models import User
from sfa.permissions import can, require
from sfa.views import add_form_errors, render_page

LEAD_SORTS = [Sort("created", "created_at", "Added"), Sort("score", "score", "Score")]


@require_GET
def lead_list(request: HttpRequest) -> HttpResponse:
    try:
        qs = selectors.lead_list(actor=request.user, filters=request.GET)
        if request.GET.get("sort", "").lstrip("-") == "score":
            qs = qs.exclude(score__isnull=True)
        page = keyset_page(qs, request.GET, sorts=LEAD_SORTS, default="-created")
    except ValidationError as exc:
        return render(request, "sfa/error.html", {"errors": exc.messages}, status=400)
    context = {
        "page": page,
        "statuses": Lead.Status.choices,
        "sources": LeadSource.choices,
        "can_add": can(request.user, "add", Lead),
        "can_assign": can(request.user, "assign", Lead),
        "can_view_related_rules": can(request.user, "view", RelatedProductRule),
        "unassigned": selectors.lead_list(actor=request.user, filters={"unassigned": "true"}).count()
        if can(request.user, "assign", Lead)
        else 0,
        "bands": selectors.score_bands(actor=request.user)
        if request.user.is_manager or request.user.is_admin
        else None,
    }
    return render_page(request, "leads/lead_list.html", context, partial="results")


@require_GET
def lead_detail(request: HttpRequest, pk: int) -> HttpResponse:
    lead = selectors.lead_get(actor=request.user, pk=pk)
    context = {
        "lead": lead,
        "touches": timeline(actor=request.user, contact=lead.contact)[:20],
        "can_change": can(request.user, "change", lead),
        "can_assign": can(request.user, "assign", lead),
        "can_convert": can(request.user, "convert", lead) and lead.status not in ("converted", "disqualified"),
        "status_form": StatusForm(initial={"status": lead.status}),
        "convert_form": ConvertForm(
            initial={
                "new_account_name": lead.company,
                "opportunity_name": f"{lead.company or lead.contact} – first order",
                "expected_close": timezone.localdate() + timedelta(days=60),
            }
        ),
        "reps": User.objects.filter(is_active=True, role__in=["rep", "manager"]).order_by("last_name"),
    }
    return render(request, "leads/lead_detail.html", context)


@require_http_methods(["GET", "POST"])
def lead_new(request: HttpRequest) -> HttpResponse:
    require(request.user, "add", Lead)
    form = LeadForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            lead = services.lead_create(actor=request.user, **form.service_kwargs())
        except ValidationError as exc:
            add_form_errors(form, exc)
        else:
            messages.success(request, f"Lead {lead} added (score {lead.score}).")
            return redirect("leads:lead-detail", pk=lead.pk)
    return render(
        request, "sfa/form.html", {"form": form, "title": "New lead", "submit": "Add lead", "cancel_url": "/leads/"}
    )


@require_POST
def lead_status(request: HttpRequest, pk: int) -> HttpResponse:
    lead = selectors.lead_get(actor=request.user, pk=pk, action="change")
    form = StatusForm(request.POST)
    if form.is_valid():
        try:
            services.lead_update(lead=lead, actor=request.user, data={k: v for k, v in form.cleaned_data.items() if v})
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, f"Lead is now {lead.get_status_display().lower()}.")
    else:
        messages.error(request, "Choose a status.")
    return redirect("leads:lead-detail", pk=lead.pk)


@require_POST
def lead_assign(request: HttpRequest, pk: int) -> HttpResponse:
    lead = selectors.lead_get(actor=request.user, pk=pk, action="assign")
    owner = User.objects.filter(pk=request.POST.get("owner") or 0, is_active=True).first()
    services.lead_assign(lead=lead, actor=request.user, owner=owner)
    messages.success(request, f"Assigned to {lead.owner}." if lead.owner else "No rule matched: still unassigned.")
    return redirect("leads:lead-detail", pk=lead.pk)


@require_POST
def lead_convert(request: HttpRequest, pk: int) -> HttpResponse:
    lead = selectors.lead_get(actor=request.user, pk=pk, action="convert")
    form = ConvertForm(request.POST)
    if not form.is_valid():
        messages.error(request, "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()))
        return redirect("leads:lead-detail", pk=lead.pk)
    d = form.cleaned_data
    opportunity = None
    if d["create_opportunity"]:
        opportunity = {
            "name": d["opportunity_name"] or f"{lead.company or lead.contact}",
            "amount": d["amount"] or 0,
            "currency": d["currency"],
            "expected_close": d["expected_close"] or timezone.localdate(),
        }
    try:
        services.lead_convert(
            lead=lead,
            actor=request.user,
            account=d["account"],
            new_account_name=d["new_account_name"],
            opportunity=opportunity,
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("leads:lead-detail", pk=lead.pk)
    lead.refresh_from_db()
    messages.success(
        request,
        f"Converted: {lead.contact} is now a customer"
        + (f" at {lead.converted_account}" if lead.converted_account else "")
        + ".",
    )
    return redirect("contacts:contact-detail", pk=lead.contact_id)
