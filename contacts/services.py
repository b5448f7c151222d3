"""Writes on accounts, contacts, touches, follow-ups and the outreach rules. Every caller goes through here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from contacts.duplicates import account_duplicates_check, candidates_record, contact_duplicates_check
from contacts.guard import Verdict, guard_cache_clear, guard_check
from contacts.matching.engine import account_keys_refresh, contact_candidates, contact_keys_refresh
from contacts.matching.score import PersonRecord
from contacts.models import (
    Account,
    Campaign,
    Channel,
    ChannelConsent,
    Contact,
    ContactEmail,
    ContactPhone,
    FollowUp,
    GuardLog,
    GuardRule,
    OutreachSettings,
    Purpose,
    Touch,
)
from contacts.normalize import PhoneError, domain_of, email_key, name_key, phone_e164
from sfa.audit import audit_record, diff, snapshot
from sfa.models import AuditAction, User
from sfa.permissions import can, require
from sfa.services import model_create, model_update


class GuardWarning(Exception):
    """The guard warns: the user must confirm with a reason (``override_reason``)."""

    def __init__(self, verdict: Verdict):
        super().__init__("; ".join(c.message for c in verdict.conflicts))
        self.verdict = verdict


class GuardBlocked(Exception):
    """The guard blocks: refused (a manager may override a rule in block mode; nobody overrides do-not-contact)."""

    def __init__(self, verdict: Verdict, overridable: bool):
        super().__init__("; ".join(c.message for c in verdict.conflicts))
        self.verdict = verdict
        self.overridable = overridable


# --- Accounts ------------------------------------------------------------------------------------

ACCOUNT_FIELDS = (
    "name",
    "website",
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


def _account_derived(data: dict[str, Any]) -> dict[str, Any]:
    out = dict(data)
    if "name" in out:
        out["name"] = (out["name"] or "").strip()
        if not out["name"]:
            raise ValidationError({"name": "An account needs a name."})
        out["name_key"] = name_key(out["name"])
    if "website" in out:
        out["domain"] = domain_of(out["website"] or "")
    if out.get("country"):
        out["country"] = out["country"].strip().upper()
    return out


def account_create(
    *, actor: User | None, allow_duplicate: bool = False, source: str = "create", **data: Any
) -> Account:
    if actor is not None:
        require(actor, "add", Account)
    data.setdefault("owner", actor)
    unknown = set(data) - set(ACCOUNT_FIELDS)
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, "Unknown field."))
    data = _account_derived(data)
    candidates = account_duplicates_check(
        data["name"], data.get("city", ""), data.get("domain", ""), allow_duplicate=allow_duplicate
    )
    account = model_create(model=Account, actor=actor, data=data)
    account_keys_refresh([account.pk])
    candidates_record(subject="account", object_id=account.pk, matches=candidates, source=source)
    return account


def account_update(*, account: Account, actor: User, data: dict[str, Any]) -> list[str]:
    require(actor, "change", account)
    unknown = set(data) - set(ACCOUNT_FIELDS)
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, "Unknown field."))
    changed = model_update(instance=account, actor=actor, data=_account_derived(data))
    if changed:
        account_keys_refresh([account.pk])
    return changed


# --- Contacts ------------------------------------------------------------------------------------

MATCH_FIELDS = {"first_name", "last_name", "emails", "phones", "account", "street", "city", "postcode", "birth_date"}


def _person_record(contact: Contact, emails: list[str], phones: list[str]) -> PersonRecord:
    return PersonRecord(
        id=contact.pk or 0,
        first_name=contact.first_name,
        last_name=contact.last_name,
        emails=emails,
        phones=phones,
        company=contact.account.name if contact.account_id else "",
        street=contact.street,
        city=contact.city,
        postcode=contact.postcode,
        country=contact.country,
        birth_date=contact.birth_date,
    )


CONTACT_FIELDS = (
    "first_name",
    "last_name",
    "title",
    "account",
    "owner",
    "street",
    "city",
    "postcode",
    "region",
    "country",
    "birth_date",
    "tags",
    "preferences",
    "do_not_contact",
    "do_not_contact_source",
    "is_prospect",
)


@dataclass
class EmailInput:
    email: str
    label: str = ""


@dataclass
class PhoneInput:
    number: str
    label: str = ""


def clean_emails(values: list[str | EmailInput]) -> list[EmailInput]:
    out, seen, errors = [], set(), []
    for value in values:
        item = value if isinstance(value, EmailInput) else EmailInput(str(value))
        item.email = item.email.strip()
        if not item.email:
            continue
        try:
            validate_email(item.email)
        except ValidationError:
            errors.append(f"{item.email!r} is not an e-mail address.")
            continue
        if email_key(item.email) not in seen:
            seen.add(email_key(item.email))
            out.append(item)
    if errors:
        raise ValidationError({"emails": errors})
    return out


def clean_phones(values: list[str | PhoneInput], region: str | None = None) -> list[tuple[str, str]]:
    """(E.164, label) pairs; a number that is not a phone number raises, naming it."""
    out, seen, errors = [], set(), []
    for value in values:
        item = value if isinstance(value, PhoneInput) else PhoneInput(str(value))
        if not item.number.strip():
            continue
        try:
            e164 = phone_e164(item.number, region.upper() if region else None)
        except PhoneError as exc:
            errors.append(str(exc))
            continue
        if e164 not in seen:
            seen.add(e164)
            out.append((e164, item.label))
    if errors:
        raise ValidationError({"phones": errors})
    return out


def _contact_derived(data: dict[str, Any], instance: Contact | None = None) -> dict[str, Any]:
    out = dict(data)
    for name in ("first_name", "last_name"):
        if name in out:
            out[name] = (out[name] or "").strip()
    if "last_name" in out and not out["last_name"]:
        raise ValidationError({"last_name": "A contact needs a last name."})
    if "first_name" in out:
        out["first_key"] = name_key(out["first_name"])
    if "last_name" in out:
        out["last_key"] = name_key(out["last_name"])
    if out.get("country"):
        out["country"] = out["country"].strip().upper()
    if "tags" in out:
        out["tags"] = sorted({str(t).strip().lower() for t in out["tags"] or [] if str(t).strip()})
    if "do_not_contact" in out:
        was = instance.do_not_contact if instance else False
        if out["do_not_contact"] and not was:
            out["do_not_contact_at"] = timezone.now()
        elif not out["do_not_contact"]:
            out["do_not_contact_at"] = None
    return out


def _set_emails(contact: Contact, emails: list[EmailInput]) -> None:
    keep = {email_key(e.email) for e in emails}
    contact.emails.exclude(email_key__in=keep).delete()
    existing = {e.email_key: e for e in contact.emails.all()}
    contact.emails.update(is_primary=False)
    for index, item in enumerate(emails):
        key = email_key(item.email)
        row = existing.get(key) or ContactEmail(contact=contact, email_key=key)
        row.email, row.label, row.is_primary = item.email, item.label, index == 0
        row.save()


def _set_phones(contact: Contact, phones: list[tuple[str, str]]) -> None:
    keep = {e164 for e164, _ in phones}
    contact.phones.exclude(e164__in=keep).delete()
    existing = {p.e164: p for p in contact.phones.all()}
    contact.phones.update(is_primary=False)
    for index, (e164, label) in enumerate(phones):
        row = existing.get(e164) or ContactPhone(contact=contact, e164=e164)
        row.label, row.is_primary = label, index == 0
        row.save()


def _channels_snapshot(contact: Contact) -> dict[str, Any]:
    return {
        "emails": [e.email for e in contact.emails.all()],
        "phones": [p.e164 for p in contact.phones.all()],
    }


@transaction.atomic
def contact_create(
    *,
    actor: User | None,
    emails: list[str | EmailInput] = (),
    phones: list[str | PhoneInput] = (),
    allow_duplicate: bool = False,
    source: str = "create",
    **data: Any,
) -> Contact:
    """Create a contact with its e-mails and phones (the first of each is the primary one).

    The matching engine looks for the same person first: DuplicateWarning unless ``allow_duplicate``,
    DuplicateBlocked in block mode for a sure match. Created anyway, the likely pairs go to the review queue.
    """
    if actor is not None:
        require(actor, "add", Contact)
    unknown = set(data) - set(CONTACT_FIELDS)
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, "Unknown field."))
    data.setdefault("owner", actor)
    clean_e, clean_p = clean_emails(list(emails)), clean_phones(list(phones), (data.get("country") or None))
    contact = Contact(**_contact_derived(data))
    contact.full_clean()
    candidates = contact_duplicates_check(
        _person_record(contact, [e.email for e in clean_e], [p for p, _ in clean_p]), allow_duplicate=allow_duplicate
    )
    contact.save()
    _set_emails(contact, clean_e)
    _set_phones(contact, clean_p)
    contact_keys_refresh([contact.pk])
    candidates_record(subject="contact", object_id=contact.pk, matches=candidates, source=source)
    audit_record(
        actor=actor,
        instance=contact,
        action=AuditAction.CREATE,
        changes=diff({}, {**snapshot(contact), **_channels_snapshot(contact)}),
    )
    return contact


@transaction.atomic
def contact_update(
    *,
    contact: Contact,
    actor: User,
    data: dict[str, Any],
    emails: list[str | EmailInput] | None = None,
    phones: list[str | PhoneInput] | None = None,
) -> list[str]:
    """Change a contact; ``emails``/``phones`` when given replace the lists (first = primary)."""
    require(actor, "change", contact)
    unknown = set(data) - set(CONTACT_FIELDS)
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, "Unknown field."))
    locked = Contact.objects.select_for_update().get(pk=contact.pk)
    before = {**snapshot(locked), **_channels_snapshot(locked)}
    country = data.get("country", locked.country) or None
    clean_e = clean_emails(list(emails)) if emails is not None else None
    clean_p = clean_phones(list(phones), country) if phones is not None else None
    for name, value in _contact_derived(data, locked).items():
        setattr(locked, name, value)
    locked.full_clean()
    locked.save()
    if clean_e is not None:
        _set_emails(locked, clean_e)
    if clean_p is not None:
        _set_phones(locked, clean_p)
    changes = diff(before, {**snapshot(locked), **_channels_snapshot(locked)})
    changes.pop("updated_at", None)
    if changes:
        audit_record(actor=actor, instance=locked, action=AuditAction.UPDATE, changes=changes)
        contact_keys_refresh([locked.pk])
        if MATCH_FIELDS & set(changes):
            # An edit can reveal a duplicate (a new e-mail, a corrected name): queue it for review.
            record = _person_record(
                locked, [e.email for e in locked.emails.all()], [p.e164 for p in locked.phones.all()]
            )
            candidates_record(
                subject="contact",
                object_id=locked.pk,
                source="edit",
                matches=contact_candidates(record, exclude=[locked.pk]),
            )
    contact.refresh_from_db()
    return sorted(changes)


@transaction.atomic
def consent_set(*, contact: Contact, actor: User | None, channel: str, status: str, source: str = "") -> ChannelConsent:
    """Record consent or do-not-contact for one channel, with its date and source."""
    if actor is not None:
        require(actor, "view", contact)  # anyone who talks to the customer records what they asked for
    if status not in ChannelConsent.Status.values:
        raise ValidationError({"status": f"Unknown consent status {status!r}."})
    consent, _ = ChannelConsent.objects.update_or_create(
        contact=contact, channel=channel, defaults={"status": status, "source": source, "at": timezone.now()}
    )
    audit_record(
        actor=actor, instance=contact, action=AuditAction.ACTION, verb=f"consent {channel}: {status}", note=source
    )
    return consent


# --- Purposes and rules --------------------------------------------------------------------------


@transaction.atomic
def purpose_save(
    *,
    actor: User | None,
    name: str,
    description: str = "",
    window_days: int | None = None,
    mode: str = GuardRule.Mode.WARN,
    scope: str = GuardRule.Scope.CONTACT,
    purpose: Purpose | None = None,
    is_active: bool = True,
) -> Purpose:
    """Create or change a purpose and its guard rule (``window_days`` None: no rule)."""
    if actor is not None:
        require(actor, "change" if purpose else "add", Purpose)
    if purpose is None:
        purpose = model_create(
            model=Purpose,
            actor=actor,
            data={"name": name.strip(), "code": slugify(name)[:40], "description": description, "is_active": is_active},
        )
    else:
        model_update(
            instance=purpose,
            actor=actor,
            data={"name": name.strip(), "description": description, "is_active": is_active},
        )
    rule = GuardRule.objects.filter(purpose=purpose).first()
    if window_days:
        data = {"window_days": window_days, "mode": mode, "scope": scope, "is_active": True}
        if rule is None:
            model_create(model=GuardRule, actor=actor, data={"purpose": purpose, **data})
        else:
            model_update(instance=rule, actor=actor, data=data)
    elif rule is not None and rule.is_active:
        model_update(instance=rule, actor=actor, data={"is_active": False})
    transaction.on_commit(lambda: guard_cache_clear(purpose))
    return purpose


def outreach_settings_update(*, actor: User, data: dict[str, Any]) -> OutreachSettings:
    require(actor, "change", OutreachSettings)
    current = OutreachSettings.objects.first() or model_create(model=OutreachSettings, actor=actor, data={})
    model_update(instance=current, actor=actor, data=data)
    transaction.on_commit(guard_cache_clear)
    return current


# --- Touches -------------------------------------------------------------------------------------


def _log_guard(
    *,
    actor: User,
    contact: Contact,
    purpose: Purpose,
    channel: str,
    verdict: str,
    reason: str,
    via: str,
    touch: Touch | None,
    conflicts: Verdict,
) -> None:
    GuardLog.objects.create(
        user=actor,
        department_id=actor.department_id,
        contact=contact,
        purpose=purpose,
        channel=channel,
        verdict=verdict,
        reason=reason,
        via=via,
        touch=touch,
        conflicts=conflicts.as_dict()["conflicts"],
    )


def touch_log(
    *,
    actor: User,
    contact: Contact,
    purpose: Purpose,
    channel: str,
    direction: str = Touch.Direction.OUT,
    at: datetime | None = None,
    status: str = Touch.Status.DONE,
    outcome: str = "",
    notes: str = "",
    override_reason: str = "",
    via: str = "form",
    campaign: Campaign | None = None,
    followup_due: date | None = None,
    followup_note: str = "",
    followup_assignee: User | None = None,
) -> Touch:
    """Log a touch that happened, or plan one, through the outreach guard.

    Raises GuardWarning (confirm with ``override_reason``) or GuardBlocked; a refused attempt is recorded
    in the guard log for the managers' report. The contact row is locked while checking and saving, so two
    departments saving at the same moment cannot both slip past the rule.
    """
    require(actor, "add", Touch)
    require(actor, "view", contact)
    if channel not in Channel.values:
        raise ValidationError({"channel": f"Unknown channel {channel!r}."})
    if direction not in Touch.Direction.values:
        raise ValidationError({"direction": f"Unknown direction {direction!r}."})
    if status not in (Touch.Status.DONE, Touch.Status.PLANNED):
        raise ValidationError({"status": "A new touch is either done or planned."})
    if not purpose.is_active:
        raise ValidationError({"purpose": f"The purpose {purpose} is no longer in use."})
    if outcome and outcome not in Touch.Outcome.values:
        raise ValidationError({"outcome": f"Unknown outcome {outcome!r}."})
    at = at or timezone.now()
    if status == Touch.Status.DONE and at > timezone.now() + timedelta(minutes=5):
        raise ValidationError({"at": "A touch that is done cannot be in the future; plan it instead."})
    if status == Touch.Status.PLANNED and at < timezone.now() - timedelta(minutes=5):
        raise ValidationError({"at": "A planned touch must be in the future."})
    if followup_due and not followup_note.strip():
        raise ValidationError({"followup_note": "Say what the follow-up is for."})
    override_reason = override_reason.strip()

    refused: GuardBlocked | GuardWarning | None = None
    with transaction.atomic():
        Contact.objects.select_for_update().filter(pk=contact.pk).first()
        verdict = guard_check(
            contact=contact, purpose=purpose, channel=channel, at=at, actor=actor, direction=direction
        )
        log_as = None
        if verdict.level == "block":
            overridable = not verdict.hard and can(actor, "override_block", Touch)
            if overridable and override_reason:
                log_as = GuardLog.Verdict.BLOCK_OVERRIDDEN
            else:
                refused = GuardBlocked(verdict, overridable)
        elif verdict.level == "warn":
            if override_reason:
                log_as = GuardLog.Verdict.OVERRIDDEN
            else:
                refused = GuardWarning(verdict)
        if refused is None:
            touch = Touch.objects.create(
                contact=contact,
                account_id=contact.account_id,
                channel=channel,
                direction=direction,
                purpose=purpose,
                status=status,
                at=at,
                outcome=outcome,
                notes=notes,
                user=actor,
                department_id=actor.department_id,
                campaign=campaign,
                override_reason=override_reason if log_as else "",
                guard_conflicts=verdict.as_dict()["conflicts"],
            )
            if log_as:
                _log_guard(
                    actor=actor,
                    contact=contact,
                    purpose=purpose,
                    channel=channel,
                    verdict=log_as,
                    reason=override_reason,
                    via=via,
                    touch=touch,
                    conflicts=verdict,
                )
            audit_record(actor=actor, instance=touch, action=AuditAction.CREATE, changes=diff({}, snapshot(touch)))
            if followup_due:
                followup_create(
                    actor=actor,
                    contact=contact,
                    touch=touch,
                    due=followup_due,
                    note=followup_note,
                    assignee=followup_assignee or actor,
                )
            return touch
    if isinstance(refused, GuardBlocked):
        _log_guard(
            actor=actor,
            contact=contact,
            purpose=purpose,
            channel=channel,
            verdict=GuardLog.Verdict.BLOCKED,
            reason=override_reason,
            via=via,
            touch=None,
            conflicts=refused.verdict,
        )
    raise refused


@transaction.atomic
def touch_record(
    *,
    contact: Contact,
    purpose: Purpose,
    channel: str = Channel.EMAIL,
    direction: str = Touch.Direction.OUT,
    user: User | None = None,
    actor: User | None = None,
    notes: str = "",
    at: datetime | None = None,
    outcome: str = "",
) -> Touch:
    """Record a done touch that the system made or saw (an order confirmation, a shipping notice, a web
    request) on the customer's timeline.

    Not outreach, so the guard does not judge it; it is audited and carries the department like any touch.
    ``user`` is whom the touch is attributed to (the order's owner) and ``actor`` who caused it (None: the
    system); a touch needs one of them.
    """
    attributed = user or actor
    if attributed is None:
        raise ValidationError({"user": "Say whom the touch is attributed to."})
    if channel not in Channel.values:
        raise ValidationError({"channel": f"Unknown channel {channel!r}."})
    if direction not in Touch.Direction.values:
        raise ValidationError({"direction": f"Unknown direction {direction!r}."})
    if outcome and outcome not in Touch.Outcome.values:
        raise ValidationError({"outcome": f"Unknown outcome {outcome!r}."})
    touch = Touch.objects.create(
        contact=contact,
        account_id=contact.account_id,
        channel=channel,
        direction=direction,
        purpose=purpose,
        status=Touch.Status.DONE,
        at=at or timezone.now(),
        outcome=outcome,
        notes=notes,
        user=attributed,
        department_id=attributed.department_id,
        recorded_by_system=True,
    )
    audit_record(
        actor=actor, instance=touch, action=AuditAction.CREATE, changes=diff({}, snapshot(touch)), note="system record"
    )
    return touch


@transaction.atomic
def touch_update(*, touch: Touch, actor: User, data: dict[str, Any]) -> list[str]:
    """Change the outcome or notes of a touch, or mark a planned touch done."""
    require(actor, "change", touch)
    allowed = {"outcome", "notes", "status"}
    if set(data) - allowed:
        raise ValidationError(dict.fromkeys(set(data) - allowed, "This cannot be changed after the fact."))
    if "status" in data and data["status"] != touch.status:
        moves = {
            (Touch.Status.PLANNED, Touch.Status.DONE),
            (Touch.Status.PLANNED, Touch.Status.CANCELLED),
            (Touch.Status.HELD, Touch.Status.CANCELLED),
            (Touch.Status.HELD, Touch.Status.PLANNED),
        }
        if (touch.status, data["status"]) not in moves:
            raise ValidationError(
                {"status": f"A {touch.get_status_display().lower()} touch cannot become {data['status']}."}
            )
        if data["status"] == Touch.Status.DONE and touch.at > timezone.now():
            data = {**data, "at": timezone.now()}
    return model_update(instance=touch, actor=actor, data=data)


# --- Follow-ups ----------------------------------------------------------------------------------


def followup_create(
    *, actor: User, contact: Contact, due: date, note: str, assignee: User | None = None, touch: Touch | None = None
) -> FollowUp:
    require(actor, "add", FollowUp)
    if touch is not None and touch.contact_id != contact.pk:
        raise ValidationError({"touch": "This touch is with another contact."})
    if not note.strip():
        raise ValidationError({"note": "Say what the follow-up is for."})
    return model_create(
        model=FollowUp,
        actor=actor,
        data={
            "contact": contact,
            "touch": touch,
            "due": due,
            "note": note.strip()[:300],
            "assignee": assignee or actor,
            "created_by": actor,
        },
    )


def followup_close(*, followup: FollowUp, actor: User, status: str) -> FollowUp:
    require(actor, "change", followup)
    if status not in (FollowUp.Status.DONE, FollowUp.Status.CANCELLED):
        raise ValidationError({"status": "A follow-up is closed as done or cancelled."})
    if followup.status != FollowUp.Status.OPEN:
        raise ValidationError({"status": f"This follow-up is already {followup.get_status_display().lower()}."})
    model_update(instance=followup, actor=actor, data={"status": status, "closed_at": timezone.now()})
    return followup


# --- Bulk planning and scheduled sends -----------------------------------------------------------


def campaign_plan(
    *,
    actor: User,
    name: str,
    purpose: Purpose,
    channel: str,
    planned_for: datetime,
    contacts: list[Contact],
    override_reason: str = "",
) -> Campaign:
    """Plan one touch per contact; the guard decides per contact, and the campaign's report says who was
    planned, who needs a confirmed reason (warnings) and who was refused (blocks, do-not-contact).

    With ``override_reason`` the warned contacts are planned too (the reason is stored on each touch).
    """
    require(actor, "add", Campaign)
    if not contacts:
        raise ValidationError({"contacts": "Choose at least one contact."})
    campaign = model_create(
        model=Campaign,
        actor=actor,
        data={
            "name": name.strip(),
            "purpose": purpose,
            "channel": channel,
            "planned_for": planned_for,
            "created_by": actor,
        },
    )
    report: dict[str, list[dict[str, Any]]] = {"planned": [], "warned": [], "blocked": []}
    for contact in contacts:
        try:
            touch = touch_log(
                actor=actor,
                contact=contact,
                purpose=purpose,
                channel=channel,
                at=planned_for,
                status=Touch.Status.PLANNED,
                via="campaign",
                campaign=campaign,
                override_reason=override_reason,
            )
        except GuardWarning as exc:
            report["warned"].append({"contact": contact.pk, "name": str(contact), **exc.verdict.as_dict()})
        except GuardBlocked as exc:
            report["blocked"].append({"contact": contact.pk, "name": str(contact), **exc.verdict.as_dict()})
        else:
            report["planned"].append(
                {
                    "contact": contact.pk,
                    "name": str(contact),
                    "touch": touch.pk,
                    "overridden": bool(touch.override_reason),
                }
            )
    Campaign.objects.filter(pk=campaign.pk).update(report=report)
    campaign.report = report
    return campaign


def planned_touches_send_due(*, now: datetime | None = None, limit: int = 500) -> dict[str, int]:
    """Carry out planned touches whose time has come, checking the guard again at send time.

    Meanwhile someone else may have contacted the customer for the same purpose, or the customer may
    have opted out: then the touch is held (warn) or cancelled (block), never sent, and the guard log
    says why. E-mail touches are sent with Django's mail backend; other channels become due tasks.
    """
    from django.core.mail import send_mail

    now = now or timezone.now()
    counts = {"sent": 0, "held": 0, "cancelled": 0}
    due = list(
        Touch.objects.filter(status=Touch.Status.PLANNED, at__lte=now).select_related("contact", "purpose", "user")[
            :limit
        ]
    )
    for touch in due:
        with transaction.atomic():
            locked = (
                Touch.objects.select_for_update(skip_locked=True)
                .filter(pk=touch.pk, status=Touch.Status.PLANNED)
                .first()
            )
            if locked is None:
                continue  # another worker took it
            verdict = guard_check(
                contact=touch.contact,
                purpose=touch.purpose,
                channel=touch.channel,
                at=touch.at,
                actor=touch.user,
                exclude_touch_id=touch.pk,
            )
            if verdict.level == "ok" or (verdict.level == "warn" and touch.override_reason):
                if touch.channel == Channel.EMAIL:
                    address = touch.contact.emails.filter(is_primary=True).values_list("email", flat=True).first()
                    if address:
                        send_mail(
                            subject=f"{touch.purpose}",
                            message=touch.notes or f"Dear {touch.contact},",
                            from_email=None,
                            recipient_list=[address],
                        )
                locked.status, locked.outcome = Touch.Status.DONE, Touch.Outcome.SENT
                locked.save(update_fields=["status", "outcome"])
                audit_record(actor=None, instance=locked, action=AuditAction.ACTION, verb="sent as scheduled")
                counts["sent"] += 1
                continue
            new_status = Touch.Status.HELD if verdict.level == "warn" else Touch.Status.CANCELLED
            locked.status, locked.guard_conflicts = new_status, verdict.as_dict()["conflicts"]
            locked.save(update_fields=["status", "guard_conflicts"])
            _log_guard(
                actor=touch.user,
                contact=touch.contact,
                purpose=touch.purpose,
                channel=touch.channel,
                verdict=GuardLog.Verdict.HELD if new_status == Touch.Status.HELD else GuardLog.Verdict.BLOCKED,
                reason="",
                via="schedule",
                touch=locked,
                conflicts=verdict,
            )
            audit_record(
                actor=None,
                instance=locked,
                action=AuditAction.ACTION,
                verb="held by the guard" if new_status == Touch.Status.HELD else "cancelled by the guard",
                note="; ".join(c.message for c in verdict.conflicts),
            )
            counts["held" if new_status == Touch.Status.HELD else "cancelled"] += 1
    return counts


def followup_digest_send(*, today: date | None = None) -> int:
    """E-mail each user with open follow-ups a digest: overdue, due today, next seven days."""
    from django.core.mail import send_mail
    from django.template.loader import render_to_string

    from contacts.selectors import followups_for

    today = today or timezone.localdate()
    sent = 0
    assignees = User.objects.filter(is_active=True, followups__status=FollowUp.Status.OPEN).exclude(email="").distinct()
    for user in assignees:
        groups = followups_for(actor=user, user=user, today=today)
        if not (groups["overdue"] or groups["today"] or groups["upcoming"]):
            continue
        body = render_to_string("contacts/email/followup_digest.txt", {"user": user, "today": today, **groups})
        total = len(groups["overdue"]) + len(groups["today"])
        send_mail(
            subject=f"SFA: {total} follow-ups need you today",
            message=body,
            from_email=None,
            recipient_list=[user.email],
        )
        sent += 1
    return sent
