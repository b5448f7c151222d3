"""Money on quotes and orders: always with cents ("€1,250.00"), as a customer's document shows it."""

from decimal import Decimal, InvalidOperation
from typing import Any

from django import template

from catalog.formatting import SYMBOLS

register = template.Library()


@register.filter
def amount(value: Any, currency: str = "EUR") -> str:
    if value is None or value == "":
        return "—"
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    sign = "−" if number < 0 else ""
    text = f"{abs(number):,.2f}"
    symbol = SYMBOLS.get(currency)
    return f"{sign}{symbol}{text}" if symbol else f"{sign}{text} {currency}"
