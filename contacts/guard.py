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
from functools import lru_cache
from typing import Any

from django.core.cache import cache
from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from contacts.models import ChannelConsent, Contact, GuardRule, OutreachSettings, Purpose, Touch
from sfa.models import Department, User

ACTIVE_STATUSES = (Touch.Status.DONE, Touch.Status.PLANNED, Touch.Status.HELD)
_ACTIVE, _OUT = [str(s) for s in ACTIVE_STATUSES], str(Touch.Direction.OUT)  # plain str for any DB driver


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


_LABELS = {name: dict(Touch._meta.get_field(name).flatchoices) for name in ("channel", "status", "outcome")}


def _label(field_name: str, value: str) -> str:
    """What ``Touch.get_<field_name>_display()`` says, without a model instance."""
    return str(_LABELS[field_name].get(value, value))


@dataclass(frozen=True)
class _Shown:
    """A conflicting touch, as the guard shows it: its codes, and the names of who and with whom."""

    pk: int
    at: datetime
    channel: str
    status: str
    outcome: str
    user: str
    department: str  # "" without one
    contact: str


def _touch_conflict(touch: _Shown, kind: str, message: str) -> Conflict:
    return Conflict(
        kind=kind,
        message=message,
        touch_id=touch.pk,
        user=touch.user,
        department=touch.department,
        at=touch.at.isoformat(),
        channel=_label("channel", touch.channel),
        status=_label("status", touch.status),
        outcome=_label("outcome", touch.outcome) if touch.outcome else "",
        contact=touch.contact,
    )


@dataclass
class _Facts:
    """What the guard reads from the database for one check."""

    consent: ChannelConsent | None = None
    others: list[_Shown] = field(default_factory=list)  # same purpose, someone else, inside the rule's window
    recent: int = 0  # the contact's outbound touches inside the frequency cap's window


MAX_SHOWN = 10  # conflicting touches shown to the user


@lru_cache(maxsize=64)
def _facts_sql(*, purpose_part: bool, account_wide: bool, frequency_part: bool, actor: bool, exclude: bool) -> str:
    """The one statement of a check, for the parts that apply: UNION ALL of up to three branches.

    Every branch has the same nine columns: kind, the touch's id (or the count), at, channel, status, outcome
    (or the consent's source), user, department and contact ids. No joins: on PostgreSQL, planning a join
    of the touches with users, departments and contacts costs more than running the whole statement, so
    the names of the few conflicts are read apart (``_names``). Portable SQL, for SQLite and PostgreSQL.
    """
    # Identifiers come from the models and values are bound parameters: nothing from outside is formatted in.
    touches, consents = Touch._meta.db_table, ChannelConsent._meta.db_table
    active = ", ".join(["%s"] * len(ACTIVE_STATUSES))
    others = " AND t.id <> %s" if exclude else ""
    branches = [
        "SELECT 'consent', NULL, k.at, k.channel, k.status, k.source, NULL, NULL, NULL "  # noqa: S608
        f"FROM {consents} k WHERE k.contact_id = %s AND k.channel = %s"
    ]
    if purpose_part:
        # The newest ones first; the (contact|account, purpose, at) indexes lead straight to them.
        branches.append(
            "SELECT * FROM (SELECT 'purpose', t.id, t.at, t.channel, t.status, t.outcome, t.user_id, "  # noqa: S608
            f"t.department_id, t.contact_id FROM {touches} t "
            f"WHERE t.{'account_id' if account_wide else 'contact_id'} = %s AND t.purpose_id = %s "
            f"AND t.direction = %s AND t.status IN ({active}) AND t.at >= %s AND t.at <= %s"
            + (" AND t.user_id <> %s" if actor else "")
            + others
            + f" ORDER BY t.at DESC, t.id DESC LIMIT {MAX_SHOWN}) AS conflicts"
        )
    if frequency_part:
        branches.append(
            "SELECT 'frequency', COUNT(*), NULL, NULL, NULL, NULL, NULL, NULL, NULL "  # noqa: S608
            f"FROM {touches} t WHERE t.contact_id = %s"
            # As the account-wide reading always did: the contact's touches logged on this account.
            + (" AND t.account_id = %s" if account_wide else "")
            + f" AND t.direction = %s AND t.status IN ({active}) AND t.at > %s AND t.at < %s"
            + " AND NOT t.recorded_by_system"
            + others
        )
    return " UNION ALL ".join(branches)


def _names(cursor: Any, rows: list[tuple]) -> dict[tuple[str, int], str]:
    """The users, departments and contacts of the conflicting touches as their models name them, read in
    one statement of three plain lookups by primary key: ``{("user", id): "Anna Rep", ...}``."""
    wanted = {
        "user": {r[6] for r in rows},
        "department": {r[7] for r in rows if r[7] is not None},
        "contact": {r[8] for r in rows},
    }
    columns = {
        "user": (User, "first_name, last_name, username"),
        "department": (Department, "name, NULL, NULL"),
        "contact": (Contact, "first_name, last_name, NULL"),
    }
    branches, params = [], []
    for kind, ids in wanted.items():
        if ids:
            model, names = columns[kind]
            marks = ", ".join(["%s"] * len(ids))
            branches.append(f"SELECT '{kind}', id, {names} FROM {model._meta.db_table} WHERE id IN ({marks})")  # noqa: S608
            params += sorted(ids)
    cursor.execute(" UNION ALL ".join(branches), params)
    named = {
        "user": lambda a, b, c: User(first_name=a, last_name=b, username=c),
        "department": lambda a, b, c: Department(name=a),
        "contact": lambda a, b, c: Contact(first_name=a, last_name=b),
    }
    # One instance per person or department (not per touch), only for its __str__.
    return {(kind, pk): str(named[kind](a, b, c)) for kind, pk, a, b, c in cursor.fetchall()}


