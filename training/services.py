"""Writes of the training app: courses and their quizzes, responsibilities, assignments, quiz attempts, sign-offs,
certifications and overrides; and the nightly jobs (overdue, expiry, reminders and renewals).

Every service takes keyword arguments, checks the policy of ``actor`` (None: the system), runs in one
transaction, audits (``sfa.audit``) and raises ``ValidationError`` with a message that says what is wrong.
A quiz is scored here, on the server, from the stored correct choices: nothing the browser sends is a score.
"""

from __future__ import annotations

import calendar
import logging
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from catalog.richtext import sanitise_html
from catalog.uploads import DOCUMENT_MAX_BYTES, DOCUMENT_TYPES, validate_upload
from sfa.audit import audit_record, diff, snapshot
from sfa.models import AuditAction, Role, Team, User
from sfa.permissions import require
from sfa.services import model_create, model_delete, model_update
from training.models import (
    Assignment,
    Certification,
    Choice,
    Course,
    CourseMaterial,
    Override,
    Question,
    QuizAttempt,
    Responsibility,
)
from training.selectors import EXPIRING_DAYS, valid_certifications

if TYPE_CHECKING:
    from django.core.files.uploadedfile import UploadedFile

logger = logging.getLogger(__name__)

COURSE_FIELDS = (
    "title",
    "summary",
    "description",
    "completion",
    "pass_mark_percent",
    "max_attempts",
    "validity_months",
    "duration_minutes",
    "is_active",
)
RESPONSIBILITY_FIELDS = ("name", "kind", "category", "max_discount_percent", "description", "is_active")
MAX_CHOICES = 8
MAX_OVERRIDE_DAYS = 90  # an override is a bridge until the rep is certified, not a second way to qualify
HUNDRED = Decimal("100")


def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months, on the last day of a shorter month (31 Jan + 1 = 28/29 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _mail_on_commit(*, to: User, subject: str, body: str) -> None:
    """E-mail one person after the commit; a failure is logged, never raised (the change is made)."""
    if not to.email:
        return

    def send() -> None:
        try:
            send_mail(subject, body, None, [to.email])
        except Exception:
            logger.exception("Training e-mail %r to user %s was not sent", subject, to.pk)

    transaction.on_commit(send)


# --- Courses --------------------------------------------------------------------------------------------------


def _course_data(data: dict[str, Any]) -> dict[str, Any]:
    unknown = set(data) - set(COURSE_FIELDS)
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), "This is not a field of a course."))
    data = dict(data)
    if "description" in data:
        data["description"] = sanitise_html(data["description"] or "")
    for name in ("title", "summary"):
        if name in data:
            data[name] = (data[name] or "").strip()
    return data


def _responsibility_names(course: Course) -> list[str]:
    return sorted(r.name for r in course.responsibilities.all())


def _responsibilities_set(course: Course, responsibilities: list[Responsibility]) -> None:
    inactive = [r.name for r in responsibilities if not r.is_active]
    if inactive:
        raise ValidationError({"responsibilities": f"Inactive responsibilities cannot be qualified for: {inactive}."})
    course.responsibilities.set(responsibilities)


@transaction.atomic
def course_create(
    *, actor: User | None, data: dict[str, Any], responsibilities: list[Responsibility] | None = None
) -> Course:
    """A course; ``description`` is sanitised HTML; ``responsibilities`` are what passing it qualifies for."""
    if actor is not None:
        require(actor, "add", Course)
    course = Course(**_course_data(data), created_by=actor)
    course.full_clean()
    course.save()
    _responsibilities_set(course, responsibilities or [])
    audit_record(
        actor=actor,
        instance=course,
        action=AuditAction.CREATE,
        changes={**diff({}, snapshot(course)), "responsibilities": [None, _responsibility_names(course)]},
    )
    return course


