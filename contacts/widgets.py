"""Dashboard cards of the contacts app."""

from __future__ import annotations

from django.http import HttpRequest

from contacts.selectors import followups_for


def followups_widget(request: HttpRequest) -> dict | None:
    groups = followups_for(actor=request.user, user=request.user)
    if not any(groups.values()):
        return None
    return {"groups": groups, "overdue": len(groups["overdue"]), "today": len(groups["today"])}
