"""The Job machinery: progress, checkpoints, idempotent retries, cancellation, failure; and the audit export job."""

import csv
from datetime import timedelta

import pytest
from django.db import OperationalError
from django.utils import timezone

from sfa import exports
from sfa.audit import audit_record
from sfa.jobs import JobError, JobRun, job_cancel, job_retry, job_start, job_task, jobs_fail_stale
from sfa.models import AuditAction, AuditEvent, Job, JobStatus
from sfa.tasks import audit_export
from tests.factories import JobFactory

calls: list[str] = []


class WorkerKilled(BaseException):
    """Stands in for SIGKILL: not an Exception, so the job wrapper cannot record anything."""


@job_task(kind="test_steps")
def steps_task(run: JobRun) -> dict:
    """Five steps with a checkpoint each; params can make it die or fail at a step."""
    done = run.state.get("done", 0)
    for step in range(done, 5):
        if run.params.get("die_at") == step and not run.state.get("died"):
            run.progress(step * 20, "about to die", died=True)
            raise WorkerKilled
        if run.params.get("fail_at") == step:
            raise JobError(f"Row {step} is not valid")
        if run.params.get("db_error_at") == step and run.job.attempts == 1:
            raise OperationalError("server closed the connection unexpectedly")
        calls.append(f"{run.job.pk}:{step}")
        run.progress((step + 1) * 20, f"step {step + 1} of 5", done=step + 1)
    return {"message": "all five done", "steps": 5}


@pytest.fixture(autouse=True)
def _clear_calls():
    calls.clear()


def start(user, **params) -> Job:
    return job_start(kind="test_steps", title="Steps", actor=user, params=params)


