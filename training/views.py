"""Training pages (HTML + HTMX): My training, the quiz, the team overview, courses and responsibilities.

Thin: ``training.selectors`` read (scoped by the user), ``training.services`` write and decide; a refused
step comes back as the service's own message.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sfa.models import Team
from sfa.permissions import can, require
from sfa.views import add_form_errors, render_page
from training import forms, selectors, services
from training.models import Assignment, Certification, Course, Override, Responsibility


def _messages_of(exc: Exception) -> str:
    return " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)


def _back(request: HttpRequest, default: str) -> HttpResponse:
    """Redirect to ``next`` when it is a page of this site, else to ``default``."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=False):
        target = default
    return redirect(target)


def _tabs(request: HttpRequest, current: str) -> dict[str, Any]:
    return {
        "tab": current,
        "may_manage": selectors.may_manage_team(request.user),
        "may_edit_courses": can(request.user, "add", Course),
    }


# --- My training ----------------------------------------------------------------------------------------------


@require_GET
def my_training(request: HttpRequest) -> HttpResponse:
    mine = selectors.my_training(actor=request.user)
    today = timezone.localdate()
    certifications = [(cert, _cert_state(cert, today)) for cert in mine.certifications]
    context = {
        **_tabs(request, "my"),
        "mine": mine,
        "certifications": certifications,
        "today": today,
    }
    return render(request, "training/my.html", context)


def _cert_state(cert: Certification, today) -> str:
    if cert.revoked_at is not None:
        return "revoked"
    if not cert.is_valid(today):
        return "expired"
    if cert.valid_until is not None and (cert.valid_until - today).days <= selectors.EXPIRING_DAYS:
        return "expiring"
    return "valid"


# --- One assignment, the quiz, an attempt -------------------------------------------------------------------------


@require_GET
def assignment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    assignment = selectors.assignment_get(actor=request.user, pk=pk)
    user = request.user
    course = assignment.course
    attempts = list(selectors.attempt_list(actor=user, assignment=assignment))
    may_take = can(user, "take", assignment) and assignment.is_open and course.is_quiz
    attempts_left = None if course.max_attempts is None else max(0, course.max_attempts - len(attempts))
    context = {
        **_tabs(request, "my" if assignment.user_id == user.pk else "team"),
        "assignment": assignment,
        "course": course,
        "attempts": attempts,
        "attempts_left": attempts_left,
        "may_take": may_take and attempts_left != 0,
        "may_signoff": (
            can(user, "signoff", assignment)
            and assignment.user_id != user.pk
            and assignment.is_open
            and not course.is_quiz
        ),
        "may_change": can(user, "change", assignment) and assignment.is_open,
        "may_withdraw": can(user, "delete", assignment) and assignment.is_open and not attempts,
        "certifications": list(
            selectors.certification_list(actor=user).filter(assignment=assignment).select_related("responsibility")
        ),
        "due_form": forms.DueForm(initial={"due_on": assignment.due_on, "note": assignment.note}),
    }
    return render(request, "training/assignment_detail.html", context)


@require_http_methods(["GET", "POST"])
def quiz(request: HttpRequest, pk: int) -> HttpResponse:
    """The assignee takes the course's quiz; the answers are scored by ``services.quiz_submit``."""
    assignment = selectors.assignment_get(actor=request.user, pk=pk, action="take")
    course = assignment.course
    questions = selectors.quiz_questions(course)
    chosen: dict[str, list[str]] = {}
    errors: list[str] = []
    status = 200
    if request.method == "POST":
        chosen = forms.quiz_answers(request.POST)
        try:
            attempt = services.quiz_submit(assignment=assignment, actor=request.user, answers=chosen)
        except ValidationError as exc:
            errors = exc.messages
            status = 400
        else:
            if attempt.passed:
                messages.success(request, f"Passed with {attempt.score_percent:.0f} %: well done.")
            else:
                messages.warning(request, f"{attempt.score_percent:.0f} %: not passed this time.")
            return redirect("training:attempt-detail", pk=attempt.pk)
    for question in questions:  # what was ticked, shown again when the answers are refused
        question.chosen = {int(v) for v in chosen.get(str(question.pk), []) if v.isdigit()}
    used = assignment.attempts.count()
    context = {
        **_tabs(request, "my"),
        "assignment": assignment,
        "course": course,
        "questions": questions,
        "errors": errors,
        "attempt_number": used + 1,
        "closed": not assignment.is_open or not course.is_quiz,
    }
    return render(request, "training/quiz.html", context, status=status)


