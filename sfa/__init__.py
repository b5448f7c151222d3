"""SFA project package: settings, URLs, the Celery app and the core records (people, audit, jobs)."""

from sfa.celery import app as celery_app

__all__ = ("celery_app",)
