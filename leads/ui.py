"""Extension point of the opportunity page: panels that apps below leads plug in.

A won opportunity becomes an order, and its quotes and orders belong on its page; they live in the
orders app, which leads may not import (DESIGN.md). So orders registers an ``OpportunityPanel`` here
from its ``AppConfig.ready``, and the opportunity page renders every registered panel whose ``context``
answers (a panel may carry its own buttons, such as "Create order").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.http import HttpRequest

if TYPE_CHECKING:
    from leads.models import Opportunity


@dataclass(frozen=True)
class OpportunityPanel:
    """A card on the opportunity page: ``context(request, opportunity)`` returns its template context, or
    None to hide it."""

    name: str
    title: str
    template: str
    order: int
    context: Callable[[HttpRequest, Opportunity], dict[str, Any] | None]


_panels: list[OpportunityPanel] = []


def opportunity_panel_register(panel: OpportunityPanel) -> None:
    if all(existing.name != panel.name for existing in _panels):
        _panels.append(panel)


def opportunity_panels(request: HttpRequest, opportunity: Opportunity) -> list[tuple[OpportunityPanel, dict[str, Any]]]:
    shown = []
    for panel in sorted(_panels, key=lambda p: p.order):
        context = panel.context(request, opportunity)
        if context is not None:
            shown.append((panel, context))
    return shown
