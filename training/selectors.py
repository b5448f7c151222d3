"""Reads of the training app, scoped by the acting user through the policies (training/policies.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone

from catalog.models import Category, Product
from sfa.models import Role, Team, User
from sfa.permissions import can, get_object_for, scoped, team_member_ids
from training.models import (
    Assignment,
    Certification,
    Course,
    CourseMaterial,
    Override,
    Question,
    QuizAttempt,
    Responsibility,
)

if TYPE_CHECKING:
    from collections.abc import Iterable

EXPIRING_DAYS = 30  # a certification this close to its end shows as "expiring" (and gets its reminder)


# --- Courses and responsibilities ------------------------------------------------------------------------


def course_list(*, actor: User, filters: dict[str, Any] | None = None) -> QuerySet[Course]:
    filters = filters or {}
    qs = scoped(actor, Course.objects.prefetch_related("responsibilities")).annotate(
        question_count=Count("questions", distinct=True),
        open_count=Count("assignments", filter=Q(assignments__status__in=Assignment.OPEN), distinct=True),
    )
    if query := (filters.get("q") or "").strip():
        qs = qs.filter(Q(title__icontains=query) | Q(summary__icontains=query))
    if filters.get("active") in ("1", "true", "on", True):
        qs = qs.filter(is_active=True)
    return qs.order_by("title", "id")


def course_get(*, actor: User, pk: Any, action: str = "view") -> Course:
    qs = Course.objects.prefetch_related(
        "responsibilities__category",
        "materials",
        Prefetch("questions", queryset=Question.objects.prefetch_related("choices")),
    )
    return get_object_for(actor, qs, pk, action)


def material_get(*, actor: User, pk: Any, action: str = "view") -> CourseMaterial:
    return get_object_for(actor, CourseMaterial.objects.select_related("course"), pk, action)


def question_get(*, actor: User, pk: Any, action: str = "view") -> Question:
    return get_object_for(actor, Question.objects.select_related("course").prefetch_related("choices"), pk, action)


def responsibility_list(*, actor: User) -> QuerySet[Responsibility]:
    return scoped(actor, Responsibility.objects.select_related("category")).annotate(
        course_count=Count("courses", distinct=True)
    )


def responsibility_get(*, actor: User, pk: Any, action: str = "view") -> Responsibility:
    return get_object_for(actor, Responsibility.objects.select_related("category"), pk, action)


# --- Who holds what -----------------------------------------------------------------------------------------


def _valid_on(today: date) -> Q:
    return Q(revoked_at__isnull=True, granted_on__lte=today) & (Q(valid_until__isnull=True) | Q(valid_until__gte=today))


def valid_certifications(*, today: date | None = None) -> QuerySet[Certification]:
    """Every certification valid on ``today`` (not revoked, started, not past its end). Unscoped: callers scope."""
    return Certification.objects.filter(_valid_on(today or timezone.localdate()))


def active_overrides(*, today: date | None = None) -> QuerySet[Override]:
    today = today or timezone.localdate()
    return Override.objects.filter(revoked_at__isnull=True, valid_until__gte=today)


def category_line(category_id: int) -> list[int]:
    """``category_id`` and its ancestors, nearest first (one query for the whole tree)."""
    parents = dict(Category.objects.values_list("id", "parent_id"))
    line: list[int] = []
    current: int | None = category_id
    while current is not None and current not in line:
        line.append(current)
        current = parents.get(current)
    return line


def gating_responsibilities(product: Product) -> list[Responsibility]:
    """The active product line certifications a configurable ``product`` needs (its category or one above)."""
    if not product.is_configurable:
        return []
    line = category_line(product.category_id)
    found = {
        r.category_id: r
        for r in Responsibility.objects.select_related("category").filter(
            kind=Responsibility.Kind.CERTIFICATION, is_active=True, category_id__in=line
        )
    }
    return [found[c] for c in line if c in found]


@dataclass
class Standing:
    """How one person stands for one responsibility today."""

    responsibility: Responsibility
    certification: Certification | None = None  # the valid one reaching furthest
    last: Certification | None = None  # the latest one, valid or not (to say "expired on …")
    override: Override | None = None
    open_assignment: Assignment | None = None

    @property
    def qualified(self) -> bool:
        return self.certification is not None or self.override is not None

    @property
    def state(self) -> str:
        """valid, expiring, override, expired, revoked or missing."""
        if self.certification is not None:
            until = self.certification.valid_until
            if until is not None and until <= timezone.localdate() + timedelta(days=EXPIRING_DAYS):
                return "expiring"
            return "valid"
        if self.override is not None:
            return "override"
        if self.last is not None:
            return "revoked" if self.last.revoked_at else "expired"
        return "missing"


def standings(*, users: Iterable[User], responsibilities: Iterable[Responsibility], today: date | None = None):
    """{(user id, responsibility id): Standing} for every pair, in four queries whatever the sizes."""
    today = today or timezone.localdate()
    user_ids = [u.pk for u in users]
    resps = list(responsibilities)
    resp_ids = [r.pk for r in resps]
    out = {(u, r.pk): Standing(r) for u in user_ids for r in resps}
    certs = Certification.objects.filter(user_id__in=user_ids, responsibility_id__in=resp_ids).select_related(
        "course", "granted_by"
    )
    for cert in certs.order_by("granted_on", "id"):
        standing = out[(cert.user_id, cert.responsibility_id)]
        standing.last = cert
        if cert.is_valid(today):
            best = standing.certification
            if best is None or (best.valid_until is not None and (cert.valid_until or date.max) > best.valid_until):
                standing.certification = cert
    for override in active_overrides(today=today).filter(user_id__in=user_ids, responsibility_id__in=resp_ids):
        out[(override.user_id, override.responsibility_id)].override = override
    open_assignments = Assignment.objects.filter(
        user_id__in=user_ids, status__in=Assignment.OPEN, course__responsibilities__in=resp_ids
    ).select_related("course")
    for assignment in open_assignments.prefetch_related("course__responsibilities"):
        for resp in assignment.course.responsibilities.all():
            key = (assignment.user_id, resp.pk)
            if key in out and out[key].open_assignment is None:
                out[key].open_assignment = assignment
    return out


def is_qualified(*, user: User, responsibility: Responsibility, today: date | None = None) -> bool:
    """A valid certification or an active override (one or two indexed queries: the gate's fast path)."""
    mine = {"user": user, "responsibility": responsibility}
    return (
        valid_certifications(today=today).filter(**mine).exists()
        or active_overrides(today=today).filter(**mine).exists()
    )


def standing_for(*, user: User, responsibility: Responsibility, today: date | None = None) -> Standing:
    return standings(users=[user], responsibilities=[responsibility], today=today)[(user.pk, responsibility.pk)]


# --- Assignments, attempts, certifications, overrides ------------------------------------------------------


def assignment_list(*, actor: User, filters: dict[str, Any] | None = None) -> QuerySet[Assignment]:
    filters = filters or {}
    qs = scoped(actor, Assignment.objects.select_related("course", "user", "assigned_by"))
    if user := filters.get("user"):
        qs = qs.filter(user_id=user)
    if status := filters.get("status"):
        qs = qs.filter(status__in=Assignment.OPEN) if status == "open" else qs.filter(status=status)
    if course := filters.get("course"):
        qs = qs.filter(course_id=course)
    return qs.annotate(attempt_count=Count("attempts")).order_by("due_on", "id")


def assignment_get(*, actor: User, pk: Any, action: str = "view") -> Assignment:
    qs = Assignment.objects.select_related("course", "user", "assigned_by").prefetch_related(
        "course__responsibilities", "course__materials"
    )
    return get_object_for(actor, qs, pk, action)


def attempt_list(*, actor: User, assignment: Assignment | None = None) -> QuerySet[QuizAttempt]:
    qs = scoped(actor, QuizAttempt.objects.select_related("course", "user"))
    if assignment is not None:
        qs = qs.filter(assignment=assignment)
    return qs.order_by("-submitted_at", "-id")


def attempt_get(*, actor: User, pk: Any) -> QuizAttempt:
    return get_object_for(actor, QuizAttempt.objects.select_related("course", "user", "assignment"), pk)


def certification_list(*, actor: User, user: User | None = None) -> QuerySet[Certification]:
    qs = scoped(actor, Certification.objects.select_related("responsibility__category", "course", "user", "granted_by"))
    if user is not None:
        qs = qs.filter(user=user)
    return qs.order_by("-granted_on", "-id")


def certification_get(*, actor: User, pk: Any, action: str = "view") -> Certification:
    return get_object_for(actor, Certification.objects.select_related("responsibility", "user"), pk, action)


def override_list(*, actor: User, user: User | None = None, active_only: bool = False) -> QuerySet[Override]:
    qs = scoped(actor, Override.objects.select_related("responsibility", "user", "granted_by"))
    if user is not None:
        qs = qs.filter(user=user)
    if active_only:
        qs = qs.filter(revoked_at__isnull=True, valid_until__gte=timezone.localdate())
    return qs.order_by("-created_at", "-id")


def override_get(*, actor: User, pk: Any, action: str = "view") -> Override:
    return get_object_for(actor, Override.objects.select_related("responsibility", "user"), pk, action)


# --- Pages ----------------------------------------------------------------------------------------------------


@dataclass
class MyTraining:
    open: list[Assignment]
    finished: list[Assignment]
    certifications: list[Certification]
    overrides: list[Override]
    attempts: dict[int, list[QuizAttempt]] = field(default_factory=dict)  # by assignment id


def my_training(*, actor: User) -> MyTraining:
    """The actor's own assignments (open ones by due date), certifications, overrides and attempts."""
    assignments = list(
        assignment_list(actor=actor, filters={"user": actor.pk}).prefetch_related("course__responsibilities")
    )
    attempts: dict[int, list[QuizAttempt]] = {}
    for attempt in attempt_list(actor=actor).filter(user=actor):
        attempts.setdefault(attempt.assignment_id, []).append(attempt)
    for assignment in assignments:
        scores = [a.score_percent for a in attempts.get(assignment.pk, [])]
        assignment.best_score = max(scores) if scores else None
    return MyTraining(
        open=[a for a in assignments if a.is_open],
        finished=sorted((a for a in assignments if not a.is_open), key=lambda a: a.completed_at or a.assigned_at)[::-1],
        certifications=list(certification_list(actor=actor, user=actor)),
        overrides=list(override_list(actor=actor, user=actor, active_only=True)),
        attempts=attempts,
    )


def may_manage_team(actor: User) -> bool:
    """Managers and admins: the team overview, assigning, signing off."""
    return can(actor, "add", Assignment)


def team_choices(*, actor: User) -> list[Team]:
    """The teams the actor may pick on the team overview: those they manage (and below); every team for admins."""
    teams = list(Team.objects.select_related("parent").order_by("name"))
    if actor.is_admin:
        return teams
    managed = {t.pk for t in teams if t.manager_id == actor.pk}
    changed = True
    while changed:  # sub-teams of managed teams
        changed = False
        for team in teams:
            if team.parent_id in managed and team.pk not in managed:
                managed.add(team.pk)
                changed = True
    return [t for t in teams if t.pk in managed]


def team_people(*, actor: User, team: Team | None = None) -> list[User]:
    """The people whose training the actor oversees: the members of their teams (admins: every rep), not themselves."""
    qs = User.objects.filter(is_active=True).select_related("team").exclude(pk=actor.pk)
    if actor.is_admin:
        qs = qs.filter(role=Role.REP) if team is None else qs
    else:
        qs = qs.filter(pk__in=team_member_ids(actor))
    if team is not None:
        qs = qs.filter(team_id__in=_team_and_below(team))
    return list(qs.order_by("team__name", "last_name", "first_name", "username"))


def _team_and_below(team: Team) -> set[int]:
    children: dict[int | None, list[int]] = {}
    for pk, parent in Team.objects.values_list("id", "parent_id"):
        children.setdefault(parent, []).append(pk)
    found, stack = set(), [team.pk]
    while stack:
        pk = stack.pop()
        if pk not in found:
            found.add(pk)
            stack.extend(children.get(pk, []))
    return found


@dataclass
class Cell:
    """One rep × course cell of the team overview: the assignment that counts (open first, else the latest)."""

    assignment: Assignment | None
    attempts: int = 0

    @property
    def status(self) -> str:
        return self.assignment.shown_status if self.assignment else "none"


@dataclass
class Matrix:
    people: list[User]
    courses: list[Course]
    cells: dict[tuple[int, int], Cell]  # (user id, course id)
    responsibilities: list[Responsibility]
    standings: dict[tuple[int, int], Standing]  # (user id, responsibility id)
    overdue: int = 0

    def rows(self) -> list[dict[str, Any]]:
        return [
            {
                "person": person,
                "cells": [(course, self.cells[(person.pk, course.pk)]) for course in self.courses],
                "standings": [self.standings[(person.pk, r.pk)] for r in self.responsibilities],
            }
            for person in self.people
        ]


def team_matrix(*, actor: User, team: Team | None = None) -> Matrix:
    """People × active courses (assignment status) and people × responsibilities (certification standing)."""
    people = team_people(actor=actor, team=team)
    courses = list(Course.objects.filter(is_active=True).order_by("title", "id"))
    responsibilities = list(
        Responsibility.objects.filter(is_active=True).select_related("category").order_by("kind", "name")
    )
    cells = {(p.pk, c.pk): Cell(None) for p in people for c in courses}
    ids = [p.pk for p in people]
    rows = (
        scoped(actor, Assignment.objects.filter(user_id__in=ids, course__is_active=True))
        .select_related("course")
        .annotate(attempt_count=Count("attempts"))
        .order_by("assigned_at", "id")
    )
    for assignment in rows:
        key = (assignment.user_id, assignment.course_id)
        current = cells[key].assignment
        if current is None or not current.is_open:  # an open one wins; else the latest
            cells[key] = Cell(assignment, assignment.attempt_count)
    overdue = sum(1 for cell in cells.values() if cell.assignment is not None and cell.assignment.is_overdue())
    return Matrix(
        people=people,
        courses=courses,
        cells=cells,
        responsibilities=responsibilities,
        standings=standings(users=people, responsibilities=responsibilities),
        overdue=overdue,
    )


def quiz_questions(course: Course) -> list[Question]:
    """The quiz as the taker sees it: questions with their choices, and whether one or several are right."""
    questions = list(Question.objects.filter(course=course).prefetch_related("choices"))
    for question in questions:
        question.multiple = sum(1 for c in question.choices.all() if c.is_correct) > 1
    return questions
