"""Policies of the core records. Other apps keep theirs in their own ``policies.py``."""

from sfa.models import AuditEvent, Department, Job, Team, User
from sfa.permissions import ADMIN_MANAGED, Policy, Scope, register, rule

ALL, TEAM, OWN, NONE = Scope.ALL, Scope.TEAM, Scope.OWN, Scope.NONE


@register
class UserPolicy(Policy):
    """Every internal user sees the directory (timelines name people); only admins manage accounts."""

    model = User
    owner = "id"
    rules = {
        "view": rule(ALL, ALL, ALL),
        "add": rule(NONE, NONE, ALL),
        "change": rule(OWN, OWN, ALL),  # non-admins: their own name, e-mail and password only
        "assign_role": rule(NONE, NONE, ALL),
        "delete": rule(NONE, NONE, ALL),
    }


@register
class DepartmentPolicy(Policy):
    model = Department
    owner = None
    rules = ADMIN_MANAGED


@register
class TeamPolicy(Policy):
    model = Team
    owner = None
    rules = ADMIN_MANAGED


@register
class JobPolicy(Policy):
    """Jobs are private to who started them and their managers; admins see every job."""

    model = Job
    owner = "started_by"
    rules = {
        "view": rule(OWN, TEAM, ALL),
        "add": rule(ALL, ALL, ALL),
        "change": rule(OWN, TEAM, ALL),  # cancel
        "delete": rule(NONE, NONE, ALL),
    }


@register
class AuditEventPolicy(Policy):
    """The company-wide audit log is for admins; a record's own history follows the record's policy."""

    model = AuditEvent
    owner = "actor"
    rules = {
        "view": rule(NONE, NONE, ALL),
        "add": rule(NONE, NONE, NONE),  # written by services only
        "change": rule(NONE, NONE, NONE),
        "delete": rule(NONE, NONE, NONE),
    }
