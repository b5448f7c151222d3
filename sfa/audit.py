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
SKIP_FIELDS = frozenset({"id", "password", "last_login", "updated_at", "modified_at"})


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


def audit_history(*, actor: User, instance: Model, limit: int = 50) -> list[AuditEvent]:
    """The latest events of one record, for whoever may view the record itself, ready to display."""
    require(actor, "view", instance)
    events = (
        AuditEvent.objects.filter(
            content_type=ContentType.objects.get_for_model(instance, for_concrete_model=True),
            object_id=str(instance.pk),
        )
        .select_related("actor", "actor_department", "content_type")
        .order_by("-at", "-id")[:limit]
    )
    return audit_display(list(events))


def _display_value(value: Any, field: Any, labels: dict[tuple[type, Any], str]) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if field is not None and field.is_relation and field.many_to_one:
        return labels.get((field.related_model, value), f"#{value}")
    if field is not None and getattr(field, "choices", None):
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "—"
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] == "T":
        try:
            moment = datetime.datetime.fromisoformat(value)
        except ValueError:
            return value
        return moment.strftime("%d %b %Y, %H:%M")
    return str(value)


def audit_display(events: list[AuditEvent]) -> list[AuditEvent]:
    """Attach ``rows`` to each event: (field label, before, after) as people read them.

    Stored changes keep ids and ISO times (machine-readable); here foreign keys become the related
    record's name (one query per related model for the whole list), choices their label, times a date.
    """
    wanted: dict[type, set[Any]] = {}
    fields_of: dict[int, dict[str, Any]] = {}
    for event in events:
        model = event.content_type.model_class()
        fields = {f.name: f for f in model._meta.concrete_fields} if model else {}
        fields_of[event.pk] = fields
        for name, values in (event.changes or {}).items():
            field = fields.get(name)
            if field is not None and field.is_relation and field.many_to_one:
                wanted.setdefault(field.related_model, set()).update(v for v in values if v not in (None, ""))
    labels = {
        (model, obj.pk): str(obj) for model, ids in wanted.items() for obj in model._default_manager.filter(pk__in=ids)
    }
    for event in events:
        fields = fields_of[event.pk]
        event.rows = [
            {
                "field": str(fields[name].verbose_name) if name in fields else name.replace("_", " "),
                "before": _display_value(values[0], fields.get(name), labels),
                "after": _display_value(values[1], fields.get(name), labels),
            }
            for name, values in (event.changes or {}).items()
            if isinstance(values, list) and len(values) == 2
        ]
    return events


def audit_list(*, actor: User, filters: Any = None) -> QuerySet[AuditEvent]:
    """The company-wide audit log, scoped by AuditEventPolicy (admins only), filtered by AuditEventFilter."""
    from sfa.filters import AuditEventFilter, apply_filters

    qs = scoped(actor, AuditEvent.objects.select_related("actor", "actor_department", "content_type"))
    return apply_filters(AuditEventFilter, filters, qs).order_by("-at", "-id")
