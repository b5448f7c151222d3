"""Who may start forecast runs and read their series (see docs/permissions.md).

Runs are company-wide: everybody sees that a run exists, when it ran and how it went; managers and admins
start them; admins delete a run made on wrong data.

A series is the forecast of the total, a category, a product, a region or a rep. Managers plan stock,
production and advertising on the company's figures, so they see every series but the reps' outside their
teams (``team`` scope: the company-level series and the rep series of their teams' members); a rep sees
only their own rep series, not the company's total; admins see everything. A series' owner is the rep of
a rep series (its key is the user id); the other levels have none.
"""

from __future__ import annotations

from django.db.models import Q

from forecasting.models import FiscalYear, ForecastRun, ForecastSeries, SeriesLevel
from sfa.permissions import ADMIN_MANAGED, Policy, Scope, register, rule, team_member_ids

ALL, TEAM, OWN, NONE = Scope.ALL, Scope.TEAM, Scope.OWN, Scope.NONE


@register
class ForecastRunPolicy(Policy):
    model = ForecastRun
    owner = "created_by"
    rules = {
        "view": rule(ALL, ALL, ALL),
        "add": rule(NONE, ALL, ALL),
        "delete": rule(NONE, NONE, ALL),
    }


@register
class ForecastSeriesPolicy(Policy):
    model = ForecastSeries
    owner = None  # the rep of a rep series, read from its key (owner_id below)
    rules = {
        "view": rule(OWN, TEAM, ALL),
        "add": rule(NONE, NONE, NONE),  # written by forecast runs only
        "change": rule(NONE, NONE, NONE),
        "delete": rule(NONE, NONE, NONE),
    }

    def owner_id(self, obj: ForecastSeries) -> int | None:
        if obj.level != SeriesLevel.REP:
            return None
        try:
            return int(obj.key)
        except ValueError:
            return None

    def filter(self, actor, queryset, action="view"):
        scope = self.scope_for(actor, action)
        if scope is ALL:
            return queryset
        if scope is NONE:
            return queryset.none()
        rep = Q(level=SeriesLevel.REP)
        if scope is OWN:
            return queryset.filter(rep, key=str(actor.pk))
        return queryset.filter(~rep | Q(key__in=[str(pk) for pk in team_member_ids(actor)]))

    def allows(self, actor, action, obj=None):
        scope = self.scope_for(actor, action)
        if scope is NONE:
            return False
        if obj is None or scope is ALL:
            return True
        owner = self.owner_id(obj)
        if scope is OWN:
            return owner is not None and owner == actor.pk
        return owner is None or owner in team_member_ids(actor)


@register
class FiscalYearPolicy(Policy):
    """The fiscal calendar: everybody reads it (pages name fiscal years), admins set the start month."""

    model = FiscalYear
    owner = None
    rules = ADMIN_MANAGED
