"""Background jobs that users can see.

A long task is a Celery task wrapped by ``job_task``: it receives a ``JobRun`` that reports progress,
keeps checkpoints in ``Job.state`` and can be cancelled. The wrapper makes every job task safe to run
twice: a finished or cancelled job is never run again, and a retried one resumes from its checkpoint.

    @job_task(kind="audit_export")
    def audit_export(run: JobRun) -> dict: ...

    job = job_start(kind="audit_export", title="Export", actor=user, params={...})
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from celery import shared_task
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from sfa.models import Job, JobStatus
from sfa.permissions import require

if TYPE_CHECKING:
    from sfa.models import User

logger = logging.getLogger(__name__)

_tasks: dict[str, Any] = {}


class JobCancelled(Exception):
    """Raised inside a job when a user cancelled it; the wrapper records the cancellation."""


class JobError(Exception):
    """A failure the user should read as it is (bad input, missing file): no traceback, no retry."""


# A job function that fans its work out to other tasks returns {FANNED_OUT: True}: the job then stays
# running after the function returns, and those tasks call job_report and, the last of them, job_finish.
FANNED_OUT = "fanned_out"


class JobRun:
    """What a job task sees of its Job: params, checkpoints, progress reporting."""

    def __init__(self, job: Job):
        self.job = job

    @property
    def params(self) -> dict[str, Any]:
        return self.job.params

    @property
    def state(self) -> dict[str, Any]:
        return self.job.state

    def progress(self, percent: float, message: str = "", **checkpoint: Any) -> None:
        """Report progress (0-100) and, atomically with it, save a checkpoint to resume from.

        Raises JobCancelled when the job was cancelled meanwhile.
        """
        percent = max(0, min(100, int(percent)))
        updates: dict[str, Any] = {"progress": percent, "heartbeat_at": timezone.now()}
        if message:
            updates["message"] = message[:300]
        if checkpoint:
            self.job.state = {**self.job.state, **checkpoint}
            updates["state"] = self.job.state
        if not Job.objects.filter(pk=self.job.pk, status=JobStatus.RUNNING).update(**updates):
            raise JobCancelled(self.job.pk)
        self.job.progress = percent


def job_task(*, kind: str, max_retries: int = 3) -> Callable[[Callable[[JobRun], dict | None]], Any]:
    """Turn ``func(run) -> result dict`` into a Celery task that runs a Job of ``kind``.

    Database errors (a restarted PostgreSQL, a locked SQLite file) are retried with backoff; a JobError
    fails the job with its message; any other exception fails it with the exception's text.
    """

    def decorator(func: Callable[[JobRun], dict | None]) -> Any:
        @shared_task(name=f"sfa.job.{kind}", bind=True, acks_late=True, max_retries=max_retries)
        @functools.wraps(func)
        def task(self, job_id: str) -> None:
            run = _claim(job_id)
            if run is None:
                return
            try:
                result = func(run) or {}
            except JobCancelled:
                _finish(job_id, JobStatus.CANCELLED, message="Cancelled")
            except JobError as exc:
                _finish(job_id, JobStatus.FAILED, error=str(exc), message="Failed")
            except ValidationError as exc:
                _finish(job_id, JobStatus.FAILED, error=validation_message(exc), message="Failed")
            except DatabaseError as exc:
                if self.request.retries < self.max_retries:
                    logger.warning("job %s hit a database error, retrying: %s", job_id, exc)
                    _note(job_id, f"Database unavailable, retrying ({exc.__class__.__name__})")
                    raise self.retry(exc=exc, countdown=2 ** (self.request.retries + 1)) from exc
                _finish(job_id, JobStatus.FAILED, error=f"Database error: {exc}", message="Failed")
            except Exception as exc:
                logger.exception("job %s (%s) failed", job_id, kind)
                _finish(job_id, JobStatus.FAILED, error=f"{exc.__class__.__name__}: {exc}", message="Failed")
            else:
                if result.get(FANNED_OUT):
                    return  # the tasks it queued report progress and finish the job (job_report, job_finish)
                _finish(
                    job_id,
                    JobStatus.SUCCEEDED,
                    message=result.pop("message", "Done"),
                    result_url=result.pop("result_url", ""),
                    result=result,
                )

        _tasks[kind] = task
        return task

    return decorator


def validation_message(exc: ValidationError) -> str:
    """A Django ValidationError as one readable line: 'since: Enter a valid date/time.'"""
    if hasattr(exc, "error_dict"):
        return "; ".join(f"{field}: {' '.join(messages)}" for field, messages in exc.message_dict.items())
    return " ".join(exc.messages)


def _claim(job_id: str) -> JobRun | None:
    """Mark the job running, unless it already finished or was cancelled (then the task does nothing)."""
    now = timezone.now()
    claimed = Job.objects.filter(pk=job_id, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).update(
        status=JobStatus.RUNNING,
        started_at=Coalesce(F("started_at"), now),
        heartbeat_at=now,
        attempts=F("attempts") + 1,
    )
    if not claimed:
        logger.info("job %s is finished, cancelled or unknown; nothing to do", job_id)
        return None
    return JobRun(Job.objects.get(pk=job_id))


def _finish(job_id: str, status: str, *, message: str = "", error: str = "", **fields: Any) -> None:
    updates: dict[str, Any] = {
        "status": status,
        "finished_at": timezone.now(),
        "message": message[:300],
        **fields,
    }
    if error:
        updates["error"] = error
    if status == JobStatus.SUCCEEDED:
        updates["progress"] = 100
    Job.objects.filter(pk=job_id, status=JobStatus.RUNNING).update(**updates)


def job_report(job_id: str, percent: float, message: str = "") -> bool:
    """Progress of a fanned-out job, from one of its tasks. False when the job no longer runs (cancelled)."""
    updates: dict[str, Any] = {"progress": max(0, min(100, int(percent))), "heartbeat_at": timezone.now()}
    if message:
        updates["message"] = message[:300]
    return bool(Job.objects.filter(pk=job_id, status=JobStatus.RUNNING).update(**updates))


def job_finish(job_id: str, *, error: str = "", message: str = "", result: dict | None = None) -> None:
    """Finish a fanned-out job from the task that did its last part: failed with ``error``, else succeeded."""
    if error:
        _finish(job_id, JobStatus.FAILED, error=error, message=message or "Failed")
    else:
        _finish(job_id, JobStatus.SUCCEEDED, message=message or "Done", result=result or {})


def _note(job_id: str, message: str) -> None:
    Job.objects.filter(pk=job_id).update(message=message[:300], heartbeat_at=timezone.now())


def job_start(*, kind: str, title: str, actor: User | None, params: dict[str, Any] | None = None) -> Job:
    """Create a Job and enqueue its task once the surrounding transaction commits."""
    if kind not in _tasks:
        raise LookupError(f"No job task of kind {kind!r} is registered")
    if actor is not None:
        require(actor, "add", Job)
    job = Job.objects.create(kind=kind, title=title[:200], started_by=actor, params=params or {})
    transaction.on_commit(lambda: _enqueue(job))
    return job


def _enqueue(job: Job) -> None:
    """Send the job's task to the broker; when the broker is down, fail the job with a message saying so."""
    try:
        _tasks[job.kind].delay(str(job.pk))
    except Exception as exc:  # kombu raises several unrelated types for an unreachable broker
        if _tasks[job.kind].app.conf.task_always_eager:
            raise
        logger.exception("could not queue job %s", job.pk)
        Job.objects.filter(pk=job.pk, status=JobStatus.QUEUED).update(
            status=JobStatus.FAILED,
            finished_at=timezone.now(),
            message="Failed",
            error=f"The job queue is unreachable ({exc.__class__.__name__}). Retry the job when it is back.",
        )


