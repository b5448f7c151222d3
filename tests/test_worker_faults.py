"""Real Celery workers killed in the middle of a job (issue #10's faults; docs/operations.md).

- a pool process killed (SIGKILL) mid-import and mid-forecast-run: the worker reports the task lost, the
  broker gives it back (``task_acks_late`` + ``task_reject_on_worker_lost``), a new pool process takes it
  and the job resumes from what was committed: every row imported once, every series forecast once;
- a whole worker killed (its host lost; Redis only): the task stays unacknowledged in Redis until the
  visibility timeout, then the other worker's sweep puts it back and that worker finishes the job.

Each chunk of an import or a forecast run commits in one transaction, so a kill never leaves half a chunk.
"""

import os
import signal
import time

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Count

from forecasting.models import ForecastChunk, ForecastPoint, ForecastRun, ForecastSeries
from forecasting.services_runs import forecast_run_start
from leads.imports import lead_import_create, lead_import_start
from leads.models import ImportRow, Lead, LeadImport
from sfa import jobs
from sfa.models import Job, JobStatus
from tests.forecasting.factories import run_sales
from tests.leads.test_imports import csv_text, person
from tests.worker import wait_for, worker_children

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
FAULTS_QUEUE = "sfa-faults-test"
ROWS = 16_000  # four chunks of 4,000: seconds of work, so the kill lands between the first and the last


def _list_import(org, rows: int = ROWS) -> LeadImport:
    upload = SimpleUploadedFile("list.csv", csv_text([person(i) for i in range(1, rows + 1)]).encode(), "text/csv")
    return lead_import_create(actor=org.manager, file=upload, vendor="Adressbroker GmbH", list_name="Messe 2026")


def _wait_until(predicate, timeout: float = 60, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"waited {timeout}s for {what}")


def _mid_import(job: Job) -> bool:
    job.refresh_from_db()
    assert not job.is_finished, f"the import finished before it could be killed ({job.status})"
    return job.state.get("last_row", 0) > 0  # one chunk committed, the next ones to come


def _assert_imported_once(imp: LeadImport, job: Job, rows: int = ROWS) -> None:
    job, _ = wait_for(job, timeout=120)
    imp.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.attempts >= 2, "the job was not delivered again after the kill"
    assert imp.status == LeadImport.Status.DONE
    numbers = ImportRow.objects.filter(lead_import=imp).values("number").annotate(n=Count("id"))
    assert numbers.count() == rows and not numbers.filter(n__gt=1).exists()  # every line once
    assert Lead.objects.filter(lead_import=imp).count() == rows  # no lead twice, none lost
    assert imp.counts["results"] == {"created": rows}


def test_a_pool_process_killed_mid_import_is_replaced_and_the_import_resumes(real_worker, org):
    imp = _list_import(org)
    job = lead_import_start(lead_import=imp, actor=org.manager)
    _wait_until(lambda: _mid_import(job), what="the first committed chunk")
    done_before = job.state["last_row"]
    for pid in worker_children(real_worker):
        os.kill(pid, signal.SIGKILL)
    _assert_imported_once(imp, job)
    assert ImportRow.objects.filter(lead_import=imp, number__lte=done_before).count() == done_before - 1


def test_a_pool_process_killed_mid_forecast_run_leaves_every_series_forecast_once(real_worker, org):
    run_sales(org, months=30, products_per_category=100)
    run = forecast_run_start(actor=org.manager)
    job = run.job

    def mid_run(margin: int = 3) -> bool:
        run.refresh_from_db()
        assert run.status != ForecastRun.Status.DONE, "the run finished before it could be killed"
        return run.chunks_total > 4 and 1 <= run.chunks_done <= run.chunks_total - margin

    # A chunk takes a twentieth of a second and the pool process is busy with one nearly all the time. The
    # worker reports a task lost with its process (WorkerLostError, some seconds later); a kill that found
    # the process between two chunks shows as the run going on at once, and is tried again.
    def lost() -> int:
        return real_worker.log.read_text().count("WorkerLostError")

    lost_before = lost()
    for attempt in range(5):
        # A later try takes any chunk but the last: the first ones may have let the run move on.
        _wait_until(lambda margin=3 if attempt == 0 else 1: mid_run(margin), what="a run half-way through its chunks")
        done_at_kill = run.chunks_done
        for pid in worker_children(real_worker):
            os.kill(pid, signal.SIGKILL)
        _wait_until(
            lambda done_at_kill=done_at_kill: (
                lost() > lost_before or (run.refresh_from_db() or run.chunks_done > done_at_kill)
            ),
            timeout=30,
            what="the worker to report the kill",
        )
        if lost() > lost_before:
            break
    else:
        pytest.fail("five kills in a row found the pool process between two chunks")
    job, _ = wait_for(job, timeout=120)
    run.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and run.status == ForecastRun.Status.DONE, run.error
    assert run.chunks_done == run.chunks_total and not ForecastChunk.objects.filter(run=run, done_at=None).exists()
    series = ForecastSeries.objects.filter(run=run)
    assert series.count() == run.series_total  # no series twice, none lost
    assert not series.values("level", "key").annotate(n=Count("id")).filter(n__gt=1).exists()
    assert ForecastPoint.objects.filter(series__run=run).count() == run.series_total * run.horizon


@pytest.mark.skipif(
    settings.CELERY_BROKER_URL.startswith("filesystem"),
    reason="the embedded broker has one worker on one machine: a worker lost whole is a Redis deployment's case",
)
def test_a_whole_worker_killed_mid_import_its_task_goes_to_another_worker(real_worker, start_worker, org, monkeypatch):
    # Two workers of their own on a queue of their own, with a visibility timeout of 12 s (the session's worker
    # keeps the default): the import goes to the victim, which is killed whole, then the rescuer starts.
    task = jobs._tasks["lead_import"]
    monkeypatch.setattr(task, "delay", lambda job_id: task.apply_async((job_id,), queue=FAULTS_QUEUE))
    short = {"SFA_BROKER_VISIBILITY_TIMEOUT": "12"}
    victim = start_worker("victim", queue=FAULTS_QUEUE, env=short)
    worker_children(victim)
    imp = _list_import(org)
    job = lead_import_start(lead_import=imp, actor=org.manager)
    _wait_until(lambda: _mid_import(job), what="the first committed chunk")
    os.killpg(victim.pid, signal.SIGKILL)  # the worker and its pool: nobody acknowledges or rejects the task
    victim.wait()
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING
    start_worker("rescuer", queue=FAULTS_QUEUE, env=short)
    # Once the task is 12 s old, the rescuer's sweep puts it back on the queue and the rescuer resumes it.
    _assert_imported_once(imp, job)
