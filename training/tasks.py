"""Daily training jobs (scheduled in ``CELERY_BEAT_SCHEDULE``): overdue assignments, expiring certifications.

Thin: each calls one service, which is safe to run twice.
"""

from celery import shared_task

from training.services import assignments_mark_overdue, certifications_expire


@shared_task(name="training.mark_overdue")
def mark_overdue() -> int:
    return assignments_mark_overdue()


@shared_task(name="training.expire_certifications")
def expire_certifications() -> dict[str, int]:
    """Expired assignments, reminders and renewal assignments for certifications ending soon."""
    return certifications_expire()
