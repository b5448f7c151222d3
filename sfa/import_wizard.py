"""The import wizards' shared pages and forms: list, upload, column mapping, reading again in another
encoding, checking again, starting the run, polling a running job, the rejected rows' download and undo.

A wizard (the list imports in leads/views_import.py, the order history in orders/views_import.py) is an
``ImportWizard`` subclass that names its URL namespace, templates, model and its app's import services
(``<record>_get``, ``_list``, ``_create``, ``_configure``, ``_check``, ``_start``, ``_rejects``, ``_undo`` and
``mapping_errors``, each taking the import by the keyword ``<record>``); the pages here do the rest, the same
way for both. What is its own (the check's figures and the report) each app's views keep.

Its URLs (``urlpatterns``) are ``<namespace>:import-<page>`` under ``<url_prefix>``: list, upload, detail,
mapping, encoding, preview, run, status, rejects and undo; its templates live in ``<templates>/`` and extend
the shared ones in templates/sfa/import/.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sfa import tabular
from sfa.jobs import JobError
from sfa.permissions import can, require
from sfa.tabular import ENCODING_CHOICES, IGNORE
from sfa.views import add_form_errors

STEPS = ("Upload", "Map columns", "Check", "Import", "Report")
ACCEPT = ".csv,.txt,.tsv,.xlsx"


# --- Forms ----------------------------------------------------------------------------------------------


class UploadForm(forms.Form):
    """The file and how to read it. A wizard's form names the file (``file_label``), says the limits
    (``limits``) and adds what else it asks."""

    file_label = "File"
    file = forms.FileField(widget=forms.ClearableFileInput(attrs={"accept": ACCEPT}))
    encoding = forms.ChoiceField(
        choices=ENCODING_CHOICES,
        required=False,
        label="Text encoding",
        help_text="Leave on Detect unless names come out garbled (CSV only).",
    )

    @staticmethod
    def limits() -> str:
        return ""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].label = self.file_label
        self.fields["file"].help_text = self.limits()


class MappingForm(forms.Form):
    """One choice of field per column of the file, named ``col_<index>`` (header names can be anything)."""

    def __init__(self, *args, header: list[str], mapping: dict[str, str], choices: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.header = header
        for index, column in enumerate(header):
            self.fields[f"col_{index}"] = forms.ChoiceField(
                choices=choices, initial=mapping.get(column, IGNORE), label=column
            )

    def mapping(self) -> dict[str, str]:
        return {column: self.cleaned_data[f"col_{index}"] for index, column in enumerate(self.header)}

    def columns(self):
        """(column name, bound field) pairs for the template."""
        return [(column, self[f"col_{index}"]) for index, column in enumerate(self.header)]


class EncodingForm(forms.Form):
    encoding = forms.ChoiceField(choices=[c for c in ENCODING_CHOICES if c[0]], label="Read the file as")


# --- Pages ----------------------------------------------------------------------------------------------

SERVICES = ("get", "list", "create", "configure", "check", "start", "rejects", "undo")
IMPORT_PAGES = ("detail", "mapping", "encoding", "preview", "run", "status", "rejects", "undo")  # of one import


class ImportWizard:
    """The pages every import wizard has. A subclass sets the attributes (and may answer the questions
    below them otherwise); the app's views are this class's ``*_page`` methods."""

    namespace = ""  # URL namespace: the pages are <namespace>:import-<page>
    url_prefix = ""  # where the pages are: "leads/imports/"
    templates = ""  # template folder: <templates>/list.html, upload.html, mapping.html, _head.html …
    model: type[Model]
    services: ModuleType  # the app's import services: <record>_get … (see SERVICES) and mapping_errors
    record = ""  # the services' keyword for an import and their names' prefix: "lead_import"
    upload_form: type[UploadForm] = UploadForm
    field_choices: list[tuple[str, str]] = []
    steps: dict[str, int] = {}  # status -> the index in STEPS of its step; any other status: the report
    mappable: tuple[str, ...] = ()  # the statuses in which the columns can still be mapped
    busy_statuses: tuple[str, ...] = ()  # the statuses in which the import's job may still be running
    mapping_ok = ""  # said under the mapping when nothing is wrong with it
    header_field = "header"  # the import's field of column names
    name_field = "filename"  # the import's field that names it on the pages
    file_field = "filename"  # the import's field with the uploaded file's name

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        missing = [f"{cls.record}_{name}" for name in SERVICES if not hasattr(cls.services, f"{cls.record}_{name}")]
        if missing:
            raise TypeError(f"{cls.__name__}: {cls.services.__name__} has no {', '.join(missing)}")

    def service(self, name: str) -> Any:
        return getattr(self.services, f"{self.record}_{name}")

    # --- the import, through the app's services -----------------------------------------------------------

    def get(self, request: HttpRequest, pk: int, action: str = "view") -> Any:
        """The import ``pk`` if the user may do ``action`` with it (else 404 or 403)."""
        return self.service("get")(actor=request.user, pk=pk, action=action)

    def imports_for(self, actor: Any) -> QuerySet:
        return self.service("list")(actor=actor)

    def create(self, actor: Any, data: dict[str, Any]) -> Any:
        """Store an upload (the upload form's cleaned data); a ValidationError says why it cannot be."""
        return self.service("create")(actor=actor, **data)

    def configure(self, imp: Any, actor: Any, **changes: Any) -> Any:
        return self.service("configure")(**{self.record: imp}, actor=actor, **changes)

    def check(self, imp: Any, actor: Any) -> Any:
        return self.service("check")(**{self.record: imp}, actor=actor)

    def header(self, imp: Any) -> list[str]:
        return getattr(imp, self.header_field)

    def name(self, imp: Any) -> str:
        return getattr(imp, self.name_field)

    def download_name(self, imp: Any) -> str:
        """The name of the rejected rows' file, without "-rejected.csv"."""
        return slugify(self.name(imp)) or "rows"

    def step(self, imp: Any) -> int:
        return self.steps.get(imp.status, len(STEPS) - 1)

    def busy(self, imp: Any) -> bool:
        """True while a job of the import (its check or its run) has not ended."""
        job = imp.job
        return imp.status in self.busy_statuses and job is not None and not job.is_finished

    def undone(self, summary: dict[str, Any]) -> str:
        """What the message says after an undo (``summary``: what the undo service returned)."""
        raise NotImplementedError

    def upload_context(self) -> dict[str, Any]:
        """What the upload page shows besides the form."""
        return {}

    def extra_context(self, imp: Any) -> dict[str, Any]:
        """What every page of the import shows besides the common context."""
        return {}

    def mapping_context(self, imp: Any) -> dict[str, Any]:
        """What the mapping page shows besides the columns."""
        return {}

    # --- helpers ----------------------------------------------------------------------------------------

    def url(self, page: str, imp: Any = None) -> str:
        return reverse(f"{self.namespace}:import-{page}", args=[imp.pk] if imp is not None else [])

    def urls(self, imp: Any = None) -> dict[str, str]:
        """The wizard's pages (those of ``imp`` too, when given) for the templates: ``urls.mapping`` …"""
        pages = {"list": self.url("list"), "upload": self.url("upload")}
        if imp is not None:
            pages |= {page: self.url(page, imp) for page in IMPORT_PAGES}
        return pages

    def template(self, page: str) -> str:
        return f"{self.templates}/{page}.html"

    def context(self, imp: Any, request: HttpRequest, **extra: Any) -> dict[str, Any]:
        """The context every page of an import has: the import, its steps, what reading the file found."""
        return {
            "imp": imp,
            "name": self.name(imp),
            "head": self.template("_head"),
            "urls": self.urls(imp),
            "steps": STEPS,
            "step": self.step(imp),
            "can_change": can(request.user, "change", imp),
            "encoding_label": tabular.encoding_label(imp.encoding),
            "delimiter_label": tabular.delimiter_label(imp.delimiter),
            **self.extra_context(imp),
            **extra,
        }

    def urlpatterns(
        self, *, detail: Any, preview: Any, run: Any = None, more: tuple[tuple[str, Any, str], ...] = ()
    ) -> list[URLPattern]:
        """The wizard's URLs: its shared pages, and the app's own views of an import's report (``detail``), its
        check (``preview``), its start when the app has its own (``run``) and ``more`` pages as (route after
        the prefix, view, page name)."""
        prefix = self.url_prefix
        get_or_post = require_http_methods(["GET", "POST"])
        return [
            path(prefix, require_GET(self.list_page), name="import-list"),
            path(f"{prefix}new/", get_or_post(self.upload_page), name="import-upload"),
            path(f"{prefix}<int:pk>/", detail, name="import-detail"),
            path(f"{prefix}<int:pk>/mapping/", get_or_post(self.mapping_page), name="import-mapping"),
            path(f"{prefix}<int:pk>/encoding/", require_POST(self.encoding_page), name="import-encoding"),
            path(f"{prefix}<int:pk>/check/", preview, name="import-preview"),
            *(path(f"{prefix}{route}", view, name=f"import-{name}") for route, view, name in more),
            path(f"{prefix}<int:pk>/run/", run or require_POST(self.run_page), name="import-run"),
            path(f"{prefix}<int:pk>/status/", require_GET(self.status_page), name="import-status"),
            path(f"{prefix}<int:pk>/rejects.csv", require_GET(self.rejects_page), name="import-rejects"),
            path(f"{prefix}<int:pk>/undo/", get_or_post(self.undo_page), name="import-undo"),
        ]

    # --- pages ------------------------------------------------------------------------------------------

    def list_page(self, request: HttpRequest) -> HttpResponse:
        require(request.user, "view", self.model)
        return render(
            request,
            self.template("list"),
            {
                "imports": self.imports_for(request.user)[:100],
                "can_add": can(request.user, "add", self.model),
                "urls": self.urls(),
            },
        )

    def upload_page(self, request: HttpRequest) -> HttpResponse:
        """Step 1: the file (and what else the wizard asks); read at once, then on to the mapping."""
        require(request.user, "add", self.model)
        form = self.upload_form(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                imp = self.create(request.user, form.cleaned_data)
            except ValidationError as exc:
                add_form_errors(form, exc)
            else:
                name = getattr(imp, self.file_field)
                messages.success(request, f"{name}: {imp.row_count:,} rows read. Check the columns.")
                return redirect(self.url("mapping", imp))
        return render(
            request,
            self.template("upload"),
            {"form": form, "steps": STEPS, "step": 0, "urls": self.urls(), **self.upload_context()},
            status=400 if form.is_bound else 200,
        )

    def mapping_page(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Step 2: which column holds which field. Every change is checked as it is made (HTMX)."""
        imp = self.get(request, pk, "change")
        if imp.status not in self.mappable:
            return redirect(self.url("detail", imp))
        header = self.header(imp)
        form = MappingForm(request.POST or None, header=header, mapping=imp.mapping, choices=self.field_choices)
        problems: list[str] = []
        status = 200
        if request.method == "POST":
            mapping = form.mapping() if form.is_valid() else {}
            problems = self.services.mapping_errors(header, mapping) if mapping else ["Choose from the lists."]
            if request.htmx and "validate" in request.POST:
                return render(
                    request,
                    "sfa/import/mapping.html#mapping-status",
                    {"problems": problems, "checked": True, "mapping_ok": self.mapping_ok},
                )
            if not problems:
                try:
                    imp = self.configure(imp, request.user, mapping=mapping)
                    self.check(imp, request.user)
                except ValidationError as exc:
                    problems = exc.messages
                else:
                    return redirect(self.url("preview", imp))
            status = 400
        samples = tabular.sample_rows(imp, 3)
        columns = [
            (column, field, [row[index] if index < len(row) else "" for row in samples])
            for index, (column, field) in enumerate(form.columns())
        ]
        context = self.context(
            imp,
            request,
            form=form,
            header=header,
            columns=columns,
            problems=problems,
            checked=bool(problems),
            mapping_ok=self.mapping_ok,
            encoding_form=EncodingForm(initial={"encoding": imp.encoding}),
            **self.mapping_context(imp),
        )
        return render(request, self.template("mapping"), context, status=status)

    def encoding_page(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Read the file again in the encoding the user chose (POST), then back to the mapping."""
        imp = self.get(request, pk, "change")
        form = EncodingForm(request.POST)
        if form.is_valid():
            try:
                self.configure(imp, request.user, encoding=form.cleaned_data["encoding"])
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
            else:
                label = tabular.encoding_label(form.cleaned_data["encoding"])
                messages.info(request, f"The file is now read as {label}.")
        return redirect(self.url("mapping", imp))

    def check_again(self, request: HttpRequest, imp: Any) -> HttpResponse:
        """The check page's POST: check again (the data may have changed since), then show the check."""
        require(request.user, "change", imp)
        try:
            self.check(imp, request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        return redirect(self.url("preview", imp))

    def start(self, request: HttpRequest, imp: Any) -> HttpResponse:
        """Step 4: start the import (or resume a stopped one) as a background job, then show where it stands."""
        try:
            self.service("start")(**{self.record: imp}, actor=request.user)
        except (ValidationError, JobError) as exc:
            messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
        return redirect(self.url("detail", imp))

    def run_page(self, request: HttpRequest, pk: int) -> HttpResponse:
        return self.start(request, self.get(request, pk, "change"))

    def undo_page(self, request: HttpRequest, pk: int) -> HttpResponse:
        """What undo takes back (GET), and undoing the whole import (POST)."""
        imp = self.get(request, pk, "change")
        if request.method == "POST":
            try:
                summary = self.service("undo")(**{self.record: imp}, actor=request.user)
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
            else:
                messages.success(request, self.undone(summary))
            return redirect(self.url("detail", imp))
        return render(request, self.template("undo"), self.context(imp, request, counts=imp.counts or {}))

    def status_page(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Polled while a check or an import runs: nothing to do (204) until its job ends, then HX-Redirect."""
        imp = self.get(request, pk)
        if self.busy(imp):
            return HttpResponse(status=204)
        response = HttpResponse("")
        response["HX-Redirect"] = self.url("detail", imp)
        return response

    def rejects_page(self, request: HttpRequest, pk: int) -> StreamingHttpResponse:
        """The rejected rows as CSV, with the reasons, to fix them and import them again."""
        imp = self.get(request, pk)
        rows = self.service("rejects")(**{self.record: imp}, actor=request.user)
        response = StreamingHttpResponse(rows, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{self.download_name(imp)}-rejected.csv"'
        return response