@transaction.atomic
def course_update(
    *,
    course: Course,
    actor: User | None,
    data: dict[str, Any],
    responsibilities: list[Responsibility] | None = None,
) -> Course:
    if actor is not None:
        require(actor, "change", course)
    course = Course.objects.select_for_update().get(pk=course.pk)
    before = snapshot(course)
    old_names = _responsibility_names(course)
    for name, value in _course_data(data).items():
        setattr(course, name, value)
    course.full_clean()
    changes = diff(before, snapshot(course))
    if responsibilities is not None:
        _responsibilities_set(course, responsibilities)
        new_names = _responsibility_names(course)
        if new_names != old_names:
            changes["responsibilities"] = [old_names, new_names]
    if changes:
        course.save()
        audit_record(actor=actor, instance=course, action=AuditAction.UPDATE, changes=changes)
    return course


@transaction.atomic
def material_add(
    *,
    course: Course,
    actor: User | None,
    title: str,
    url: str = "",
    file: UploadedFile | None = None,
) -> CourseMaterial:
    """A link or a PDF (its type judged by its content) to read before the quiz."""
    if actor is not None:
        require(actor, "change", course)
    title = (title or "").strip()
    if not title:
        raise ValidationError({"title": "Give the material a title."})
    if bool(url) == bool(file):
        raise ValidationError({"url": "Give either a link or a PDF document (one of the two)."})
    data: dict[str, Any] = {"course": course, "title": title, "position": course.materials.count()}
    if file is not None:
        sniffed = validate_upload(file, allowed=DOCUMENT_TYPES, max_bytes=DOCUMENT_MAX_BYTES, what="document")
        data.update(kind=CourseMaterial.Kind.DOCUMENT, file=file, content_type=sniffed.content_type, size=file.size)
    else:
        data.update(kind=CourseMaterial.Kind.LINK, url=url.strip())
    material = CourseMaterial(**data)
    material.full_clean()
    material.save()
    audit_record(
        actor=actor, instance=material, action=AuditAction.CREATE, changes=diff({}, _material_snapshot(material))
    )
    return material


def _material_snapshot(material: CourseMaterial) -> dict[str, Any]:
    """The audited values of a material, its file by its stored name (a file object is no JSON)."""
    values = snapshot(material, [f.name for f in material._meta.concrete_fields if f.name != "file"])
    values["file"] = material.file.name or ""
    return values


@transaction.atomic
def material_delete(*, material: CourseMaterial, actor: User | None) -> None:
    if actor is not None:
        require(actor, "change", material.course)
    stored = material.file.name if material.file else ""
    storage = material.file.storage if material.file else None
    audit_record(
        actor=actor, instance=material, action=AuditAction.DELETE, changes=diff(_material_snapshot(material), {})
    )
    material.delete()
    if stored and storage is not None:
        transaction.on_commit(lambda: storage.delete(stored))


def _choices_clean(choices: list[dict[str, Any]]) -> list[tuple[str, bool]]:
    cleaned = [((c.get("text") or "").strip(), bool(c.get("is_correct"))) for c in choices]
    cleaned = [(text, correct) for text, correct in cleaned if text]
    if len(cleaned) < 2:
        raise ValidationError({"choices": "Give at least two answers to choose from."})
    if len(cleaned) > MAX_CHOICES:
        raise ValidationError({"choices": f"At most {MAX_CHOICES} answers, please."})
    if not any(correct for _, correct in cleaned):
        raise ValidationError({"choices": "Mark at least one answer as correct."})
    texts = [text.casefold() for text, _ in cleaned]
    if len(set(texts)) != len(texts):
        raise ValidationError({"choices": "Two answers say the same thing."})
    return cleaned


