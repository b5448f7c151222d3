"""Core pages: dashboard, people and teams, jobs, the audit log, health. Selectors and services do the work."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sfa import selectors, services
from sfa.audit import audit_display, audit_history, audit_list
from sfa.diagnostics import selftest_start
from sfa.exports import export_path
from sfa.filters import AuditEventFilter, JobFilter, UserFilter
from sfa.forms import DepartmentForm, TeamForm, UserAdminForm, UserCreateForm, UserSelfForm
from sfa.health import health
from sfa.jobs import JobError, job_cancel, job_retry, job_start
from sfa.listing import Sort, keyset_page
from sfa.models import AuditEvent, Department, Job, Team, User
from sfa.permissions import can, get_object_for, require
from sfa.ui import dashboard_widgets


def render_page(
    request: HttpRequest, template: str, context: dict, partial: str | None = None, **kwargs
) -> HttpResponse:
    """Render the whole page, or only ``template#partial`` for an HTMX request aimed at that part."""
    if partial and request.htmx and not request.htmx.boosted:
        return render(request, f"{template}#{partial}", context, **kwargs)
    return render(request, template, context, **kwargs)


def add_form_errors(form, exc: ValidationError) -> None:
    """Put a service's ValidationError on the form, on the named fields where the form has them."""
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


# --- Home and health ------------------------------------------------------------------------------


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "sfa/home.html", {"widgets": dashboard_widgets(request)})