def _aware(value: datetime | str) -> datetime:
    """A datetime as the ORM gives it: SQLite returns text from a UNION, and naive values are in the
    connection's time zone (UTC); PostgreSQL already returns aware datetimes."""
    if isinstance(value, str):
        value = parse_datetime(value)
    return timezone.make_aware(value, connection.timezone) if timezone.is_naive(value) else value


def _facts(
    *,
    contact: Contact,
    purpose: Purpose,
    channel: str,
    at: datetime,
    actor_id: int | None,
    rule: GuardRule | None,
    account_wide: bool,
    cap_window: timedelta | None,
    exclude_touch_id: int | None,
) -> _Facts:
    """Consent, conflicting touches and the frequency count in one statement, plus one for the names when
    there are conflicts. The guard runs inside every touch_log and its cost is mostly fixed per statement
    (the ORM compiling a query, PostgreSQL planning it), hence few statements and plain SQL."""
    sql = _facts_sql(
        purpose_part=rule is not None,
        account_wide=account_wide,
        frequency_part=cap_window is not None,
        actor=actor_id is not None,
        exclude=bool(exclude_touch_id),
    )
    moment = connection.ops.adapt_datetimefield_value
    params: list[Any] = [contact.pk, channel]
    if rule is not None:
        window = timedelta(days=rule.window_days)
        params += [contact.account_id if account_wide else contact.pk, purpose.pk, _OUT]
        params += [*_ACTIVE, moment(at - window), moment(at + window)]
        params += [actor_id] if actor_id is not None else []
        params += [exclude_touch_id] if exclude_touch_id else []
    if cap_window is not None:
        params += [contact.pk, *([contact.account_id] if account_wide else []), _OUT]
        params += [*_ACTIVE, moment(at - cap_window), moment(at + cap_window)]
        params += [exclude_touch_id] if exclude_touch_id else []
    facts = _Facts()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
        conflicts = [row for row in rows if row[0] == "purpose"]
        names = _names(cursor, conflicts) if conflicts else {}
    for kind, number, when, on, status, text, _user, _department, _contact in rows:
        if kind == "consent":
            facts.consent = ChannelConsent(channel=on, status=status, at=_aware(when), source=text)
        elif kind == "frequency":
            facts.recent = int(number)
    for _kind, pk, when, on, status, outcome, user_id, department_id, contact_id in conflicts:
        facts.others.append(
            _Shown(
                pk=pk,
                at=_aware(when),
                channel=on,
                status=status,
                outcome=outcome,
                user=names[("user", user_id)],
                department=names[("department", department_id)] if department_id is not None else "",
                contact=names[("contact", contact_id)],
            )
        )
    facts.others.sort(key=lambda t: (t.at, t.pk), reverse=True)  # UNION ALL promises no order
    return facts


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
    """The guard's verdict on an outbound touch of ``actor`` with ``contact`` for ``purpose`` at ``at``.

    One statement reads what it needs, a second one the names of the conflicts when there are any (see
    ``_facts``); the rule and the company's limits come from the cache.
    """
    verdict = Verdict()
    if direction != Touch.Direction.OUT:
        return verdict  # the customer contacted us: nothing to hold back

    rule = guard_rule(purpose)
    limits = outreach_settings()
    # An account-wide rule covers the whole account of a contact that has one.
    account_wide = bool(rule is not None and rule.scope == GuardRule.Scope.ACCOUNT and contact.account_id)
    cap_window = timedelta(days=limits.frequency_window_days) if limits.frequency_cap else None
    facts = _facts(
        contact=contact,
        purpose=purpose,
        channel=channel,
        at=at,
        actor_id=getattr(actor, "pk", None),
        rule=rule,
        account_wide=account_wide,
        cap_window=cap_window,
        exclude_touch_id=exclude_touch_id,
    )

    # (2) do-not-contact and withdrawn consent: hard blocks.
    if contact.do_not_contact:
        verdict.conflicts.append(
            Conflict(kind="do_not_contact", message=f"{contact} asked not to be contacted at all.")
        )
    consent = facts.consent
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

    # (1) the purpose's rule: outbound touches for the same purpose by someone else inside its window.
    if rule is not None:
        for touch in facts.others:
            when = "planned for" if touch.status != Touch.Status.DONE else "on"
            verdict.conflicts.append(
                _touch_conflict(
                    touch,
                    "purpose",
                    f"{touch.user} ({touch.department or 'no department'}) contacted {touch.contact} for "
                    f"{purpose} by {_label('channel', touch.channel).lower()} {when} {touch.at:%d %b %Y}: the rule "
                    f"allows one such touch per {rule.window_days} days.",
                )
            )
            verdict.raise_to("block" if rule.mode == GuardRule.Mode.BLOCK else "warn")

    # (3) the frequency cap: the contact's outbound touches strictly inside the window on either side.
    if limits.frequency_cap and facts.recent >= limits.frequency_cap:
        verdict.conflicts.append(
            Conflict(
                kind="frequency",
                message=f"{contact} already has {facts.recent} outbound touches within "
                f"{limits.frequency_window_days} days of this one; the limit is {limits.frequency_cap}.",
            )
        )
        verdict.raise_to("block" if limits.frequency_mode == GuardRule.Mode.BLOCK else "warn")
    return verdict