@transaction.atomic
def question_save(
    *,
    course: Course,
    actor: User | None,
    text: str,
    choices: list[dict[str, Any]],
    explanation: str = "",
    question: Question | None = None,
) -> Question:
    """Add a question to ``course`` (or change ``question``): its text and its answers, one or more correct.

    Changing a question writes its answers again; attempts already made keep their score.
    """
    if actor is not None:
        require(actor, "change", course)
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": "Write the question."})
    cleaned = _choices_clean(choices)
    if question is None:
        question = Question(course=course, position=course.questions.count())
        before: dict[str, Any] = {}
        action = AuditAction.CREATE
    else:
        if question.course_id != course.pk:
            raise ValidationError("This question belongs to another course.")
        before = {
            **snapshot(question),
            "choices": [f"{'✓' if c.is_correct else '✗'} {c.text}" for c in question.choices.all()],
        }
        action = AuditAction.UPDATE
    question.text = text[:500]
    question.explanation = (explanation or "").strip()[:500]
    question.full_clean()
    question.save()
    question.choices.all().delete()
    Choice.objects.bulk_create(
        [
            Choice(question=question, text=choice_text[:300], is_correct=correct, position=position)
            for position, (choice_text, correct) in enumerate(cleaned)
        ]
    )
    after = {**snapshot(question), "choices": [f"{'✓' if correct else '✗'} {t}" for t, correct in cleaned]}
    changes = diff(before, after)
    if changes:
        audit_record(actor=actor, instance=question, action=action, changes=changes)
    return question


@transaction.atomic
def question_delete(*, question: Question, actor: User | None) -> None:
    if actor is not None:
        require(actor, "change", question.course)
    model_delete(instance=question, actor=actor)


# --- Responsibilities -------------------------------------------------------------------------------------------


def _responsibility_data(data: dict[str, Any]) -> dict[str, Any]:
    unknown = set(data) - set(RESPONSIBILITY_FIELDS)
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), "This is not a field of a responsibility."))
    data = dict(data)
    kind = data.get("kind")
    if kind == Responsibility.Kind.CERTIFICATION:
        if not data.get("category"):
            raise ValidationError({"category": "A product line certification names its product line (a category)."})
        data["max_discount_percent"] = None
    elif kind == Responsibility.Kind.DISCOUNT:
        if data.get("max_discount_percent") in (None, ""):
            raise ValidationError({"max_discount_percent": "Say up to which discount (%) the rep may go."})
        data["category"] = None
    elif kind == Responsibility.Kind.OTHER:
        data["category"] = None
        data["max_discount_percent"] = None
    if "name" in data:
        data["name"] = (data["name"] or "").strip()
    return data


def _unique_line(data: dict[str, Any], exclude: int | None = None) -> None:
    category = data.get("category")
    if data.get("kind") != Responsibility.Kind.CERTIFICATION or category is None:
        return
    taken = Responsibility.objects.filter(kind=Responsibility.Kind.CERTIFICATION, category=category)
    if exclude is not None:
        taken = taken.exclude(pk=exclude)
    if taken.exists():
        raise ValidationError({"category": f"{category} already has its certification ({taken.first()})."})


@transaction.atomic
def responsibility_create(*, actor: User | None, data: dict[str, Any]) -> Responsibility:
    if actor is not None:
        require(actor, "add", Responsibility)
    data = _responsibility_data({"kind": Responsibility.Kind.CERTIFICATION, **data})
    _unique_line(data)
    return model_create(model=Responsibility, actor=actor, data=data)


@transaction.atomic
def responsibility_update(
    *, responsibility: Responsibility, actor: User | None, data: dict[str, Any]
) -> Responsibility:
    if actor is not None:
        require(actor, "change", responsibility)
    merged = {name: getattr(responsibility, name) for name in RESPONSIBILITY_FIELDS}
    merged.update(data)
    cleaned = _responsibility_data(merged)
    _unique_line(cleaned, exclude=responsibility.pk)
    model_update(instance=responsibility, actor=actor, data=cleaned)
    return responsibility


# --- Assignments ---------------------------------------------------------------------------------------------------


def _assignable(course: Course, user: User, due_on: date) -> None:
    if not course.is_active:
        raise ValidationError(f"{course} is inactive: it cannot be assigned.")
    if course.is_quiz and not course.questions.exists():
        raise ValidationError(f"{course} has no quiz questions yet: add them before assigning it.")
    if not user.is_active:
        raise ValidationError(f"{user} is no longer active.")
    if due_on < timezone.localdate():
        raise ValidationError({"due_on": f"A due date in the past ({due_on:%Y-%m-%d}) would make it overdue at once."})


