"""Extension point of the rep's product page: panels that apps below the catalog plug in.

The issue wants the product page to show "what sells with it and which accounts bought it". That
knowledge lives in orders, which the catalog may not import (see DESIGN.md). So the orders app
registers a ``ProductPanel`` here from its ``AppConfig.ready`` (as apps register dashboard widgets in
``sfa.ui``), and the product page renders every registered panel whose ``context`` answers. Until an
app registers one, the page shows no sales panel at all, rather than a made-up one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.http import HttpRequest

if TYPE_CHECKING:
    from catalog.models import Product


@dataclass(frozen=True)
class ProductPanel:
    """A card on the product page: ``context(request, product)`` returns its template context, or None to hide it."""

    name: str
    title: str
    template: str
    order: int
    context: Callable[[HttpRequest, Product], dict[str, Any] | None]


_panels: list[ProductPanel] = []


def product_panel_register(panel: ProductPanel) -> None:
    if all(existing.name != panel.name for existing in _panels):
        _panels.append(panel)


def product_panels(request: HttpRequest, product: Product) -> list[tuple[ProductPanel, dict[str, Any]]]:
    shown = []
    for panel in sorted(_panels, key=lambda p: p.order):
        context = panel.context(request, product)
        if context is not None:
            shown.append((panel, context))
    return shown


# --- The configurator's "Request a quote" ------------------------------------------------------------
# A quote request makes a lead, a touch and a draft quote: that flow lives in orders (DESIGN.md), which the
# catalog may not import. Orders registers how to reach its request form for a saved configuration; until
# it does, the configurator shows no "Request a quote" button at all.

_quote_request: dict[str, Callable[[Any], str]] = {}


def quote_request_url_register(url_for: Callable[[Any], str]) -> None:
    """``url_for(configuration) -> str``: the address of the quote request form for a saved configuration."""
    _quote_request["url_for"] = url_for


def quote_request_available() -> bool:
    return "url_for" in _quote_request


def quote_request_url(configuration) -> str | None:
    """Where the customer asks for a quote on ``configuration``, or None when no app offers quote requests."""
    url_for = _quote_request.get("url_for")
    return url_for(configuration) if url_for is not None else None
