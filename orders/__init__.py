"""Quotes, orders, stock, delivery promises and delays (filled by the orders issue)."""