@transaction.atomic
def assignment_create(*, course: Course, user: User, due_on: date, actor: User | None, note: str = "") -> Assignment:
    """Give ``course`` to ``user`` by ``due_on``: a manager of the user's team (or an admin); the rep is e-mailed."""
    assignment = Assignment(course=course, user=user, due_on=due_on, assigned_by=actor, note=(note or "").strip()[:300])
    if actor is not None:
        require(actor, "add", assignment)
    _assignable(course, user, due_on)
    existing = Assignment.objects.filter(course=course, user=user, status__in=Assignment.OPEN).first()
    if existing is not None:
        raise ValidationError(f"{user} already has {course} to do (due {existing.due_on:%Y-%m-%d}).")
    assignment.full_clean()
    try:
        with transaction.atomic():
            assignment.save()
    except IntegrityError:  # the same assignment made meanwhile by someone else
        raise ValidationError(f"{user} already has {course} to do.") from None
    audit_record(actor=actor, instance=assignment, action=AuditAction.CREATE, changes=diff({}, snapshot(assignment)))
    who = actor.get_full_name() if actor is not None else "SFA"
    _mail_on_commit(
        to=user,
        subject=f"Training assigned: {course}",
        body=(
            f"{who} assigned you the course “{course}”, due on {due_on:%d %B %Y}.\n"
            f"{assignment.note}\n\nOpen My training in SFA to start it."
        ),
    )
    return assignment


def _team_reps(team: Team) -> list[User]:
    children: dict[int | None, list[int]] = {}
    for pk, parent in Team.objects.values_list("id", "parent_id"):
        children.setdefault(parent, []).append(pk)
    ids, stack = set(), [team.pk]
    while stack:
        pk = stack.pop()
        if pk not in ids:
            ids.add(pk)
            stack.extend(children.get(pk, []))
    return list(User.objects.filter(team_id__in=ids, is_active=True, role=Role.REP).order_by("last_name", "pk"))


@transaction.atomic
def assignment_create_for_team(
    *, course: Course, team: Team, due_on: date, actor: User | None, note: str = ""
) -> tuple[list[Assignment], list[tuple[User, str]]]:
    """One assignment per rep of ``team`` and its sub-teams; those who already have it open are skipped (and said)."""
    reps = _team_reps(team)
    if not reps:
        raise ValidationError({"team": f"{team} has no active rep."})
    made: list[Assignment] = []
    skipped: list[tuple[User, str]] = []
    for rep in reps:
        if actor is not None:
            require(actor, "add", Assignment(course=course, user=rep))
        if Assignment.objects.filter(course=course, user=rep, status__in=Assignment.OPEN).exists():
            skipped.append((rep, "already has it to do"))
            continue
        made.append(assignment_create(course=course, user=rep, due_on=due_on, actor=actor, note=note))
    return made, skipped


def _locked(assignment: Assignment) -> Assignment:
    return Assignment.objects.select_for_update().select_related("course", "user").get(pk=assignment.pk)


@transaction.atomic
def assignment_update(
    *, assignment: Assignment, actor: User | None, due_on: date, note: str | None = None
) -> Assignment:
    """A new due date (and note) for an open assignment; an overdue one with a date ahead is open again."""
    locked = _locked(assignment)
    if actor is not None:
        require(actor, "change", locked)
    if not locked.is_open:
        raise ValidationError(f"This assignment is {locked.get_status_display().lower()}: its due date is history.")
    today = timezone.localdate()
    if due_on < today:
        raise ValidationError({"due_on": "Give a due date from today on."})
    data: dict[str, Any] = {"due_on": due_on}
    if note is not None:
        data["note"] = note.strip()[:300]
    if locked.status == Assignment.Status.OVERDUE:
        data["status"] = Assignment.Status.IN_PROGRESS if locked.attempts.exists() else Assignment.Status.ASSIGNED
    model_update(instance=locked, actor=actor, data=data)
    return locked


