"""Merging duplicate contacts (or accounts) into one survivor, and undoing it exactly.

Everything that points at the merged records moves to the survivor in one transaction: touches,
follow-ups, guard log entries, and whatever later apps hang on a contact (leads, opportunities, quotes,
orders), found through Django's relation metadata so that this module never imports those apps. The
audit history moves too. The merged records stay, archived, with ``merged_into`` pointing at the
survivor; their pages lead there. The ``Merge`` row keeps a snapshot of every value and row the merge
changed, and ``merge_undo`` puts each of them back.
"""

from __future__ import annotations

from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Model
from django.utils import timezone

from contacts.matching.engine import account_keys_refresh, contact_keys_refresh
from contacts.models import (
    Account,
    ChannelConsent,
    Contact,
    ContactEmail,
    ContactPhone,
    MatchCandidate,
    MatchKey,
    Merge,
)
from sfa.audit import audit_record, to_json
from sfa.models import AuditAction, AuditEvent, User
from sfa.permissions import require

CONTACT_FIELDS = (
    "first_name",
    "last_name",
    "first_key",
    "last_key",
    "title",
    "account",
    "owner",
    "street",
    "city",
    "postcode",
    "region",
    "country",
    "birth_date",
    "preferences",
)
ACCOUNT_FIELDS = (
    "name",
    "name_key",
    "website",
    "domain",
    "industry",
    "size",
    "segment",
    "owner",
    "street",
    "city",
    "postcode",
    "region",
    "country",
)
DERIVED = {"first_key": "first_name", "last_key": "last_name", "name_key": "name", "domain": "website"}
CONSENT_STRICTNESS = {
    ChannelConsent.Status.GRANTED: 0,
    ChannelConsent.Status.WITHDRAWN: 1,
    ChannelConsent.Status.DO_NOT_CONTACT: 2,
}
# Relations merged by their own rules (uniting e-mails, phones and consents), not moved as they are.
SPECIAL = {ContactEmail, ContactPhone, ChannelConsent}


def _state(obj: Model) -> dict[str, Any]:
    return {f.attname: to_json(getattr(obj, f.attname)) for f in obj._meta.concrete_fields}


def _restore(obj: Model, state: dict[str, Any]) -> None:
    for f in obj._meta.concrete_fields:
        if f.attname in state:
            value = state[f.attname]
            setattr(obj, f.attname, f.to_python(value) if value is not None else None)


def _blank(value: Any) -> bool:
    return value in (None, "", [], {})


def _moving_relations(model: type[Model]):
    """The foreign keys of other models that point at ``model`` and move to the survivor on a merge."""
    for rel in model._meta.related_objects:
        if rel.one_to_many and rel.related_model not in SPECIAL and rel.related_model is not model:
            yield rel.related_model, rel.field.attname  # (the model's own merged_into is skipped above)


def merge_preview(*, survivor: Model, others: list[Model]) -> dict[str, Any]:
    """Per field: each record's value, the value that wins by default, and whether they differ.

    Default: the survivor's value wins; a blank never overwrites a value. Owners that differ are flagged
    (``owner_conflict``) so the page can ask the user.
    """
    fields = CONTACT_FIELDS if isinstance(survivor, Contact) else ACCOUNT_FIELDS
    rows = []
    for name in fields:
        if name in DERIVED:
            continue
        values = {obj.pk: getattr(obj, name) for obj in [survivor, *others]}
        winner = survivor.pk
        if _blank(values[survivor.pk]):
            winner = next((pk for pk, v in values.items() if not _blank(v)), survivor.pk)
        distinct = {str(v) for v in values.values() if not _blank(v)}
        label = str(type(survivor)._meta.get_field(name).verbose_name).capitalize()
        rows.append({"field": name, "label": label, "values": values, "winner": winner, "differs": len(distinct) > 1})
    owners = {obj.owner_id for obj in [survivor, *others]}
    return {"rows": rows, "owner_conflict": len(owners) > 1}


