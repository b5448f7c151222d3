"""The worker self-test: an admin checks, from the jobs page, that background jobs really run."""

from __future__ import annotations

import os
import socket
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied

from sfa.jobs import JobRun, job_start
from sfa.models import Job, User

STEPS = ("database", "files", "clock")


def selftest_start(*, actor: User, pause: float = 0.0) -> Job:
    if not actor.is_admin:
        raise PermissionDenied("Only admins run the worker self-test.")
    return job_start(kind="selftest", title="Worker self-test", actor=actor, params={"pause": min(float(pause), 2.0)})


def selftest_run(run: JobRun) -> dict:
    """Check what a job needs (database, file storage) from inside the worker, one progress step each."""
    pause = float(run.params.get("pause", 0))
    checks: dict[str, str] = {}
    for index, step in enumerate(STEPS):
        if step == "database":
            checks[step] = f"{User.objects.count()} users readable"
        elif step == "files":
            folder = Path(settings.MEDIA_ROOT)
            folder.mkdir(parents=True, exist_ok=True)
            probe = folder / f".selftest-{uuid.uuid4().hex}"
            probe.write_text("ok")
            checks[step] = "media folder writable" if probe.read_text() == "ok" else "media folder unreadable"
            probe.unlink()
        else:
            checks[step] = time.strftime("%Y-%m-%d %H:%M:%S")
        run.progress(100 * (index + 1) / len(STEPS), f"{step}: {checks[step]}")
        time.sleep(pause)
    return {
        "message": f"Worker {socket.gethostname()} (pid {os.getpid()}) is healthy",
        "pid": os.getpid(),
        "checks": checks,
    }