@transaction.atomic
def assignment_withdraw(*, assignment: Assignment, actor: User | None) -> None:
    """Take back an assignment nobody has started (one with attempts stays, as the record of them)."""
    locked = _locked(assignment)
    if actor is not None:
        require(actor, "delete", locked)
    if not locked.is_open or locked.attempts.exists():
        raise ValidationError("Only an open assignment without attempts can be withdrawn.")
    model_delete(instance=locked, actor=actor)


# --- Completing: quiz and sign-off ----------------------------------------------------------------------------------


def _certifications_grant(
    *,
    assignment: Assignment,
    actor: User | None,
    method: str,
    attempt: QuizAttempt | None = None,
    granted_by: User | None = None,
) -> list[Certification]:
    today = timezone.localdate()
    course = assignment.course
    until = add_months(today, course.validity_months) if course.validity_months else None
    granted = []
    for responsibility in course.responsibilities.filter(is_active=True):
        cert = Certification.objects.create(
            user=assignment.user,
            responsibility=responsibility,
            course=course,
            assignment=assignment,
            attempt=attempt,
            method=method,
            granted_by=granted_by,
            granted_on=today,
            valid_until=until,
        )
        audit_record(actor=actor, instance=cert, action=AuditAction.CREATE, changes=diff({}, snapshot(cert)))
        granted.append(cert)
    return granted


def _pass(assignment: Assignment, actor: User | None, verb: str, note: str = "") -> None:
    before = snapshot(assignment)
    course = assignment.course
    assignment.status = Assignment.Status.PASSED
    assignment.completed_at = timezone.now()
    assignment.expires_on = add_months(timezone.localdate(), course.validity_months) if course.validity_months else None
    assignment.save(update_fields=["status", "completed_at", "expires_on"])
    audit_record(
        actor=actor,
        instance=assignment,
        action=AuditAction.ACTION,
        verb=verb,
        changes=diff(before, snapshot(assignment)),
        note=note,
    )


def _refuse_closed(assignment: Assignment) -> None:
    status = assignment.status
    if status == Assignment.Status.PASSED:
        raise ValidationError(f"{assignment.course} is passed already.")
    if status == Assignment.Status.FAILED:
        raise ValidationError(
            f"{assignment.course}: every attempt is used and it was not passed; ask your manager to assign it again."
        )
    if status == Assignment.Status.EXPIRED:
        raise ValidationError(f"{assignment.course}: this assignment has expired; a new one renews it.")


def _as_id(value: Any, what: str) -> int:
    if isinstance(value, bool):
        raise ValidationError(f"{what} {value!r} is not an id.")
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise ValidationError(f"{what} {value!r} is not an id.") from None
    if str(number) != str(value).strip():
        raise ValidationError(f"{what} {value!r} is not an id.")
    return number


def answers_clean(questions: list[Question], answers: Any) -> dict[int, set[int]]:
    """The submitted answers checked against the quiz: {question id: {choice ids}}.

    Every question must be answered; an unknown question, a choice of another question, a second choice on
    a one-answer question, or anything that is not an id is refused with a message naming it (a tampered
    form or a stale page), never silently scored.
    """
    if not isinstance(answers, dict):
        raise ValidationError("Answers must map each question id to the chosen answer ids.")
    by_id = {q.pk: q for q in questions}
    number_of = {q.pk: n for n, q in enumerate(questions, start=1)}
    cleaned: dict[int, set[int]] = {}
    for raw_question, raw_choices in answers.items():
        question_id = _as_id(raw_question, "Question")
        if question_id not in by_id:
            raise ValidationError(
                f"Question {question_id} is not in this quiz (it may have changed since the page was opened: "
                "reload it)."
            )
        values = raw_choices if isinstance(raw_choices, list | tuple) else [raw_choices]
        chosen = {_as_id(v, "Answer") for v in values if v not in (None, "")}
        question = by_id[question_id]
        choice_ids = {c.pk for c in question.choices.all()}
        strangers = sorted(chosen - choice_ids)
        if strangers:
            raise ValidationError(
                f"Answer {strangers[0]} is not one of the answers of question {number_of[question_id]} "
                f"(“{question.text}”)."
            )
        if len(chosen) > 1 and sum(c.is_correct for c in question.choices.all()) == 1:
            raise ValidationError(f"Question {number_of[question_id]} takes one answer, {len(chosen)} were sent.")
        cleaned[question_id] = chosen
    missing = [number_of[q.pk] for q in questions if not cleaned.get(q.pk)]
    if missing:
        listed = ", ".join(str(n) for n in missing)
        raise ValidationError(f"Answer every question: {listed} {'is' if len(missing) == 1 else 'are'} unanswered.")
    return cleaned


