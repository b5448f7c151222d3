"""Related-product rules: customers who bought A and not B become leads, or opportunities for the owner
of their account.

A rule (``RelatedProductRule``) names B, the product to offer, and A: products chosen by hand plus every
product the catalog relates B to by the chosen kinds (B is its accessory, upgrade, successor or
consumable). The purchase history comes from ``leads.buyers``, which the orders app feeds from its sales
ledger: who bought A within the rule's months, net of cancellations and returns, and never B (see
``orders.buyers.buyers_of``).

Every customer found gets one verdict, the first that applies:

1. ``no_contact`` (lead rules): the order named only an account, and nobody works there on record;
   ``no_account`` (opportunity rules): a consumer, without an account to put an opportunity on.
2. ``do_not_contact``: the person asked not to be contacted at all (for an account: every person of it
   who bought).
3. ``already_open``: a lead or opportunity this rule made for them is still open.
4. ``already_done``: the one this rule made is closed (converted, disqualified, won, lost) and they have
   not bought A since: a rep's "not interested" stands until the customer buys again.
5. ``worked``: someone already works them for the rule's purpose inside the purpose's guard window (an
   outbound touch done, planned or held, as the outreach guard counts them). A purpose without a guard
   rule has no window.
6. ``other_owner`` (opportunity rules): the account's owner is inactive, or outside the teams of the
   manager who runs the rule (``leads.services._may_own``); their manager or an admin runs it for them.
7. ``make``: a lead (owned by the account's owner, else the person's owner, else the assignment rules) or
   an opportunity (owned by the account's owner, with one line of B at its current price).

``rule_preview`` counts the verdicts and writes nothing. ``rule_run`` makes what the verdict ``make``
promises, in chunks that each lock the rule and look again at what the rule has made, and records every
customer served as a ``RelatedProductOffer``: running twice makes nothing new. ``rule_run_start`` runs it
as the ``related_rule_run`` job, with progress.
"""

from __future__ import annotations

import calendar
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from catalog.models import Product, RelatedProduct
from catalog.selectors import current_prices
from contacts.guard import guard_rule
from contacts.models import Account, Contact
from contacts.selectors import worked_for_purpose
from leads.buyers import Buyer, buyers, buyers_providers_installed
from leads.models import (
    ForecastCategory,
    Lead,
    LeadSource,
    OpportunityLine,
    RelatedProductOffer,
    RelatedProductRule,
)
from leads.services import _may_own, lead_create, opportunity_create
from sfa.audit import audit_record, diff, snapshot
from sfa.jobs import JobError, JobRun, job_start, job_task
from sfa.models import AuditAction, Job, User
from sfa.permissions import get_object_for, require, scoped
from sfa.services import model_delete

Action = RelatedProductRule.Action
JOB_KIND = "related_rule_run"
CHUNK = 100  # customers served per transaction (and per progress report)
EXPECTED_CLOSE_DAYS = 60
OPEN_LEAD = (Lead.Status.NEW, Lead.Status.WORKING, Lead.Status.QUALIFIED)
CLOSED_OPPORTUNITY = (ForecastCategory.CLOSED_WON, ForecastCategory.CLOSED_LOST)

NO_CONTACT, NO_ACCOUNT, DO_NOT_CONTACT = "no_contact", "no_account", "do_not_contact"
ALREADY_OPEN, ALREADY_DONE, WORKED, OTHER_OWNER, MAKE = (
    "already_open",
    "already_done",
    "worked",
    "other_owner",
    "make",
)
VERDICTS = (NO_CONTACT, NO_ACCOUNT, DO_NOT_CONTACT, ALREADY_OPEN, ALREADY_DONE, WORKED, OTHER_OWNER, MAKE)


# --- Reads ------------------------------------------------------------------------------------------


def rule_list(*, actor: User) -> QuerySet[RelatedProductRule]:
    qs = RelatedProductRule.objects.select_related("offer_product", "purpose", "created_by", "job")
    return scoped(actor, qs.prefetch_related("bought_products"))


def rule_get(*, actor: User, pk: Any, action: str = "view") -> RelatedProductRule:
    qs = RelatedProductRule.objects.select_related("offer_product", "purpose", "created_by", "job")
    return get_object_for(actor, qs, pk, action)


