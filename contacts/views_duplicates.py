"""The review queue, side-by-side comparison, merge and undo; contacts.merge and contacts.duplicates decide."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from contacts import selectors
from contacts.duplicates import (
    candidate_dismiss,
    duplicates_scan_start,
    matching_settings,
    matching_settings_update,
)
from contacts.forms import MatchingSettingsForm
from contacts.matching.engine import LINK, REVIEW
from contacts.merge import merge_preview, merge_undo, records_merge
from contacts.models import Account, Contact, MatchCandidate, MatchingSettings, Merge
from sfa.listing import Sort, keyset_page
from sfa.models import User
from sfa.permissions import can, get_object_for, require

QUEUE_SORTS = [Sort("score", "score", "Score")]
MODELS = {"contact": Contact, "account": Account}
FIELD_LABELS = {
    "first_name": "First name",
    "last_name": "Last name",
    "postcode": "Postcode",
    "birth_date": "Birth date",
}


def _subject(request: HttpRequest) -> str:
    subject = request.GET.get("subject") or request.POST.get("subject") or "contact"
    return subject if subject in MODELS else "contact"


@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    subject = _subject(request)
    try:
        pairs = selectors.candidate_queue(actor=request.user, subject=subject, filters=request.GET)
        page = keyset_page(pairs, request.GET, sorts=QUEUE_SORTS, default="-score")
    except ValidationError as exc:
        return render(request, "sfa/error.html", {"errors": exc.messages}, status=400)
    records = selectors.records_for_pairs(subject, page.rows)
    rows = [(p, records.get(p.a_id), records.get(p.b_id)) for p in page.rows]
    context = {
        "page": page,
        "rows": rows,
        "subject": subject,
        "link": LINK,
        "review": REVIEW,
        "owners": User.objects.filter(is_active=True, role__in=["rep", "manager"]).order_by("last_name"),
        "sources": MatchCandidate.Source.choices,
        "can_scan": can(request.user, "scan", MatchCandidate),
        "can_configure": can(request.user, "change", MatchingSettings),
        "matching": matching_settings(),
    }
    return render(request, "contacts/duplicates/queue.html", context)


@require_GET
def compare(request: HttpRequest) -> HttpResponse:
    """Records side by side, differing fields highlighted, a choice per field; two or more records."""
    subject = _subject(request)
    model = MODELS[subject]
    try:
        ids = [int(i) for i in request.GET.get("ids", "").split(",") if i.strip()]
    except ValueError:
        return render(request, "sfa/error.html", {"errors": ["The record ids must be numbers."]}, status=400)
    if len(set(ids)) < 2:
        return render(request, "sfa/error.html", {"errors": ["Choose at least two records to compare."]}, status=400)
    records = [get_object_for(request.user, model.objects.all(), pk) for pk in dict.fromkeys(ids)]
    merged = [r for r in records if r.merged_into_id]
    if merged:
        messages.warning(request, f"{merged[0]} was merged already.")
        return redirect(f"{_detail_url(subject)}{selectors.survivor_of(merged[0]).pk}/")
    survivor_id = int(request.GET.get("survivor") or records[0].pk)
    survivor = next((r for r in records if r.pk == survivor_id), records[0])
    preview = merge_preview(survivor=survivor, others=[r for r in records if r.pk != survivor.pk])
    candidate = MatchCandidate.objects.filter(pk=request.GET.get("pair") or 0).first()
    context = {
        "subject": subject,
        "records": records,
        "survivor": survivor,
        "preview": preview,
        "candidate": candidate,
        "ids": ",".join(str(r.pk) for r in records),
        "labels": FIELD_LABELS,
        "can_merge": all(can(request.user, "change", r) for r in records),
        "touch_counts": {r.pk: r.touches.count() for r in records},
    }
    return render(request, "contacts/duplicates/compare.html", context)


def _detail_url(subject: str) -> str:
    return "/contacts/" if subject == "contact" else "/accounts/"


@require_GET
def candidate(request: HttpRequest, pk: int) -> HttpResponse:
    pair = get_object_for(request.user, MatchCandidate.objects.all(), pk)
    return redirect(f"/duplicates/compare/?subject={pair.subject}&ids={pair.a_id},{pair.b_id}&pair={pair.pk}")


@require_POST
def merge(request: HttpRequest) -> HttpResponse:
    subject = _subject(request)
    model = MODELS[subject]
    try:
        ids = [int(i) for i in request.POST.get("ids", "").split(",") if i.strip()]
        survivor_id = int(request.POST.get("survivor", ""))
    except ValueError:
        return render(
            request, "sfa/error.html", {"errors": ["The merge form was damaged; reload the page."]}, status=400
        )
    records = {r.pk: r for r in (get_object_for(request.user, model.objects.all(), pk) for pk in set(ids))}
    if survivor_id not in records:
        return render(request, "sfa/error.html", {"errors": ["The survivor must be one of the records."]}, status=400)
    choices = {k.removeprefix("field_"): v for k, v in request.POST.items() if k.startswith("field_") and v}
    try:
        done = records_merge(
            survivor=records[survivor_id],
            others=[r for pk, r in records.items() if pk != survivor_id],
            actor=request.user,
            choices=choices,
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(f"/duplicates/compare/?subject={subject}&ids={','.join(map(str, ids))}")
    messages.success(
        request, f"Merged {len(done.merged_ids)} record(s) into {records[survivor_id]}. You can undo it below."
    )
    return redirect(f"{_detail_url(subject)}{survivor_id}/")


@require_POST
def undo(request: HttpRequest, pk: int) -> HttpResponse:
    done = get_object_for(request.user, Merge.objects.all(), pk, "change")
    try:
        merge_undo(merge=done, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "The merge was undone: the records are as they were before it.")
    return redirect(f"{_detail_url(done.subject)}{done.survivor_id}/")


@require_POST
def dismiss(request: HttpRequest, pk: int) -> HttpResponse:
    pair = get_object_for(request.user, MatchCandidate.objects.all(), pk, "change")
    try:
        candidate_dismiss(candidate=pair, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Marked as not a duplicate; this pair will not be proposed again.")
    return redirect(f"/duplicates/?subject={pair.subject}")


@require_POST
def scan(request: HttpRequest) -> HttpResponse:
    job = duplicates_scan_start(actor=request.user, rebuild_keys=request.POST.get("rebuild") == "1")
    return redirect("job-detail", pk=job.pk)


@require_http_methods(["GET", "POST"])
def settings_view(request: HttpRequest) -> HttpResponse:
    """Admins choose, per object type, whether a sure duplicate on create is a warning or a block."""
    require(request.user, "change", MatchingSettings)
    current = matching_settings()
    form = MatchingSettingsForm(
        request.POST or None, initial={"contact_mode": current.contact_mode, "account_mode": current.account_mode}
    )
    if request.method == "POST" and form.is_valid():
        try:
            matching_settings_update(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "Duplicate check settings saved.")
            return redirect("contacts:duplicates")
    context = {
        "title": "Duplicate check on create",
        "form": form,
        "cancel_url": "/duplicates/",
        "intro": (
            "When someone creates a contact or an account that the matching engine judges to be the same as an "
            "existing one: warn (they see the candidates and may go ahead, the API answers 409 unless "
            "allow_duplicate is set) or block (the record cannot be created; the existing one is used)."
        ),
    }
    return render(request, "sfa/form.html", context, status=400 if request.method == "POST" else 200)
