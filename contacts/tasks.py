"""Periodic outreach jobs: scheduled sends through the guard, and the daily follow-up digest."""

from celery import shared_task

from contacts.duplicates import duplicates_scan_run, duplicates_scan_start
from contacts.services import followup_digest_send, planned_touches_send_due
from sfa.jobs import JobRun, job_task


@shared_task(name="contacts.send_due_planned_touches")
def send_due_planned_touches() -> dict:
    return planned_touches_send_due()


@shared_task(name="contacts.followup_digest")
def followup_digest() -> int:
    return followup_digest_send()


@job_task(kind="duplicates_scan")
def duplicates_scan(run: JobRun) -> dict:
    """Rebuild the blocking keys if asked, then compare every pair sharing a key; resumes after the last pair."""
    return duplicates_scan_run(run)


@shared_task(name="contacts.nightly_duplicates_scan")
def nightly_duplicates_scan() -> str:
    return str(duplicates_scan_start(actor=None, rebuild_keys=True).pk)
