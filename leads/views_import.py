"""The list-import wizard: upload, map columns, check, run, report, undo (HTMX). Thin: leads.imports decides."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from leads import imports
from leads.forms_import import EncodingForm, ImportUploadForm, MappingForm, OnMatchForm
from leads.models import ImportRow, LeadImport
from sfa.jobs import JobError
from sfa.permissions import can, require
from sfa.views import add_form_errors, render_page

Status = LeadImport.Status
STEPS = ("Upload", "Map columns", "Check", "Import", "Report")
VERDICT_ORDER = (
    ImportRow.Verdict.INVALID,
    ImportRow.Verdict.CONTACT,
    ImportRow.Verdict.LEAD,
    ImportRow.Verdict.IN_FILE,
    ImportRow.Verdict.NEW,
)


# The report's figures, as a sentence after the number reads them ("198 new people with a lead").
RESULT_LABELS = {
    ImportRow.Result.CREATED: "new people with a lead",
    ImportRow.Result.ATTACHED: "leads on people already known",
    ImportRow.Result.UPDATED: "known people updated",
    ImportRow.Result.SKIPPED: "rows skipped",
    ImportRow.Result.REJECTED: "rows rejected",
}


def _step(lead_import: LeadImport) -> int:
    return {
        Status.UPLOADED: 1,
        Status.CHECKING: 2,
        Status.PREVIEWED: 2,
        Status.RUNNING: 3,
        Status.FAILED: 3,
    }.get(lead_import.status, 4)


def _context(lead_import: LeadImport, request: HttpRequest, **extra) -> dict:
    return {
        "imp": lead_import,
        "steps": STEPS,
        "step": _step(lead_import),
        "can_change": can(request.user, "change", lead_import),
        "encoding_label": imports.encoding_label(lead_import.encoding),
        "delimiter_label": imports.DELIMITER_LABELS.get(lead_import.delimiter, lead_import.delimiter),
        **extra,
    }


@require_GET
def import_list(request: HttpRequest) -> HttpResponse:
    require(request.user, "view", LeadImport)
    lead_imports = imports.lead_import_list(actor=request.user)[:100]
    return render(
        request,
        "leads/import/list.html",
        {"imports": lead_imports, "can_add": can(request.user, "add", LeadImport)},
    )


@require_http_methods(["GET", "POST"])
def import_upload(request: HttpRequest) -> HttpResponse:
    require(request.user, "add", LeadImport)
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            lead_import = imports.lead_import_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_form_errors(form, exc)
        else:
            messages.success(
                request, f"{lead_import.original_name}: {lead_import.row_count:,} rows read. Check the columns."
            )
            return redirect("leads:import-mapping", pk=lead_import.pk)
    return render(
        request,
        "leads/import/upload.html",
        {"form": form, "vendors": imports.vendor_names(), "steps": STEPS, "step": 0},
        status=400 if form.is_bound else 200,
    )


@require_GET
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The import where it stands: the mapping or the check to do, the import running, or its report."""
    lead_import = imports.lead_import_get(actor=request.user, pk=pk)
    if lead_import.status == Status.UPLOADED:
        return redirect("leads:import-mapping", pk=pk)
    if lead_import.status in (Status.CHECKING, Status.PREVIEWED):
        return redirect("leads:import-preview", pk=pk)
    extra = {}
    if lead_import.status in (Status.DONE, Status.UNDONE, Status.FAILED, Status.RUNNING):
        counts = lead_import.counts or imports.report_counts(lead_import)
        found = counts.get("results", {})
        extra = {
            "counts": counts,
            "grid": _grid(counts),
            "results": [(value, label, found.get(value, 0)) for value, label in RESULT_LABELS.items()],
            "noted": imports.lead_import_rows(
                lead_import=lead_import,
                actor=request.user,
                verdicts=[ImportRow.Verdict.CONTACT, ImportRow.Verdict.LEAD],
            ),
            "rejected": imports.lead_import_rows(
                lead_import=lead_import, actor=request.user, result=ImportRow.Result.REJECTED, limit=20
            ),
            "undo": (lead_import.counts or {}).get("undo"),
            "leads_without_rows": 0 if counts.get("rows") else imports.lead_import_lead_count(lead_import=lead_import),
        }
    return render(request, "leads/import/report.html", _context(lead_import, request, **extra))


