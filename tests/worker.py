"""The real Celery worker of the integration tests (registered as fixtures by tests/conftest.py).

``celery_worker``: one ``celery worker`` process per test session on the test database (the embedded
filesystem broker, or Redis when CELERY_BROKER_URL is set); ``real_worker``: a test that sends its tasks
to it; ``start_worker``: another worker process for one test (a worker to kill); ``worker_children``: the
pool processes of a worker; ``wait_for``: poll a Job like the progress bar does.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from sfa.celery import app as celery_app
from sfa.models import Job

ROOT = Path(__file__).resolve().parent.parent


def database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _spawn(name: str, url: str, log: Path, *, queue: str | None = None, env: dict | None = None) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "sfa.settings.test",
        "SFA_TEST_DATA_DIR": settings.TEST_DATA_DIR,
        "DATABASE_URL": url,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        **(env or {}),
    }
    with log.open("w") as out:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "sfa",
                "worker",
                "--pool=prefork",
                "--concurrency=1",
                f"--queues={queue or settings.CELERY_TASK_DEFAULT_QUEUE}",
                "--loglevel=INFO",
                "--without-heartbeat",
                "--without-mingle",
                "--without-gossip",
                "-n",
                f"{name}@%h",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: a test can kill the worker with its children
        )


def _stop(worker: subprocess.Popen, log: Path) -> None:
    if worker.poll() is None:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
    if os.environ.get("CI"):
        print(log.read_text()[-4000:])


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker, tmp_path_factory):
    """A real ``celery worker`` process, started once per test session on the test database."""
    with django_db_blocker.unblock():
        url = database_url()
    if not settings.CELERY_BROKER_URL.startswith("filesystem"):
        celery_app.control.purge()  # drop messages a previous run left on a shared Redis
    log = tmp_path_factory.mktemp("worker") / "worker.log"
    worker = _spawn("integration", url, log)
    worker.log = log
    yield worker
    _stop(worker, log)


@pytest.fixture
def start_worker(tmp_path):
    """``start_worker(name, queue=None, env=None)`` -> another worker process for this test (on its own queue
    if given, with extra environment variables), stopped (or found killed) after it."""
    started = []

    def _start(name: str, *, queue: str | None = None, env: dict | None = None) -> subprocess.Popen:
        log = tmp_path / f"{name}.log"
        worker = _spawn(name, database_url(), log, queue=queue, env=env)
        worker.log = log
        started.append(worker)
        return worker

    yield _start
    for worker in started:
        _stop(worker, worker.log)


def _read(path: Path) -> list[str]:
    try:
        return path.read_text().split()
    except OSError:  # the thread ended
        return []


def worker_children(worker: subprocess.Popen, timeout: float = 30) -> list[int]:
    """The pool processes of a worker (waits until it has started them)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        # Each thread lists the processes it started: the pool's replacements come from a helper thread.
        children = [int(pid) for path in Path(f"/proc/{worker.pid}/task").glob("*/children") for pid in _read(path)]
        if children:
            return children
        time.sleep(0.1)
    log = worker.log.read_text()[-3000:] if getattr(worker, "log", None) else ""
    raise AssertionError(
        f"worker {worker.pid} (exit code {worker.poll()}) has no pool process after {timeout}s:\n{log}"
    )


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
