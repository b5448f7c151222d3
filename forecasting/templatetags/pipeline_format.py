"""Money on the pipeline and quota pages: whole units of the base currency ("€1,250,000"), as forecasts are read."""

from decimal import Decimal, InvalidOperation
from typing import Any

from django import template

from catalog.formatting import SYMBOLS
from forecasting.selectors_pipeline import CATEGORY_LABELS

register = template.Library()


@register.filter
def whole_money(value: Any, currency: str = "EUR") -> str:
    if value is None or value == "":
        return "—"
    try:
        number = Decimal(str(value)).quantize(Decimal("1"))
    except InvalidOperation:
        return str(value)
    sign = "−" if number < 0 else ""
    symbol = SYMBOLS.get(currency)
    text = f"{abs(number):,}"
    return f"{sign}{symbol}{text}" if symbol else f"{sign}{text} {currency}"


@register.filter
def bar_width(value: Any) -> str:
    """A percentage as a bar's CSS width, held between 0 and 100."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "0"
    return f"{max(0.0, min(100.0, number)):.1f}"


@register.filter
def category_label(value: str) -> str:
    return CATEGORY_LABELS.get(value, value)
