"""The date we promise the customer: stock, lead times and the working-day calendar.

Per line: units in stock (reserved for the order, or free in the warehouses) need processing + shipping
working days; anything else needs the line's lead time (the product's base lead time, or the saved
configuration's, which includes its slowest option) + shipping. Lead times count working days too. The
order's promise is its latest line.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.utils import timezone

from orders.calendar import working_calendar
from orders.stock import stock_available_many


def _get(line: Any, name: str, default: Any = None) -> Any:
    return line.get(name, default) if isinstance(line, dict) else getattr(line, name, default)


def _product_id(line: Any) -> int:
    product = _get(line, "product")
    return getattr(product, "pk", product) if product is not None else _get(line, "product_id")


def _lead_time(line: Any) -> int:
    lead = _get(line, "lead_time_days")
    if lead is not None:
        return int(lead)
    configuration = _get(line, "configuration")
    if configuration is not None and hasattr(configuration, "lead_time_days"):
        return int(configuration.lead_time_days)
    product = _get(line, "product")
    return int(getattr(product, "base_lead_time_days", 0) or 0)


def line_days(line: Any, free: dict[int, int], processing: int, shipping: int) -> int:
    """Working days from ``start`` until ``line`` arrives; consumes the free stock it counts on from ``free``."""
    quantity = int(_get(line, "quantity", 1))
    held = int(_get(line, "quantity_reserved", 0) or 0) + int(_get(line, "quantity_shipped", 0) or 0)
    if held >= quantity:
        return processing + shipping
    configured = (line.get("configuration") if isinstance(line, dict) else line.configuration_id) is not None
    product_id = _product_id(line)
    need = quantity - held
    if not configured and free.get(product_id, 0) >= need:
        free[product_id] -= need
        return processing + shipping
    return _lead_time(line) + shipping


def promise_date(*, lines: Any, start: date | None = None) -> date:
    """The latest arrival over ``lines`` (order lines, quote lines, or dicts with product, quantity and
    optionally configuration / lead_time_days), counted in working days from ``start`` (today)."""
    from orders.services import order_settings

    settings = order_settings()
    calendar = working_calendar()
    start = start or timezone.localdate()
    lines = list(lines)
    free = stock_available_many(_product_id(line) for line in lines)
    days = [line_days(line, free, settings.processing_days, settings.shipping_days) for line in lines]
    return calendar.add(start, max(days, default=settings.processing_days + settings.shipping_days))