@login_not_required
@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Database and broker status for load balancers and monitors: 200 when both answer, else 503."""
    report = health()
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)


# --- People ---------------------------------------------------------------------------------------

USER_SORTS = [
    Sort("name", "last_name", "Name"),
    Sort("username", "username", "Username"),
    Sort("joined", "date_joined", "Joined"),
]


@require_GET
def user_list(request: HttpRequest) -> HttpResponse:
    filterset = UserFilter(request.GET or None, queryset=User.objects.none())
    try:
        page = keyset_page(
            selectors.user_list(actor=request.user, filters=request.GET),
            request.GET,
            sorts=USER_SORTS,
            default="name",
        )
    except ValidationError as exc:
        return render(request, "sfa/error.html", {"errors": exc.messages}, status=400)
    context = {
        "page": page,
        "filter_form": filterset.form,
        "departments": Department.objects.all(),
        "teams": Team.objects.all(),
        "can_add": can(request.user, "add", User),
    }
    return render_page(request, "sfa/users.html", context, partial="results")


@require_GET
def user_detail(request: HttpRequest, pk: int) -> HttpResponse:
    person = get_object_for(request.user, User.objects.select_related("department", "team", "team__manager"), pk)
    return render(
        request,
        "sfa/user_detail.html",
        {
            "person": person,
            "managed_teams": person.managed_teams.all(),
            "can_change": can(request.user, "change", person),
            "history": audit_history(actor=request.user, instance=person),
        },
    )


@require_http_methods(["GET", "POST"])
def user_create(request: HttpRequest) -> HttpResponse:
    require(request.user, "add", User)
    form = UserCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            person = services.user_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_form_errors(form, exc)
        else:
            messages.success(request, f"{person} can now sign in as {person.username}.")
            return redirect("user-detail", pk=person.pk)
    return render(request, "sfa/form.html", {"form": form, "title": "Add a user", "submit": "Add user"})


@require_http_methods(["GET", "POST"])
def user_edit(request: HttpRequest, pk: int) -> HttpResponse:
    person = get_object_for(request.user, User.objects.all(), pk, "change")
    form_class = UserAdminForm if request.user.is_admin else UserSelfForm
    initial = UserAdminForm.initial_for(person)
    form = form_class(request.POST or None, initial={k: v for k, v in initial.items() if k in form_class.base_fields})
    if request.method == "POST" and form.is_valid():
        try:
            changed = services.user_update(user=person, actor=request.user, data=form.cleaned_data)
        except ValidationError as exc:
            add_form_errors(form, exc)
        else:
            messages.success(request, f"Saved ({', '.join(changed)})." if changed else "Nothing changed.")
            return redirect("user-detail", pk=person.pk)
    return render(
        request,
        "sfa/form.html",
        {
            "form": form,
            "title": f"Edit {person}",
            "submit": "Save",
            "cancel_url": reverse("user-detail", args=[person.pk]),
        },
    )


@require_http_methods(["GET", "POST"])
def organisation(request: HttpRequest) -> HttpResponse:
    """Departments and teams; admins add them here."""
    is_post = request.method == "POST"
    department_form = DepartmentForm(
        request.POST if is_post and "add_department" in request.POST else None, prefix="dept"
    )
    team_form = TeamForm(request.POST if is_post and "add_team" in request.POST else None, prefix="team")
    for form, create in ((department_form, services.department_create), (team_form, services.team_create)):
        if form.is_bound and form.is_valid():
            try:
                created = create(actor=request.user, **form.cleaned_data)
            except ValidationError as exc:
                add_form_errors(form, exc)
            else:
                messages.success(request, f"Added {created}.")
                return redirect("organisation")
    return render(
        request,
        "sfa/organisation.html",
        {
            "departments": selectors.department_list(actor=request.user),
            "teams": selectors.team_list(actor=request.user),
            "can_manage": can(request.user, "add", Team),
            "department_form": department_form,
            "team_form": team_form,
        },
        status=400 if is_post else 200,
    )


# --- Jobs -----------------------------------------------------------------------------------------

JOB_SORTS = [Sort("created", "created_at", "Started")]


@require_GET
def job_list(request: HttpRequest) -> HttpResponse:
    filterset = JobFilter(request.GET or None, queryset=Job.objects.none())
    try:
        page = keyset_page(
            selectors.job_list(actor=request.user, filters=request.GET),
            request.GET,
            sorts=JOB_SORTS,
            default="-created",
        )
    except ValidationError as exc:
        return render(request, "sfa/error.html", {"errors": exc.messages}, status=400)
    context = {"page": page, "filter_form": filterset.form, "can_selftest": request.user.is_admin}
    return render_page(request, "sfa/jobs.html", context, partial="results")


@require_GET
def job_detail(request: HttpRequest, pk: str) -> HttpResponse:
    job = get_object_for(request.user, Job.objects.select_related("started_by"), pk)
    context = {"job": job, "can_change": can(request.user, "change", job)}
    return render_page(request, "sfa/job_detail.html", context, partial="progress")


@require_POST
def job_selftest(request: HttpRequest) -> HttpResponse:
    job = selftest_start(actor=request.user)
    return redirect("job-detail", pk=job.pk)


@require_POST
def job_cancel_view(request: HttpRequest, pk: str) -> HttpResponse:
    job = get_object_for(request.user, Job.objects.all(), pk, "change")
    job_cancel(job=job, actor=request.user)
    messages.info(request, f"{job.title}: cancelled.")
    return redirect("job-detail", pk=job.pk)


@require_POST
def job_retry_view(request: HttpRequest, pk: str) -> HttpResponse:
    job = get_object_for(request.user, Job.objects.all(), pk, "change")
    try:
        job_retry(job=job, actor=request.user)
    except JobError as exc:
        messages.error(request, str(exc))
    return redirect("job-detail", pk=job.pk)


@require_GET
def job_download(request: HttpRequest, pk: str) -> FileResponse:
    job = get_object_for(request.user, Job.objects.all(), pk)
    path = export_path(str(job.pk))
    if not job.result_url or not path.exists():
        raise Http404("This job has no file to download (it may have expired).")
    return FileResponse(path.open("rb"), as_attachment=True, filename=f"{job.kind}-{job.created_at:%Y%m%d-%H%M}.csv")


# --- Audit ----------------------------------------------------------------------------------------


@require_GET
def audit_log(request: HttpRequest) -> HttpResponse:
    filterset = AuditEventFilter(request.GET or None, queryset=AuditEvent.objects.none())
    require(request.user, "view", AuditEvent)
    try:
        events = audit_list(actor=request.user, filters=request.GET)
        page = keyset_page(events, request.GET, sorts=[Sort("at", "at", "When")], default="-at")
        audit_display(page.rows)
    except ValidationError as exc:
        return render(request, "sfa/error.html", {"errors": exc.messages}, status=400)
    return render_page(request, "sfa/audit.html", {"page": page, "filter_form": filterset.form}, partial="results")


@require_POST
def audit_export(request: HttpRequest) -> HttpResponse:
    require(request.user, "view", AuditEvent)
    filters = {k: v for k, v in request.POST.items() if k in AuditEventFilter.base_filters and v}
    try:
        audit_list(actor=request.user, filters=filters)  # reject bad filters now, not in the worker
    except ValidationError as exc:
        return render(request, "sfa/error.html", {"errors": exc.messages}, status=400)
    job = job_start(kind="audit_export", title="Audit log export", actor=request.user, params={"filters": filters})
    return redirect("job-detail", pk=job.pk)


@require_GET
def audit_object_history(request: HttpRequest, content_type_id: int, object_id: str) -> HttpResponse:
    """The history partial of any record, for whoever may view that record."""
    content_type = get_object_or_404(ContentType, pk=content_type_id)
    model = content_type.model_class()
    if model is None:
        raise Http404("Unknown record type.")
    instance = get_object_for(request.user, model._default_manager.all(), object_id)
    try:
        events = audit_history(actor=request.user, instance=instance, limit=100)
    except PermissionDenied:
        raise Http404("No such record.") from None
    return render(request, "sfa/partials/_audit_history.html", {"history": events})
