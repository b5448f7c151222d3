"""The outreach guard: before anyone plans or logs an outbound touch, is it one too many?

It looks for (1) touches with the same purpose inside the purpose's window by someone else, on the
contact or on their whole account as the rule says; (2) do-not-contact and withdrawn consent, on the
touch's channel or on every channel; (3) the company's frequency cap on outbound touches per contact.
The verdict is ``ok``, ``warn`` (the user may go ahead with a reason) or ``block`` (refused; a manager
may override a rule in block mode with a reason, but nobody overrides do-not-contact).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.db.models import Q

from contacts.models import ChannelConsent, Contact, GuardRule, OutreachSettings, Purpose, Touch

ACTIVE_STATUSES = (Touch.Status.DONE, Touch.Status.PLANNED, Touch.Status.HELD)


@dataclass(frozen=True)
class Conflict:
    kind: str  # "purpose", "do_not_contact" or "frequency"
    message: str
    touch_id: int | None = None
    user: str = ""
    department: str = ""
    at: str = ""
    channel: str = ""
    status: str = ""
    outcome: str = ""
    contact: str = ""


@dataclass
class Verdict:
    level: str = "ok"  # ok, warn, block
    conflicts: list[Conflict] = field(default_factory=list)
    hard: bool = False  # do-not-contact: no override possible

    @property
    def is_ok(self) -> bool:
        return self.level == "ok"

    def as_dict(self) -> dict[str, Any]:
        return {"level": self.level, "hard": self.hard, "conflicts": [asdict(c) for c in self.conflicts]}

    def raise_to(self, level: str) -> None:
        order = {"ok": 0, "warn": 1, "block": 2}
        if order[level] > order[self.level]:
            self.level = level


CACHE_SECONDS = 60  # rules change rarely; services clear the cache when they do


def outreach_settings() -> OutreachSettings:
    limits = cache.get("sfa:outreach-settings")
    if limits is None:
        limits = OutreachSettings.objects.first() or OutreachSettings()
        cache.set("sfa:outreach-settings", limits, CACHE_SECONDS)
    return limits


def guard_rule(purpose: Purpose) -> GuardRule | None:
    key = f"sfa:guard-rule:{purpose.pk}"
    rule = cache.get(key)
    if rule is None:
        rule = GuardRule.objects.filter(purpose=purpose, is_active=True).first() or False
        cache.set(key, rule, CACHE_SECONDS)
    return rule or None


def guard_cache_clear(purpose: Purpose | None = None) -> None:
    cache.delete("sfa:outreach-settings")
    if purpose is not None:
        cache.delete(f"sfa:guard-rule:{purpose.pk}")


def _touch_conflict(touch: Touch, kind: str, message: str) -> Conflict:
    return Conflict(
        kind=kind,
        message=message,
        touch_id=touch.pk,
        user=str(touch.user),
        department=str(touch.department or ""),
        at=touch.at.isoformat(),
        channel=touch.get_channel_display(),
        status=touch.get_status_display(),
        outcome=touch.get_outcome_display() if touch.outcome else "",
        contact=str(touch.contact),
    )


def guard_check(
    *,
    contact: Contact,
    purpose: Purpose,
    channel: str,
    at: datetime,
    actor: Any,
    direction: str = Touch.Direction.OUT,
    exclude_touch_id: int | None = None,
) -> Verdict:
    """The guard's verdict on an outbound touch of ``actor`` with ``contact`` for ``purpose`` at ``at``."""
    verdict = Verdict()
    if direction != Touch.Direction.OUT:
        return verdict  # the customer contacted us: nothing to hold back

    # (2) do-not-contact and withdrawn consent: hard blocks.
    if contact.do_not_contact:
        verdict.conflicts.append(
            Conflict(kind="do_not_contact", message=f"{contact} asked not to be contacted at all.")
        )
    consent = ChannelConsent.objects.filter(contact=contact, channel=channel).first()
    if consent and consent.status in (ChannelConsent.Status.DO_NOT_CONTACT, ChannelConsent.Status.WITHDRAWN):
        verdict.conflicts.append(
            Conflict(
                kind="do_not_contact",
                message=f"{contact}: {consent.get_status_display().lower()} for {consent.get_channel_display()}"
                f" since {consent.at:%d %b %Y}" + (f" ({consent.source})" if consent.source else "") + ".",
            )
        )
    if verdict.conflicts:
        verdict.level, verdict.hard = "block", True

    # One query for both checks: the outbound touches around ``at`` on the contact (or on its account when
    # the purpose's rule covers the whole account), wide enough for the rule's window and the cap's.
    rule = guard_rule(purpose)
    limits = outreach_settings()
    account_wide = rule is not None and rule.scope == GuardRule.Scope.ACCOUNT and contact.account_id
    reach = max(rule.window_days if rule else 0, limits.frequency_window_days if limits.frequency_cap else 0)
    if not reach:
        return verdict
    nearby = Touch.objects.filter(
        Q(account_id=contact.account_id) if account_wide else Q(contact_id=contact.pk),
        direction=Touch.Direction.OUT,
        status__in=ACTIVE_STATUSES,
        at__gte=at - timedelta(days=reach),
        at__lte=at + timedelta(days=reach),
    )
    if exclude_touch_id:
        nearby = nearby.exclude(pk=exclude_touch_id)
    # Plain tuples for the arithmetic; full rows only for the few touches the user will be shown.
    rows = sorted(
        nearby.values_list("id", "contact_id", "purpose_id", "user_id", "at"), key=lambda r: r[4], reverse=True
    )

    # (1) the purpose's rule.
    if rule is not None:
        window = timedelta(days=rule.window_days)
        actor_id = getattr(actor, "pk", None)
        other_ids = [r[0] for r in rows if r[2] == purpose.pk and r[3] != actor_id and abs(r[4] - at) <= window][:10]
        others = (
            Touch.objects.filter(pk__in=other_ids).select_related("user", "department", "contact") if other_ids else []
        )
        for touch in sorted(others, key=lambda t: t.at, reverse=True):
            when = "planned for" if touch.status != Touch.Status.DONE else "on"
            verdict.conflicts.append(
                _touch_conflict(
                    touch,
                    "purpose",
                    f"{touch.user} ({touch.department or 'no department'}) contacted {touch.contact} for "
                    f"{purpose} by {touch.get_channel_display().lower()} {when} {touch.at:%d %b %Y}: the rule "
                    f"allows one such touch per {rule.window_days} days.",
                )
            )
            verdict.raise_to("block" if rule.mode == GuardRule.Mode.BLOCK else "warn")

    # (3) the frequency cap.
    if limits.frequency_cap:
        window = timedelta(days=limits.frequency_window_days)
        recent = sum(1 for r in rows if r[1] == contact.pk and abs(r[4] - at) < window)
        if recent >= limits.frequency_cap:
            verdict.conflicts.append(
                Conflict(
                    kind="frequency",
                    message=f"{contact} already has {recent} outbound touches within {limits.frequency_window_days}"
                    f" days of this one; the limit is {limits.frequency_cap}.",
                )
            )
            verdict.raise_to("block" if limits.frequency_mode == GuardRule.Mode.BLOCK else "warn")
    return verdict
