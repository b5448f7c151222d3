"""The quote gate: a rep without a valid certification (or a manager's override) for a product line cannot put
its configurable products on a quote.

Orders may not import training (DESIGN.md), so this guard plugs into ``orders.guards`` from
``TrainingConfig.ready``; the quote services, the quote editor and direct order entry call it for every
line a person writes. Managers and admins are not gated: they sign off and override for their teams.
A product line with no active certification responsibility gates nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.utils import timezone

from sfa.models import Role
from training.selectors import gating_responsibilities, is_qualified, standing_for

if TYPE_CHECKING:
    from catalog.models import Configuration, Product
    from sfa.models import User


def is_gated(user: User) -> bool:
    """Reps are gated; managers and admins (who sign off and override) are not."""
    return user.is_authenticated and user.role == Role.REP and not user.is_admin


def quote_line_guard(*, actor: User, product: Product, configuration: Configuration | None = None) -> None:
    """Refuse ``product`` on a quote by ``actor`` when a product line certification it needs is missing."""
    if not is_gated(actor):
        return
    for responsibility in gating_responsibilities(product):
        if is_qualified(user=actor, responsibility=responsibility):
            continue
        standing = standing_for(user=actor, responsibility=responsibility)  # only to explain the refusal
        raise ValidationError(refusal(product=product, standing=standing), code="certification_missing")


def refusal(*, product: Product, standing) -> str:
    """What the rep reads: the product line, the certification missing, and what to do about it."""
    responsibility = standing.responsibility
    line = responsibility.category.name
    message = (
        f"{product.name} is in the product line {line}: quoting it needs a valid certification "
        f"“{responsibility.name}”, which you do not have"
    )
    last = standing.last
    if last is not None and last.revoked_at is not None:
        message += f" (yours was revoked on {timezone.localtime(last.revoked_at):%Y-%m-%d})"
    elif last is not None and last.valid_until is not None:
        message += f" (yours expired on {last.valid_until:%Y-%m-%d})"
    if standing.open_assignment is not None:
        assignment = standing.open_assignment
        hint = f"Complete the course “{assignment.course}” (due {assignment.due_on:%Y-%m-%d}) under My training"
    else:
        hint = "Ask your manager to assign you its course, or to grant an override"
    return f"{message}. {hint}."
