"""Periodic order jobs (scheduled in ``CELERY_BEAT_SCHEDULE``): at-risk flags, quote expiry.

Thin: each calls one service, which is safe to run twice.
"""

from celery import shared_task

from orders import imports  # noqa: F401  (registers the order_import job for the worker)
from orders.delays import orders_flag_at_risk
from orders.services import quotes_expire


@shared_task(name="orders.flag_at_risk")
def flag_at_risk() -> int:
    return orders_flag_at_risk()


@shared_task(name="orders.expire_quotes")
def expire_quotes() -> int:
    return quotes_expire()