def _grid(counts: dict) -> list[dict]:
    """The report's table: one line per verdict, its rows and what became of them."""
    grid = counts.get("grid", {})
    labels = dict(ImportRow.Verdict.choices)
    results = dict(ImportRow.Result.choices)
    lines = []
    for verdict in VERDICT_ORDER:
        cells = grid.get(verdict, {})
        if cells:
            lines.append(
                {
                    "verdict": verdict,
                    "label": labels[verdict],
                    "total": sum(cells.values()),
                    "results": [(results.get(r, r), n) for r, n in sorted(cells.items(), key=lambda kv: -kv[1])],
                }
            )
    return lines


@require_http_methods(["GET", "POST"])
def import_mapping(request: HttpRequest, pk: int) -> HttpResponse:
    """Step 2: which column holds which field. Every change is checked as it is made (HTMX)."""
    lead_import = imports.lead_import_get(actor=request.user, pk=pk, action="change")
    if lead_import.status not in (Status.UPLOADED, Status.PREVIEWED):
        return redirect("leads:import-detail", pk=pk)
    form = MappingForm(request.POST or None, header=lead_import.header, mapping=lead_import.mapping)
    problems: list[str] = []
    status = 200
    if request.method == "POST":
        mapping = form.mapping() if form.is_valid() else {}
        problems = imports.mapping_errors(lead_import.header, mapping) if mapping else ["Choose from the lists."]
        if request.htmx and "validate" in request.POST:
            return render(request, "leads/import/mapping.html#mapping-status", {"problems": problems, "checked": True})
        if not problems:
            try:
                lead_import = imports.lead_import_configure(
                    lead_import=lead_import, actor=request.user, mapping=mapping
                )
                imports.lead_import_check(lead_import=lead_import, actor=request.user)
            except ValidationError as exc:
                problems = exc.messages
            else:
                return redirect("leads:import-preview", pk=pk)
        status = 400
    samples = imports.sample_rows(lead_import, 3)
    columns = [
        (column, field, [row[index] if index < len(row) else "" for row in samples])
        for index, (column, field) in enumerate(form.columns())
    ]
    context = _context(
        lead_import,
        request,
        form=form,
        columns=columns,
        problems=problems,
        checked=bool(problems),
        encoding_form=EncodingForm(initial={"encoding": lead_import.encoding}),
        remembered=bool(imports.vendor_mapping(lead_import.vendor)),
    )
    return render(request, "leads/import/mapping.html", context, status=status)


