"""The list-import wizard: upload, map columns, preview, run, report, undo (HTMX). Thin: leads.imports decides."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_GET

from leads.models import LeadImport
from sfa.permissions import require, scoped


@require_GET
def import_list(request: HttpRequest) -> HttpResponse:
    require(request.user, "view", LeadImport)
    imports = scoped(request.user, LeadImport.objects.select_related("created_by"))[:50]
    return render(request, "leads/import/list.html", {"imports": imports})


urlpatterns: list = [path("leads/imports/", import_list, name="import-list")]
