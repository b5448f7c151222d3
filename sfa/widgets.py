"""Home dashboard cards of the core. Each returns its context, or None when the card has nothing to say."""

from __future__ import annotations

from django.http import HttpRequest

from sfa import selectors
from sfa.audit import audit_list
from sfa.models import AuditEvent
from sfa.permissions import can, team_member_ids


def welcome_widget(request: HttpRequest) -> dict:
    user = request.user
    team = user.team
    return {
        "user": user,
        "team": team,
        "team_manager": team.manager if team else None,
        "managed_count": len(team_member_ids(user)) - 1 if user.is_manager else None,
    }


def jobs_widget(request: HttpRequest) -> dict | None:
    jobs = list(selectors.job_list(actor=request.user).order_by("-created_at")[:5])
    if not jobs:
        return None
    return {"jobs": jobs, "counts": selectors.job_counts(actor=request.user)}


def recent_changes_widget(request: HttpRequest) -> dict | None:
    if not can(request.user, "view", AuditEvent):
        return None
    return {"events": list(audit_list(actor=request.user)[:8])}
