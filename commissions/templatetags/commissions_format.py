"""Rates as people write them on the commission pages: 3.5 %, 8 %, 12.25 % (never 3.500)."""

from decimal import Decimal, InvalidOperation
from typing import Any

from django import template

from commissions.plan_math import num

register = template.Library()


@register.filter
def pct(value: Any) -> str:
    if value is None or value == "":
        return "—"
    try:
        return f"{num(Decimal(str(value)))} %"
    except InvalidOperation:
        return str(value)
