"""The matching engine: candidates from blocking keys, scored by contacts.matching.score, judged by two
thresholds. Above ``LINK`` a pair is the same person (an import updates the existing record); between
``REVIEW`` and ``LINK`` it goes to the review queue; below, it is no match.

Used on create and edit (HTML and API), on import, on lead conversion, on configurator requests, by the
nightly scan and by the ``find_duplicates`` command — always through the functions here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import combinations

from contacts.matching.keys import account_keys, person_keys, person_lookup_keys
from contacts.matching.score import Evidence, PersonRecord, compare

# With PRIOR = 5 bits, LINK = 0.9 needs about 11.3 bits of evidence (a full name and an e-mail or a
# phone; or a full name and a full address with the company), REVIEW = 0.5 needs 5 bits.
LINK = 0.90
REVIEW = 0.50
MAX_BLOCK = (
    60  # a key shared by more records than this (a switchboard number, 'smith|j|london') is too common to pair on
)


@dataclass
class Match:
    id: int | str
    score: float
    reasons: dict[str, float]

    @property
    def verdict(self) -> str:
        return "same" if self.score >= LINK else "review" if self.score >= REVIEW else "different"


def verdict(score: float) -> str:
    return "same" if score >= LINK else "review" if score >= REVIEW else "different"


# --- records from the database -------------------------------------------------------------------


def contact_record(contact) -> PersonRecord:
    """A contact (with emails, phones and account loaded or loadable) as the engine sees it."""
    return PersonRecord(
        id=contact.pk,
        first_name=contact.first_name,
        last_name=contact.last_name,
        emails=[e.email for e in contact.emails.all()],
        phones=[p.e164 for p in contact.phones.all()],
        company=contact.account.name if contact.account_id else "",
        street=contact.street,
        city=contact.city,
        postcode=contact.postcode,
        country=contact.country,
        birth_date=contact.birth_date,
    )


def contacts_by_id(ids: Iterable[int]) -> dict[int, PersonRecord]:
    """The engine's view of these contacts (merged ones left out), read as plain rows: three queries
    however many contacts, and no model instances, which cost more than the comparisons themselves."""
    from contacts.models import Contact, ContactEmail, ContactPhone

    ids = list(ids)
    if not ids:
        return {}
    rows = Contact.objects.filter(pk__in=ids, merged_into__isnull=True).values_list(
        "pk", "first_name", "last_name", "account__name", "street", "city", "postcode", "country", "birth_date"
    )
    emails: dict[int, list[str]] = defaultdict(list)
    phones: dict[int, list[str]] = defaultdict(list)
    for contact_id, email in ContactEmail.objects.filter(contact_id__in=ids).values_list("contact_id", "email"):
        emails[contact_id].append(email)
    for contact_id, e164 in ContactPhone.objects.filter(contact_id__in=ids).values_list("contact_id", "e164"):
        phones[contact_id].append(e164)
    return {
        pk: PersonRecord(
            id=pk,
            first_name=first,
            last_name=last,
            emails=emails[pk],
            phones=phones[pk],
            company=company or "",
            street=street,
            city=city,
            postcode=postcode,
            country=country,
            birth_date=birth,
        )
        for pk, first, last, company, street, city, postcode, country, birth in rows
    }


def contact_keys_refresh(contact_ids: Iterable[int]) -> None:
    """Recompute the blocking keys of these contacts (after create, edit, merge or a bulk load)."""
    from contacts.models import MatchKey

    ids = list(contact_ids)
    for start in range(0, len(ids), 2000):
        chunk = ids[start : start + 2000]
        records = contacts_by_id(chunk)
        MatchKey.objects.filter(subject="contact", object_id__in=chunk).delete()
        MatchKey.objects.bulk_create(
            [
                MatchKey(subject="contact", object_id=cid, key=k[:200])
                for cid, r in records.items()
                for k in person_keys(r)
            ],
            batch_size=5000,
        )


def account_keys_refresh(account_ids: Iterable[int]) -> None:
    from contacts.models import Account, MatchKey

    ids = list(account_ids)
    accounts = Account.objects.filter(pk__in=ids, merged_into__isnull=True).only("id", "name", "city", "domain")
    MatchKey.objects.filter(subject="account", object_id__in=ids).delete()
    MatchKey.objects.bulk_create(
        [
            MatchKey(subject="account", object_id=a.pk, key=k)
            for a in accounts
            for k in account_keys(a.name, a.city, a.domain)
        ]
    )


def contact_candidates(record: PersonRecord, *, exclude: Iterable[int] = ()) -> list[Match]:
    """Contacts that may be the person of ``record``, best first (score ≥ REVIEW)."""
    from contacts.models import MatchKey

    keys = [k[:200] for k in person_lookup_keys(record)]
    if not keys:
        return []
    excluded = set(exclude)
    ids = (
        set(MatchKey.objects.filter(subject="contact", key__in=keys).values_list("object_id", flat=True)[:500])
        - excluded
    )
    found = []
    for cid, other in contacts_by_id(ids).items():
        evidence = compare(record, other)
        if evidence.score >= REVIEW:
            found.append(Match(id=cid, score=evidence.score, reasons=evidence.reasons))
    return sorted(found, key=lambda m: -m.score)


def contact_candidates_many(records: list[PersonRecord], *, chunk: int = 2000) -> dict:
    """Candidates for many records at once (imports): one key lookup and one record load per chunk.

    Returns {record id: [Match, ...]} with the matches at or above REVIEW, best first.
    """
    from contacts.models import MatchKey

    found: dict = {}
    for start in range(0, len(records), chunk):
        part = records[start : start + chunk]
        keys_of = {r.id: {k[:200] for k in person_lookup_keys(r)} for r in part}
        wanted = set().union(*keys_of.values()) if keys_of else set()
        owners: dict[str, list[int]] = defaultdict(list)
        for key_chunk in _chunks(sorted(wanted), 5000):
            for object_id, key in MatchKey.objects.filter(subject="contact", key__in=key_chunk).values_list(
                "object_id", "key"
            ):
                owners[key].append(object_id)
        candidate_ids = {
            r.id: {i for k in keys_of[r.id] if len(owners.get(k, ())) <= MAX_BLOCK for i in owners.get(k, ())}
            for r in part
        }
        existing = contacts_by_id(set().union(*candidate_ids.values())) if candidate_ids else {}
        for record in part:
            matches = []
            for cid in candidate_ids[record.id]:
                if cid in existing:
                    evidence = compare(record, existing[cid])
                    if evidence.score >= REVIEW:
                        matches.append(Match(id=cid, score=evidence.score, reasons=evidence.reasons))
            found[record.id] = sorted(matches, key=lambda m: -m.score)
    return found


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def account_candidates(name: str, city: str = "", domain: str = "", *, exclude: Iterable[int] = ()) -> list[Match]:
    """Accounts that may be the company ``name``: same normalised name (and city), or same web domain."""
    import jellyfish

    from contacts.matching.normalize import city_key, company_key
    from contacts.models import Account, MatchKey

    keys = list(account_keys(name, city, domain))
    if not keys:
        return []
    ids = set(MatchKey.objects.filter(subject="account", key__in=keys).values_list("object_id", flat=True)[:200])
    ids -= set(exclude)
    found = []
    target = company_key(name)
    for account in Account.objects.filter(pk__in=ids, merged_into__isnull=True):
        weights = {"name": 9.0 if company_key(account.name) == target else 0.0}
        if domain and account.domain:
            weights["domain"] = 6.0 if account.domain == domain else -2.0
        if city and account.city:
            weights["city"] = 2.0 if city_key(city) == city_key(account.city) else -4.0
        if jellyfish.jaro_winkler_similarity(target, company_key(account.name)) < 0.9 and "domain" not in weights:
            continue
        total = sum(weights.values()) - 4.0
        score = 1.0 / (1.0 + 2 ** (-total / 2))
        if score >= REVIEW:
            found.append(Match(id=account.pk, score=score, reasons={k: v for k, v in weights.items() if v}))
    return sorted(found, key=lambda m: -m.score)


# --- records in memory (CSV files, imports) ------------------------------------------------------


def pairs_within(
    records: list[PersonRecord], threshold: float = REVIEW
) -> Iterator[tuple[PersonRecord, PersonRecord, Evidence]]:
    """Every pair of ``records`` sharing a blocking key and scoring at least ``threshold``, each pair once."""
    blocks: dict[str, list[int]] = defaultdict(list)
    for index, record in enumerate(records):
        for key in person_lookup_keys(record):
            blocks[key].append(index)
    seen: set[tuple[int, int]] = set()
    for members in blocks.values():
        if len(members) < 2 or len(members) > MAX_BLOCK:
            continue
        for i, j in combinations(sorted(set(members)), 2):
            if (i, j) in seen:
                continue
            seen.add((i, j))
            evidence = compare(records[i], records[j])
            if evidence.score >= threshold:
                yield records[i], records[j], evidence


def pairs_between(
    left: list[PersonRecord], right: list[PersonRecord], threshold: float = REVIEW
) -> Iterator[tuple[PersonRecord, PersonRecord, Evidence]]:
    """Pairs (one record of ``left``, one of ``right``) sharing a key and scoring at least ``threshold``."""
    index: dict[str, list[int]] = defaultdict(list)
    for j, record in enumerate(right):
        for key in person_keys(record):
            index[key].append(j)
    for record in left:
        candidates: set[int] = set()
        for key in person_lookup_keys(record):
            members = index.get(key, ())
            if len(members) <= MAX_BLOCK:
                candidates.update(members)
        for j in candidates:
            evidence = compare(record, right[j])
            if evidence.score >= threshold:
                yield record, right[j], evidence