def score(questions: list[Question], answers: dict[int, set[int]]) -> tuple[int, Decimal]:
    """(questions answered right, score in %): a question is right when exactly its correct answers are chosen."""
    correct = sum(1 for q in questions if answers[q.pk] == {c.pk for c in q.choices.all() if c.is_correct})
    percent = (Decimal(correct) * HUNDRED / Decimal(len(questions))).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return correct, percent


@transaction.atomic
def quiz_submit(*, assignment: Assignment, actor: User, answers: Any) -> QuizAttempt:
    """Score the assignee's answers; at the pass mark the assignment is passed and its certifications granted.

    Attempts beyond the course's ``max_attempts`` are refused; the last failed one fails the assignment.
    """
    locked = _locked(assignment)
    require(actor, "take", locked)
    course = locked.course
    if not course.is_quiz:
        raise ValidationError(f"{course} is completed by a manager's sign-off, not by a quiz.")
    _refuse_closed(locked)
    used = locked.attempts.count()
    if course.max_attempts is not None and used >= course.max_attempts:
        raise ValidationError(f"{course} allows {course.max_attempts} attempts; all are used.")
    questions = list(course.questions.prefetch_related("choices"))
    if not questions:
        raise ValidationError(f"{course} has no questions yet.")
    cleaned = answers_clean(questions, answers)
    correct, percent = score(questions, cleaned)
    passed = percent >= course.pass_mark_percent
    attempt = QuizAttempt.objects.create(
        assignment=locked,
        user=locked.user,
        course=course,
        number=used + 1,
        answers={str(q): sorted(c) for q, c in cleaned.items()},
        correct=correct,
        total=len(questions),
        score_percent=percent,
        passed=passed,
    )
    audit_record(actor=actor, instance=attempt, action=AuditAction.CREATE, changes=diff({}, snapshot(attempt)))
    if passed:
        _pass(locked, actor, "quiz passed", note=f"{percent} % (pass mark {course.pass_mark_percent} %)")
        _certifications_grant(assignment=locked, actor=actor, method=Certification.Method.QUIZ, attempt=attempt)
        return attempt
    before = snapshot(locked)
    if course.max_attempts is not None and attempt.number >= course.max_attempts:
        locked.status = Assignment.Status.FAILED
        locked.completed_at = timezone.now()
    elif locked.status != Assignment.Status.OVERDUE:
        locked.status = Assignment.Status.IN_PROGRESS
    changes = diff(before, snapshot(locked))
    if changes:
        locked.save(update_fields=["status", "completed_at"])
        audit_record(actor=actor, instance=locked, action=AuditAction.UPDATE, changes=changes)
    return attempt


@transaction.atomic
def assignment_signoff(*, assignment: Assignment, actor: User, note: str = "") -> Assignment:
    """A manager of the rep's team (or an admin) confirms a sign-off course done: passed, certifications granted."""
    locked = _locked(assignment)
    require(actor, "signoff", locked)
    if locked.user_id == actor.pk:
        raise PermissionDenied("Nobody signs off their own training: another manager does.")
    if locked.course.is_quiz:
        raise ValidationError(f"{locked.course} is completed by its quiz, not by a sign-off.")
    _refuse_closed(locked)
    _pass(locked, actor, "signed off", note=note.strip()[:300])
    _certifications_grant(assignment=locked, actor=actor, method=Certification.Method.SIGNOFF, granted_by=actor)
    _mail_on_commit(
        to=locked.user,
        subject=f"Training signed off: {locked.course}",
        body=f"{actor.get_full_name() or actor} signed off “{locked.course}” for you.",
    )
    return locked


