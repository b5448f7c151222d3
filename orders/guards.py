"""Checks that the apps above orders add to what a person puts on a quote (DESIGN.md: orders never imports them).

A guard is ``guard(*, actor, product, configuration) -> None`` that raises Django's ``ValidationError``
with a message saying what is missing ("Aurora is in the product line Cars: ... certification ...").
The training app registers one from its ``AppConfig.ready``: a rep without a valid certification for a
product line cannot quote its configurable products. The quote services call ``quote_lines_check`` on
every line they write, the quote editor calls ``quote_line_check`` on each line it previews.

The system (``actor`` None: the public configurator's quote request, imports, the demo) is never
checked: guards are about what a person may sell, and the rep who later edits such a quote is checked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Protocol

from django.core.exceptions import ValidationError

if TYPE_CHECKING:
    from catalog.models import Configuration, Product
    from sfa.models import User


class QuoteLineGuard(Protocol):
    def __call__(self, *, actor: User, product: Product, configuration: Configuration | None) -> None: ...


quote_line_guards: list[Callable[..., None]] = []


def quote_line_guard_register(guard: QuoteLineGuard) -> None:
    """Add ``guard`` (once, however often an app's ``ready`` runs)."""
    if guard not in quote_line_guards:
        quote_line_guards.append(guard)


def quote_line_check(*, actor: User | None, product: Product, configuration: Configuration | None = None) -> None:
    """Raise ``ValidationError`` when a guard refuses ``actor`` putting ``product`` on a quote."""
    if actor is None:
        return
    for guard in quote_line_guards:
        guard(actor=actor, product=product, configuration=configuration)


def quote_lines_check(*, actor: User | None, lines: Iterable[Any]) -> None:
    """Check every line (objects with ``product`` and ``configuration``); one error naming each refused line."""
    if actor is None or not quote_line_guards:
        return
    problems: list[str] = []
    for number, line in enumerate(lines, start=1):
        try:
            quote_line_check(actor=actor, product=line.product, configuration=line.configuration)
        except ValidationError as exc:
            problems.extend(f"Line {number} ({line.product.name}): {message}" for message in exc.messages)
    if problems:
        raise ValidationError(problems, code="quote_line_refused")