@require_POST
def import_encoding(request: HttpRequest, pk: int) -> HttpResponse:
    lead_import = imports.lead_import_get(actor=request.user, pk=pk, action="change")
    form = EncodingForm(request.POST)
    if form.is_valid():
        try:
            imports.lead_import_configure(
                lead_import=lead_import, actor=request.user, encoding=form.cleaned_data["encoding"]
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.info(request, f"The file is now read as {imports.encoding_label(form.cleaned_data['encoding'])}.")
    return redirect("leads:import-mapping", pk=pk)


@require_http_methods(["GET", "POST"])
def import_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """Step 3: what the check found, per verdict with the first rows of each; and what to do with matches."""
    lead_import = imports.lead_import_get(actor=request.user, pk=pk)
    if request.method == "POST":  # check again (the data may have changed since)
        require(request.user, "change", lead_import)
        try:
            imports.lead_import_check(lead_import=lead_import, actor=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        return redirect("leads:import-preview", pk=pk)
    if lead_import.status not in (Status.CHECKING, Status.PREVIEWED):
        return redirect("leads:import-detail", pk=pk)
    preview = lead_import.preview or {}
    tally = preview.get("tally", {})
    labels = dict(ImportRow.Verdict.choices)
    kinds = [
        {
            "verdict": verdict,
            "label": labels[verdict],
            "count": tally.get(f"verdict:{verdict}", 0),
            "rows": preview.get("samples", {}).get(verdict, []),
        }
        for verdict in VERDICT_ORDER
    ]
    context = _context(
        lead_import,
        request,
        kinds=kinds,
        tally=tally,
        plan=imports.plan(preview, lead_import.on_match),
        on_match_form=OnMatchForm(initial={"on_match": lead_import.on_match}),
        rows_checked=preview.get("rows", 0),
    )
    return render(request, "leads/import/preview.html", context)


@require_POST
def import_on_match(request: HttpRequest, pk: int) -> HttpResponse:
    """The choice for matches changed: save it and answer with what the import would now do (HTMX)."""
    lead_import = imports.lead_import_get(actor=request.user, pk=pk, action="change")
    form = OnMatchForm(request.POST)
    if form.is_valid():
        try:
            lead_import = imports.lead_import_configure(
                lead_import=lead_import, actor=request.user, on_match=form.cleaned_data["on_match"]
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
    if not request.htmx:
        return redirect("leads:import-preview", pk=pk)
    context = _context(lead_import, request, plan=imports.plan(lead_import.preview or {}, lead_import.on_match))
    return render_page(request, "leads/import/preview.html", context, partial="plan")


@require_POST
def import_run(request: HttpRequest, pk: int) -> HttpResponse:
    """Step 4: start the import (or resume a stopped one) as a background job."""
    lead_import = imports.lead_import_get(actor=request.user, pk=pk, action="change")
    if "on_match" in request.POST:
        form = OnMatchForm(request.POST)
        if form.is_valid() and lead_import.status in (Status.UPLOADED, Status.PREVIEWED):
            lead_import = imports.lead_import_configure(
                lead_import=lead_import, actor=request.user, on_match=form.cleaned_data["on_match"]
            )
    try:
        imports.lead_import_start(lead_import=lead_import, actor=request.user)
    except (ValidationError, JobError) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
    return redirect("leads:import-detail", pk=pk)


@require_GET
def import_status(request: HttpRequest, pk: int) -> HttpResponse:
    """Polled while a check or an import runs: nothing to do (204) until its job ends, then HX-Redirect."""
    lead_import = imports.lead_import_get(actor=request.user, pk=pk)
    job = lead_import.job
    if lead_import.status in (Status.CHECKING, Status.RUNNING) and job is not None and not job.is_finished:
        return HttpResponse(status=204)
    response = HttpResponse("")
    response["HX-Redirect"] = reverse("leads:import-detail", args=[pk])
    return response


@require_GET
def import_rejects(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    lead_import = imports.lead_import_get(actor=request.user, pk=pk)
    response = StreamingHttpResponse(
        imports.lead_import_rejects(lead_import=lead_import, actor=request.user), content_type="text/csv; charset=utf-8"
    )
    name = slugify(lead_import.list_name) or "list"
    response["Content-Disposition"] = f'attachment; filename="{name}-rejected.csv"'
    return response


@require_http_methods(["GET", "POST"])
def import_undo(request: HttpRequest, pk: int) -> HttpResponse:
    lead_import = imports.lead_import_get(actor=request.user, pk=pk, action="change")
    if request.method == "POST":
        try:
            summary = imports.lead_import_undo(lead_import=lead_import, actor=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            kept = (
                f"; {summary['prospects_kept']:,} people kept (in use elsewhere)" if summary["prospects_kept"] else ""
            )
            messages.success(
                request,
                f"Import undone: {summary['leads_removed']:,} leads and {summary['prospects_removed']:,} people "
                f"removed, {summary['updates_reverted']:,} updates reverted{kept}.",
            )
        return redirect("leads:import-detail", pk=pk)
    counts = lead_import.counts or {}
    return render(request, "leads/import/undo.html", _context(lead_import, request, counts=counts))


urlpatterns: list = [
    path("leads/imports/", import_list, name="import-list"),
    path("leads/imports/new/", import_upload, name="import-upload"),
    path("leads/imports/<int:pk>/", import_detail, name="import-detail"),
    path("leads/imports/<int:pk>/mapping/", import_mapping, name="import-mapping"),
    path("leads/imports/<int:pk>/encoding/", import_encoding, name="import-encoding"),
    path("leads/imports/<int:pk>/check/", import_preview, name="import-preview"),
    path("leads/imports/<int:pk>/on-match/", import_on_match, name="import-on-match"),
    path("leads/imports/<int:pk>/run/", import_run, name="import-run"),
    path("leads/imports/<int:pk>/status/", import_status, name="import-status"),
    path("leads/imports/<int:pk>/rejects.csv", import_rejects, name="import-rejects"),
    path("leads/imports/<int:pk>/undo/", import_undo, name="import-undo"),
]
