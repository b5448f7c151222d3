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


def outreach_settings() -> OutreachSettings:
    return OutreachSettings.objects.first() or OutreachSettings()


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

    base = Touch.objects.filter(direction=Touch.Direction.OUT, status__in=ACTIVE_STATUSES).select_related(
        "user", "department", "contact"
    )
    if exclude_touch_id:
        base = base.exclude(pk=exclude_touch_id)

    # (1) the purpose's rule.
    rule = GuardRule.objects.filter(purpose=purpose, is_active=True).first()
    if rule is not None:
        window = timedelta(days=rule.window_days)
        scope = (
            Q(account_id=contact.account_id)
            if rule.scope == GuardRule.Scope.ACCOUNT and contact.account_id
            else Q(contact_id=contact.pk)
        )
        others = base.filter(scope, purpose=purpose, at__gte=at - window, at__lte=at + window).exclude(
            user_id=getattr(actor, "pk", None)
        )
        for touch in others.order_by("-at")[:10]:
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
    limits = outreach_settings()
    if limits.frequency_cap:
        window = timedelta(days=limits.frequency_window_days)
        recent = base.filter(contact_id=contact.pk, at__gt=at - window, at__lt=at + window).count()
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
