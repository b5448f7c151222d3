"""Policies of the core records. Other apps keep theirs in their own ``policies.py``."""

from sfa.models import AuditEvent, Department, Job, Team, User
from sfa.permissions import Policy, Scope, register

ALL, TEAM, OWN, NONE = Scope.ALL, Scope.TEAM, Scope.OWN, Scope.NONE


def _rule(rep: Scope, manager: Scope, admin: Scope) -> dict[str, Scope]:
    return {"rep": rep, "manager": manager, "admin": admin}


@register
class UserPolicy(Policy):
    """Every internal user sees the directory (timelines name people); only admins manage accounts."""

    model = User
    owner = "id"
    rules = {
        "view": _rule(ALL, ALL, ALL),
        "add": _rule(NONE, NONE, ALL),
        "change": _rule(OWN, OWN, ALL),  # non-admins: their own name, e-mail and password only
        "assign_role": _rule(NONE, NONE, ALL),
        "delete": _rule(NONE, NONE, ALL),
    }


@register
class DepartmentPolicy(Policy):
    model = Department
    owner = None
    rules = {
        "view": _rule(ALL, ALL, ALL),
        "add": _rule(NONE, NONE, ALL),
        "change": _rule(NONE, NONE, ALL),
        "delete": _rule(NONE, NONE, ALL),
    }


@register
class TeamPolicy(Policy):
    model = Team
    owner = None
    rules = DepartmentPolicy.rules


@register
class JobPolicy(Policy):
    """Jobs are private to who started them and their managers; admins see every job."""

    model = Job
    owner = "started_by"
    rules = {
        "view": _rule(OWN, TEAM, ALL),
        "add": _rule(ALL, ALL, ALL),
        "change": _rule(OWN, TEAM, ALL),  # cancel
        "delete": _rule(NONE, NONE, ALL),
    }


@register
class AuditEventPolicy(Policy):
    """The company-wide audit log is for admins; a record's own history follows the record's policy."""

    model = AuditEvent
    owner = "actor"
    rules = {
        "view": _rule(NONE, NONE, ALL),
        "add": _rule(NONE, NONE, NONE),  # written by services only
        "change": _rule(NONE, NONE, NONE),
        "delete": _rule(NONE, NONE, NONE),
    }