def months_before(day: date, months: int) -> date:
    """The same day ``months`` months earlier (the month's last day when it is shorter: 31 May - 3 = 28 Feb)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def rule_since(rule: RelatedProductRule, today: date | None = None) -> date:
    """The first day of purchase that counts: ``within_months`` before today."""
    return months_before(today or timezone.localdate(), rule.within_months)


def rule_bought_product_ids(rule: RelatedProductRule) -> list[int]:
    """A: the products chosen by hand, and those the catalog relates B to by the rule's kinds."""
    ids = set(rule.bought_products.values_list("pk", flat=True))
    if rule.relation_kinds:
        ids |= set(
            RelatedProduct.objects.filter(related_id=rule.offer_product_id, kind__in=rule.relation_kinds).values_list(
                "product_id", flat=True
            )
        )
    ids.discard(rule.offer_product_id)
    return sorted(ids)


def rule_offer_summary(rule: RelatedProductRule) -> dict[str, int]:
    """How many leads and opportunities the rule has made, and how many of them are still open."""
    rows = RelatedProductOffer.objects.filter(rule=rule).values_list(
        "lead_id", "lead__status", "opportunity_id", "opportunity__forecast_category"
    )
    summary = {"leads": 0, "leads_open": 0, "opportunities": 0, "opportunities_open": 0}
    for lead_id, status, opportunity_id, category in rows:
        if lead_id:
            summary["leads"] += 1
            summary["leads_open"] += status in OPEN_LEAD
        if opportunity_id:
            summary["opportunities"] += 1
            summary["opportunities_open"] += category not in CLOSED_OPPORTUNITY
    return summary


# --- Rules: create, change, delete -------------------------------------------------------------------

RULE_FIELDS = (
    "name",
    "offer_product",
    "bought_products",
    "relation_kinds",
    "within_months",
    "purpose",
    "action",
    "is_active",
)


def _check_products(offer_product: Product | None, bought: list[Product], kinds: list[str]) -> None:
    unknown = sorted(set(kinds) - set(RelatedProduct.Kind.values))
    if unknown:
        raise ValidationError({"relation_kinds": f"Unknown kind of relation: {', '.join(unknown)}."})
    if offer_product is not None and any(p.pk == offer_product.pk for p in bought):
        raise ValidationError(
            {"bought_products": f"{offer_product} is the product to offer: it cannot also be a product bought."}
        )
    if not bought and not kinds:
        raise ValidationError(
            {"bought_products": "Choose the products bought, or the kinds of catalog relation that lead to them."}
        )


def _rule_state(rule: RelatedProductRule, bought_ids: list[int]) -> dict[str, Any]:
    return {**snapshot(rule), "bought_products": bought_ids}


@transaction.atomic
def rule_create(*, actor: User, data: dict[str, Any]) -> RelatedProductRule:
    """A new rule; it does nothing until it is previewed and run."""
    require(actor, "add", RelatedProductRule)
    data = dict(data)
    unknown = set(data) - set(RULE_FIELDS)
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), "Unknown field."))
    bought = list(data.pop("bought_products", None) or [])
    data["relation_kinds"] = sorted(set(data.get("relation_kinds") or []))
    if isinstance(data.get("name"), str):
        data["name"] = data["name"].strip()
    _check_products(data.get("offer_product"), bought, data["relation_kinds"])
    rule = RelatedProductRule(**data, created_by=actor)
    rule.full_clean()
    rule.save()
    rule.bought_products.set(bought)
    audit_record(
        actor=actor,
        instance=rule,
        action=AuditAction.CREATE,
        changes=diff({}, _rule_state(rule, sorted(p.pk for p in bought))),
    )
    return rule


