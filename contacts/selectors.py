"""Reads of customers and their touches, scoped through the policies."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet, prefetch_related_objects
from django.utils import timezone

from contacts.filters import AccountFilter, CandidateQueueFilter, ContactFilter, FollowUpFilter, TouchFilter
from contacts.models import Account, Contact, ContactEmail, ContactPhone, FollowUp, GuardLog, Purpose, Touch
from contacts.normalize import email_key, name_key, phone_search_prefix
from sfa.filters import apply_filters
from sfa.models import User
from sfa.permissions import get_object_for, scoped

PRIMARY_CHANNELS = (
    Prefetch("emails", queryset=ContactEmail.objects.order_by("-is_primary", "id")),
    Prefetch("phones", queryset=ContactPhone.objects.order_by("-is_primary", "id")),
)


def account_list(*, actor: User, filters: Any = None) -> QuerySet[Account]:
    qs = scoped(actor, Account.objects.filter(merged_into__isnull=True).select_related("owner"))
    return apply_filters(AccountFilter, filters, qs)


def contact_list(*, actor: User, filters: Any = None) -> QuerySet[Contact]:
    qs = scoped(
        actor,
        Contact.objects.filter(merged_into__isnull=True)
        .select_related("owner", "account")
        .prefetch_related(*PRIMARY_CHANNELS),
    )
    return apply_filters(ContactFilter, filters, qs)


def contact_get(*, actor: User, pk: Any, action: str = "view") -> Contact:
    qs = Contact.objects.select_related("owner", "account", "account__owner").prefetch_related(
        *PRIMARY_CHANNELS, "consents"
    )
    return get_object_for(actor, qs, pk, action)


def account_get(*, actor: User, pk: Any, action: str = "view") -> Account:
    return get_object_for(actor, Account.objects.select_related("owner"), pk, action)


def timeline(
    *, actor: User, contact: Contact | None = None, account: Account | None = None, filters: Any = None
) -> QuerySet[Touch]:
    """Every touch by every department with a contact, or with an account and all its contacts, newest
    first (planned ones excluded: see ``upcoming``)."""
    qs = scoped(actor, Touch.objects.select_related("user", "department", "purpose", "contact"))
    qs = qs.filter(contact=contact) if contact is not None else qs.filter(account=account)
    qs = qs.exclude(status=Touch.Status.PLANNED)
    return apply_filters(TouchFilter, filters, qs).order_by("-at", "-id")


def upcoming(*, actor: User, contact: Contact | None = None, account: Account | None = None) -> QuerySet[Touch]:
    qs = scoped(actor, Touch.objects.select_related("user", "department", "purpose", "contact"))
    qs = qs.filter(contact=contact) if contact is not None else qs.filter(account=account)
    return qs.filter(status__in=[Touch.Status.PLANNED, Touch.Status.HELD]).order_by("at", "id")


def touch_list(*, actor: User, filters: Any = None) -> QuerySet[Touch]:
    qs = scoped(actor, Touch.objects.select_related("user", "department", "purpose", "contact"))
    return apply_filters(TouchFilter, filters, qs)


def purpose_list(*, actor: User, active_only: bool = True) -> QuerySet[Purpose]:
    qs = scoped(actor, Purpose.objects.select_related("guard_rule"))
    return qs.filter(is_active=True) if active_only else qs


def followup_list(*, actor: User, filters: Any = None) -> QuerySet[FollowUp]:
    qs = scoped(actor, FollowUp.objects.select_related("contact", "assignee", "touch"))
    return apply_filters(FollowUpFilter, filters, qs)


def followups_for(*, actor: User, user: User, today: date | None = None) -> dict[str, list[FollowUp]]:
    """Open follow-ups of ``user`` grouped as overdue, today and upcoming (next 14 days)."""
    today = today or timezone.localdate()
    open_ = list(
        scoped(actor, FollowUp.objects.select_related("contact", "contact__account", "touch__purpose"))
        .filter(assignee=user, status=FollowUp.Status.OPEN, due__lte=today + timedelta(days=14))
        .order_by("due", "id")
    )
    return {
        "overdue": [f for f in open_ if f.due < today],
        "today": [f for f in open_ if f.due == today],
        "upcoming": [f for f in open_ if f.due > today],
    }


@dataclass
class SearchResults:
    query: str
    contacts: list[Contact] = field(default_factory=list)
    accounts: list[Account] = field(default_factory=list)
    matched_by: str = ""


def _key_prefix(field: str, prefix: str) -> Q:
    """Keys starting with ``prefix``, as a range of the ordinary index.

    PostgreSQL can then find the rows and return them in index order (LIMIT stops early); a LIKE would
    need the pattern index, which is not in that order, unless the collation is C. Trailing 'z'/'9' are
    dropped before incrementing the last character, so the upper bound stays a letter or digit in any
    collation; callers re-check ``startswith`` in Python.
    """
    stem = prefix.rstrip("z9")
    if not stem:
        return Q(**{f"{field}__gte": prefix})
    return Q(**{f"{field}__gte": prefix, f"{field}__lt": stem[:-1] + chr(ord(stem[-1]) + 1)})


def search(*, actor: User, query: str, limit: int = 8, base: QuerySet | None = None) -> SearchResults:
    """One box for contacts and accounts: by name, e-mail, phone in any format, or company.

    Every branch is an indexed lookup (name keys as index ranges, e-mail keys, E.164 prefixes), so it
    stays fast on a million contacts; the phone branch turns national or formatted input into an E.164
    prefix. ``base`` (an already scoped and filtered contact queryset, e.g. the API's) replaces the default.
    """
    query = (query or "").strip()[:100]
    results = SearchResults(query=query)
    if len(query) < 2:
        return results
    contacts = base if base is not None else scoped(actor, Contact.objects.select_related("account"))
    contacts = contacts.filter(merged_into__isnull=True)
    phone = phone_search_prefix(query)
    if phone:
        ids = ContactPhone.objects.filter(e164__startswith=phone).values_list("contact_id", flat=True)[: limit * 2]
        results.contacts = list(contacts.filter(pk__in=list(ids))[:limit])
        results.matched_by = "phone"
    elif "@" in query:
        ids = ContactEmail.objects.filter(email_key__startswith=email_key(query)).values_list("contact_id", flat=True)
        results.contacts = list(contacts.filter(pk__in=list(ids[: limit * 2]))[:limit])
        results.matched_by = "e-mail"
    else:
        _search_names(actor, contacts, name_key(query), limit, results)
    prefetch_related_objects(results.contacts, *PRIMARY_CHANNELS)
    return results


def _search_names(actor: User, contacts: QuerySet, key: str, limit: int, results: SearchResults) -> None:
    words = key.split()
    accounts = (
        scoped(actor, Account.objects.filter(merged_into__isnull=True))
        .filter(_key_prefix("name_key", key))
        .order_by("name_key", "id")
    )
    results.accounts = [a for a in accounts[:limit] if a.name_key.startswith(key)]
    if len(words) == 1:
        arms = [
            (
                contacts.filter(_key_prefix("last_key", key)).order_by("last_key", "first_key", "id"),
                lambda c: c.last_key.startswith(key),
            ),
            (
                contacts.filter(_key_prefix("first_key", key)).order_by("first_key", "last_key", "id"),
                lambda c: c.first_key.startswith(key),
            ),
        ]
    else:
        first, rest = words[0], " ".join(words[1:])
        arms = [
            (
                contacts.filter(_key_prefix("first_key", first), _key_prefix("last_key", rest)).order_by(
                    "last_key", "first_key", "id"
                ),
                lambda c: c.first_key.startswith(first) and c.last_key.startswith(rest),
            ),
            (
                contacts.filter(_key_prefix("last_key", first), _key_prefix("first_key", rest)).order_by(
                    "last_key", "first_key", "id"
                ),
                lambda c: c.last_key.startswith(first) and c.first_key.startswith(rest),
            ),
        ]
    found = {c.pk: c for qs, fits in arms for c in qs[:limit] if fits(c)}
    if len(words) > 1:
        found = {c.pk: c for c in sorted(found.values(), key=lambda c: (c.last_key, c.first_key, c.pk))}
    if len(found) < limit and results.accounts:
        for c in contacts.filter(account__in=results.accounts[:3]).order_by("last_key", "id")[: limit - len(found)]:
            found.setdefault(c.pk, c)
    results.contacts = list(found.values())[:limit]
    results.matched_by = "name"


def guard_report(*, actor: User, since: datetime, until: datetime) -> dict[str, Any]:
    """Overrides and blocked attempts by department and purpose, with the latest entries."""
    logs = scoped(actor, GuardLog.objects.all()).filter(at__gte=since, at__lt=until)
    rows = (
        logs.values("department__name", "purpose__name")
        .annotate(
            overridden=Count("id", filter=Q(verdict=GuardLog.Verdict.OVERRIDDEN)),
            block_overridden=Count("id", filter=Q(verdict=GuardLog.Verdict.BLOCK_OVERRIDDEN)),
            blocked=Count("id", filter=Q(verdict=GuardLog.Verdict.BLOCKED)),
            held=Count("id", filter=Q(verdict=GuardLog.Verdict.HELD)),
            total=Count("id"),
        )
        .order_by("-total", "department__name", "purpose__name")
    )
    latest = logs.select_related("user", "department", "contact", "purpose").order_by("-at", "-id")[:50]
    return {"rows": list(rows), "latest": list(latest), "since": since, "until": until}


def survivor_of(record):
    """The record a merged record now lives in (following merges of merges), or the record itself."""
    seen = set()
    while record.merged_into_id and record.pk not in seen:
        seen.add(record.pk)
        record = type(record).objects.get(pk=record.merged_into_id)
    return record


def candidate_queue(*, actor: User, subject: str = "contact", filters: Any = None) -> QuerySet:
    """Open pairs of the review queue, best first; filters: ``min_score``, ``owner`` (of either record), ``source``."""
    from contacts.models import MatchCandidate

    qs = scoped(actor, MatchCandidate.objects.filter(subject=subject, status=MatchCandidate.Status.OPEN))
    return apply_filters(CandidateQueueFilter, filters, qs)


def records_for_pairs(subject: str, pairs: list) -> dict[int, Any]:
    """The records of a page of pairs, by id, in one query (with e-mails and phones for contacts)."""
    ids = {i for p in pairs for i in (p.a_id, p.b_id)}
    if subject == "contact":
        qs = Contact.objects.filter(pk__in=ids).select_related("account", "owner").prefetch_related(*PRIMARY_CHANNELS)
    else:
        qs = Account.objects.filter(pk__in=ids).select_related("owner")
    return {obj.pk: obj for obj in qs}


def merges_into(*, actor: User, record) -> QuerySet:
    from contacts.models import Merge

    subject = "contact" if isinstance(record, Contact) else "account"
    return scoped(actor, Merge.objects.select_related("by")).filter(subject=subject, survivor_id=record.pk)


def worked_for_purpose(
    *, purpose: Purpose, since: datetime, contact_ids: Iterable[int] = (), account_ids: Iterable[int] = ()
) -> tuple[set[int], set[int]]:
    """Which of these contacts and accounts someone already works for ``purpose``: (contact ids, account ids).

    Worked means an outbound touch for the purpose, done, planned or held (as the outreach guard counts
    them), at or after ``since``; planned touches ahead count too. A contact counts when the touch was on
    them, or, when the purpose's guard rule covers the whole account, on anyone of their account; an
    account counts when anyone of it was touched. Like the guard, this is a company-wide fact and is not
    scoped by a user: a background job asks it before handing out work.
    """
    from contacts.guard import ACTIVE_STATUSES, guard_rule

    touches = Touch.objects.filter(
        purpose=purpose, direction=Touch.Direction.OUT, status__in=ACTIVE_STATUSES, at__gte=since
    )
    rule = guard_rule(purpose)
    account_wide = rule is not None and rule.scope == rule.Scope.ACCOUNT
    contacts_worked: set[int] = set()
    accounts_worked: set[int] = set()
    wanted_contacts, wanted_accounts = sorted(set(contact_ids)), sorted(set(account_ids))
    for start in range(0, len(wanted_contacts), 500):
        batch = wanted_contacts[start : start + 500]
        contacts_worked.update(touches.filter(contact_id__in=batch).values_list("contact_id", flat=True).distinct())
        if account_wide:
            account_of = dict(
                Contact.objects.filter(pk__in=batch, account__isnull=False).values_list("pk", "account_id")
            )
            busy = set(
                touches.filter(account_id__in=set(account_of.values())).values_list("account_id", flat=True).distinct()
            )
            contacts_worked.update(pk for pk, account_id in account_of.items() if account_id in busy)
    for start in range(0, len(wanted_accounts), 500):
        batch = wanted_accounts[start : start + 500]
        accounts_worked.update(touches.filter(account_id__in=batch).values_list("account_id", flat=True).distinct())
    return contacts_worked, accounts_worked
