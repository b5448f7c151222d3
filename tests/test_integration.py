"""Jobs through a real Celery worker process: the embedded filesystem broker, or Redis when
CELERY_BROKER_URL is set. The worker is started by the ``celery_worker`` fixture against the test
database, so these tests commit their data (transactional)."""

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from sfa.audit import audit_record
from sfa.celery import app as celery_app
from sfa.diagnostics import selftest_start
from sfa.exports import export_path
from sfa.jobs import job_start
from sfa.models import AuditAction, Job, JobStatus
from tests.factories import UserFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parent.parent


def database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker, tmp_path_factory):
    """A real ``celery worker`` process, started once per test session on the test database."""
    with django_db_blocker.unblock():
        url = database_url()
    log = tmp_path_factory.mktemp("worker") / "worker.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "sfa.settings.test",
        "SFA_TEST_DATA_DIR": settings.TEST_DATA_DIR,
        "DATABASE_URL": url,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
    }
    if not settings.CELERY_BROKER_URL.startswith("filesystem"):
        celery_app.control.purge()  # drop messages a previous run left on a shared Redis
    with log.open("w") as out:
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "sfa",
                "worker",
                "--pool=prefork",
                "--concurrency=1",
                "--loglevel=INFO",
                "--without-heartbeat",
                "--without-mingle",
                "--without-gossip",
                "-n",
                "integration@%h",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    yield worker
    worker.send_signal(signal.SIGTERM)
    try:
        worker.wait(timeout=20)
    except subprocess.TimeoutExpired:
        worker.kill()
    if os.environ.get("CI"):
        print(log.read_text()[-4000:])


@pytest.fixture
def real_worker(celery_worker):
    """Send tasks to the broker instead of running them in the test process."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    yield celery_worker
    celery_app.conf.task_always_eager = previous


def wait_for(job: Job, timeout: float = 60) -> tuple[Job, list[int]]:
    """Poll the job like the progress bar does; return it finished and the progress values seen."""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job.refresh_from_db()
        seen.append(job.progress)
        if job.is_finished:
            return job, seen
        time.sleep(0.1)
    raise AssertionError(f"job {job.title} still {job.status} after {timeout}s: {job.message}")


def test_the_worker_runs_a_job_outside_the_request_and_reports_progress(real_worker):
    admin = UserFactory(username="ops", role="admin")
    job = selftest_start(actor=admin, pause=0.4)
    job, seen = wait_for(job)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.result["pid"] != os.getpid(), "the job ran in the test process, not in the worker"
    assert job.result["checks"]["database"] == "1 users readable"
    assert any(0 < p < 100 for p in seen), f"no intermediate progress seen: {seen}"


def test_the_worker_exports_the_audit_log_to_a_downloadable_file(real_worker):
    admin = UserFactory(username="ops", role="admin")
    for i in range(5):
        audit_record(actor=admin, instance=admin, action=AuditAction.UPDATE, changes={"n": [i, i + 1]})
    job = job_start(kind="audit_export", title="Audit export", actor=admin, params={"filters": {"action": "update"}})
    job, _ = wait_for(job)
    assert job.status == JobStatus.SUCCEEDED, job.error
    with export_path(str(job.pk)).open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert len(rows) == 6 and rows[0][0] == "id"


def test_a_failing_job_shows_its_error(real_worker):
    admin = UserFactory(username="ops", role="admin")
    job = job_start(kind="audit_export", title="Audit export", actor=admin, params={"filters": {"since": "soon"}})
    job, _ = wait_for(job)
    assert job.status == JobStatus.FAILED and "since" in job.error