@transaction.atomic
def rule_update(*, rule: RelatedProductRule, actor: User, data: dict[str, Any]) -> list[str]:
    """Change a rule; returns the names of the fields that changed (one audit event for all of them)."""
    given, rule = rule, RelatedProductRule.objects.select_for_update().get(pk=rule.pk)
    require(actor, "change", rule)
    data = dict(data)
    unknown = set(data) - set(RULE_FIELDS)
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), "Unknown field."))
    before_ids = sorted(rule.bought_products.values_list("pk", flat=True))
    before = _rule_state(rule, before_ids)
    bought = data.pop("bought_products", None)
    if "relation_kinds" in data:
        data["relation_kinds"] = sorted(set(data["relation_kinds"] or []))
    if isinstance(data.get("name"), str):
        data["name"] = data["name"].strip()
    for name, value in data.items():
        setattr(rule, name, value)
    bought_list = list(bought) if bought is not None else list(rule.bought_products.all())
    _check_products(rule.offer_product, bought_list, rule.relation_kinds)
    after = _rule_state(rule, sorted(p.pk for p in bought_list))
    changes = diff(before, after)
    if not changes:
        return []
    rule.full_clean()
    fields = [name for name in data if name in changes]
    if fields:
        rule.save(update_fields=[*fields, "updated_at"])
    if "bought_products" in changes:
        rule.bought_products.set(bought_list)
    audit_record(actor=actor, instance=rule, action=AuditAction.UPDATE, changes=changes)
    given.refresh_from_db()
    return [*fields, *(["bought_products"] if "bought_products" in changes else [])]


def rule_delete(*, rule: RelatedProductRule, actor: User) -> None:
    """Delete a rule; the leads and opportunities it made stay (their record of the rule goes)."""
    require(actor, "delete", rule)
    if rule.job_id and not Job.objects.get(pk=rule.job_id).is_finished:
        raise ValidationError(f"The rule {rule} is running: wait for its run to finish, then delete it.")
    model_delete(instance=rule, actor=actor)


# --- Who the rule finds, and the verdict on each -----------------------------------------------------


@dataclass
class Candidate:
    """One customer a rule found: a person (lead rules) or an account (opportunity rules)."""

    contact_id: int | None
    account_id: int | None
    last_bought_on: date
    owner_id: int | None = None
    verdict: str = MAKE


def _assess(rule: RelatedProductRule, actor: User, now: datetime) -> list[Candidate]:
    product_ids = rule_bought_product_ids(rule)
    if not product_ids:
        raise ValidationError(
            f"The rule {rule} has no product bought: no product has {rule.offer_product} as "
            f"{' or '.join(rule.relation_kinds) or 'a related product'} in the catalog, and none is chosen by hand."
        )
    rows = buyers(
        bought_product_ids=product_ids,
        since=rule_since(rule, timezone.localdate(now)),
        not_bought_product_ids=[rule.offer_product_id],
    )
    candidates = _account_candidates(rows) if rule.action == Action.OPPORTUNITY else _person_candidates(rows)
    _judge_offers(rule, candidates)
    _judge_worked(rule, candidates, now)
    if rule.action == Action.OPPORTUNITY:
        _judge_owners(actor, candidates)
    candidates.sort(key=lambda c: (c.last_bought_on, c.account_id or 0, c.contact_id or 0), reverse=True)
    return candidates


def _batched(ids: Iterable[int], size: int = 500) -> Iterable[list[int]]:
    ids = sorted(set(ids))
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _person_candidates(rows: list[Buyer]) -> list[Candidate]:
    """Lead rules: one candidate per person. An order with only an account goes to the first person of
    that account (one who may be contacted, if there is one)."""
    first_person: dict[int, int] = {}
    accounts_only = {row.account_id for row in rows if row.contact_id is None and row.account_id}
    for batch in _batched(accounts_only):
        for pk, account_id in (
            Contact.objects.filter(account_id__in=batch, merged_into__isnull=True)
            .order_by("account_id", "do_not_contact", "pk")
            .values_list("pk", "account_id")
        ):
            first_person.setdefault(account_id, pk)
    last_by_person: dict[int, date] = {}
    nobody: dict[int, date] = {}
    for row in rows:
        contact_id = row.contact_id or first_person.get(row.account_id)
        if contact_id is None:
            nobody[row.account_id] = max(nobody.get(row.account_id, row.last_bought_on), row.last_bought_on)
        else:
            last_by_person[contact_id] = max(last_by_person.get(contact_id, row.last_bought_on), row.last_bought_on)
    candidates = []
    for batch in _batched(last_by_person):
        people = Contact.objects.filter(pk__in=batch, merged_into__isnull=True).values_list(
            "pk",
            "account_id",
            "do_not_contact",
            "owner_id",
            "owner__is_active",
            "account__owner_id",
            "account__owner__is_active",
        )
        for pk, account_id, dnc, owner_id, owner_active, account_owner_id, account_owner_active in people:
            owner = account_owner_id if account_owner_active else owner_id if owner_active else None
            candidate = Candidate(pk, account_id, last_by_person[pk], owner_id=owner)
            if dnc:
                candidate.verdict = DO_NOT_CONTACT
            candidates.append(candidate)
    candidates += [Candidate(None, account_id, on, verdict=NO_CONTACT) for account_id, on in nobody.items()]
    return candidates