@transaction.atomic
def records_merge(*, survivor: Model, others: list[Model], actor: User, choices: dict[str, int] | None = None) -> Merge:
    """Merge ``others`` into ``survivor``; ``choices`` names, per field, the record whose value wins."""
    model = type(survivor)
    if model not in (Contact, Account):
        raise ValidationError("Only contacts and accounts can be merged.")
    others = [o for o in others if o.pk != survivor.pk]
    if not others:
        raise ValidationError({"others": "Choose at least one other record to merge into the survivor."})
    ids = [survivor.pk, *[o.pk for o in others]]
    locked = {obj.pk: obj for obj in model.objects.select_for_update().filter(pk__in=ids)}
    if len(locked) != len(ids) or any(obj.merged_into_id for obj in locked.values()):
        raise ValidationError("One of these records no longer exists or was merged meanwhile; reload the page.")
    survivor, others = locked[survivor.pk], [locked[o.pk] for o in others]
    for obj in [survivor, *others]:
        require(actor, "change", obj)
    choices = {k: int(v) for k, v in (choices or {}).items() if v}
    unknown = [f for f, pk in choices.items() if pk not in locked]
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, "The chosen record is not part of this merge."))
    subject = "contact" if model is Contact else "account"
    snap: dict[str, Any] = {
        "records": {str(obj.pk): _state(obj) for obj in [survivor, *others]},
        "moved": [],  # [model label, field attname, [pks], previous owner id]
        "deleted": [],  # [model label, state]
        "updated": [],  # [model label, state before]
        "audit": {},  # event pk -> previous object_id
        "candidates": {},  # candidate pk -> previous status
    }

    # 1. Field values.
    preview = merge_preview(survivor=survivor, others=others)
    for row in preview["rows"]:
        name = row["field"]
        winner = choices.get(name, row["winner"])
        setattr(survivor, name, getattr(locked[winner], name))
        if name in ("first_name", "last_name", "name") or name == "website":
            for derived, source in DERIVED.items():
                if source == name and hasattr(survivor, derived):
                    setattr(survivor, derived, getattr(locked[winner], derived))
    if model is Contact:
        survivor.tags = sorted({t for obj in [survivor, *others] for t in (obj.tags or [])})
        if any(o.do_not_contact for o in others) and not survivor.do_not_contact:
            first = min((o for o in others if o.do_not_contact), key=lambda o: o.do_not_contact_at or timezone.now())
            survivor.do_not_contact = True
            survivor.do_not_contact_at, survivor.do_not_contact_source = (
                first.do_not_contact_at,
                first.do_not_contact_source,
            )
        _unite_channels(survivor, others, snap)

    # 2. Everything that points at the others moves to the survivor.
    for related, attname in _moving_relations(model):
        for other in others:
            pks = list(related._default_manager.filter(**{attname: other.pk}).values_list("pk", flat=True))
            if pks:
                related._default_manager.filter(pk__in=pks).update(**{attname: survivor.pk})
                snap["moved"].append([related._meta.label, attname, pks, other.pk])

    # 3. The audit history of the others joins the survivor's.
    content_type = ContentType.objects.get_for_model(model)
    for event_pk, object_id in AuditEvent.objects.filter(
        content_type=content_type, object_id__in=[str(o.pk) for o in others]
    ).values_list("pk", "object_id"):
        snap["audit"][str(event_pk)] = object_id
    AuditEvent.objects.filter(pk__in=[int(pk) for pk in snap["audit"]]).update(object_id=str(survivor.pk))

    # 4. The others are archived, pointing at the survivor; pairs among them are settled.
    for other in others:
        other.merged_into = survivor
        other.save(update_fields=["merged_into"])
    survivor.save()
    pairs = MatchCandidate.objects.filter(subject=subject, a_id__in=ids, b_id__in=ids)
    snap["candidates"] = {str(pk): status for pk, status in pairs.values_list("pk", "status")}
    pairs.update(status=MatchCandidate.Status.MERGED, decided_by=actor, decided_at=timezone.now())
    MatchKey.objects.filter(subject=subject, object_id__in=[o.pk for o in others]).delete()
    (contact_keys_refresh if model is Contact else account_keys_refresh)([survivor.pk])

    merge = Merge.objects.create(
        subject=subject,
        survivor_id=survivor.pk,
        merged_ids=[o.pk for o in others],
        snapshot=snap,
        choices=dict(choices.items()),
        by=actor,
    )
    audit_record(
        actor=actor,
        instance=survivor,
        action=AuditAction.ACTION,
        verb="merged",
        note=f"Merged {', '.join(f'{o} (#{o.pk})' for o in others)} into this record (merge #{merge.pk}).",
    )
    return merge


