"""Who may see and change courses, assignments, attempts, certifications and overrides (docs/permissions.md).

Courses are company-wide: everyone reads them, managers and admins write them. Responsibilities decide
what is gated on quotes, so admins alone manage them. The rest belongs to the rep it is about (``user``):
a rep sees their own, a manager their teams', an admin everyone's; managers assign, sign off, revoke and
override for their teams. Only the assignee takes a quiz.
"""

from sfa.permissions import ADMIN_MANAGED, Policy, Scope, register, rule
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

ALL, TEAM, OWN, NONE = Scope.ALL, Scope.TEAM, Scope.OWN, Scope.NONE

COURSE_MANAGED = {
    "view": rule(ALL, ALL, ALL),
    "add": rule(NONE, ALL, ALL),
    "change": rule(NONE, ALL, ALL),
    "delete": rule(NONE, NONE, ALL),
}

# The parts of a course (materials, questions, their answers): whoever edits courses adds and removes them.
COURSE_PART = {**COURSE_MANAGED, "delete": rule(NONE, ALL, ALL)}


@register
class CoursePolicy(Policy):
    """Everyone reads the courses; managers and admins write them; only admins delete one (deactivate instead)."""

    model = Course
    owner = None
    rules = COURSE_MANAGED


for _model in (CourseMaterial, Question, Choice):

    @register
    class _CoursePart(Policy):
        model = _model
        owner = None
        rules = COURSE_PART


@register
class ResponsibilityPolicy(Policy):
    """What a course qualifies for decides what is gated on quotes: admins alone define it."""

    model = Responsibility
    owner = None
    rules = ADMIN_MANAGED


@register
class AssignmentPolicy(Policy):
    """A rep sees and takes their own; a manager assigns, changes, withdraws and signs off their teams'."""

    model = Assignment
    owner = "user"
    rules = {
        "view": rule(OWN, TEAM, ALL),
        "add": rule(NONE, TEAM, ALL),
        "change": rule(NONE, TEAM, ALL),
        "delete": rule(NONE, TEAM, ALL),
        "signoff": rule(NONE, TEAM, ALL),
        "take": rule(OWN, OWN, OWN),
    }


@register
class QuizAttemptPolicy(Policy):
    """Attempts are the taker's; written by the quiz service only, never changed."""

    model = QuizAttempt
    owner = "user"
    rules = {
        "view": rule(OWN, TEAM, ALL),
        "add": rule(OWN, OWN, OWN),
        "change": rule(NONE, NONE, NONE),
        "delete": rule(NONE, NONE, NONE),
    }


@register
class CertificationPolicy(Policy):
    """Granted by a passed quiz or a manager's sign-off; a manager revokes (``change``); nobody deletes one."""

    model = Certification
    owner = "user"
    rules = {
        "view": rule(OWN, TEAM, ALL),
        "add": rule(NONE, TEAM, ALL),
        "change": rule(NONE, TEAM, ALL),
        "delete": rule(NONE, NONE, NONE),
    }


@register
class OverridePolicy(Policy):
    """A manager lets a rep of their teams quote a gated line for a while; revoking is ``change``."""

    model = Override
    owner = "user"
    rules = {
        "view": rule(OWN, TEAM, ALL),
        "add": rule(NONE, TEAM, ALL),
        "change": rule(NONE, TEAM, ALL),
        "delete": rule(NONE, NONE, NONE),
    }
