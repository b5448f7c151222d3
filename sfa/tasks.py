"""Core background jobs: the audit export, job housekeeping and old idempotency keys. Thin: they call services."""

from datetime import timedelta

from celery import shared_task

from sfa.api.idempotency import idempotency_keys_purge
from sfa.diagnostics import selftest_run
from sfa.exports import audit_export_run
from sfa.jobs import JobRun, job_task, jobs_fail_stale


@job_task(kind="audit_export")
def audit_export(run: JobRun) -> dict:
    return audit_export_run(run)


@job_task(kind="selftest")
def selftest(run: JobRun) -> dict:
    return selftest_run(run)


@shared_task(name="sfa.jobs_housekeeping")
def jobs_housekeeping() -> int:
    return jobs_fail_stale(older_than=timedelta(hours=2))


@shared_task(name="sfa.purge_idempotency_keys")
def purge_idempotency_keys() -> int:
    return idempotency_keys_purge()