def _unite_channels(survivor: Contact, others: list[Contact], snap: dict[str, Any]) -> None:
    """E-mails and phones are united; per channel the most restrictive consent wins."""
    have_emails = set(survivor.emails.values_list("email_key", flat=True))
    have_phones = set(survivor.phones.values_list("e164", flat=True))
    consents = {c.channel: c for c in survivor.consents.all()}
    for other in others:
        for row in other.emails.all():
            if row.email_key in have_emails:
                snap["deleted"].append(["contacts.ContactEmail", _state(row)])
                row.delete()
            else:
                snap["updated"].append(["contacts.ContactEmail", _state(row)])
                ContactEmail.objects.filter(pk=row.pk).update(contact=survivor, is_primary=False)
                have_emails.add(row.email_key)
        for row in other.phones.all():
            if row.e164 in have_phones:
                snap["deleted"].append(["contacts.ContactPhone", _state(row)])
                row.delete()
            else:
                snap["updated"].append(["contacts.ContactPhone", _state(row)])
                ContactPhone.objects.filter(pk=row.pk).update(contact=survivor, is_primary=False)
                have_phones.add(row.e164)
        for row in other.consents.all():
            mine = consents.get(row.channel)
            if mine is None:
                snap["updated"].append(["contacts.ChannelConsent", _state(row)])
                ChannelConsent.objects.filter(pk=row.pk).update(contact=survivor)
                consents[row.channel] = row
                continue
            if CONSENT_STRICTNESS[row.status] > CONSENT_STRICTNESS[mine.status]:
                snap["updated"].append(["contacts.ChannelConsent", _state(mine)])
                ChannelConsent.objects.filter(pk=mine.pk).update(status=row.status, at=row.at, source=row.source)
            snap["deleted"].append(["contacts.ChannelConsent", _state(row)])
            row.delete()


@transaction.atomic
def merge_undo(*, merge: Merge, actor: User) -> None:
    """Put back exactly what ``merge`` changed, from its snapshot."""
    from django.apps import apps

    if merge.undone_at:
        raise ValidationError("This merge was already undone.")
    model = Contact if merge.subject == "contact" else Account
    ids = [merge.survivor_id, *merge.merged_ids]
    locked = {obj.pk: obj for obj in model.objects.select_for_update().filter(pk__in=ids)}
    survivor = locked.get(merge.survivor_id)
    if survivor is None or survivor.merged_into_id:
        raise ValidationError("The survivor was merged again or removed since; undo that first.")
    require(actor, "change", survivor)
    later = Merge.objects.filter(
        subject=merge.subject, survivor_id=merge.survivor_id, at__gt=merge.at, undone_at__isnull=True
    ).exists()
    if later:
        raise ValidationError("A later merge into the same record must be undone first.")
    snap = merge.snapshot

    for label, state in reversed(snap["updated"]):
        related = apps.get_model(label)
        obj = related._default_manager.get(pk=state["id"])
        _restore(obj, state)
        obj.save()
    for label, state in snap["deleted"]:
        related = apps.get_model(label)
        obj = related()
        _restore(obj, state)
        obj.save(force_insert=True)
    for label, attname, pks, previous in snap["moved"]:
        apps.get_model(label)._default_manager.filter(pk__in=pks).update(**{attname: previous})
    for event_pk, object_id in snap["audit"].items():
        AuditEvent.objects.filter(pk=int(event_pk)).update(object_id=object_id)
    for pk, state in snap["records"].items():
        obj = locked[int(pk)]
        _restore(obj, state)
        obj.save()
    for pk, status in snap["candidates"].items():
        MatchCandidate.objects.filter(pk=int(pk)).update(status=status, decided_by=None, decided_at=None)
    (contact_keys_refresh if model is Contact else account_keys_refresh)(ids)
    merge.undone_by, merge.undone_at = actor, timezone.now()
    merge.save(update_fields=["undone_by", "undone_at"])
    audit_record(
        actor=actor,
        instance=survivor,
        action=AuditAction.ACTION,
        verb="merge undone",
        note=f"Merge #{merge.pk} undone: {', '.join(f'#{i}' for i in merge.merged_ids)} restored.",
    )
