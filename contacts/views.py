"""Pages for accounts, contacts, touches, follow-ups, search and the outreach guard. Thin callers."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from contacts import selectors, services
from contacts.duplicates import DuplicateBlocked, DuplicateWarning, matching_settings
from contacts.filters import ContactFilter, TouchFilter
from contacts.forms import (
    AccountForm,
    CampaignForm,
    ConsentForm,
    ContactForm,
    OutreachSettingsForm,
    PurposeForm,
    TouchForm,
)
from contacts.guard import guard_check, outreach_settings
from contacts.matching.engine import LINK, contact_candidates
from contacts.matching.score import PersonRecord
from contacts.models import Account, Campaign, Channel, Contact, FollowUp, GuardLog, Purpose, Touch
from contacts.normalize import PhoneError, phone_e164
from contacts.ui import customer_panels
from sfa.audit import audit_history
from sfa.listing import Sort, keyset_page
from sfa.models import Department
from sfa.permissions import can, get_object_for, require
from sfa.views import add_form_errors, render_page

CONTACT_SORTS = [Sort("name", "last_key", "Name"), Sort("city", "city", "City"), Sort("created", "created_at", "Added")]
ACCOUNT_SORTS = [Sort("name", "name_key", "Name"), Sort("city", "city", "City"), Sort("created", "created_at", "Added")]
TIMELINE_SORTS = [Sort("at", "at", "When")]


def _bad_request(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    return render(request, "sfa/error.html", {"errors": exc.messages}, status=400)


# --- Contacts ------------------------------------------------------------------------------------


@require_GET
def contact_list(request: HttpRequest) -> HttpResponse:
    try:
        page = keyset_page(
            selectors.contact_list(actor=request.user, filters=request.GET),
            request.GET,
            sorts=CONTACT_SORTS,
            default="name",
        )
    except ValidationError as exc:
        return _bad_request(request, exc)
    context = {
        "page": page,
        "can_add": can(request.user, "add", Contact),
        "export_query": request.GET.urlencode(),
        "filter_form": ContactFilter(request.GET or None).form,
    }
    return render_page(request, "contacts/contact_list.html", context, partial="results")


@require_GET
def contact_detail(request: HttpRequest, pk: int) -> HttpResponse:
    contact = selectors.contact_get(actor=request.user, pk=pk)
    if contact.merged_into_id:  # merged: the old address leads to the survivor
        messages.info(request, f"Contact #{pk} was merged into this one.")
        return redirect("contacts:contact-detail", pk=selectors.survivor_of(contact).pk)
    try:
        page = keyset_page(
            selectors.timeline(actor=request.user, contact=contact, filters=request.GET),
            request.GET,
            sorts=TIMELINE_SORTS,
            default="-at",
        )
    except ValidationError as exc:
        return _bad_request(request, exc)
    context = {
        "contact": contact,
        "page": page,
        "upcoming": selectors.upcoming(actor=request.user, contact=contact)[:20],
        "followups": contact.followups.filter(status=FollowUp.Status.OPEN).select_related("assignee"),
        "filters": _timeline_filters(request),
        "can_change": can(request.user, "change", contact),
        "consent_form": ConsentForm(),
        "history": audit_history(actor=request.user, instance=contact, limit=30),
        "merges": selectors.merges_into(actor=request.user, record=contact)[:10],
        "panels": customer_panels(request, contact),
    }
    return render_page(request, "contacts/contact_detail.html", context, partial="timeline")


def _timeline_filters(request: HttpRequest) -> dict:
    return {
        "departments": Department.objects.all(),
        "purposes": Purpose.objects.all(),
        "channels": Channel.choices,
        "form": TouchFilter(request.GET or None).form,
    }


@require_http_methods(["GET", "POST"])
def contact_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    contact = selectors.contact_get(actor=request.user, pk=pk, action="change") if pk else None
    if contact is None:
        require(request.user, "add", Contact)
    initial = {"owner": request.user.pk, "account": request.GET.get("account")}
    if contact is not None:
        initial = {
            **{
                f: getattr(contact, f)
                for f in (
                    "first_name",
                    "last_name",
                    "title",
                    "street",
                    "postcode",
                    "city",
                    "region",
                    "country",
                    "birth_date",
                    "preferences",
                    "do_not_contact",
                    "do_not_contact_source",
                )
            },
            "account": contact.account_id,
            "owner": contact.owner_id,
            "tags": ", ".join(contact.tags),
            "emails": "\n".join(e.email for e in contact.emails.all()),
            "phones": "\n".join(p.display for p in contact.phones.all()),
        }
    form = ContactForm(request.POST or None, initial=initial)
    duplicates = None
    if request.method == "POST" and form.is_valid():
        data, emails, phones = form.service_data()
        try:
            if contact is None:
                contact = services.contact_create(
                    actor=request.user,
                    emails=emails,
                    phones=phones,
                    allow_duplicate=form.cleaned_data["allow_duplicate"],
                    **data,
                )
                messages.success(request, f"{contact} added.")
            else:
                services.contact_update(contact=contact, actor=request.user, data=data, emails=emails, phones=phones)
                messages.success(request, f"{contact} saved.")
        except DuplicateWarning as exc:
            duplicates = _duplicates_context(exc)
        except ValidationError as exc:
            add_form_errors(form, exc)
        else:
            return redirect("contacts:contact-detail", pk=contact.pk)
    title = f"Edit {contact}" if contact else "New contact"
    cancel = reverse("contacts:contact-detail", args=[contact.pk]) if contact else reverse("contacts:contact-list")
    context = {
        "form": form,
        "title": title,
        "cancel_url": cancel,
        "duplicates": duplicates,
        "creating": contact is None,
    }
    return render(request, "contacts/contact_form.html", context, status=409 if duplicates else 200)


def _duplicates_context(exc: DuplicateWarning) -> dict:
    found = {
        c.pk: c
        for c in Contact.objects.filter(pk__in=[m.id for m in exc.candidates])
        .select_related("account")
        .prefetch_related("emails", "phones")
    }
    return {
        "blocked": isinstance(exc, DuplicateBlocked),
        "matches": [(found[m.id], m) for m in exc.candidates if m.id in found][:5],
    }


@require_POST
def contact_check_duplicates(request: HttpRequest) -> HttpResponse:
    """'Is it one of these?' while the new contact's form is being filled in (HTMX)."""
    require(request.user, "add", Contact)
    form = ContactForm(request.POST)
    form.is_valid()  # partial input is fine here: use what is clean
    data = form.cleaned_data
    emails = [e for e in (data.get("emails") or "").split() if "@" in e]
    phones = []
    for raw in (data.get("phones") or "").splitlines():
        try:
            phones.append(phone_e164(raw, (data.get("country") or "").upper() or None))
        except PhoneError:
            continue
    if not (data.get("last_name") or emails or phones):
        return HttpResponse("")
    record = PersonRecord(
        id=0,
        first_name=data.get("first_name", ""),
        last_name=data.get("last_name", ""),
        emails=emails,
        phones=phones,
        company=data["account"].name if data.get("account") else "",
        street=data.get("street", ""),
        city=data.get("city", ""),
        postcode=data.get("postcode", ""),
        birth_date=data.get("birth_date"),
    )
    matches = contact_candidates(record)
    if not matches:
        return HttpResponse('<div id="duplicates"></div>')
    exc = (
        DuplicateBlocked(matches)
        if matches[0].score >= LINK and matching_settings().contact_mode == "block"
        else DuplicateWarning(matches)
    )
    return render(request, "contacts/partials/_duplicates.html", {"duplicates": _duplicates_context(exc)})


