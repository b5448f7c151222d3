"""CSV exports that run as jobs and resume where they stopped.

Rows are written in primary-key order in chunks; after each chunk the file is flushed and the last
written id and the file size are checkpointed in the job. A retried job truncates the file back to the
checkpointed size and carries on after the last id, so no row is ever written twice.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from django.conf import settings
from django.urls import reverse

from sfa.audit import audit_list
from sfa.jobs import JobError, JobRun
from sfa.models import User

CHUNK = 2000
AUDIT_COLUMNS = (
    "id",
    "at",
    "actor",
    "department",
    "action",
    "verb",
    "model",
    "object_id",
    "object",
    "changes",
    "note",
)


def export_path(job_id: str) -> Path:
    return Path(settings.SFA_EXPORT_DIR) / f"{job_id}.csv"


def audit_export_run(run: JobRun) -> dict:
    """Write the audit events matching the job's filters, as seen by the user who started the job."""
    actor = User.objects.filter(pk=run.job.started_by_id, is_active=True).first()
    if actor is None:
        raise JobError("The user who started this export no longer exists or is inactive.")
    queryset = audit_list(actor=actor, filters=run.params.get("filters") or {}).order_by("id")
    total = queryset.count()
    path = export_path(str(run.job.pk))
    path.parent.mkdir(parents=True, exist_ok=True)

    last_id = run.state.get("last_id", 0)
    written = run.state.get("written", 0)
    with path.open("a+", newline="", encoding="utf-8") as handle:
        handle.truncate(run.state.get("offset", 0))
        handle.seek(0, 2)
        writer = csv.writer(handle)
        if handle.tell() == 0:
            writer.writerow(AUDIT_COLUMNS)
        while True:
            chunk = list(queryset.filter(id__gt=last_id)[:CHUNK])
            if not chunk:
                break
            for event in chunk:
                writer.writerow(
                    [
                        event.id,
                        event.at.isoformat(),
                        event.actor.username if event.actor else "",
                        event.actor_department.name if event.actor_department else "",
                        event.action,
                        event.verb,
                        event.content_type.model_class()._meta.label if event.content_type.model_class() else "",
                        event.object_id,
                        event.object_repr,
                        json.dumps(event.changes, ensure_ascii=False),
                        event.note,
                    ]
                )
            handle.flush()
            last_id, written = chunk[-1].id, written + len(chunk)
            run.progress(
                100 * written / max(total, 1),
                f"{written:,} of {total:,} events written",
                last_id=last_id,
                written=written,
                offset=handle.tell(),
            )
    return {
        "message": f"{written:,} events exported",
        "rows": written,
        "result_url": reverse("job-download", args=[run.job.pk]),
    }
