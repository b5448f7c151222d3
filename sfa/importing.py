"""What the import services of every app share: an import record's upload, lock, jobs and actor.

An import (``leads.LeadImport``, ``orders.OrderImport``) is a record with the stored ``file``, a ``status``
("running" while its job writes, "done" after), the ``job`` that checks or runs it and ``created_by``. Its
app's services (leads/imports.py, orders/imports.py) decide what the rows mean; the steps here are the same
for all of them, called by the module's name (``importing.lock(lead_import, actor=actor)``). Reading the
file is sfa.tabular's; the wizard's pages are sfa.import_wizard's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.core.files.base import File
from django.db.models import Model

from sfa import jobs
from sfa.audit import audit_record
from sfa.jobs import JobError, JobRun
from sfa.models import AuditAction, Job, User
from sfa.permissions import require
from sfa.tabular import FileInfo, encoding_label, mapping_update

M = TypeVar("M", bound=Model)


def upload_store(record: Model, file: File, *, name: str, info: FileInfo, actor: User) -> None:
    """Keep the upload in ``record.file`` as ``name``, save the record, and audit the upload with what
    reading it found."""
    file.seek(0)
    record.file.save(name, file, save=False)
    record.save()
    audit_record(
        actor=actor,
        instance=record,
        action=AuditAction.CREATE,
        note=f"{name}: {info.row_count:,} rows, {encoding_label(info.encoding)}",
    )


def lock(record: M, *, actor: User, action: str = "change") -> M:
    """The import read again and locked until the transaction ends, once ``actor`` may ``action`` it."""
    record = type(record).objects.select_for_update().get(pk=record.pk)
    require(actor, action, record)
    return record


def editable(record: Any, statuses: tuple[str, ...]) -> None:
    """Refuse to change an import that is past the steps (``statuses``) in which it can be changed."""
    if record.status not in statuses:
        raise ValidationError(f"This import is {record.get_status_display().lower()}; it cannot be changed now.")


def mapping_require(problems: list[str]) -> None:
    """Refuse a column mapping with problems: a ValidationError on ``mapping`` that lists them."""
    if problems:
        raise ValidationError({"mapping": problems})


def mapping_set(
    record: Any, changes: dict[str, str], *, header: list[str], errors: Callable[[list[str], dict[str, str]], list[str]]
) -> bool:
    """Apply a user's mapping ``changes`` to ``record.mapping`` (not saved), once ``errors`` finds nothing wrong
    with the whole mapping (else a ValidationError); True when the mapping changed."""
    full = mapping_update(header, record.mapping, changes)
    mapping_require(errors(header, full))
    if full == record.mapping:
        return False
    record.mapping = full
    return True


def audit(record: Model, *, actor: User, verb: str, note: str = "") -> None:
    """Audit a step of an import (started, imported, undone): the import is audited, not each row it wrote."""
    audit_record(actor=actor, instance=record, action=AuditAction.ACTION, verb=verb, note=note)


def job_start(record: Model, *, kind: str, title: str, actor: User) -> Job:
    """Start the job ``kind`` (a check or a run) for an import; ``job_import`` finds the import again."""
    return jobs.job_start(kind=kind, title=title, actor=actor, params={"import_id": record.pk})


def job_import(model: type[M], run: JobRun) -> M:
    """The import a job (started by ``job_start``) works on."""
    return model.objects.get(pk=run.params["import_id"])


def runs(record: Any) -> bool:
    """For an import's run job: True when the import is running, False when it is done already (the job
    was delivered again: nothing to do); a JobError when it is in any other state."""
    if record.status == "done":
        return False
    if record.status != "running":
        raise JobError(f"This import is {record.get_status_display().lower()}; it cannot run.")
    return True


def job_actor(record: Any) -> User:
    """The user an import's job acts as: who started the import, while they exist and are active."""
    actor = User.objects.filter(pk=record.created_by_id, is_active=True).first()
    if actor is None:
        raise JobError("The user who started this import no longer exists or is inactive.")
    return actor