@require_POST
def consent_set(request: HttpRequest, pk: int) -> HttpResponse:
    contact = selectors.contact_get(actor=request.user, pk=pk)
    form = ConsentForm(request.POST)
    if form.is_valid():
        services.consent_set(contact=contact, actor=request.user, **form.cleaned_data)
        messages.success(request, "Consent recorded.")
    else:
        messages.error(
            request,
            "The consent form was incomplete: " + "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()),
        )
    return redirect("contacts:contact-detail", pk=contact.pk)


# --- Accounts ------------------------------------------------------------------------------------


@require_GET
def account_list(request: HttpRequest) -> HttpResponse:
    try:
        page = keyset_page(
            selectors.account_list(actor=request.user, filters=request.GET),
            request.GET,
            sorts=ACCOUNT_SORTS,
            default="name",
        )
    except ValidationError as exc:
        return _bad_request(request, exc)
    context = {"page": page, "can_add": can(request.user, "add", Account), "segments": Account.Segment.choices}
    return render_page(request, "contacts/account_list.html", context, partial="results")


@require_GET
def account_detail(request: HttpRequest, pk: int) -> HttpResponse:
    account = selectors.account_get(actor=request.user, pk=pk)
    if account.merged_into_id:
        messages.info(request, f"Account #{pk} was merged into this one.")
        return redirect("contacts:account-detail", pk=selectors.survivor_of(account).pk)
    try:
        page = keyset_page(
            selectors.timeline(actor=request.user, account=account, filters=request.GET),
            request.GET,
            sorts=TIMELINE_SORTS,
            default="-at",
        )
    except ValidationError as exc:
        return _bad_request(request, exc)
    context = {
        "account": account,
        "page": page,
        "people": selectors.contact_list(actor=request.user).filter(account=account).order_by("last_key", "id")[:100],
        "upcoming": selectors.upcoming(actor=request.user, account=account)[:20],
        "filters": _timeline_filters(request),
        "can_change": can(request.user, "change", account),
        "history": audit_history(actor=request.user, instance=account, limit=30),
        "merges": selectors.merges_into(actor=request.user, record=account)[:10],
        "panels": customer_panels(request, account),
    }
    return render_page(request, "contacts/account_detail.html", context, partial="timeline")