# --- Certifications and overrides ----------------------------------------------------------------------------------


@transaction.atomic
def certification_revoke(*, certification: Certification, actor: User, reason: str) -> Certification:
    """End a certification today (a manager of the rep's team, or an admin), with the reason kept."""
    cert = Certification.objects.select_for_update().get(pk=certification.pk)
    require(actor, "change", cert)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why the certification is revoked."})
    if cert.revoked_at is not None:
        raise ValidationError("This certification is revoked already.")
    before = snapshot(cert)
    cert.revoked_at, cert.revoked_by, cert.revoke_reason = timezone.now(), actor, reason[:300]
    cert.save(update_fields=["revoked_at", "revoked_by", "revoke_reason"])
    audit_record(
        actor=actor,
        instance=cert,
        action=AuditAction.ACTION,
        verb="certification revoked",
        changes=diff(before, snapshot(cert)),
        note=reason,
    )
    return cert


@transaction.atomic
def override_grant(
    *, user: User, responsibility: Responsibility, actor: User, reason: str, valid_until: date
) -> Override:
    """Let ``user`` quote the product line of ``responsibility`` without its certification until ``valid_until``.

    A manager of the rep's team or an admin, never for themselves; a reason is required and the grant is
    audited. At most ``MAX_OVERRIDE_DAYS`` ahead: an override bridges the time until the rep is certified.
    """
    override = Override(user=user, responsibility=responsibility, granted_by=actor, valid_until=valid_until)
    require(actor, "add", override)
    if user.pk == actor.pk:
        raise PermissionDenied("Nobody grants themselves an override.")
    if responsibility.kind != Responsibility.Kind.CERTIFICATION or not responsibility.is_active:
        raise ValidationError({"responsibility": "Overrides are for active product line certifications."})
    reason = (reason or "").strip()
    if len(reason) < 5:
        raise ValidationError({"reason": "Say why the rep may quote this line without the certification."})
    today = timezone.localdate()
    if valid_until < today:
        raise ValidationError({"valid_until": "An override ending in the past would allow nothing."})
    if valid_until > today + timedelta(days=MAX_OVERRIDE_DAYS):
        raise ValidationError(
            {"valid_until": f"At most {MAX_OVERRIDE_DAYS} days ahead: the rep should get certified meanwhile."}
        )
    override.reason = reason[:300]
    override.full_clean()
    override.save()
    audit_record(
        actor=actor,
        instance=override,
        action=AuditAction.CREATE,
        verb="override granted",
        changes=diff({}, snapshot(override)),
        note=override.reason,
    )
    _mail_on_commit(
        to=user,
        subject=f"Override: you may quote {responsibility.category} until {valid_until:%d %B %Y}",
        body=(
            f"{actor.get_full_name() or actor} lets you quote the product line {responsibility.category} without "
            f"the certification “{responsibility}” until {valid_until:%d %B %Y}.\nReason: {override.reason}"
        ),
    )
    return override


@transaction.atomic
def override_revoke(*, override: Override, actor: User) -> Override:
    locked = Override.objects.select_for_update().get(pk=override.pk)
    require(actor, "change", locked)
    if locked.revoked_at is not None:
        raise ValidationError("This override is revoked already.")
    before = snapshot(locked)
    locked.revoked_at, locked.revoked_by = timezone.now(), actor
    locked.save(update_fields=["revoked_at", "revoked_by"])
    audit_record(
        actor=actor,
        instance=locked,
        action=AuditAction.ACTION,
        verb="override revoked",
        changes=diff(before, snapshot(locked)),
    )
    return locked


# --- Nightly jobs --------------------------------------------------------------------------------------------------


