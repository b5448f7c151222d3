"""The order-history import wizard: upload, map columns, check, run, report, undo (HTMX). Thin: orders.imports decides.

The pages every import wizard has (list, upload, mapping, encoding, run, status, rejects, undo) are
sfa.import_wizard's; the check's figures and the report are the order history's own, here.

Importing history is for admins (``OrderImportPolicy``): every page first asks the policy about imports
in general, so that a rep or a manager gets 403 rather than a page without content.
"""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_http_methods

from orders import imports
from orders.forms_import import OrderImportUploadForm
from orders.models import Order, OrderImport
from sfa.import_wizard import ImportWizard
from sfa.permissions import require

Status = OrderImport.Status
STATUS_LABELS = dict(Order.Status.choices)


class OrderImportWizard(ImportWizard):
    namespace, templates, model = "orders", "orders/import", OrderImport
    services, record = imports, "order_import"
    upload_form = OrderImportUploadForm
    field_choices = imports.FIELD_CHOICES
    steps = {Status.UPLOADED: 1, Status.MAPPED: 2, Status.RUNNING: 3, Status.FAILED: 3}
    mappable = (Status.UPLOADED, Status.MAPPED)
    busy_statuses = (Status.RUNNING,)
    mapping_ok = "Every field is chosen once at most, and the required ones are there."
    header_field = "headers"
    url_prefix = "orders/imports/"

    def get(self, request, pk, action="view"):
        require(request.user, "view", OrderImport)  # 403 for those who may import no history at all
        return super().get(request, pk, action)

    def busy(self, imp):
        return super().busy(imp) or imports.checking(imp)

    def download_name(self, imp):
        return slugify(imp.filename.rsplit(".", 1)[0]) or "orders"

    def undone(self, summary):
        return (
            f"Import undone: {summary['orders_removed']:,} orders with {summary['lines_removed']:,} lines "
            "removed, with their ledger entries; the sales figures are rebuilt without them."
        )

    def upload_context(self):
        return {"fields": imports.FIELDS}

    def extra_context(self, imp):
        return {"status_labels": STATUS_LABELS}


WIZARD = OrderImportWizard()


def _reasons(summary: dict) -> list[tuple[str, str, int]]:
    found = summary.get("reasons", {})
    return [(kind, label, found[kind]) for kind, label in imports.REASONS.items() if found.get(kind)]


@require_GET
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The import where it stands: the mapping or the check to do, the import running, or its report."""
    order_import = WIZARD.get(request, pk)
    if order_import.status == Status.UPLOADED:
        return redirect("orders:import-mapping", pk=pk)
    if order_import.status == Status.MAPPED:
        return redirect("orders:import-preview", pk=pk)
    counts = order_import.counts or {}
    context = WIZARD.context(
        order_import,
        request,
        counts=counts,
        reasons=_reasons(counts),
        rejected=(order_import.rejects or [])[: imports.PREVIEW_REJECTS],
        undo=counts.get("undo"),
    )
    return render(request, "orders/import/report.html", context)


@require_http_methods(["GET", "POST"])
def import_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """Step 3: what the check found: the orders it would write, the rows it would reject and why."""
    order_import = WIZARD.get(request, pk)
    if request.method == "POST":  # check again (customers, products or users may have changed since)
        return WIZARD.check_again(request, order_import)
    if order_import.status != Status.MAPPED:
        return redirect("orders:import-detail", pk=pk)
    check = (order_import.counts or {}).get("check", {})
    context = WIZARD.context(
        order_import,
        request,
        check=check,
        checking=imports.checking(order_import),
        checked_at=datetime.fromisoformat(check["checked_at"]) if check.get("checked_at") else None,
        reasons=_reasons(check),
        rejected=(order_import.rejects or [])[: imports.PREVIEW_REJECTS],
    )
    return render(request, "orders/import/preview.html", context)


import_urlpatterns: list = WIZARD.urlpatterns(detail=import_detail, preview=import_preview)
