"""Extension point of the account and contact pages: panels that apps below contacts plug in.

The customer's quotes and orders live in the orders app, which contacts may not import (DESIGN.md). So
orders registers a ``CustomerPanel`` here from its ``AppConfig.ready`` (as apps register product panels
in ``catalog.ui``), and the account and contact pages render every registered panel whose ``context``
answers. Without a registered panel the pages show none.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.http import HttpRequest

if TYPE_CHECKING:
    from contacts.models import Account, Contact


@dataclass(frozen=True)
class CustomerPanel:
    """A card on the account and contact pages: ``context(request, record)`` returns its template context
    (``record`` is the Account or the Contact shown), or None to hide it."""

    name: str
    title: str
    template: str
    order: int
    context: Callable[[HttpRequest, Account | Contact], dict[str, Any] | None]


_panels: list[CustomerPanel] = []


def customer_panel_register(panel: CustomerPanel) -> None:
    if all(existing.name != panel.name for existing in _panels):
        _panels.append(panel)


def customer_panels(request: HttpRequest, record: Account | Contact) -> list[tuple[CustomerPanel, dict[str, Any]]]:
    shown = []
    for panel in sorted(_panels, key=lambda p: p.order):
        context = panel.context(request, record)
        if context is not None:
            shown.append((panel, context))
    return shown
