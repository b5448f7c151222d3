"""The order-history import wizard: upload, map columns, check, run, report, undo (HTMX). Thin: orders.imports decides.

Importing history is for admins (``OrderImportPolicy``): every page first asks the policy about imports
in general, so that a rep or a manager gets 403 rather than a page without content.
"""

from __future__ import annotations

from datetime import datetime

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from orders import imports
from orders.forms_import import EncodingForm, OrderImportUploadForm, OrderMappingForm
from orders.models import Order, OrderImport
from sfa.jobs import JobError
from sfa.permissions import can, require
from sfa.views import add_form_errors

Status = OrderImport.Status
STEPS = ("Upload", "Map columns", "Check", "Import", "Report")
STATUS_LABELS = dict(Order.Status.choices)


def _step(order_import: OrderImport) -> int:
    return {Status.UPLOADED: 1, Status.MAPPED: 2, Status.RUNNING: 3, Status.FAILED: 3}.get(order_import.status, 4)


def _get(request: HttpRequest, pk: int, action: str = "view") -> OrderImport:
    require(request.user, "view", OrderImport)
    return imports.order_import_get(actor=request.user, pk=pk, action=action)


def _reasons(summary: dict) -> list[tuple[str, str, int]]:
    found = summary.get("reasons", {})
    return [(kind, label, found[kind]) for kind, label in imports.REASONS.items() if found.get(kind)]


def _context(order_import: OrderImport, request: HttpRequest, **extra) -> dict:
    return {
        "imp": order_import,
        "steps": STEPS,
        "step": _step(order_import),
        "can_change": can(request.user, "change", order_import),
        "encoding_label": imports.encoding_label(order_import.encoding),
        "delimiter_label": imports.DELIMITER_LABELS.get(order_import.delimiter, order_import.delimiter),
        "status_labels": STATUS_LABELS,
        **extra,
    }


@require_GET
def import_list(request: HttpRequest) -> HttpResponse:
    require(request.user, "view", OrderImport)
    order_imports = imports.order_import_list(actor=request.user)[:100]
    return render(
        request,
        "orders/import/list.html",
        {"imports": order_imports, "can_add": can(request.user, "add", OrderImport)},
    )


@require_http_methods(["GET", "POST"])
def import_upload(request: HttpRequest) -> HttpResponse:
    require(request.user, "add", OrderImport)
    form = OrderImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            order_import = imports.order_import_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_form_errors(form, exc)
        else:
            messages.success(
                request, f"{order_import.filename}: {order_import.row_count:,} rows read. Check the columns."
            )
            return redirect("orders:import-mapping", pk=order_import.pk)
    return render(
        request,
        "orders/import/upload.html",
        {"form": form, "steps": STEPS, "step": 0, "fields": imports.FIELDS},
        status=400 if form.is_bound else 200,
    )


