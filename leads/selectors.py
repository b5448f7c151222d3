"""Reads of leads and opportunities, scoped by the policies."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet

from leads.filters import LeadFilter, OpportunityFilter
from leads.models import Lead, Opportunity, Pipeline, StageChange
from sfa.filters import apply_filters
from sfa.models import User
from sfa.permissions import get_object_for, scoped, team_member_ids


def lead_list(*, actor: User, filters: Any = None) -> QuerySet[Lead]:
    qs = scoped(actor, Lead.objects.select_related("contact", "contact__account", "owner", "lead_import"))
    return apply_filters(LeadFilter, filters, qs)


def lead_get(*, actor: User, pk: Any, action: str = "view") -> Lead:
    qs = Lead.objects.select_related(
        "contact", "contact__account", "owner", "team", "lead_import", "converted_account", "converted_opportunity"
    )
    return get_object_for(actor, qs, pk, action)


def opportunity_list(*, actor: User, filters: Any = None) -> QuerySet[Opportunity]:
    qs = scoped(actor, Opportunity.objects.select_related("account", "contact", "owner", "stage", "pipeline"))
    return apply_filters(OpportunityFilter, filters, qs)


def opportunity_get(*, actor: User, pk: Any, action: str = "view") -> Opportunity:
    qs = Opportunity.objects.select_related("account", "contact", "owner", "stage", "pipeline", "lead")
    return get_object_for(actor, qs, pk, action)


def stage_history(*, actor: User, opportunity: Opportunity) -> QuerySet[StageChange]:
    get_object_for(actor, Opportunity.objects.all(), opportunity.pk)
    return opportunity.history.select_related("by", "from_stage", "to_stage").order_by("at", "id")


def score_bands(*, actor: User) -> list[dict[str, Any]]:
    """Leads per score band (0-19 … 80-100) with how many were converted: the managers' scoring check."""
    qs = scoped(actor, Lead.objects.exclude(score__isnull=True))
    bands = []
    for low in range(0, 100, 20):
        high = 100 if low == 80 else low + 19
        band = qs.filter(score__gte=low, score__lte=high).aggregate(
            total=Count("id"),
            converted=Count("id", filter=Q(status=Lead.Status.CONVERTED)),
            closed=Count("id", filter=Q(status__in=[Lead.Status.CONVERTED, Lead.Status.DISQUALIFIED])),
        )
        band["label"] = f"{low}–{high}"
        band["rate"] = round(100 * band["converted"] / band["closed"]) if band["closed"] else None
        bands.append(band)
    return bands


def visible_owners(*, actor: User) -> QuerySet[User]:
    """Whose opportunities the actor sees (themselves included): the choices of the owner filters."""
    owner_ids = opportunity_list(actor=actor).values("owner_id")
    return User.objects.filter(Q(pk__in=owner_ids) | Q(pk=actor.pk)).order_by("first_name", "last_name", "id")


def assignable_owners(*, actor: User) -> QuerySet[User]:
    """Who the actor may make owner of an opportunity: a rep only themselves, a manager their teams'
    members, an admin anyone active (opportunity_update refuses a rep's hand-over as well)."""
    users = User.objects.filter(is_active=True).order_by("first_name", "last_name", "id")
    if actor.is_admin:
        return users
    if actor.is_manager:
        return users.filter(pk__in=team_member_ids(actor))
    return users.filter(pk=actor.pk)


def visible_pipelines(*, actor: User) -> QuerySet[Pipeline]:
    return scoped(actor, Pipeline.objects.order_by("-is_default", "name"))
