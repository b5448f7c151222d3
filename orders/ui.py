"""Extension point of the order page: panels that the apps above orders plug in.

Commissions shows an order's splits and what it earned on the order page, but orders may not import
commissions (DESIGN.md). So an app registers an ``OrderPanel`` here from its ``AppConfig.ready``, and the
order page renders every registered panel whose ``context`` answers (None hides the panel).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.http import HttpRequest

if TYPE_CHECKING:
    from orders.models import Order


@dataclass(frozen=True)
class OrderPanel:
    """A card on the order page: ``context(request, order)`` returns its template context, or None to hide it."""

    name: str
    title: str
    template: str
    order: int
    context: Callable[[HttpRequest, Order], dict[str, Any] | None]


_panels: list[OrderPanel] = []


def order_panel_register(panel: OrderPanel) -> None:
    if all(existing.name != panel.name for existing in _panels):
        _panels.append(panel)


def order_panels(request: HttpRequest, order: Order) -> list[tuple[OrderPanel, dict[str, Any]]]:
    shown = []
    for panel in sorted(_panels, key=lambda p: p.order):
        context = panel.context(request, order)
        if context is not None:
            shown.append((panel, context))
    return shown
