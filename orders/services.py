"""Writes on quotes, orders, stock and the order settings (see docs/orders.md for the flows)."""

from __future__ import annotations

from orders.models import OrderSettings


def order_settings() -> OrderSettings:
    """The one row of order settings, made with the defaults the first time it is asked for."""
    settings, _ = OrderSettings.objects.get_or_create(pk=1)
    return settings