@require_http_methods(["GET", "POST"])
def account_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    account = selectors.account_get(actor=request.user, pk=pk, action="change") if pk else None
    if account is None:
        require(request.user, "add", Account)
    fields = ("name", "website", "industry", "size", "segment", "street", "postcode", "city", "region", "country")
    initial = (
        {f: getattr(account, f) for f in fields} | {"owner": account.owner_id}
        if account
        else {"owner": request.user.pk}
    )
    form = AccountForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            if account is None:
                account = services.account_create(actor=request.user, **form.cleaned_data)
            else:
                services.account_update(account=account, actor=request.user, data=form.cleaned_data)
        except ValidationError as exc:
            add_form_errors(form, exc)
        else:
            messages.success(request, f"{account} saved.")
            return redirect("contacts:account-detail", pk=account.pk)
    title = f"Edit {account}" if account else "New account"
    cancel = reverse("contacts:account-detail", args=[account.pk]) if account else reverse("contacts:account-list")
    return render(request, "sfa/form.html", {"form": form, "title": title, "submit": "Save", "cancel_url": cancel})


# --- Touches -------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def touch_new(request: HttpRequest, pk: int) -> HttpResponse:
    """Log or plan a touch. The guard speaks inline as the user fills the form (HTMX ``check``), and
    again on save: a warning needs a reason, a block is refused unless a manager gives one."""
    contact = selectors.contact_get(actor=request.user, pk=pk)
    require(request.user, "add", Touch)
    form = TouchForm(request.POST or None)
    verdict, blocked = None, None
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        if "check" in request.POST:
            verdict = guard_check(
                contact=contact,
                purpose=d["purpose"],
                channel=d["channel"],
                at=d["at"],
                actor=request.user,
                direction=d["direction"],
            )
            return render(
                request,
                "contacts/partials/_guard.html",
                {"verdict": verdict, "form": form, "can_override_block": can(request.user, "override_block", Touch)},
            )
        try:
            touch = services.touch_log(
                actor=request.user,
                contact=contact,
                purpose=d["purpose"],
                channel=d["channel"],
                direction=d["direction"],
                at=d["at"],
                status=d["status"],
                outcome=d["outcome"],
                notes=d["notes"],
                override_reason=d["override_reason"],
                via="form",
                followup_due=d["followup_due"],
                followup_note=d["followup_note"],
            )
        except services.GuardWarning as exc:
            verdict = exc.verdict
        except services.GuardBlocked as exc:
            verdict, blocked = exc.verdict, exc
        except ValidationError as exc:
            add_form_errors(form, exc)
        else:
            messages.success(
                request,
                f"{touch.get_channel_display()} {'planned' if touch.status == 'planned' else 'logged'} for {contact}.",
            )
            return redirect("contacts:contact-detail", pk=contact.pk)
    elif request.method == "POST" and "check" in request.POST:
        return HttpResponse("")
    context = {
        "contact": contact,
        "form": form,
        "verdict": verdict,
        "blocked": blocked,
        "can_override_block": can(request.user, "override_block", Touch),
        "recent": selectors.timeline(actor=request.user, contact=contact)[:6],
        "upcoming": selectors.upcoming(actor=request.user, contact=contact)[:5],
    }
    return render(request, "contacts/touch_form.html", context, status=409 if verdict and not verdict.is_ok else 200)


@require_POST
def touch_status(request: HttpRequest, pk: int) -> HttpResponse:
    touch = get_object_for(request.user, Touch.objects.all(), pk, "change")
    try:
        services.touch_update(touch=touch, actor=request.user, data={"status": request.POST.get("status", "")})
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("contacts:contact-detail", pk=touch.contact_id)


