"""The list-import wizard: upload, map columns, check, run, report, undo (HTMX). Thin: leads.imports decides.

The pages every import wizard has (list, upload, mapping, encoding, status, rejects, undo) are
sfa.import_wizard's; the check's verdicts, the choice for matches and the report are the list imports' own."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from leads import imports
from leads.forms_import import ImportUploadForm, OnMatchForm
from leads.models import ImportRow, LeadImport
from sfa.import_wizard import ImportWizard
from sfa.views import render_page

Status = LeadImport.Status
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


class LeadImportWizard(ImportWizard):
    namespace, templates, model = "leads", "leads/import", LeadImport
    services, record = imports, "lead_import"
    upload_form = ImportUploadForm
    field_choices = imports.FIELD_CHOICES
    steps = {Status.UPLOADED: 1, Status.CHECKING: 2, Status.PREVIEWED: 2, Status.RUNNING: 3, Status.FAILED: 3}
    mappable = (Status.UPLOADED, Status.PREVIEWED)
    busy_statuses = (Status.CHECKING, Status.RUNNING)
    mapping_ok = "Every column is mapped once at most, and the last name is there."
    url_prefix = "leads/imports/"
    name_field, file_field = "list_name", "original_name"

    def download_name(self, imp):
        return slugify(imp.list_name) or "list"

    def undone(self, summary):
        kept = f"; {summary['prospects_kept']:,} people kept (in use elsewhere)" if summary["prospects_kept"] else ""
        return (
            f"Import undone: {summary['leads_removed']:,} leads and {summary['prospects_removed']:,} people "
            f"removed, {summary['updates_reverted']:,} updates reverted{kept}."
        )

    def upload_context(self):
        return {"vendors": imports.vendor_names()}

    def mapping_context(self, imp):
        return {"remembered": bool(imports.vendor_mapping(imp.vendor))}


WIZARD = LeadImportWizard()


@require_GET
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The import where it stands: the mapping or the check to do, the import running, or its report."""
    lead_import = WIZARD.get(request, pk)
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
    return render(request, "leads/import/report.html", WIZARD.context(lead_import, request, **extra))


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
def import_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """Step 3: what the check found, per verdict with the first rows of each; and what to do with matches."""
    lead_import = WIZARD.get(request, pk)
    if request.method == "POST":  # check again (the data may have changed since)
        return WIZARD.check_again(request, lead_import)
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
    context = WIZARD.context(
        lead_import,
        request,
        checking=lead_import.status == Status.CHECKING,
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
    lead_import = WIZARD.get(request, pk, "change")
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
    context = WIZARD.context(lead_import, request, plan=imports.plan(lead_import.preview or {}, lead_import.on_match))
    return render_page(request, "leads/import/preview.html", context, partial="plan")


@require_POST
def import_run(request: HttpRequest, pk: int) -> HttpResponse:
    """Step 4: start the import (or resume a stopped one) as a background job."""
    lead_import = WIZARD.get(request, pk, "change")
    if "on_match" in request.POST:
        form = OnMatchForm(request.POST)
        if form.is_valid() and lead_import.status in (Status.UPLOADED, Status.PREVIEWED):
            lead_import = imports.lead_import_configure(
                lead_import=lead_import, actor=request.user, on_match=form.cleaned_data["on_match"]
            )
    return WIZARD.start(request, lead_import)


urlpatterns: list = WIZARD.urlpatterns(
    detail=import_detail,
    preview=import_preview,
    run=import_run,
    more=(("<int:pk>/on-match/", import_on_match, "on-match"),),
)