@require_GET
def attempt_detail(request: HttpRequest, pk: int) -> HttpResponse:
    attempt = selectors.attempt_get(actor=request.user, pk=pk)
    assignment = attempt.assignment
    course = attempt.course
    questions = selectors.quiz_questions(course)
    # The right answers are shown once the course is passed (before, they would hand out the next attempt).
    # Nor while the taker has the course open again (a renewal): the same questions would be answered for them.
    reveal = (
        assignment.status == Assignment.Status.PASSED
        and not Assignment.objects.filter(user_id=attempt.user_id, course=course, status__in=Assignment.OPEN).exists()
    )
    rows = []
    for number, question in enumerate(questions, start=1):
        given = set(attempt.answers.get(str(question.pk), []))
        right = {c.pk for c in question.choices.all() if c.is_correct}
        rows.append({"number": number, "question": question, "given": given, "ok": given == right})
    attempts_left = None
    if course.max_attempts is not None:
        attempts_left = max(0, course.max_attempts - assignment.attempts.count())
    context = {
        **_tabs(request, "my" if attempt.user_id == request.user.pk else "team"),
        "attempt": attempt,
        "assignment": assignment,
        "course": course,
        "rows": rows,
        "reveal": reveal,
        "may_retry": can(request.user, "take", assignment) and assignment.is_open and attempts_left != 0,
        "certifications": list(Certification.objects.filter(attempt=attempt).select_related("responsibility")),
    }
    return render(request, "training/attempt.html", context)


# --- Managers: team overview, assigning, signing off --------------------------------------------------------------


def _team_of(request: HttpRequest, teams: list[Team]) -> Team | None:
    wanted = request.GET.get("team") or request.POST.get("filter_team")
    return next((t for t in teams if str(t.pk) == wanted), None)


def _team_context(request: HttpRequest, assign_form: forms.AssignForm | None = None) -> dict[str, Any]:
    teams = selectors.team_choices(actor=request.user)
    team = _team_of(request, teams)
    matrix = selectors.team_matrix(actor=request.user, team=team)
    people = selectors.team_people(actor=request.user)
    view = "certifications" if request.GET.get("view") == "certifications" else "courses"
    return {
        **_tabs(request, "team"),
        "teams": teams,
        "team": team,
        "matrix": matrix,
        "rows": matrix.rows(),
        "view": view,
        "assign_form": assign_form or forms.AssignForm(people=people, teams=teams),
        "today": timezone.localdate(),
    }


def _require_manager(request: HttpRequest) -> None:
    if not selectors.may_manage_team(request.user):
        raise PermissionDenied("The team overview is for managers and admins.")


@require_GET
def team_overview(request: HttpRequest) -> HttpResponse:
    _require_manager(request)
    return render_page(request, "training/team.html", _team_context(request), partial="matrix")


@require_POST
def assign(request: HttpRequest) -> HttpResponse:
    """Assign a course to one person or to every rep of a team (one assignment each)."""
    _require_manager(request)
    teams = selectors.team_choices(actor=request.user)
    people = selectors.team_people(actor=request.user)
    form = forms.AssignForm(request.POST, people=people, teams=teams)
    if form.is_valid():
        data = form.cleaned_data
        try:
            if data["person"] is not None:
                services.assignment_create(
                    course=data["course"],
                    user=data["person"],
                    due_on=data["due_on"],
                    actor=request.user,
                    note=data["note"],
                )
                messages.success(request, f"{data['course']} assigned to {data['person'].get_full_name()}.")
            else:
                made, skipped = services.assignment_create_for_team(
                    course=data["course"],
                    team=data["team"],
                    due_on=data["due_on"],
                    actor=request.user,
                    note=data["note"],
                )
                text = f"{data['course']} assigned to {len(made)} of {data['team']}."
                if skipped:
                    text += " Skipped: " + ", ".join(f"{u.get_full_name()} ({why})" for u, why in skipped) + "."
                messages.success(request, text)
        except ValidationError as exc:
            add_form_errors(form, exc)
        except PermissionDenied as exc:
            form.add_error(None, str(exc))
        else:
            return redirect("training:team")
    return render(request, "training/team.html", _team_context(request, form), status=400)