def _account_candidates(rows: list[Buyer]) -> list[Candidate]:
    """Opportunity rules: one candidate per account, with the latest buyer there who may be contacted."""
    by_account: dict[int, list[Buyer]] = {}
    consumers: dict[int, date] = {}
    for row in rows:
        if row.account_id is None:
            consumers[row.contact_id] = max(consumers.get(row.contact_id, row.last_bought_on), row.last_bought_on)
        else:
            by_account.setdefault(row.account_id, []).append(row)
    people: dict[int, bool] = {}
    for batch in _batched(row.contact_id for rows_ in by_account.values() for row in rows_ if row.contact_id):
        people.update(
            Contact.objects.filter(pk__in=batch, merged_into__isnull=True).values_list("pk", "do_not_contact")
        )
    candidates = []
    for batch in _batched(by_account):
        for account_id, owner_id in Account.objects.filter(pk__in=batch, merged_into__isnull=True).values_list(
            "pk", "owner_id"
        ):
            bought = sorted(by_account[account_id], key=lambda r: r.last_bought_on, reverse=True)
            persons = [r.contact_id for r in bought if r.contact_id in people]
            reachable = [pk for pk in persons if not people[pk]]
            candidate = Candidate(
                reachable[0] if reachable else (persons[0] if persons else None),
                account_id,
                bought[0].last_bought_on,
                owner_id=owner_id,
            )
            if persons and not reachable:
                candidate.verdict = DO_NOT_CONTACT
            candidates.append(candidate)
    candidates += [Candidate(pk, None, on, verdict=NO_ACCOUNT) for pk, on in consumers.items()]
    return candidates


def _judge_offers(rule: RelatedProductRule, candidates: list[Candidate]) -> None:
    """Already served by this rule: an open lead or opportunity, or a closed one and no purchase since."""
    key = "account_id" if rule.action == Action.OPPORTUNITY else "contact_id"
    live = [c for c in candidates if c.verdict == MAKE]
    is_open: set[int] = set()
    last_served: dict[int, date] = {}
    for batch in _batched(getattr(c, key) for c in live):
        offers = RelatedProductOffer.objects.filter(rule=rule, **{f"{key}__in": batch}).values_list(
            key, "last_bought_on", "lead_id", "lead__status", "opportunity_id", "opportunity__forecast_category"
        )
        for customer, bought_on, lead_id, status, opportunity_id, category in offers:
            if (lead_id and status in OPEN_LEAD) or (opportunity_id and category not in CLOSED_OPPORTUNITY):
                is_open.add(customer)
            last_served[customer] = max(last_served.get(customer, bought_on), bought_on)
    for candidate in live:
        customer = getattr(candidate, key)
        if customer in is_open:
            candidate.verdict = ALREADY_OPEN
        elif customer in last_served and candidate.last_bought_on <= last_served[customer]:
            candidate.verdict = ALREADY_DONE


def guard_window_days(rule: RelatedProductRule) -> int | None:
    found = guard_rule(rule.purpose)
    return found.window_days if found is not None else None


def _judge_worked(rule: RelatedProductRule, candidates: list[Candidate], now: datetime) -> None:
    window = guard_window_days(rule)
    live = [c for c in candidates if c.verdict == MAKE]
    if window is None or not live:
        return
    since = now - timedelta(days=window)
    if rule.action == Action.OPPORTUNITY:
        _, accounts = worked_for_purpose(purpose=rule.purpose, since=since, account_ids=[c.account_id for c in live])
        busy = [c for c in live if c.account_id in accounts]
    else:
        people, _ = worked_for_purpose(purpose=rule.purpose, since=since, contact_ids=[c.contact_id for c in live])
        busy = [c for c in live if c.contact_id in people]
    for candidate in busy:
        candidate.verdict = WORKED


