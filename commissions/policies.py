"""Who may see and change commission plans, splits and statements (see docs/permissions.md).

Statements are private: a rep sees their own only, a manager those of the teams they manage, admins all.
"""

from commissions.models import CommissionSplit, Plan, Statement
from sfa.permissions import Policy, Scope, register, rule

ALL, TEAM, OWN, NONE = Scope.ALL, Scope.TEAM, Scope.OWN, Scope.NONE


@register
class PlanPolicy(Policy):
    """Managers and admins read every plan and make new ones; a manager changes the plans they made, an admin
    any; deleting is for admins (and only a plan nothing was computed on). Reps read their plan's rules on
    their statements, not the plans list."""

    model = Plan
    owner = "created_by"
    rules = {
        "view": rule(NONE, ALL, ALL),
        "add": rule(NONE, ALL, ALL),
        "change": rule(NONE, OWN, ALL),
        "delete": rule(NONE, NONE, ALL),
    }


@register
class CommissionSplitPolicy(Policy):
    """Whoever sees the order sees its split; the rep's managers and admins set it (a rep does not give
    themselves a colleague's deal, nor give theirs away)."""

    model = CommissionSplit
    owner = "order__owner"
    rules = {
        "view": rule(OWN, TEAM, ALL),
        "add": rule(NONE, TEAM, ALL),
        "change": rule(NONE, TEAM, ALL),
        "delete": rule(NONE, TEAM, ALL),
    }


@register
class StatementPolicy(Policy):
    """A rep sees their own statements; a manager their teams' (computes, adjusts and approves them, never
    their own: the service refuses); admins all. Nobody deletes a statement."""

    model = Statement
    owner = "rep"
    rules = {
        "view": rule(OWN, TEAM, ALL),
        "add": rule(NONE, TEAM, ALL),  # compute
        "change": rule(NONE, TEAM, ALL),  # adjust
        "approve": rule(NONE, TEAM, ALL),
        "delete": rule(NONE, NONE, NONE),
    }