@require_POST
def assignment_signoff(request: HttpRequest, pk: int) -> HttpResponse:
    assignment = selectors.assignment_get(actor=request.user, pk=pk, action="signoff")
    note = forms.NoteForm(request.POST)
    note.is_valid()
    try:
        services.assignment_signoff(assignment=assignment, actor=request.user, note=note.cleaned_data.get("note", ""))
    except (ValidationError, PermissionDenied) as exc:
        if request.htmx:
            return HttpResponse(_messages_of(exc), status=400)
        messages.error(request, _messages_of(exc))
    else:
        if request.htmx:
            fresh = selectors.assignment_get(actor=request.user, pk=pk)
            cell = selectors.Cell(fresh, fresh.attempts.count())
            return render(
                request, "training/partials/_cell.html", {"cell": cell, "person": fresh.user, "course": fresh.course}
            )
        messages.success(request, f"{assignment.course} signed off for {assignment.user.get_full_name()}.")
    return _back(request, reverse("training:assignment-detail", args=[pk]))


@require_POST
def assignment_due(request: HttpRequest, pk: int) -> HttpResponse:
    assignment = selectors.assignment_get(actor=request.user, pk=pk, action="change")
    form = forms.DueForm(request.POST)
    if form.is_valid():
        try:
            services.assignment_update(assignment=assignment, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            messages.error(request, _messages_of(exc))
        else:
            messages.success(request, f"Now due on {form.cleaned_data['due_on']:%d %b %Y}.")
    else:
        messages.error(request, "Give a valid due date.")
    return redirect("training:assignment-detail", pk=pk)


@require_POST
def assignment_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    assignment = selectors.assignment_get(actor=request.user, pk=pk, action="delete")
    try:
        services.assignment_withdraw(assignment=assignment, actor=request.user)
    except ValidationError as exc:
        messages.error(request, _messages_of(exc))
        return redirect("training:assignment-detail", pk=pk)
    messages.success(request, f"{assignment.course} withdrawn from {assignment.user.get_full_name()}.")
    return redirect("training:team")


@require_POST
def certification_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    cert = selectors.certification_get(actor=request.user, pk=pk, action="change")
    form = forms.ReasonForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError("Say why the certification is revoked.")
        services.certification_revoke(certification=cert, actor=request.user, reason=form.cleaned_data["reason"])
    except ValidationError as exc:
        messages.error(request, _messages_of(exc))
    else:
        messages.success(request, f"{cert.responsibility} revoked for {cert.user.get_full_name()}.")
    return _back(request, reverse("training:team") + "?view=certifications")


@require_http_methods(["GET", "POST"])
def override_create(request: HttpRequest) -> HttpResponse:
    """A manager lets a rep quote a gated product line without the certification, until a day, for a reason."""
    require(request.user, "add", Override)
    people = selectors.team_people(actor=request.user)
    person = next((p for p in people if str(p.pk) == (request.POST.get("user") or request.GET.get("user"))), None)
    if person is None:
        raise Http404("Choose one of the people of your teams.")
    initial = {}
    if wanted := request.GET.get("responsibility"):
        initial["responsibility"] = wanted
    form = forms.OverrideForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                services.override_grant(user=person, actor=request.user, **form.cleaned_data)
            except ValidationError as exc:
                add_form_errors(form, exc)
            except PermissionDenied as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(
                    request,
                    f"{person.get_full_name()} may quote {form.cleaned_data['responsibility'].category} until "
                    f"{form.cleaned_data['valid_until']:%d %b %Y}.",
                )
                return redirect(reverse("training:team") + "?view=certifications")
    standing_rows = selectors.standings(
        users=[person], responsibilities=Responsibility.objects.filter(kind=Responsibility.Kind.CERTIFICATION)
    ).values()
    context = {**_tabs(request, "team"), "form": form, "person": person, "standings": list(standing_rows)}
    return render(request, "training/override_form.html", context, status=status)


@require_POST
def override_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    override = selectors.override_get(actor=request.user, pk=pk, action="change")
    try:
        services.override_revoke(override=override, actor=request.user)
    except ValidationError as exc:
        messages.error(request, _messages_of(exc))
    else:
        messages.success(request, f"Override for {override.user.get_full_name()} revoked.")
    return _back(request, reverse("training:team") + "?view=certifications")


# --- Courses ---------------------------------------------------------------------------------------------------------


@require_GET
def course_list(request: HttpRequest) -> HttpResponse:
    courses = selectors.course_list(actor=request.user, filters=request.GET)
    context = {**_tabs(request, "courses"), "courses": courses, "q": request.GET.get("q", "")}
    return render_page(request, "training/course_list.html", context, partial="results")


@require_GET
def course_detail(request: HttpRequest, pk: int) -> HttpResponse:
    course = selectors.course_get(actor=request.user, pk=pk)
    return render(request, "training/course_detail.html", _course_context(request, course))


def _course_context(request: HttpRequest, course: Course, **extra: Any) -> dict[str, Any]:
    may_edit = can(request.user, "change", course)
    context = {
        **_tabs(request, "courses"),
        "course": course,
        "may_edit": may_edit,
        "questions": selectors.quiz_questions(course) if may_edit else [],
        "question_count": course.questions.count(),
        "question_form": forms.QuestionForm(),
        "material_form": forms.MaterialForm(),
        "open_count": course.assignments.filter(status__in=Assignment.OPEN).count(),
    }
    context.update(extra)
    return context


@require_http_methods(["GET", "POST"])
def course_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    course = selectors.course_get(actor=request.user, pk=pk, action="change") if pk else None
    if course is None:
        require(request.user, "add", Course)
    initial = {"responsibilities": list(course.responsibilities.all())} if course else {}
    form = forms.CourseForm(request.POST or None, instance=course, initial=initial)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            responsibilities = list(form.cleaned_data["responsibilities"])
            try:
                if course is None:
                    saved = services.course_create(
                        actor=request.user, data=form.service_data(), responsibilities=responsibilities
                    )
                    messages.success(request, f"{saved} is created: add its questions and materials.")
                else:
                    fresh = Course.objects.get(pk=course.pk)  # the form wrote the instance: start from the stored row
                    saved = services.course_update(
                        course=fresh, actor=request.user, data=form.service_data(), responsibilities=responsibilities
                    )
                    messages.success(request, f"{saved} is saved.")
            except ValidationError as exc:
                add_form_errors(form, exc)
            else:
                return redirect("training:course-detail", pk=saved.pk)
    context = {**_tabs(request, "courses"), "form": form, "course": course}
    return render(request, "training/course_form.html", context, status=status)


@require_POST
def question_add(request: HttpRequest, pk: int) -> HttpResponse:
    course = selectors.course_get(actor=request.user, pk=pk, action="change")
    form = forms.QuestionForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            services.question_save(
                course=course,
                actor=request.user,
                text=form.cleaned_data["text"],
                explanation=form.cleaned_data["explanation"],
                choices=form.choices(),
            )
        except ValidationError as exc:
            add_form_errors(form, exc)
        else:
            status = 200
            form = forms.QuestionForm()
            if not request.htmx:
                messages.success(request, "Question added.")
                return redirect(reverse("training:course-detail", args=[pk]) + "#questions")
    course = selectors.course_get(actor=request.user, pk=pk)
    context = _course_context(request, course, question_form=form)
    if request.htmx:
        return render(request, "training/course_detail.html#questions", context)  # htmx swaps 200 answers only
    return render(request, "training/course_detail.html", context, status=status)


@require_http_methods(["GET", "POST"])
def question_edit(request: HttpRequest, pk: int) -> HttpResponse:
    question = selectors.question_get(actor=request.user, pk=pk, action="change")
    course = question.course
    form = forms.QuestionForm(request.POST or None, question=None if request.method == "POST" else question)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                services.question_save(
                    course=course,
                    actor=request.user,
                    question=question,
                    text=form.cleaned_data["text"],
                    explanation=form.cleaned_data["explanation"],
                    choices=form.choices(),
                )
            except ValidationError as exc:
                add_form_errors(form, exc)
            else:
                messages.success(request, "Question saved.")
                return redirect(reverse("training:course-detail", args=[course.pk]) + "#questions")
    context = {**_tabs(request, "courses"), "form": form, "question": question, "course": course}
    return render(request, "training/question_form.html", context, status=status)


@require_POST
def question_delete(request: HttpRequest, pk: int) -> HttpResponse:
    question = selectors.question_get(actor=request.user, pk=pk, action="delete")
    course_pk = question.course_id
    services.question_delete(question=question, actor=request.user)
    messages.success(request, "Question removed.")
    return redirect(reverse("training:course-detail", args=[course_pk]) + "#questions")


@require_POST
def material_add(request: HttpRequest, pk: int) -> HttpResponse:
    course = selectors.course_get(actor=request.user, pk=pk, action="change")
    form = forms.MaterialForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.material_add(course=course, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_form_errors(form, exc)
        else:
            messages.success(request, "Material added.")
            return redirect(reverse("training:course-detail", args=[pk]) + "#materials")
    context = _course_context(request, course, material_form=form)
    return render(request, "training/course_detail.html", context, status=400)


@require_POST
def material_delete(request: HttpRequest, pk: int) -> HttpResponse:
    material = selectors.material_get(actor=request.user, pk=pk, action="delete")
    course_pk = material.course_id
    services.material_delete(material=material, actor=request.user)
    messages.success(request, "Material removed.")
    return redirect(reverse("training:course-detail", args=[course_pk]) + "#materials")


@require_GET
def material_file(request: HttpRequest, pk: int) -> FileResponse:
    """A course document, served with the type sniffed at upload."""
    material = selectors.material_get(actor=request.user, pk=pk)
    if not material.file:
        raise Http404("This material is a link, not a file.")
    try:
        handle = material.file.open("rb")
    except FileNotFoundError:
        raise Http404("This file is missing from storage.") from None
    extension = material.file.name.rsplit(".", 1)[-1]
    return FileResponse(
        handle, content_type=material.content_type, filename=f"course-{material.course_id}-{pk}.{extension}"
    )


# --- Responsibilities -------------------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def responsibility_list(request: HttpRequest) -> HttpResponse:
    may_add = can(request.user, "add", Responsibility)
    form = forms.ResponsibilityForm(request.POST or None) if may_add else None
    status = 200
    if request.method == "POST":
        require(request.user, "add", Responsibility)
        status = 400
        if form.is_valid():
            try:
                saved = services.responsibility_create(actor=request.user, data=form.cleaned_data)
            except ValidationError as exc:
                add_form_errors(form, exc)
            else:
                messages.success(request, f"{saved} is added.")
                return redirect("training:responsibility-list")
    context = {
        **_tabs(request, "responsibilities"),
        "responsibilities": selectors.responsibility_list(actor=request.user),
        "form": form,
        "may_change": can(request.user, "change", Responsibility),
    }
    return render(request, "training/responsibility_list.html", context, status=status)


@require_http_methods(["GET", "POST"])
def responsibility_edit(request: HttpRequest, pk: int) -> HttpResponse:
    responsibility = selectors.responsibility_get(actor=request.user, pk=pk, action="change")
    form = forms.ResponsibilityForm(request.POST or None, instance=responsibility)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                stored = Responsibility.objects.get(pk=pk)
                services.responsibility_update(responsibility=stored, actor=request.user, data=form.cleaned_data)
            except ValidationError as exc:
                add_form_errors(form, exc)
            else:
                messages.success(request, "Saved.")
                return redirect("training:responsibility-list")
    context = {**_tabs(request, "responsibilities"), "form": form, "responsibility": responsibility}
    return render(request, "training/responsibility_form.html", context, status=status)


# --- Dashboard ---------------------------------------------------------------------------------------------------


def dashboard_widget(request: HttpRequest) -> dict[str, Any] | None:
    """The home card: my open training and certifications ending soon; a manager's overdue count."""
    user = request.user
    assignments = list(selectors.assignment_list(actor=user, filters={"user": user.pk, "status": "open"})[:5])
    soon = timezone.localdate() + timedelta(days=selectors.EXPIRING_DAYS)
    ending = list(
        selectors.valid_certifications()
        .filter(user=user, valid_until__isnull=False, valid_until__lte=soon)
        .select_related("responsibility")[:3]
    )
    overdue = 0
    if selectors.may_manage_team(user):
        team = [p.pk for p in selectors.team_people(actor=user)]
        overdue = (
            selectors.assignment_list(actor=user, filters={"status": "open"})
            .filter(user_id__in=team, due_on__lt=timezone.localdate())
            .count()
        )
    if not assignments and not ending and not overdue:
        return None
    return {"assignments": assignments, "ending": ending, "overdue": overdue}
