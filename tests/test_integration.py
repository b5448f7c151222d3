"""Jobs through a real Celery worker process: the embedded filesystem broker, or Redis when
CELERY_BROKER_URL is set. The worker is started by the ``celery_worker`` fixture against the test
database, so these tests commit their data (transactional)."""

import csv
import os

import pytest

from sfa.audit import audit_record
from sfa.diagnostics import selftest_start
from sfa.exports import export_path
from sfa.jobs import job_start
from sfa.models import AuditAction, JobStatus
from tests.factories import UserFactory
from tests.worker import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


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
