"""Registries that let each app plug into the shell: navigation entries and home dashboard widgets.

Apps register in their ``AppConfig.ready``; the core never imports them. Visibility is asked of the
policies (``visible(user) -> bool``), so a menu never offers a page that would answer 403.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    order: int
    visible: Callable[[Any], bool]
    section: str = "main"  # "main" (top bar) or "admin" (the user menu)


@dataclass(frozen=True)
class Widget:
    """A dashboard card: ``context(request)`` returns the template context, or None to hide the card."""

    name: str
    template: str
    order: int
    context: Callable[[HttpRequest], dict[str, Any] | None]
    width: str = "half"  # "half" or "full"


_nav: list[NavItem] = []
_search: dict[str, str] = {}
_widgets: list[Widget] = []


def nav_register(item: NavItem) -> None:
    if all(existing.url_name != item.url_name for existing in _nav):
        _nav.append(item)


def nav_items(user: Any, section: str = "main") -> list[NavItem]:
    return sorted((i for i in _nav if i.section == section and i.visible(user)), key=lambda i: i.order)


def widget_register(widget: Widget) -> None:
    if all(existing.name != widget.name for existing in _widgets):
        _widgets.append(widget)


def dashboard_widgets(request: HttpRequest) -> list[tuple[Widget, dict[str, Any]]]:
    shown = []
    for widget in sorted(_widgets, key=lambda w: w.order):
        context = widget.context(request)
        if context is not None:
            shown.append((widget, context))
    return shown


def search_register(url_name: str, placeholder: str) -> None:
    """The app that answers the search box in the top bar (one; the contacts app)."""
    _search.update(url_name=url_name, placeholder=placeholder)


def search_box() -> dict[str, str]:
    return dict(_search)
