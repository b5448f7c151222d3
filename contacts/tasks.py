"""Periodic outreach jobs: scheduled sends through the guard, and the daily follow-up digest."""

from celery import shared_task

from contacts.services import followup_digest_send, planned_touches_send_due


@shared_task(name="contacts.send_due_planned_touches")
def send_due_planned_touches() -> dict:
    return planned_touches_send_due()


@shared_task(name="contacts.followup_digest")
def followup_digest() -> int:
    return followup_digest_send()