def job_cancel(*, job: Job, actor: User) -> Job:
    """Cancel a queued or running job; its task stops at its next progress report."""
    require(actor, "change", job)
    Job.objects.filter(pk=job.pk, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).update(
        status=JobStatus.CANCELLED, finished_at=timezone.now(), message=f"Cancelled by {actor}"
    )
    job.refresh_from_db()
    return job


def job_retry(*, job: Job, actor: User) -> Job:
    """Run a failed job again from its last checkpoint."""
    require(actor, "change", job)
    if job.status != JobStatus.FAILED:
        raise JobError("Only a failed job can be retried.")
    Job.objects.filter(pk=job.pk, status=JobStatus.FAILED).update(
        status=JobStatus.QUEUED, error="", message="Queued again", finished_at=None
    )
    transaction.on_commit(lambda: _enqueue(job))
    job.refresh_from_db()
    return job


def jobs_fail_stale(*, older_than: timedelta) -> int:
    """Fail running jobs whose worker stopped reporting (killed, machine lost) so users are not left waiting."""
    cutoff = timezone.now() - older_than
    return Job.objects.filter(status=JobStatus.RUNNING, heartbeat_at__lt=cutoff).update(
        status=JobStatus.FAILED,
        finished_at=timezone.now(),
        message="Failed",
        error="The worker stopped reporting progress (it was probably restarted). Retry the job to resume it.",
    )