def assignments_mark_overdue(*, today: date | None = None) -> int:
    """Open assignments past their due date become overdue (the rep is told once). Safe to run twice."""
    today = today or timezone.localdate()
    marked = 0
    late = Assignment.objects.filter(
        status__in=(Assignment.Status.ASSIGNED, Assignment.Status.IN_PROGRESS), due_on__lt=today
    )
    for pk in late.values_list("pk", flat=True):
        with transaction.atomic():
            assignment = (
                Assignment.objects.select_for_update()
                .select_related("course", "user")
                .filter(pk=pk, status__in=(Assignment.Status.ASSIGNED, Assignment.Status.IN_PROGRESS), due_on__lt=today)
                .first()
            )
            if assignment is None:
                continue  # finished or moved meanwhile
            model_update(instance=assignment, actor=None, data={"status": Assignment.Status.OVERDUE})
            _mail_on_commit(
                to=assignment.user,
                subject=f"Training overdue: {assignment.course}",
                body=f"“{assignment.course}” was due on {assignment.due_on:%d %B %Y}. Open My training in SFA.",
            )
            marked += 1
    return marked


def certifications_expire(*, today: date | None = None) -> dict[str, int]:
    """The daily expiry run, safe to run twice.

    Passed assignments whose certification ended become ``expired``. Certifications ending within
    ``EXPIRING_DAYS`` (and not renewed by a later one) get one reminder e-mail and, when their course is
    still active, a renewal assignment due on the day they end.
    """
    today = today or timezone.localdate()
    expired = reminded = renewals = 0
    for pk in Assignment.objects.filter(status=Assignment.Status.PASSED, expires_on__lt=today).values_list(
        "pk", flat=True
    ):
        with transaction.atomic():
            assignment = Assignment.objects.select_for_update().filter(pk=pk, status=Assignment.Status.PASSED).first()
            if assignment is None or assignment.expires_on is None or assignment.expires_on >= today:
                continue
            model_update(instance=assignment, actor=None, data={"status": Assignment.Status.EXPIRED})
            expired += 1
    horizon = today + timedelta(days=EXPIRING_DAYS)
    ending = valid_certifications(today=today).filter(
        valid_until__isnull=False, valid_until__lte=horizon, reminded_on__isnull=True
    )
    for pk in ending.values_list("pk", flat=True):
        with transaction.atomic():
            cert = (
                Certification.objects.select_for_update()
                .select_related("user", "course", "responsibility")
                .filter(pk=pk, reminded_on__isnull=True)
                .first()
            )
            if cert is None:
                continue
            renewed = (
                valid_certifications(today=today)
                .filter(user=cert.user, responsibility=cert.responsibility)
                .exclude(pk=cert.pk)
                .filter(granted_on__gte=cert.granted_on)
                .exists()
            )
            cert.reminded_on = today
            cert.save(update_fields=["reminded_on"])
            if renewed:
                continue
            if renewal_assign(certification=cert, today=today) is not None:
                renewals += 1
            _mail_on_commit(
                to=cert.user,
                subject=f"Your certification “{cert.responsibility}” ends on {cert.valid_until:%d %B %Y}",
                body=(
                    f"Your certification “{cert.responsibility}” is valid until {cert.valid_until:%d %B %Y}. "
                    f"Renew it by completing “{cert.course}” again under My training in SFA."
                ),
            )
            reminded += 1
    return {"expired": expired, "reminded": reminded, "renewals": renewals}


def renewal_assign(*, certification: Certification, today: date) -> Assignment | None:
    """The course of an ending certification again, due the day it ends (None when already open or impossible)."""
    course, user = certification.course, certification.user
    if not course.is_active or not user.is_active:
        return None
    if course.is_quiz and not course.questions.exists():
        return None
    if Assignment.objects.filter(course=course, user=user, status__in=Assignment.OPEN).exists():
        return None
    return assignment_create(
        course=course,
        user=user,
        due_on=max(certification.valid_until, today),
        actor=None,
        note=(
            f"Renewal: your certification “{certification.responsibility}” ends on "
            f"{certification.valid_until:%d %b %Y}."
        ),
    )
