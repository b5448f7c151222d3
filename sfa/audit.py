"""The audit trail: one generic mechanism for every model.

Services call ``audit_record`` (or the ``model_create`` / ``model_update`` / ``model_delete`` helpers in
``sfa.services``, which call it) inside their transaction, so an event exists exactly when the change
was committed. Values are stored as JSON: foreign keys by id, dates as ISO strings, Decimal as strings.
"""

from __future__ import annotations

import datetime
import decimal
import uuid
from typing import TYPE_CHECKING, Any

from django.contrib.contenttypes.models import ContentType
from django.db.models import Model, QuerySet

from sfa.models import AuditAction, AuditEvent
from sfa.permissions import require, scoped

if TYPE_CHECKING:
    from sfa.models import User

# Fields never copied into the trail: secrets and bookkeeping that changes on every save.
SKIP_FIELDS = frozenset({"password", "last_login", "updated_at", "modified_at"})


def to_json(value: Any) -> Any:
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    return value


def snapshot(instance: Model, fields: list[str] | None = None) -> dict[str, Any]:
    """The audited field values of ``instance`` (concrete fields, foreign keys as ids)."""
    values = {}
    for field in instance._meta.concrete_fields:
        if field.name in SKIP_FIELDS or (fields is not None and field.name not in fields):
            continue
        values[field.name] = to_json(getattr(instance, field.attname))
    return values


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    return {name: [before.get(name), value] for name, value in after.items() if before.get(name) != value}


def audit_record(
    *,
    actor: User | None,
    instance: Model,
    action: str,
    changes: dict[str, list[Any]] | None = None,
    verb: str = "",
    note: str = "",
) -> AuditEvent:
    """Write one audit event for ``instance``. Call it inside the transaction that made the change."""
    if action not in AuditAction.values:
        raise ValueError(f"Unknown audit action {action!r}")
    return AuditEvent.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_department_id=getattr(actor, "department_id", None),
        action=action,
        verb=verb,
        content_type=ContentType.objects.get_for_model(instance, for_concrete_model=True),
        object_id=str(instance.pk),
        object_repr=str(instance)[:200],
        changes=to_json(changes or {}),
        note=note,
    )


def audit_history(*, actor: User, instance: Model) -> QuerySet[AuditEvent]:
    """The history of one record, for whoever may view the record itself."""
    require(actor, "view", instance)
    return (
        AuditEvent.objects.filter(
            content_type=ContentType.objects.get_for_model(instance, for_concrete_model=True),
            object_id=str(instance.pk),
        )
        .select_related("actor", "actor_department")
        .order_by("-at", "-id")
    )


def audit_list(*, actor: User, filters: Any = None) -> QuerySet[AuditEvent]:
    """The company-wide audit log, scoped by AuditEventPolicy (admins only), filtered by AuditEventFilter."""
    from sfa.filters import AuditEventFilter, apply_filters

    qs = scoped(actor, AuditEvent.objects.select_related("actor", "actor_department", "content_type"))
    return apply_filters(AuditEventFilter, filters, qs).order_by("-at", "-id")