@require_GET
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The import where it stands: the mapping or the check to do, the import running, or its report."""
    order_import = _get(request, pk)
    if order_import.status == Status.UPLOADED:
        return redirect("orders:import-mapping", pk=pk)
    if order_import.status == Status.MAPPED:
        return redirect("orders:import-preview", pk=pk)
    counts = order_import.counts or {}
    context = _context(
        order_import,
        request,
        counts=counts,
        reasons=_reasons(counts),
        rejected=(order_import.rejects or [])[: imports.PREVIEW_REJECTS],
        undo=counts.get("undo"),
    )
    return render(request, "orders/import/report.html", context)


@require_http_methods(["GET", "POST"])
def import_mapping(request: HttpRequest, pk: int) -> HttpResponse:
    """Step 2: which column holds which field. Every change is checked as it is made (HTMX)."""
    order_import = _get(request, pk, "change")
    if order_import.status not in (Status.UPLOADED, Status.MAPPED):
        return redirect("orders:import-detail", pk=pk)
    form = OrderMappingForm(request.POST or None, header=order_import.headers, mapping=order_import.mapping)
    problems: list[str] = []
    status = 200
    if request.method == "POST":
        mapping = form.mapping() if form.is_valid() else {}
        problems = imports.mapping_errors(order_import.headers, mapping) if mapping else ["Choose from the lists."]
        if request.htmx and "validate" in request.POST:
            return render(request, "orders/import/mapping.html#mapping-status", {"problems": problems, "checked": True})
        if not problems:
            try:
                order_import = imports.order_import_configure(
                    order_import=order_import, actor=request.user, mapping=mapping
                )
                imports.order_import_check(order_import=order_import, actor=request.user)
            except ValidationError as exc:
                problems = exc.messages
            else:
                return redirect("orders:import-preview", pk=pk)
        status = 400
    samples = imports.sample_rows(order_import, 3)
    columns = [
        (column, bound, [row[index] if index < len(row) else "" for row in samples])
        for index, (column, bound) in enumerate(form.columns())
    ]
    context = _context(
        order_import,
        request,
        form=form,
        columns=columns,
        problems=problems,
        checked=bool(problems),
        encoding_form=EncodingForm(initial={"encoding": order_import.encoding}),
    )
    return render(request, "orders/import/mapping.html", context, status=status)


@require_POST
def import_encoding(request: HttpRequest, pk: int) -> HttpResponse:
    order_import = _get(request, pk, "change")
    form = EncodingForm(request.POST)
    if form.is_valid():
        try:
            imports.order_import_configure(
                order_import=order_import, actor=request.user, encoding=form.cleaned_data["encoding"]
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.info(request, f"The file is now read as {imports.encoding_label(form.cleaned_data['encoding'])}.")
    return redirect("orders:import-mapping", pk=pk)


@require_http_methods(["GET", "POST"])
def import_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """Step 3: what the check found: the orders it would write, the rows it would reject and why."""
    order_import = _get(request, pk)
    if request.method == "POST":  # check again (customers, products or users may have changed since)
        require(request.user, "change", order_import)
        try:
            imports.order_import_check(order_import=order_import, actor=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        return redirect("orders:import-preview", pk=pk)
    if order_import.status != Status.MAPPED:
        return redirect("orders:import-detail", pk=pk)
    check = (order_import.counts or {}).get("check", {})
    context = _context(
        order_import,
        request,
        check=check,
        checking=imports.checking(order_import),
        checked_at=datetime.fromisoformat(check["checked_at"]) if check.get("checked_at") else None,
        reasons=_reasons(check),
        rejected=(order_import.rejects or [])[: imports.PREVIEW_REJECTS],
    )
    return render(request, "orders/import/preview.html", context)


@require_POST
def import_run(request: HttpRequest, pk: int) -> HttpResponse:
    """Step 4: start the import (or resume a stopped one) as a background job."""
    order_import = _get(request, pk, "change")
    try:
        imports.order_import_start(order_import=order_import, actor=request.user)
    except (ValidationError, JobError) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
    return redirect("orders:import-detail", pk=pk)


@require_GET
def import_status(request: HttpRequest, pk: int) -> HttpResponse:
    """Polled while the check or the import runs: nothing to do (204) until its job ends, then HX-Redirect."""
    order_import = _get(request, pk)
    job = order_import.job
    running = order_import.status == Status.RUNNING and job is not None and not job.is_finished
    if running or imports.checking(order_import):
        return HttpResponse(status=204)
    response = HttpResponse("")
    response["HX-Redirect"] = reverse("orders:import-detail", args=[pk])
    return response


@require_GET
def import_rejects(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    order_import = _get(request, pk)
    response = StreamingHttpResponse(
        imports.order_import_rejects(order_import=order_import, actor=request.user),
        content_type="text/csv; charset=utf-8",
    )
    name = slugify(order_import.filename.rsplit(".", 1)[0]) or "orders"
    response["Content-Disposition"] = f'attachment; filename="{name}-rejected.csv"'
    return response


@require_http_methods(["GET", "POST"])
def import_undo(request: HttpRequest, pk: int) -> HttpResponse:
    order_import = _get(request, pk, "change")
    if request.method == "POST":
        try:
            summary = imports.order_import_undo(order_import=order_import, actor=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(
                request,
                f"Import undone: {summary['orders_removed']:,} orders with {summary['lines_removed']:,} lines "
                "removed, with their ledger entries; the sales figures are rebuilt without them.",
            )
        return redirect("orders:import-detail", pk=pk)
    return render(request, "orders/import/undo.html", _context(order_import, request, counts=order_import.counts or {}))


import_urlpatterns: list = [
    path("orders/imports/", import_list, name="import-list"),
    path("orders/imports/new/", import_upload, name="import-upload"),
    path("orders/imports/<int:pk>/", import_detail, name="import-detail"),
    path("orders/imports/<int:pk>/mapping/", import_mapping, name="import-mapping"),
    path("orders/imports/<int:pk>/encoding/", import_encoding, name="import-encoding"),
    path("orders/imports/<int:pk>/check/", import_preview, name="import-preview"),
    path("orders/imports/<int:pk>/run/", import_run, name="import-run"),
    path("orders/imports/<int:pk>/status/", import_status, name="import-status"),
    path("orders/imports/<int:pk>/rejects.csv", import_rejects, name="import-rejects"),
    path("orders/imports/<int:pk>/undo/", import_undo, name="import-undo"),
]
