"""Who may see and set quotas, forecast adjustments and pipeline snapshots (see docs/permissions.md).

Quotas and adjustments belong to a rep (``user``) or to a team. A rep row follows the usual scopes by its
``user``; a team row is in a manager's ``team`` scope when the team is one they manage or sits below one.
Reps never see team rows: a team's figures are their colleagues' numbers added up.

On top of the policy, the services refuse a manager's own quota and their own forecast: somebody above
them sets those (as nobody approves their own discount).
"""

from __future__ import annotations

from django.db.models import Q

from forecasting.models import Adjustment, PipelineSnapshot, Quota
from sfa.permissions import Policy, Scope, managed_team_ids, register, rule, team_member_ids

ALL, TEAM, OWN, NONE = Scope.ALL, Scope.TEAM, Scope.OWN, Scope.NONE


class _TargetPolicy(Policy):
    """Rows for a rep or a team (``forecasting.models.TargetMixin``)."""

    owner = "user"

    def filter(self, actor, queryset, action="view"):
        scope = self.scope_for(actor, action)
        if scope is ALL:
            return queryset
        if scope is NONE:
            return queryset.none()
        if scope is OWN:
            return queryset.filter(user=actor.pk)
        return queryset.filter(Q(user__in=team_member_ids(actor)) | Q(team__in=managed_team_ids(actor)))

    def allows(self, actor, action, obj=None):
        if obj is None or obj.team_id is None:
            return super().allows(actor, action, obj)
        scope = self.scope_for(actor, action)
        if scope is ALL:
            return True
        if scope is TEAM:
            return obj.team_id in managed_team_ids(actor)
        return False


@register
class QuotaPolicy(_TargetPolicy):
    """A rep sees their own quota; a manager sets those of their teams' reps and sub-teams; admins all."""

    model = Quota
    rules = {
        "view": rule(OWN, TEAM, ALL),
        "add": rule(NONE, TEAM, ALL),
        "change": rule(NONE, TEAM, ALL),
        "delete": rule(NONE, TEAM, ALL),
    }


@register
class AdjustmentPolicy(_TargetPolicy):
    """A rep sees the number their manager set for them; a manager adjusts their teams' numbers. Never edited:
    a new adjustment supersedes the last, so the history stays."""

    model = Adjustment
    rules = {
        "view": rule(OWN, TEAM, ALL),
        "add": rule(NONE, TEAM, ALL),
        "change": rule(NONE, NONE, NONE),
        "delete": rule(NONE, NONE, NONE),
    }


@register
class PipelineSnapshotPolicy(Policy):
    """The weekly pictures of the pipeline follow the opportunities: own, teams', all. Written by the job only."""

    model = PipelineSnapshot
    owner = "owner"
    rules = {
        "view": rule(OWN, TEAM, ALL),
        "add": rule(NONE, NONE, NONE),
        "change": rule(NONE, NONE, NONE),
        "delete": rule(NONE, NONE, NONE),
    }