def _judge_owners(actor: User, candidates: list[Candidate]) -> None:
    live = [c for c in candidates if c.verdict == MAKE]
    owners = User.objects.in_bulk({c.owner_id for c in live})
    for candidate in live:
        owner = owners.get(candidate.owner_id)
        if owner is None or not _may_own(actor, owner):
            candidate.verdict = OTHER_OWNER


def _counts(rule: RelatedProductRule, candidates: list[Candidate], now: datetime) -> dict[str, Any]:
    tally = Counter(c.verdict for c in candidates)
    return {
        "found": len(candidates),
        **{verdict: tally.get(verdict, 0) for verdict in VERDICTS},
        "since": rule_since(rule, timezone.localdate(now)).isoformat(),
        "window_days": guard_window_days(rule),
        "products": len(rule_bought_product_ids(rule)),
        "history": buyers_providers_installed(),
        "action": rule.action,
    }


def rule_preview(*, rule: RelatedProductRule, actor: User) -> dict[str, Any]:
    """What a run would find and make now, counted by verdict; writes nothing."""
    require(actor, "view", rule)
    now = timezone.now()
    return _counts(rule, _assess(rule, actor, now), now)


# --- Running a rule ----------------------------------------------------------------------------------


@dataclass
class _Offer:
    """What every lead or opportunity of one run shares: the product, its price, the words."""

    rule: RelatedProductRule
    product: Product
    bought_names: list[str]
    price: Decimal
    currency: str

    @classmethod
    def of(cls, rule: RelatedProductRule) -> _Offer:
        product = rule.offer_product
        names = list(Product.objects.filter(pk__in=rule_bought_product_ids(rule)).values_list("name", flat=True))
        prices = current_prices(product_ids=[product.pk]).get(product.pk, {})
        currency = "EUR" if "EUR" in prices or not prices else sorted(prices)[0]
        return cls(rule, product, names, prices.get(currency, Decimal("0")), currency)

    @property
    def next_step(self) -> str:
        return f"{self.rule.purpose}: offer {self.product}"[:200]

    def bought_text(self, on: date) -> str:
        names = ", ".join(self.bought_names[:3]) + (" …" if len(self.bought_names) > 3 else "")
        return f"Bought {names} (latest purchase {on:%d %b %Y}); has not bought {self.product}."


def _serve(offer: _Offer, actor: User, candidate: Candidate, contacts: dict, accounts: dict, owners: dict) -> None:
    """Make the lead or the opportunity for one customer and record it; all or nothing."""
    rule = offer.rule
    contact = contacts.get(candidate.contact_id)
    account = accounts.get(candidate.account_id)
    owner = owners.get(candidate.owner_id)
    if (account if rule.action == Action.OPPORTUNITY else contact) is None:
        raise ValidationError(f"Customer {candidate.account_id or candidate.contact_id} was deleted meanwhile.")
    with transaction.atomic():
        if rule.action == Action.OPPORTUNITY:
            opportunity = opportunity_create(
                actor=actor,
                name=f"{offer.product} for {account}"[:200],
                expected_close=timezone.localdate() + timedelta(days=EXPECTED_CLOSE_DAYS),
                owner=owner,
                account=account,
                contact=contact,
                amount=offer.price,
                currency=offer.currency,
                next_step=offer.next_step,
                next_step_date=timezone.localdate(),
                via="rule",
            )
            OpportunityLine.objects.create(
                opportunity=opportunity,
                product=offer.product,
                description=offer.product.name,
                quantity=Decimal("1"),
                unit_price=offer.price,
            )
            RelatedProductOffer.objects.create(
                rule=rule,
                account=account,
                contact=contact,
                opportunity=opportunity,
                last_bought_on=candidate.last_bought_on,
            )
        else:
            lead = lead_create(
                actor=actor,
                contact=contact,
                source=LeadSource.RELATED_PRODUCT,
                source_detail=f"Rule: {rule.name}"[:200],
                company=contact.account.name if contact.account_id else "",
                interests=[offer.product.name[:60]],
                buying_patterns=offer.bought_text(candidate.last_bought_on),
                notes=offer.next_step,
                owner=owner,
            )
            RelatedProductOffer.objects.create(
                rule=rule,
                contact=contact,
                account_id=contact.account_id,
                lead=lead,
                last_bought_on=candidate.last_bought_on,
            )


