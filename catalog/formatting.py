"""How the catalog writes money, numbers and delivery times for people (pages, and the views that
prepare the configurator's many options in Python rather than in template filters)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

SYMBOLS = {"EUR": "€", "GBP": "£", "USD": "$"}


def money(amount: Any, currency: str = "EUR") -> str:
    """32900 -> "€32,900"; 12.5 -> "€12.50"; a negative amount with a minus sign."""
    if amount is None or amount == "":
        return "—"
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        return str(amount)
    sign = "−" if value < 0 else ""
    text = f"{abs(value):,.2f}"
    if text.endswith(".00"):
        text = text[:-3]
    symbol = SYMBOLS.get(currency)
    return f"{sign}{symbol}{text}" if symbol else f"{sign}{text} {currency}"


def extra(amount: Any, currency: str = "EUR") -> str:
    """A price extra: "+€850", "−€300", or "" when it costs nothing more."""
    if not amount:
        return ""
    return ("+" if Decimal(str(amount)) > 0 else "") + money(amount, currency)


def delivery(days: Any) -> str:
    """63 -> "about 9 weeks"; 10 -> "10 days"."""
    days = int(days or 0)
    if days < 14:
        return f"{days} day{'s' if days != 1 else ''}"
    return f"about {round(days / 7)} weeks"


def number(value: Any) -> str:
    """A Decimal as people write it: 120.00 -> "120", 2.50 -> "2.5"."""
    if value is None or value == "":
        return ""
    return format(Decimal(str(value)).normalize(), "f")