# --- Follow-ups ----------------------------------------------------------------------------------


@require_GET
def followups(request: HttpRequest) -> HttpResponse:
    groups = selectors.followups_for(actor=request.user, user=request.user)
    return render(request, "contacts/followups.html", {"groups": groups, "today": timezone.localdate()})


@require_POST
def followup_close(request: HttpRequest, pk: int) -> HttpResponse:
    followup = get_object_for(request.user, FollowUp.objects.all(), pk, "change")
    try:
        services.followup_close(followup=followup, actor=request.user, status=request.POST.get("status", ""))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Follow-up “{followup.note}” {followup.get_status_display().lower()}.")
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect("contacts:followups")


# --- Search --------------------------------------------------------------------------------------


@require_GET
def search(request: HttpRequest) -> HttpResponse:
    results = selectors.search(actor=request.user, query=request.GET.get("q", ""), limit=8 if request.htmx else 25)
    template = "contacts/partials/_search_results.html" if request.htmx else "contacts/search.html"
    return render(request, template, {"results": results})


# --- Outreach: report, purposes, campaigns -------------------------------------------------------


@require_GET
def guard_report(request: HttpRequest) -> HttpResponse:
    require(request.user, "report", GuardLog)
    try:
        days = max(1, min(366, int(request.GET.get("days", 30))))
    except ValueError:
        days = 30
    until = timezone.now()
    report = selectors.guard_report(actor=request.user, since=until - timedelta(days=days), until=until)
    return render(request, "contacts/guard_report.html", {"report": report, "days": days})


@require_http_methods(["GET", "POST"])
def purposes(request: HttpRequest) -> HttpResponse:
    is_admin = can(request.user, "change", Purpose)
    purpose_form = PurposeForm(request.POST if "save_purpose" in request.POST else None, prefix="p")
    limits = outreach_settings()
    settings_form = OutreachSettingsForm(
        request.POST if "save_settings" in request.POST else None,
        initial={
            "frequency_cap": limits.frequency_cap,
            "frequency_window_days": limits.frequency_window_days,
            "frequency_mode": limits.frequency_mode,
        },
        prefix="s",
    )
    if request.method == "POST":
        require(request.user, "change", Purpose)
        if purpose_form.is_bound and purpose_form.is_valid():
            existing = Purpose.objects.filter(name__iexact=purpose_form.cleaned_data["name"].strip()).first()
            try:
                services.purpose_save(actor=request.user, purpose=existing, **purpose_form.cleaned_data)
            except ValidationError as exc:
                add_form_errors(purpose_form, exc)
            else:
                messages.success(request, "Purpose saved.")
                return redirect("contacts:purposes")
        if settings_form.is_bound and settings_form.is_valid():
            services.outreach_settings_update(actor=request.user, data=settings_form.cleaned_data)
            messages.success(request, "Outreach limits saved.")
            return redirect("contacts:purposes")
    context = {
        "purposes": selectors.purpose_list(actor=request.user, active_only=False),
        "purpose_form": purpose_form,
        "settings_form": settings_form,
        "limits": limits,
        "is_admin": is_admin,
    }
    return render(request, "contacts/purposes.html", context, status=400 if request.method == "POST" else 200)


@require_http_methods(["GET", "POST"])
def campaign_new(request: HttpRequest) -> HttpResponse:
    """Plan a touch for every contact matching the contact list's filters (at most 5,000)."""
    require(request.user, "add", Campaign)
    try:
        targets = selectors.contact_list(actor=request.user, filters=request.GET)
    except ValidationError as exc:
        return _bad_request(request, exc)
    count = targets.count()
    form = CampaignForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if not 0 < count <= 5000:
            form.add_error(None, f"A campaign plans 1 to 5,000 contacts; these filters match {count:,}.")
        else:
            try:
                campaign = services.campaign_plan(actor=request.user, contacts=list(targets), **form.cleaned_data)
            except ValidationError as exc:
                add_form_errors(form, exc)
            else:
                return redirect("contacts:campaign-detail", pk=campaign.pk)
    return render(
        request, "contacts/campaign_form.html", {"form": form, "count": count, "query": request.GET.urlencode()}
    )


@require_GET
def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_for(request.user, Campaign.objects.select_related("purpose", "created_by"), pk)
    return render(request, "contacts/campaign_detail.html", {"campaign": campaign, "report": campaign.report})
