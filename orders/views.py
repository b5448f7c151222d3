"""Quotes, orders, stock and the fulfilment dashboard for staff (HTML + HTMX)."""

staff_urlpatterns: list = []