def rule_run(
    *, rule: RelatedProductRule, actor: User, progress: Callable[[int, int], None] | None = None
) -> dict[str, Any]:
    """Make the leads or opportunities the preview promises, and return the counts with ``made``.

    Safe to run twice, and twice at once: each chunk locks the rule and looks again at what the rule made
    before it writes, so a customer served meanwhile is counted ``already_open`` instead.
    """
    rule = RelatedProductRule.objects.select_related("offer_product", "purpose").get(pk=rule.pk)
    require(actor, "run", rule)
    if not rule.is_active:
        raise ValidationError(f"The rule {rule} is switched off: switch it on to run it.")
    now = timezone.now()
    candidates = _assess(rule, actor, now)
    todo = [c for c in candidates if c.verdict == MAKE]
    offer = _Offer.of(rule)
    made, failed, errors = 0, 0, []
    for start in range(0, len(todo), CHUNK):
        chunk = todo[start : start + CHUNK]
        with transaction.atomic():
            RelatedProductRule.objects.select_for_update().filter(pk=rule.pk).values_list("pk", flat=True).first()
            _judge_offers(rule, chunk)
            chunk = [c for c in chunk if c.verdict == MAKE]
            contacts = Contact.objects.select_related("account").in_bulk({c.contact_id for c in chunk} - {None})
            accounts = Account.objects.in_bulk({c.account_id for c in chunk} - {None})
            owners = User.objects.in_bulk({c.owner_id for c in chunk} - {None})
            for candidate in chunk:
                try:
                    _serve(offer, actor, candidate, contacts, accounts, owners)
                except ValidationError as exc:
                    failed += 1
                    candidate.verdict = "failed"
                    if len(errors) < 5:
                        errors.append(" ".join(exc.messages))
                else:
                    made += 1
        if progress is not None:
            progress(min(start + CHUNK, len(todo)), len(todo))
    counts = {**_counts(rule, candidates, now), "made": made, "failed": failed, "errors": errors}
    with transaction.atomic():
        RelatedProductRule.objects.filter(pk=rule.pk).update(last_run_at=now, last_run_counts=counts)
        audit_record(
            actor=actor,
            instance=rule,
            action=AuditAction.ACTION,
            verb="run",
            note=f"{made_text(rule, made)} for {counts['found']} customers found",
        )
    return counts


def made_text(rule: RelatedProductRule, made: int) -> str:
    if rule.action == Action.OPPORTUNITY:
        return f"{made} opportunit{'y' if made == 1 else 'ies'} made"
    return f"{made} lead{'' if made == 1 else 's'} made"


def rule_run_start(*, rule: RelatedProductRule, actor: User) -> Job:
    """Run the rule as a ``related_rule_run`` job; refused while a run of it is still going."""
    with transaction.atomic():
        rule = RelatedProductRule.objects.select_for_update(of=("self",)).select_related("job").get(pk=rule.pk)
        require(actor, "run", rule)
        if not rule.is_active:
            raise ValidationError(f"The rule {rule} is switched off: switch it on to run it.")
        if rule.job is not None and not rule.job.is_finished:
            raise ValidationError(f"The rule {rule} is running already: wait for that run to finish.")
        job = job_start(kind=JOB_KIND, title=f"Run the rule {rule.name}", actor=actor, params={"rule_id": rule.pk})
        rule.job = job
        rule.save(update_fields=["job", "updated_at"])
        audit_record(actor=actor, instance=rule, action=AuditAction.ACTION, verb="run started")
    return job


@job_task(kind=JOB_KIND)
def rule_run_task(run: JobRun) -> dict:
    rule = RelatedProductRule.objects.filter(pk=run.params["rule_id"]).first()
    if rule is None:
        raise JobError("The rule was deleted before it ran.")
    actor = User.objects.filter(pk=run.job.started_by_id, is_active=True).first()
    if actor is None:
        raise JobError("The user who started this run no longer exists or is inactive.")
    run.progress(1, "Finding the customers")
    noun = "opportunities" if rule.action == Action.OPPORTUNITY else "leads"
    counts = rule_run(
        rule=rule,
        actor=actor,
        progress=lambda done, total: run.progress(
            min(99, 5 + 94 * done / max(total, 1)), f"{done:,} of {total:,} {noun}"
        ),
    )
    return {"message": made_text(rule, counts["made"]), **counts}