def test_a_job_runs_on_commit_and_reports_its_result(org, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = start(org.rep)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert job.progress == 100 and job.message == "all five done" and job.result == {"steps": 5}
    assert job.started_at and job.finished_at and job.attempts == 1
    assert len(calls) == 5


def test_running_a_finished_job_again_does_nothing(org, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = start(org.rep)
    steps_task.delay(str(job.pk))
    job.refresh_from_db()
    assert len(calls) == 5 and job.attempts == 1


def test_a_redelivered_job_resumes_from_its_checkpoint_without_repeating_work(org, django_capture_on_commit_callbacks):
    with pytest.raises(WorkerKilled), django_capture_on_commit_callbacks(execute=True):
        job = start(org.rep, die_at=3)
    job = Job.objects.get(kind="test_steps")
    assert job.status == JobStatus.RUNNING and job.state["done"] == 3
    steps_task.delay(str(job.pk))  # the broker redelivers the unacknowledged message
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.attempts == 2
    assert [c.split(":")[1] for c in calls] == ["0", "1", "2", "3", "4"]


def test_a_job_error_fails_the_job_with_its_message_and_a_retry_runs_it_again(org, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = start(org.rep, fail_at=2)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.error == "Row 2 is not valid" and job.state["done"] == 2
    job.params = {}
    job.save(update_fields=["params"])
    with django_capture_on_commit_callbacks(execute=True):
        job_retry(job=job, actor=org.rep)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert [c.split(":")[1] for c in calls] == ["0", "1", "2", "3", "4"]


def test_a_database_error_schedules_a_retry_that_resumes_the_job(org, django_capture_on_commit_callbacks):
    from celery.exceptions import Retry

    with pytest.raises(Retry), django_capture_on_commit_callbacks(execute=True):
        start(org.rep, db_error_at=1)
    job = Job.objects.get(kind="test_steps")
    assert job.status == JobStatus.RUNNING and job.message.startswith("Database unavailable")
    steps_task.delay(str(job.pk))  # what the broker delivers after the countdown
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.attempts == 2
    assert [c.split(":")[1] for c in calls] == ["0", "1", "2", "3", "4"]


def test_only_a_failed_job_can_be_retried(org):
    job = JobFactory(started_by=org.rep, status=JobStatus.SUCCEEDED)
    with pytest.raises(JobError):
        job_retry(job=job, actor=org.rep)


def test_a_cancelled_job_stops_at_its_next_progress_report(org):
    job = JobFactory(kind="test_steps", started_by=org.rep, status=JobStatus.RUNNING)
    run = JobRun(job)
    run.progress(10, "working")
    job_cancel(job=job, actor=org.rep)
    from sfa.jobs import JobCancelled

    with pytest.raises(JobCancelled):
        run.progress(20, "still working")
    steps_task.delay(str(job.pk))
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED and calls == []


def test_a_colleague_cannot_cancel_my_job_but_my_manager_can(org):
    from django.core.exceptions import PermissionDenied

    job = JobFactory(started_by=org.rep)
    with pytest.raises(PermissionDenied):
        job_cancel(job=job, actor=org.rep_b)
    assert job_cancel(job=job, actor=org.manager).status == JobStatus.CANCELLED


def test_stale_running_jobs_are_failed_with_an_explanation(org):
    stale = JobFactory(status=JobStatus.RUNNING, heartbeat_at=timezone.now() - timedelta(hours=3))
    fresh = JobFactory(status=JobStatus.RUNNING, heartbeat_at=timezone.now())
    assert jobs_fail_stale(older_than=timedelta(hours=2)) == 1
    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert stale.status == JobStatus.FAILED and "stopped reporting" in stale.error
    assert fresh.status == JobStatus.RUNNING


def test_unknown_job_kinds_are_refused(org):
    with pytest.raises(LookupError):
        job_start(kind="nope", title="x", actor=org.rep)


# --- the audit export ---------------------------------------------------------------------------


def read_csv(job: Job) -> list[list[str]]:
    with exports.export_path(str(job.pk)).open(newline="") as handle:
        return list(csv.reader(handle))


def test_the_audit_export_writes_every_event_once_even_when_the_worker_dies(
    org, monkeypatch, django_capture_on_commit_callbacks
):
    for i in range(7):
        audit_record(actor=org.admin, instance=org.rep, action=AuditAction.UPDATE, changes={"n": [i, i + 1]})
    expected = AuditEvent.objects.count()
    monkeypatch.setattr(exports, "CHUNK", 3)
    real_progress = JobRun.progress
    state = {"calls": 0}

    def dying_progress(self, *args, **kwargs):
        real_progress(self, *args, **kwargs)
        state["calls"] += 1
        if state["calls"] == 2:
            raise WorkerKilled

    monkeypatch.setattr(JobRun, "progress", dying_progress)
    with pytest.raises(WorkerKilled), django_capture_on_commit_callbacks(execute=True):
        job_start(kind="audit_export", title="Audit", actor=org.admin, params={"filters": {}})
    job = Job.objects.get(kind="audit_export")
    assert job.status == JobStatus.RUNNING
    audit_export.delay(str(job.pk))
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    rows = read_csv(job)
    assert rows[0][0] == "id"
    ids = [int(r[0]) for r in rows[1:]]
    assert sorted(ids) == ids and len(ids) == len(set(ids)) == expected
    assert job.result["rows"] == expected and job.result_url.endswith("/download/")


def test_the_audit_export_applies_the_filters_and_the_starters_rights(org, django_capture_on_commit_callbacks):
    audit_record(actor=org.admin, instance=org.rep, action=AuditAction.ACTION, verb="merged")
    with django_capture_on_commit_callbacks(execute=True):
        job = job_start(kind="audit_export", title="Audit", actor=org.admin, params={"filters": {"action": "action"}})
    job.refresh_from_db()
    rows = read_csv(job)[1:]
    assert len(rows) == 1 and rows[0][5] == "merged"

    # A rep who somehow got a job started in their name still sees nothing of the audit log.
    with django_capture_on_commit_callbacks(execute=True):
        job = Job.objects.create(kind="audit_export", title="x", started_by=org.rep, params={"filters": {}})
        audit_export.delay(str(job.pk))
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and read_csv(job)[1:] == []


def test_the_audit_export_fails_clearly_on_bad_filters(org, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = job_start(kind="audit_export", title="Audit", actor=org.admin, params={"filters": {"since": "yesterday"}})
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and "since" in job.error


def test_an_unreachable_broker_fails_the_job_with_a_clear_message(org, monkeypatch, django_capture_on_commit_callbacks):
    from kombu.exceptions import OperationalError as BrokerError

    from sfa.celery import app

    def broker_down(*args, **kwargs):
        raise BrokerError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(steps_task, "delay", broker_down)
    app.conf.task_always_eager = False
    try:
        with django_capture_on_commit_callbacks(execute=True):
            job = start(org.rep)
    finally:
        app.conf.task_always_eager = True
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and "job queue is unreachable" in job.error
