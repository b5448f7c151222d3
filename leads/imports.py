"""Importing purchased lists: upload, column mapping, check, run, report, undo.

A list goes through five steps, each a service here that the wizard (leads/views_import.py) and the API
(leads/api/views_imports.py) call:

1. ``lead_import_create`` reads the uploaded CSV or XLSX once (``sfa.tabular.inspect_upload``: encoding,
   delimiter, header and row count). A file that cannot become a list (empty, binary, header-less,
   wrongly encoded, over ``LEAD_IMPORT_MAX_ROWS`` rows or ``LEAD_IMPORT_MAX_BYTES``) raises a
   ValidationError that says why, and nothing is stored.
2. ``lead_import_configure`` sets the mapping (column -> field, guessed from the header names in
   English, German and French and from the vendor's last mapping) and what happens to matches.
3. ``lead_import_check`` validates every row and asks the matching engine who each person is, without
   writing anything: new, matches a contact, matches a lead, duplicate inside the file, or rejected.
4. ``lead_import_start`` runs the import as the ``lead_import`` job. Rows go in chunks (CHUNK): validated
   and normalised (a reader thread prepares the next chunk while the database works on this one), matched
   with one key lookup for the whole chunk, then prospects, their e-mails, phones and blocking keys, leads
   and the ImportRow results are bulk-written (COPY on PostgreSQL) in one transaction together with the
   job's checkpoint. A worker killed mid-import resumes after the last committed chunk; the unique (import,
   line) constraint makes writing a row twice impossible. Assignment and scoring are the rules of
   leads.services and leads.scoring, applied to the whole chunk at once.

   Duplicates inside the file: rows of one chunk are paired by the engine's ``pairs_within``; a row of a
   later chunk finds the person an earlier row stands for in the database (the prospect that row created,
   or the contact it matched), so the whole file never has to be in memory. The check, which writes
   nothing, keeps the rows that would become prospects in memory instead.
5. ``lead_import_undo`` removes the import's leads and the prospects it created (unless something else
   now points at them) and reverts its updates, in one transaction.

Known people are respected: a row matching a contact flagged do-not-contact for every channel is never
imported (no lead, no update; the report lists it); a match whose channels are restricted (withdrawn
consent or do-not-contact on e-mail, phone …) gets its lead or update with that said on the row, in the
report and in the lead's notes. Consent is never written by an import.

Created leads and prospects are not audited one by one: the import is audited (uploaded, run, undone)
and its ImportRows say which row made which prospect and lead. Updates of existing people are audited
per person, as any other change to a customer.
"""

from __future__ import annotations

import io
import queue
import re
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import File
from django.core.validators import validate_email
from django.db import DatabaseError, connection, models, transaction
from django.db.models import Count, Max, Model, Q, QuerySet
from django.utils import timezone

from contacts.duplicates import candidates_record
from contacts.matching.engine import LINK, MAX_BLOCK, REVIEW, Match, pairs_within
from contacts.matching.keys import person_keys
from contacts.matching.score import Evidence, PersonRecord, compare
from contacts.models import ChannelConsent, Contact, ContactEmail, ContactPhone, MatchCandidate, MatchKey
from contacts.normalize import PhoneError, email_key, name_key, phone_e164
from leads import scoring
from leads.assignment import Assigner
from leads.models import ImportRow, Lead, LeadImport, LeadSource, VendorMapping
from sfa import importing, tabular
from sfa.audit import audit_record
from sfa.bulk import copy_converter
from sfa.jobs import JobCancelled, JobRun, job_task
from sfa.models import AuditAction, Job, User
from sfa.permissions import can, get_object_for, require, scoped
from sfa.tabular import IGNORE, HeaderNames, country_code, header_key, read_rows
from sfa.tabular import sample_rows as sample_rows  # the wizard's first rows of a stored list

CHUNK = 4000  # rows validated, matched and written per transaction
SYNC_CHECK_ROWS = 5000  # up to this many rows the check runs inside the request, beyond as a job
PREVIEW_SAMPLES = 10  # rows shown per verdict in the check
DEFAULT_MAX_ROWS = 500_000
DEFAULT_MAX_BYTES = 100 * 1024 * 1024

Verdict, Result, Status, OnMatch = ImportRow.Verdict, ImportRow.Result, LeadImport.Status, LeadImport.OnMatch
OPEN_LEAD = (Lead.Status.NEW, Lead.Status.WORKING, Lead.Status.QUALIFIED)
EDITABLE = (Status.UPLOADED, Status.PREVIEWED)  # the mapping, the encoding and the choice for matches can change


def max_rows() -> int:
    return int(getattr(settings, "LEAD_IMPORT_MAX_ROWS", DEFAULT_MAX_ROWS))


def max_bytes() -> int:
    return int(getattr(settings, "LEAD_IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES))


def limits_text() -> str:
    """The limits as the upload form states them."""
    return f"CSV or Excel (.xlsx), at most {max_rows():,} rows and {tabular.megabytes(max_bytes())}."


# --- Fields and the mapping -----------------------------------------------------------------------

# field: (label, max length); None = no limit of its own (interests are checked one by one).
FIELDS: dict[str, tuple[str, int | None]] = {
    "first_name": ("First name", 100),
    "last_name": ("Last name", 100),
    "email": ("E-mail", 254),
    "phone": ("Phone", 40),
    "company": ("Company", 200),
    "title": ("Job title", 150),
    "street": ("Street", 200),
    "postcode": ("Postcode", 20),
    "city": ("City", 100),
    "region": ("Region", 100),
    "country": ("Country", None),
    "interests": ("Interests", None),
    "notes": ("Notes", 5000),
}
REQUIRED = ("last_name",)
FIELD_CHOICES = [(name, label) for name, (label, _) in FIELDS.items()] + [(IGNORE, "— ignore —")]
INTEREST_MAX = 60
# Header names as people write them, folded (accents removed, lower case, letters and digits only).
ALIASES: dict[str, str] = {
    "first_name": "first firstname givenname forename christianname fname vorname rufname prenom prename "
    "nombre nome voornaam",
    "last_name": "last lastname surname familyname lname nachname familienname zuname nom nomdefamille "
    "nomfamille apellido apellidos cognome achternaam",
    "email": "email emails emailadresse emailaddress mail mailadresse courriel adressemail adresseemail "
    "adresseelectronique correo correoelectronico epost",
    "phone": "phone phonenumber telephone tel telno telefon telefonnummer mobile mobil mobiltelefon mobilnummer "
    "handy handynummer cell cellphone portable numerodetelephone telephoneportable telefono telefoon "
    "telefoonnummer rufnummer",
    "company": "company companyname organisation organization org firma firmenname unternehmen arbeitgeber "
    "societe entreprise raisonsociale employer account empresa azienda bedrijf",
    "title": "title titel jobtitle position funktion job role poste fonction titre cargo qualifica beruf",
    "street": "street streetaddress address address1 addressline1 strasse str strassehausnummer adresse "
    "anschrift rue voie via calle direccion straat",
    "postcode": "postcode postalcode zip zipcode postleitzahl plz codepostal cp cap codigopostal",
    "city": "city town ort stadt wohnort ville commune localite ciudad citta comune plaats gemeinde",
    "region": "region state province bundesland county departement provincia kanton regione stateprovince",
    "country": "country countrycode countryname land pays nation paese pais landcode",
    "interests": "interests interest interessen interesse interets centresdinteret products produkte topics themen",
    "notes": "notes note notizen notiz comment comments kommentar bemerkung bemerkungen remarks remarques "
    "remarque commentaire commentaires memo",
}
# Second chance: a word inside the header ("Firmentelefon", "E-Mail privat", "Vorname Kunde").
_CONTAINS = (
    ("mail", "email"),
    ("telefon", "phone"),
    ("phone", "phone"),
    ("mobil", "phone"),
    ("handy", "phone"),
    ("vorname", "first_name"),
    ("firstname", "first_name"),
    ("prenom", "first_name"),
    ("nachname", "last_name"),
    ("lastname", "last_name"),
    ("surname", "last_name"),
    ("plz", "postcode"),
    ("zip", "postcode"),
    ("postal", "postcode"),
    ("strasse", "street"),
    ("street", "street"),
    ("firma", "company"),
    ("company", "company"),
    ("societe", "company"),
    ("bundesland", "region"),
    ("city", "city"),
    ("stadt", "city"),
    ("ville", "city"),
    ("country", "country"),
    ("pays", "country"),
)
# "Name" alone is the last name when nothing else is; "Nom" is the French last name (in the aliases).
_WEAK = {"name": "last_name", "nomcomplet": "last_name"}
HEADER_NAMES = HeaderNames(aliases=ALIASES, contains=_CONTAINS, prefixes=(("tel", "phone"),))


def mapping_guess(header: list[str], *, vendor: str = "") -> dict[str, str]:
    """Column -> field for ``header``: the vendor's last mapping where it knows the column, else a guess
    from the column's name. Each field is given to one column at most (the first that claims it)."""
    remembered = vendor_mapping(vendor)
    by_key = {header_key(column): target for column, target in remembered.items()}

    def chosen(column: str) -> str | None:  # the vendor's choices first: they were made by a person
        return remembered.get(column) or by_key.get(header_key(column))

    def weak(column: str) -> str | None:
        return _WEAK.get(header_key(column))

    return tabular.mapping_guess(header, chosen, HEADER_NAMES.guess, weak)


def vendor_mapping(vendor: str) -> dict[str, str]:
    """The mapping last saved for ``vendor`` (case-insensitive), or {}."""
    if not vendor.strip():
        return {}
    found = VendorMapping.objects.filter(vendor__iexact=vendor.strip()).first()
    return dict(found.mapping) if found else {}


def vendor_names() -> list[str]:
    return list(VendorMapping.objects.order_by("vendor").values_list("vendor", flat=True)[:200])


def mapping_errors(header: list[str], mapping: dict[str, str]) -> list[str]:
    """What is wrong with a mapping, in words (empty when it can be used)."""
    return tabular.column_mapping_errors(header, mapping, fields=FIELDS, required=REQUIRED, row_noun="lead")


# --- Validating a row --------------------------------------------------------------------------------


@dataclass
class _Person:
    """A contact the engine found, as much of it as the import needs."""

    id: int
    record: PersonRecord
    name: str
    is_prospect: bool
    do_not_contact: bool
    do_not_contact_source: str
    owner_id: int
    account_id: int | None
    fields: dict[str, str]
    has_email: bool
    has_phone: bool
    restricted: list[str] = field(default_factory=list)  # "E-mail: consent withdrawn"
    open_lead: dict[str, Any] | None = None


@dataclass
class _Row:
    number: int
    cells: list[str]
    values: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    email: str = ""
    phone: str = ""  # E.164
    interests: list[str] = field(default_factory=list)
    record: PersonRecord | None = None
    verdict: str = Verdict.NEW
    result: str = Result.PENDING
    notes: list[dict[str, str]] = field(default_factory=list)
    duplicate_of: int | None = None
    match: _Person | None = None
    match_score: float | None = None
    match_reasons: dict[str, float] = field(default_factory=dict)
    review: list[Match] = field(default_factory=list)
    flag: str = ""  # for matches: do_not_contact, not_allowed, nothing_new (precedence in this order)
    changes: dict[str, str] = field(default_factory=dict)  # update: field -> new value (blanks only)
    add_email: bool = False
    add_phone: bool = False
    contact_id_created: int | None = None
    lead_id: int | None = None
    before: dict[str, Any] = field(default_factory=dict)
    lookup: set[str] | None = None
    own: set[str] = field(default_factory=set)

    def note(self, kind: str, text: str) -> None:
        self.notes.append({"kind": kind, "text": text})


def clean_row(number: int, cells: list[str], columns: list[tuple[int, str]], width: int) -> _Row:
    """Validate and normalise one row: ``columns`` are (cell index, field) for the mapped columns."""
    row = _Row(number=number, cells=cells)
    extra = [c for c in cells[width:] if c.strip()]
    if extra:
        row.errors.append(
            f"The row has {len(cells)} values but the header names {width} columns (a delimiter inside a value?)."
        )
    values: dict[str, str] = {}
    for index, target in columns:
        value = cells[index].strip() if index < len(cells) else ""
        if value:
            values[target] = " ".join(value.split()) if target != "notes" else value
    for target, value in values.items():
        label, limit = FIELDS[target]
        if limit and len(value) > limit:
            row.errors.append(f"{label} is too long ({len(value)} characters, at most {limit}).")
    if not values.get("last_name"):
        row.errors.append("The last name is missing.")
    country = values.get("country", "")
    if country:
        code = country_code(country)
        if code is None:
            row.errors.append(f"{country!r} is not a country (use a two-letter code such as DE or a name).")
        else:
            values["country"] = code
    if values.get("email"):
        address = values["email"].removeprefix("mailto:").strip()
        try:
            validate_email(address)
        except ValidationError:
            row.errors.append(f"{values['email']!r} is not an e-mail address.")
        else:
            row.email = address
    if values.get("phone"):
        region = values.get("country") if len(values.get("country", "")) == 2 else None
        try:
            row.phone = phone_e164(values["phone"], region)
        except PhoneError as exc:
            row.errors.append(str(exc))
    if values.get("interests"):
        words = {w.strip().lower() for w in re.split(r"[,;|/]", values["interests"]) if w.strip()}
        too_long = [w for w in words if len(w) > INTEREST_MAX]
        if too_long:
            row.errors.append(f"An interest is too long ({len(too_long[0])} characters, at most {INTEREST_MAX}).")
        row.interests = sorted(words)
    row.values = values
    if not row.errors:
        row.record = PersonRecord(
            id=number,
            first_name=values.get("first_name", ""),
            last_name=values["last_name"],
            emails=[row.email] if row.email else [],
            phones=[row.phone] if row.phone else [],
            company=values.get("company", ""),
            street=values.get("street", ""),
            city=values.get("city", ""),
            postcode=values.get("postcode", ""),
            country=values.get("country", ""),
        )
    return row


def _columns(lead_import: LeadImport) -> list[tuple[int, str]]:
    index = {name: i for i, name in enumerate(lead_import.header)}
    return [(index[c], t) for c, t in lead_import.mapping.items() if t in FIELDS and c in index]


# --- Matching a chunk -----------------------------------------------------------------------------------

UPDATABLE = ("first_name", "title", "country")
ADDRESS = ("street", "postcode", "city", "region")


def _param_batches(values: list[Any]) -> Iterator[list[Any]]:
    size = (connection.features.max_query_params or 100_000) - 10
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _lookup_keys(row: _Row) -> set[str]:
    """The keys the row is looked up by: ``person_lookup_keys`` (its own keys and those it has with first
    and last name swapped), computed once per row, keeping its own keys apart for storing them."""
    if row.lookup is None:
        record = row.record
        row.own = person_keys(record)
        swapped = PersonRecord(
            id=record.id,
            first_name=record.last_name,
            last_name=record.first_name,
            company=record.company,
            city=record.city,
            postcode=record.postcode,
        )
        row.lookup = {k[:200] for k in row.own | person_keys(swapped)}
    return row.lookup


def _load_people(ids: Iterable[int]) -> dict[int, _Person]:
    """Contacts by id as the engine compares them (account name as the company), merged ones left out."""
    ids = list(ids)
    people: dict[int, _Person] = {}
    if not ids:
        return people
    emails: dict[int, list[str]] = defaultdict(list)
    phones: dict[int, list[str]] = defaultdict(list)
    rows = []
    for batch in _param_batches(ids):
        rows += list(
            Contact.objects.filter(pk__in=batch, merged_into__isnull=True).values_list(
                "id",
                "first_name",
                "last_name",
                "title",
                "street",
                "postcode",
                "city",
                "region",
                "country",
                "birth_date",
                "account_id",
                "account__name",
                "is_prospect",
                "do_not_contact",
                "do_not_contact_source",
                "owner_id",
            )
        )
        for contact_id, email in ContactEmail.objects.filter(contact_id__in=batch).values_list("contact_id", "email"):
            emails[contact_id].append(email)
        for contact_id, e164 in ContactPhone.objects.filter(contact_id__in=batch).values_list("contact_id", "e164"):
            phones[contact_id].append(e164)
    for (cid, first, last, title, street, postcode, city, region, country, birth, account_id, account_name,
         prospect, dnc, dnc_source, owner_id) in rows:  # fmt: skip
        people[cid] = _Person(
            id=cid,
            record=PersonRecord(
                id=cid,
                first_name=first,
                last_name=last,
                emails=emails[cid],
                phones=phones[cid],
                company=account_name or "",
                street=street,
                city=city,
                postcode=postcode,
                country=country,
                birth_date=birth,
            ),
            name=f"{first} {last}".strip(),
            is_prospect=prospect,
            do_not_contact=dnc,
            do_not_contact_source=dnc_source,
            owner_id=owner_id,
            account_id=account_id,
            fields={
                "first_name": first,
                "title": title,
                "street": street,
                "postcode": postcode,
                "city": city,
                "region": region,
                "country": country,
            },
            has_email=bool(emails[cid]),
            has_phone=bool(phones[cid]),
        )
    return people


def _db_matches(rows: list[_Row]) -> dict[int, list[tuple[_Person, Evidence]]]:
    """Each row's candidate contacts scoring at least REVIEW, best first: one key lookup for all the rows.

    As ``contact_candidates`` does for one record, but a key shared by more than MAX_BLOCK contacts (a
    switchboard, a common name in a big city) gives no candidates, as in ``pairs_within``.
    """
    keys_by_row = {row.number: _lookup_keys(row) for row in rows}
    wanted = sorted(set().union(*keys_by_row.values())) if keys_by_row else []
    members: dict[str, list[int]] = defaultdict(list)
    for key, object_id in _contact_keys(wanted):
        members[key].append(object_id)
    candidates: dict[int, set[int]] = {}
    for number, keys in keys_by_row.items():
        ids: set[int] = set()
        for key in keys:
            found = members.get(key, ())
            if len(found) <= MAX_BLOCK:
                ids.update(found)
        if ids:
            candidates[number] = set(sorted(ids)[:500])
    people = _load_people(set().union(*candidates.values()) if candidates else ())
    out: dict[int, list[tuple[_Person, Evidence]]] = {}
    by_number = {row.number: row for row in rows}
    for number, ids in candidates.items():
        scored = []
        for cid in ids:
            person = people.get(cid)
            if person is None:
                continue
            evidence = compare(by_number[number].record, person.record)
            if evidence.score >= REVIEW:
                scored.append((person, evidence))
        if scored:
            out[number] = sorted(scored, key=lambda pe: (-pe[1].score, pe[0].id))
    return out


def _contact_keys(keys: list[str]) -> Iterator[tuple[str, int]]:
    """(key, contact id) for the contacts holding any of ``keys``: one query with the keys as an array on
    PostgreSQL (Django would compile a parameter per key), batches of parameters elsewhere."""
    if connection.vendor == "postgresql":
        table, quote = MatchKey._meta.db_table, connection.ops.quote_name
        sql = (  # identifiers from the model, the keys a bound parameter
            f"SELECT {quote('key')}, {quote('object_id')} FROM {quote(table)} "  # noqa: S608
            f"WHERE {quote('subject')} = 'contact' AND {quote('key')} = ANY(%s)"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [keys])
            yield from cursor.fetchall()
        return
    for batch in _param_batches(keys):
        yield from MatchKey.objects.filter(subject="contact", key__in=batch).values_list("key", "object_id")


def _restrictions(people: list[_Person]) -> None:
    """Blocked channels and open leads of the people rows matched (two queries for the whole chunk)."""
    by_id = {p.id: p for p in people}
    if not by_id:
        return
    blocked = (ChannelConsent.Status.DO_NOT_CONTACT, ChannelConsent.Status.WITHDRAWN)
    for batch in _param_batches(list(by_id)):
        consents = ChannelConsent.objects.filter(contact_id__in=batch, status__in=blocked).order_by("channel")
        for consent in consents:
            by_id[consent.contact_id].restricted.append(
                f"{consent.get_channel_display()}: {consent.get_status_display().lower()}"
            )
        leads = (
            Lead.objects.filter(contact_id__in=batch, status__in=OPEN_LEAD)
            .order_by("contact_id", "-created_at")
            .values("contact_id", "id", "status", "source_detail", "owner__username")
        )
        for lead in leads:
            by_id[lead["contact_id"]].open_lead = by_id[lead["contact_id"]].open_lead or lead


class _MemoryIndex:
    """The check writes nothing, so rows of earlier chunks that would become prospects are kept here for
    the in-file duplicate check (the run finds them in the database as the prospects it created)."""

    def __init__(self) -> None:
        self.keys: dict[str, list[int]] = defaultdict(list)
        self.records: dict[int, PersonRecord] = {}

    def add(self, row: _Row) -> None:
        self.records[row.number] = row.record
        for key in row.own:
            self.keys[key[:200]].append(row.number)

    def best(self, row: _Row) -> tuple[int, Evidence] | None:
        numbers: set[int] = set()
        for key in _lookup_keys(row):
            found = self.keys.get(key, ())
            if len(found) <= MAX_BLOCK:
                numbers.update(found)
        best = None
        for number in sorted(numbers):
            evidence = compare(row.record, self.records[number])
            if evidence.score >= LINK and (best is None or evidence.score > best[1].score):
                best = (number, evidence)
        return best


@dataclass
class _Context:
    """What the analysis of one import's chunks shares: who acts, the choice for matches, who is claimed."""

    lead_import: LeadImport
    actor: User
    on_match: str
    claimed: dict[int, int] = field(default_factory=dict)  # contact id -> the first line that stands for them
    memory: _MemoryIndex | None = None


def _analyse(rows: list[_Row], ctx: _Context) -> list[tuple[int, int, Evidence]]:
    """Set each row's verdict, match and planned result; returns the in-chunk pairs for the review queue."""
    for row in rows:
        if row.errors:
            row.verdict, row.result = Verdict.INVALID, Result.REJECTED
    valid = [row for row in rows if not row.errors]
    # Duplicates inside the chunk: the engine's pairs, grouped; the first line of a group stands for it.
    parent = {row.number: row.number for row in valid}

    def root(n: int) -> int:
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    review_pairs: list[tuple[int, int, Evidence]] = []
    # pairs_within pairs only rows that share a blocking key: hand it those (it computes their keys again).
    shared = Counter(key for row in valid for key in _lookup_keys(row))
    linked = [row for row in valid if any(shared[key] > 1 for key in row.lookup)]
    for a, b, evidence in pairs_within([row.record for row in linked], threshold=REVIEW):
        if evidence.score >= LINK:
            ra, rb = root(a.id), root(b.id)
            parent[max(ra, rb)] = min(ra, rb)
        else:
            review_pairs.append((a.id, b.id, evidence))
    pending = []
    for row in valid:
        first = root(row.number)
        if first != row.number:
            row.verdict, row.result, row.duplicate_of = Verdict.IN_FILE, Result.SKIPPED, first
        else:
            pending.append(row)
    matches = _db_matches(pending)
    for row in pending:
        found = matches.get(row.number, [])
        best = found[0] if found and found[0][1].score >= LINK else None
        earlier = ctx.memory.best(row) if ctx.memory is not None else None
        if earlier is not None and (best is None or earlier[1].score >= best[1].score):
            row.verdict, row.result, row.duplicate_of = Verdict.IN_FILE, Result.SKIPPED, earlier[0]
            row.match_score, row.match_reasons = earlier[1].score, earlier[1].reasons
        elif best is not None:
            person, evidence = best
            row.match, row.match_score, row.match_reasons = person, evidence.score, evidence.reasons
            if person.id in ctx.claimed:
                row.verdict, row.result, row.duplicate_of = Verdict.IN_FILE, Result.SKIPPED, ctx.claimed[person.id]
            else:
                ctx.claimed[person.id] = row.number
                row.verdict = Verdict.CONTACT  # LEAD once the person's open leads are known
        else:
            row.verdict, row.result = Verdict.NEW, Result.CREATED
            row.review = [Match(id=p.id, score=e.score, reasons=e.reasons) for p, e in found]
            if row.review:
                row.note("review", f"May be {found[0][0].name} (#{found[0][0].id}): sent to the duplicates review.")
            if ctx.memory is not None:
                ctx.memory.add(row)
    matched = [row for row in pending if row.verdict == Verdict.CONTACT]
    _restrictions([row.match for row in matched])
    for row in matched:
        _plan_match(row, ctx)
    return review_pairs


def _plan_match(row: _Row, ctx: _Context) -> None:
    """What happens to a row that matched a known person, given the import's choice for matches."""
    person = row.match
    if person.open_lead:
        row.verdict = Verdict.LEAD
    kind = "lead" if row.verdict == Verdict.LEAD else "customer" if not person.is_prospect else "prospect"
    row.note("match", f"Same person as {kind} {person.name} (#{person.id}).")
    if person.do_not_contact:
        row.flag = "do_not_contact"
    elif not can(ctx.actor, "change", Contact(pk=person.id, owner_id=person.owner_id)):
        row.flag = "not_allowed"
    row.changes, row.add_email, row.add_phone = _fill(person, row)
    if not row.flag and not (row.changes or row.add_email or row.add_phone):
        row.flag = "nothing_new"
    if person.do_not_contact:
        source = f" ({person.do_not_contact_source})" if person.do_not_contact_source else ""
        row.result = Result.SKIPPED
        row.note("do_not_contact", f"{person.name} must not be contacted at all{source}: the row is not imported.")
        return
    if ctx.on_match == OnMatch.SKIP:
        row.result = Result.SKIPPED
    elif ctx.on_match == OnMatch.ATTACH:
        row.result = Result.ATTACHED
    elif row.flag == "not_allowed":
        row.result = Result.SKIPPED
        row.note("not_allowed", "You may not change this person (another team's): the row is skipped.")
    elif row.flag == "nothing_new":
        row.result = Result.SKIPPED
        row.note("nothing_new", "Nothing to fill in: the person's fields are already filled.")
    else:
        row.result = Result.UPDATED
    if row.result in (Result.ATTACHED, Result.UPDATED):
        for restriction in person.restricted:
            row.note("restricted", f"{restriction}: respect it when working this lead.")


def _fill(person: _Person, row: _Row) -> tuple[dict[str, str], bool, bool]:
    """The blank fields of ``person`` that the row can fill. An address is filled only as a whole, into a
    person with no address at all, so that a street never ends up beside another row's city."""
    changes = {f: row.values[f] for f in UPDATABLE if not person.fields.get(f) and row.values.get(f)}
    if not any(person.fields.get(f) for f in ADDRESS) and any(row.values.get(f) for f in ADDRESS):
        changes.update({f: row.values[f] for f in ADDRESS if row.values.get(f)})
    return changes, bool(row.email and not person.has_email), bool(row.phone and not person.has_phone)


# --- Running through a file ----------------------------------------------------------------------------


def _chunks(lead_import: LeadImport, after: int) -> Iterator[list[_Row]]:
    """The rows after line ``after``, validated and with their blocking keys, CHUNK at a time."""
    columns = _columns(lead_import)
    width = len(lead_import.header)
    chunk: list[_Row] = []
    for number, cells in read_rows(lead_import, after=after):
        row = clean_row(number, cells, columns, width)
        if row.record is not None:
            _lookup_keys(row)
        chunk.append(row)
        if len(chunk) >= CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _read_ahead(source: Iterator[Any], depth: int = 2) -> Iterator[Any]:
    """``source`` run in a thread, up to ``depth`` items ahead of the caller.

    Reading and validating the next chunk is Python without the database, so it goes on while the
    caller waits for the database (which releases the GIL) to match and write the current one. The
    thread never touches the database; an exception in it is raised in the caller.
    """
    items: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: tuple[str, Any]) -> bool:
        while not stop.is_set():
            try:
                items.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for value in source:
                if not put(("item", value)):
                    return
            put(("done", None))
        except BaseException as exc:  # handed to the caller, whatever it is
            put(("error", exc))
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()  # a generator stopped early closes its file here, in its own thread

    thread = threading.Thread(target=produce, name="lead-import-reader", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = items.get()
            if kind == "done":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
        thread.join(timeout=10)


def _tally(tally: dict[str, int], rows: list[_Row]) -> dict[str, int]:
    tally = dict(tally)
    for row in rows:
        tally[f"verdict:{row.verdict}"] = tally.get(f"verdict:{row.verdict}", 0) + 1
        tally[f"result:{row.result}"] = tally.get(f"result:{row.result}", 0) + 1
        for kind in {note["kind"] for note in row.notes}:
            tally[f"note:{kind}"] = tally.get(f"note:{kind}", 0) + 1
        if row.flag:
            tally[f"flag:{row.flag}"] = tally.get(f"flag:{row.flag}", 0) + 1
    return tally


def _sample(row: _Row) -> dict[str, Any]:
    match = None
    if row.match is not None:
        match = {
            "id": row.match.id,
            "name": row.match.name,
            "kind": "lead" if row.match.open_lead else "customer" if not row.match.is_prospect else "prospect",
            "lead_id": row.match.open_lead["id"] if row.match.open_lead else None,
        }
    return {
        "number": row.number,
        "name": " ".join(p for p in (row.values.get("first_name"), row.values.get("last_name")) if p),
        "email": row.values.get("email", ""),
        "phone": row.values.get("phone", ""),
        "company": row.values.get("company", ""),
        "city": row.values.get("city", ""),
        "errors": row.errors,
        "notes": [note["text"] for note in row.notes],
        "duplicate_of": row.duplicate_of,
        "match": match,
        "score": round(row.match_score, 2) if row.match_score is not None else None,
        "reasons": reasons_text(row.match_reasons),
        "flag": row.flag,
    }


REASON_LABELS = {
    "email": "e-mail",
    "phone": "phone",
    "first_name": "first name",
    "last_name": "last name",
    "names_swapped": "names swapped",
    "birth_date": "birth date",
    "postcode": "postcode",
    "city": "city",
    "street": "street",
    "company": "company",
}


def reasons_text(reasons: dict[str, float]) -> str:
    """The engine's evidence as people read it: 'same e-mail, same last name, other city'."""
    parts = []
    for name, weight in sorted(reasons.items(), key=lambda kv: -abs(kv[1])):
        label = REASON_LABELS.get(name, name.replace("_", " "))
        parts.append(f"same {label}" if weight > 0 else f"other {label}")
    return ", ".join(parts)


def _check(lead_import: LeadImport, actor: User, progress: Callable[[int], None]) -> dict[str, Any]:
    """Validate and match every row without writing: counts per verdict and the first rows of each."""
    ctx = _Context(lead_import=lead_import, actor=actor, on_match=lead_import.on_match, memory=_MemoryIndex())
    tally: dict[str, int] = {}
    samples: dict[str, list[dict[str, Any]]] = defaultdict(list)
    done = 0
    for rows in _read_ahead(_chunks(lead_import, 0)):
        _analyse(rows, ctx)
        tally = _tally(tally, rows)
        for row in rows:
            if len(samples[row.verdict]) < PREVIEW_SAMPLES:
                samples[row.verdict].append(_sample(row))
        done += len(rows)
        progress(done)
    return {"rows": done, "tally": tally, "samples": dict(samples), "checked_at": timezone.now().isoformat()}


def plan(preview: dict[str, Any], on_match: str) -> dict[str, int]:
    """What a run would do, from the check's counts and a choice for matches (no need to check again)."""
    tally = preview.get("tally", {})

    def n(key: str) -> int:
        return int(tally.get(key, 0))

    matches = n(f"verdict:{Verdict.CONTACT}") + n(f"verdict:{Verdict.LEAD}")
    dnc, not_allowed, nothing_new = n("flag:do_not_contact"), n("flag:not_allowed"), n("flag:nothing_new")
    out = {
        "created": n(f"verdict:{Verdict.NEW}"),
        "rejected": n(f"verdict:{Verdict.INVALID}"),
        "in_file": n(f"verdict:{Verdict.IN_FILE}"),
        "matches": matches,
        "do_not_contact": dnc,
        "updated": 0,
        "attached": 0,
        "skipped_matches": matches,
    }
    if on_match == OnMatch.ATTACH:
        out["attached"] = matches - dnc
    elif on_match == OnMatch.UPDATE:
        out["updated"] = matches - dnc - not_allowed - nothing_new
        out["not_allowed"], out["nothing_new"] = not_allowed, nothing_new
    out["skipped_matches"] = matches - out["attached"] - out["updated"]
    out["leads"] = out["created"] + out["attached"]
    return out


# --- Writing a chunk -------------------------------------------------------------------------------------


class _Scorer:
    """Lead scores without a query per lead: ``scoring.feature_values`` fed for a whole chunk at once.

    A new prospect has no touches and no account, so its features are what the row holds; a known person's
    come from what matching loaded and from their touches, read for the chunk in one query (the latest
    ``scoring.TOUCHES_READ`` of each person, as ``scoring.features`` reads them).
    The scores are ``lead_score``'s (tested).
    """

    def __init__(self) -> None:
        self.model = scoring.active_model()
        self.touches: dict[int, list[tuple[str, str]]] = {}

    def load_touches(self, rows: list[_Row]) -> None:
        from contacts.models import Touch

        self.touches = defaultdict(list)
        ids = [row.match.id for row in rows]
        for batch in _param_batches(ids):
            latest = Touch.objects.filter(contact_id__in=batch).order_by("contact_id", "-at", "-id")
            for contact_id, direction, channel in latest.values_list("contact_id", "direction", "channel"):
                if len(self.touches[contact_id]) < scoring.TOUCHES_READ:
                    self.touches[contact_id].append((direction, channel))

    def score(self, row: _Row) -> scoring.Score:
        person = row.match if row.result == Result.ATTACHED else None
        company = row.values.get("company", "")
        if person is None:
            known = {
                "has_email": bool(row.email),
                "has_phone": bool(row.phone),
                "has_company": bool(company),
                "has_address": bool(row.values.get("street") and row.values.get("city")),
                "touches": [],
            }
        else:
            known = {
                "has_email": person.has_email,
                "has_phone": person.has_phone,
                "has_company": bool(company or person.account_id),
                "has_address": bool(person.fields["street"] and person.fields["city"]),
                "touches": self.touches.get(person.id, []),
            }
        x = scoring.feature_values(interests=row.interests, source=LeadSource.PURCHASED_LIST, **known)
        return scoring.score(x, self.model)


@dataclass
class _Writer:
    ctx: _Context
    assigner: Assigner
    scorer: _Scorer
    keys_written: int = 0

    def write(self, rows: list[_Row], review_pairs: list[tuple[int, int, Evidence]]) -> None:
        imp, actor, now = self.ctx.lead_import, self.ctx.actor, timezone.now()
        created = [row for row in rows if row.result == Result.CREATED]
        attached = [row for row in rows if row.result == Result.ATTACHED]
        updated = [row for row in rows if row.result == Result.UPDATED]
        owners: dict[int, User | None] = {}
        for row in created:
            _rule, owners[row.number] = self.assigner.pick(
                country=row.values.get("country", ""),
                region=row.values.get("region", ""),
                postcode=row.values.get("postcode", ""),
                interests=row.interests,
                source=LeadSource.PURCHASED_LIST,
            )
        for row in attached:
            fields = row.match.fields
            _rule, owners[row.number] = self.assigner.pick(
                country=fields["country"],
                region=fields["region"],
                postcode=fields["postcode"],
                interests=row.interests,
                source=LeadSource.PURCHASED_LIST,
            )
        self._create_prospects(created, owners, actor)
        if updated:
            self._update_people(updated, actor)
        self.scorer.load_touches(attached)
        leads = []
        for row in created + attached:
            owner = owners[row.number]
            lead = {
                "contact_id": row.contact_id_created or row.match.id,
                "company": row.values.get("company", ""),
                "source": LeadSource.PURCHASED_LIST,
                "source_detail": imp.list_name[:200],
                "lead_import_id": imp.pk,
                "owner_id": owner.pk if owner else None,
                "team_id": owner.team_id if owner else None,
                "assigned_at": now if owner else None,
                "interests": row.interests,
                "notes": _lead_notes(row, imp),
                "created_at": now,
            }
            score = self.scorer.score(row)
            lead.update(score=score.value, score_reasons=score.reasons, score_model=score.model, scored_at=now)
            leads.append(lead)
        lead_ids = bulk_insert(Lead, leads, ids=True)
        for row, lead_id in zip(created + attached, lead_ids, strict=True):
            row.lead_id = lead_id
        self.assigner.save()
        self._review(created, review_pairs)
        bulk_insert(
            ImportRow,
            [
                {
                    "lead_import_id": imp.pk,
                    "number": row.number,
                    "values": row.cells,
                    "verdict": row.verdict,
                    "errors": row.errors,
                    "notes": row.notes,
                    "duplicate_of": row.duplicate_of,
                    "match_contact_id": row.match.id if row.match else None,
                    "match_score": row.match_score,
                    "match_reasons": row.match_reasons,
                    "result": row.result,
                    "contact_id_created": row.contact_id_created,
                    "lead_id": row.lead_id,
                    "before": row.before,
                }
                for row in rows
            ],
        )

    def _create_prospects(self, rows: list[_Row], owners: dict[int, User | None], actor: User) -> None:
        contacts = [
            {
                "first_name": row.values.get("first_name", ""),
                "last_name": row.values["last_name"],
                "first_key": name_key(row.values.get("first_name", "")),
                "last_key": name_key(row.values["last_name"]),
                "title": row.values.get("title", ""),
                "street": row.values.get("street", ""),
                "postcode": row.values.get("postcode", ""),
                "city": row.values.get("city", ""),
                "region": row.values.get("region", ""),
                "country": row.values.get("country", ""),
                "owner_id": (owners[row.number] or actor).pk,
                "is_prospect": True,
            }
            for row in rows
        ]
        ids = bulk_insert(Contact, contacts, ids=True)
        emails, phones, keys = [], [], []
        for row, contact_id in zip(rows, ids, strict=True):
            row.contact_id_created = contact_id
            self.ctx.claimed[contact_id] = row.number
            if row.email:
                emails.append(
                    {
                        "contact_id": contact_id,
                        "email": row.email,
                        "email_key": email_key(row.email),
                        "is_primary": True,
                    }
                )
            if row.phone:
                phones.append({"contact_id": contact_id, "e164": row.phone, "is_primary": True})
            # The keys contact_keys_refresh computes for it: a prospect has no account, so no company key.
            keys += [
                {"subject": "contact", "object_id": contact_id, "key": k[:200]}
                for k in row.own
                if not k.startswith("nk:")
            ]
        bulk_insert(ContactEmail, emails)
        bulk_insert(ContactPhone, phones)
        bulk_insert(MatchKey, keys)
        self.keys_written += len(keys)

    def _update_people(self, rows: list[_Row], actor: User) -> None:
        """Fill blanks of known people, one audit event each; ``before`` keeps what undo needs."""
        from contacts.matching.engine import contact_keys_refresh

        contacts = Contact.objects.select_for_update().in_bulk([row.match.id for row in rows])
        for row in rows:
            contact = contacts[row.match.id]
            changes: dict[str, list[Any]] = {}
            before: dict[str, Any] = {"fields": {}, "after": {}}
            for name, value in row.changes.items():
                if getattr(contact, name):
                    continue  # filled meanwhile
                before["fields"][name], before["after"][name] = getattr(contact, name), value
                changes[name] = [getattr(contact, name), value]
                setattr(contact, name, value)
                if name == "first_name":
                    contact.first_key = name_key(value)
            if row.add_email and not contact.emails.exists():
                added = ContactEmail.objects.create(
                    contact=contact, email=row.email, email_key=email_key(row.email), is_primary=True
                )
                before["email_id"] = added.pk
                changes["emails"] = [[], [row.email]]
            if row.add_phone and not contact.phones.exists():
                added = ContactPhone.objects.create(contact=contact, e164=row.phone, is_primary=True)
                before["phone_id"] = added.pk
                changes["phones"] = [[], [row.phone]]
            if not changes:
                row.result = Result.SKIPPED
                row.note("nothing_new", "Nothing to fill in: the person's fields were filled meanwhile.")
                continue
            fields = list(before["fields"]) + (["first_key"] if "first_name" in before["fields"] else [])
            if fields:
                contact.save(update_fields=[*fields, "updated_at"])
            row.before = before
            audit_record(
                actor=actor,
                instance=contact,
                action=AuditAction.UPDATE,
                changes=changes,
                note=f"list import {self.ctx.lead_import.list_name} (line {row.number})",
            )
        contact_keys_refresh([row.match.id for row in rows if row.result == Result.UPDATED])

    def _review(self, created: list[_Row], review_pairs: list[tuple[int, int, Evidence]]) -> None:
        """Possible matches (between REVIEW and LINK) go to the duplicates review queue, as on any create."""
        for row in created:
            if row.review:
                candidates_record(
                    subject="contact", object_id=row.contact_id_created, matches=row.review, source="import"
                )
        made = {row.number: row.contact_id_created for row in created}
        for a, b, evidence in review_pairs:
            if a in made and b in made:
                candidates_record(
                    subject="contact",
                    object_id=made[a],
                    matches=[Match(id=made[b], score=evidence.score, reasons=evidence.reasons)],
                    source="import",
                )


def bulk_insert(model: type[Model], rows: list[dict[str, Any]], *, ids: bool = False) -> list[int]:
    """Insert many rows given as {field attname: value}; fields left out get their default. Returns the new
    primary keys when ``ids`` is set.

    The one place where the databases differ: PostgreSQL gets ``COPY … FROM STDIN`` from plain values
    (ids drawn from the table's sequence first), several times faster than INSERTs and model instances
    for a hundred thousand rows; the others get ``bulk_create``.
    """
    if not rows:
        return []
    if connection.vendor != "postgresql":
        objects = model._base_manager.bulk_create([model(**row) for row in rows], batch_size=500)
        return [obj.pk for obj in objects]
    meta = model._meta
    now = timezone.now()
    fields = [f for f in meta.concrete_fields if ids or not f.primary_key]
    converters = [copy_converter(f) for f in fields]
    defaults = []
    for f, convert in zip(fields, converters, strict=True):
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            defaults.append(convert(now))
        elif f.primary_key:
            defaults.append(None)
        else:
            defaults.append(convert(f.get_default()))
    names = [f.attname for f in fields]
    new_ids: list[int] = []
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        if ids:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [meta.db_table, meta.pk.column, len(rows)],
            )
            new_ids = [pk for (pk,) in cursor.fetchall()]
            for row, pk in zip(rows, new_ids, strict=True):
                row[meta.pk.attname] = pk
        plan = list(zip(names, converters, defaults, strict=True))
        text = io.StringIO()
        for row in rows:
            text.write("\t".join([convert(row[name]) if name in row else default for name, convert, default in plan]))
            text.write("\n")
        text.seek(0)
        columns = ", ".join(quote(f.column) for f in fields)
        cursor.copy_expert(f"COPY {quote(meta.db_table)} ({columns}) FROM STDIN", text)
    return new_ids


class _Statistics:
    """Keeps PostgreSQL's table statistics up with an import that fills the contact tables.

    The planner picks its plan for a chunk's key lookup from table statistics. On a key table that grows
    from a few thousand rows to hundreds of thousands within a minute they go stale (autovacuum naps a
    minute between rounds, and may be off), and it reads every key instead of using the key index: each
    chunk gets slower than the one before. So the tables are analysed whenever the import has added as many
    keys as the table held when last analysed: a few times while it grows, never on a big table.
    """

    TABLES = (MatchKey, Contact, ContactEmail, ContactPhone, Lead)

    def __init__(self) -> None:
        self.enabled = connection.vendor == "postgresql"
        self.table = self._estimate() if self.enabled else 0  # keys in the table when last analysed
        self.written = 0  # keys the import had written then

    def _estimate(self) -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [MatchKey._meta.db_table])
            found = cursor.fetchone()
        return max(int(found[0]), 0) if found else 0

    def after(self, keys_written: int) -> None:
        """Called between chunks with the number of keys the import wrote so far."""
        if self.enabled and keys_written - self.written > max(self.table, 1000):
            tables = ", ".join(connection.ops.quote_name(model._meta.db_table) for model in self.TABLES)
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {tables}")
            self.table, self.written = self._estimate(), keys_written


def _lead_notes(row: _Row, lead_import: LeadImport) -> str:
    notes = row.values.get("notes", "")
    restricted = [note["text"] for note in row.notes if note["kind"] == "restricted"]
    if restricted:
        said = "\n".join(f"- {text}" for text in restricted)
        notes = f"{notes}\n\n" if notes else ""
        notes += f"From the list {lead_import.list_name}: this person is known with restrictions:\n{said}"
    return notes


# --- Services ---------------------------------------------------------------------------------------------


def lead_import_list(*, actor: User) -> QuerySet[LeadImport]:
    """The imports ``actor`` may see (the importer's own; admins all)."""
    return scoped(actor, LeadImport.objects.select_related("created_by", "job"))


def lead_import_get(*, actor: User, pk: Any, action: str = "view") -> LeadImport:
    return get_object_for(actor, LeadImport.objects.select_related("created_by", "job"), pk, action)


def _money(value: Any) -> Decimal:
    try:
        amount = Decimal(str(value or "0")).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError) as exc:
        raise ValidationError({"cost": f"{value!r} is not an amount."}) from exc
    if amount < 0:
        raise ValidationError({"cost": "The cost cannot be negative."})
    return amount


@transaction.atomic
def lead_import_create(
    *,
    actor: User,
    file: File,
    vendor: str,
    list_name: str,
    cost: Any = 0,
    currency: str = "EUR",
    encoding: str = "",
) -> LeadImport:
    """Store an uploaded list with what reading it found and a guessed mapping; a file that cannot be a
    list raises a ValidationError saying why, and nothing is stored."""
    require(actor, "add", LeadImport)
    errors = {}
    if not (vendor or "").strip():
        errors["vendor"] = "Name the vendor you bought the list from."
    if not (list_name or "").strip():
        errors["list_name"] = "Name the list (it becomes the leads' source detail)."
    currency = (currency or "EUR").strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", currency):
        errors["currency"] = "A currency is a three-letter code such as EUR."
    if errors:
        raise ValidationError(errors)
    amount = _money(cost)
    info = tabular.inspect_upload(file, encoding=encoding, max_rows=max_rows(), max_bytes=max_bytes())
    lead_import = LeadImport(
        vendor=vendor.strip()[:120],
        list_name=list_name.strip()[:200],
        cost=amount,
        currency=currency,
        original_name=(file.name or "list").rsplit("/", 1)[-1][:255],
        size=file.size,
        encoding=info.encoding,
        delimiter=info.delimiter,
        header=info.header,
        row_count=info.row_count,
        mapping=mapping_guess(info.header, vendor=vendor),
        created_by=actor,
    )
    importing.upload_store(lead_import, file, name=lead_import.original_name, info=info, actor=actor)
    return lead_import


@transaction.atomic
def lead_import_configure(
    *,
    lead_import: LeadImport,
    actor: User,
    mapping: dict[str, str] | None = None,
    on_match: str | None = None,
    encoding: str | None = None,
) -> LeadImport:
    """Set the mapping (remembered for the vendor), the choice for matches, or re-read the file in another
    encoding. A new mapping or encoding makes an earlier check stale; a new choice for matches does not."""
    lead_import = importing.lock(lead_import, actor=actor)
    importing.editable(lead_import, EDITABLE)
    fields = []
    info = tabular.read_again(lead_import, encoding=encoding, name=lead_import.original_name, max_rows=max_rows())
    if info is not None:
        if info.header != lead_import.header:
            lead_import.header = info.header
            lead_import.mapping = mapping_guess(info.header, vendor=lead_import.vendor)
            fields += ["header", "mapping"]
        fields += ["encoding", "delimiter", "row_count"]
    if mapping is not None:
        if importing.mapping_set(lead_import, mapping, header=lead_import.header, errors=mapping_errors):
            fields.append("mapping")
        remembered = {**vendor_mapping(lead_import.vendor), **lead_import.mapping}
        VendorMapping.objects.update_or_create(vendor=_vendor_key(lead_import.vendor), defaults={"mapping": remembered})
    if on_match is not None:
        if on_match not in OnMatch.values:
            raise ValidationError({"on_match": f"Choose one of {', '.join(OnMatch.values)}."})
        if on_match != lead_import.on_match:
            lead_import.on_match = on_match
            fields.append("on_match")
    if {"mapping", "encoding", "header"} & set(fields) and lead_import.status == Status.PREVIEWED:
        lead_import.status, lead_import.preview = Status.UPLOADED, {}
        fields += ["status", "preview"]
    if fields:
        lead_import.save(update_fields=sorted(set(fields)))
    return lead_import


def _vendor_key(vendor: str) -> str:
    existing = VendorMapping.objects.filter(vendor__iexact=vendor.strip()).values_list("vendor", flat=True).first()
    return existing or vendor.strip()


def lead_import_check(*, lead_import: LeadImport, actor: User) -> LeadImport:
    """Validate and match every row without writing. Small lists are checked now; bigger ones by the
    ``lead_import_check`` job (the import's ``job``), after which the import is 'checked'."""
    with transaction.atomic():
        lead_import = importing.lock(lead_import, actor=actor)
        importing.editable(lead_import, EDITABLE)
        importing.mapping_require(mapping_errors(lead_import.header, lead_import.mapping))
        if lead_import.row_count > SYNC_CHECK_ROWS:
            job = importing.job_start(
                lead_import, kind="lead_import_check", title=f"Check {lead_import.list_name}", actor=actor
            )
            lead_import.status, lead_import.job, lead_import.message = Status.CHECKING, job, ""
            lead_import.save(update_fields=["status", "job", "message"])
            return lead_import
    preview = _check(lead_import, actor, lambda done: None)
    LeadImport.objects.filter(pk=lead_import.pk).update(status=Status.PREVIEWED, preview=preview, message="")
    lead_import.refresh_from_db()
    return lead_import


def lead_import_check_run(run: JobRun) -> dict:
    """The check as a job: it writes nothing but its result, so a restarted check simply starts over."""
    lead_import = importing.job_import(LeadImport, run)
    if lead_import.status != Status.CHECKING:
        return {"message": "Nothing to check"}
    actor = importing.job_actor(lead_import)
    total = max(lead_import.row_count, 1)
    try:
        preview = _check(
            lead_import, actor, lambda done: run.progress(100 * done / total, f"{done:,} of {total:,} rows checked")
        )
    except (JobCancelled, Exception) as exc:
        message = "The check was cancelled." if isinstance(exc, JobCancelled) else f"The check failed: {exc}"
        LeadImport.objects.filter(pk=lead_import.pk, status=Status.CHECKING).update(
            status=Status.UPLOADED, message=message[:300]
        )
        raise
    LeadImport.objects.filter(pk=lead_import.pk, status=Status.CHECKING).update(
        status=Status.PREVIEWED, preview=preview, message=""
    )
    return {"message": f"{preview['rows']:,} rows checked"}


def lead_import_start(*, lead_import: LeadImport, actor: User) -> Job:
    """Start (or resume) the import as a ``lead_import`` job; rows already imported are never imported again."""
    with transaction.atomic():
        lead_import = importing.lock(lead_import, actor=actor)
        running_job = lead_import.job if lead_import.status == Status.RUNNING else None
        if running_job is not None and not running_job.is_finished:
            raise ValidationError("This list is being imported already.")
        if lead_import.status not in (Status.UPLOADED, Status.PREVIEWED, Status.FAILED, Status.RUNNING):
            raise ValidationError(f"This import is {lead_import.get_status_display().lower()}; it cannot run again.")
        importing.mapping_require(mapping_errors(lead_import.header, lead_import.mapping))
        job = importing.job_start(lead_import, kind="lead_import", title=f"Import {lead_import.list_name}", actor=actor)
        lead_import.status, lead_import.job, lead_import.message = Status.RUNNING, job, ""
        lead_import.save(update_fields=["status", "job", "message"])
        importing.audit(lead_import, actor=actor, verb="import started")
    return job


def lead_import_run(run: JobRun) -> dict:
    """The import job: chunk by chunk, each chunk's writes, its ImportRows and the checkpoint in one
    transaction; a redelivered or retried job resumes after the last committed line."""
    lead_import = importing.job_import(LeadImport, run)
    if not importing.runs(lead_import):
        return {"message": "Imported already"}
    actor = importing.job_actor(lead_import)
    try:
        return _run(run, lead_import, actor)
    except JobCancelled:
        _stop(lead_import, "The import was cancelled. Start it again to go on, or undo what it imported.")
        raise
    except DatabaseError:
        raise  # the job retries it and resumes; the import stays running meanwhile
    except Exception as exc:
        _stop(lead_import, f"The import stopped: {exc}. Start it again to go on after the last imported row.")
        raise


def _stop(lead_import: LeadImport, message: str) -> None:
    LeadImport.objects.filter(pk=lead_import.pk, status=Status.RUNNING).update(
        status=Status.FAILED, message=message[:300]
    )


def _run(run: JobRun, lead_import: LeadImport, actor: User) -> dict:
    ctx = _Context(lead_import=lead_import, actor=actor, on_match=lead_import.on_match)
    rows_so_far = ImportRow.objects.filter(lead_import=lead_import)
    done = rows_so_far.count()
    after = rows_so_far.aggregate(last=Max("number"))["last"] or 0
    for number, created, matched in rows_so_far.exclude(verdict__in=[Verdict.INVALID, Verdict.IN_FILE]).values_list(
        "number", "contact_id_created", "match_contact_id"
    ):
        ctx.claimed.setdefault(created or matched, number)
    ctx.claimed.pop(None, None)
    writer = _Writer(ctx=ctx, assigner=Assigner(), scorer=_Scorer())
    total = max(lead_import.row_count, 1)
    tally = dict(run.state.get("tally") or {}) if after else {}
    statistics = _Statistics()
    for rows in _read_ahead(_chunks(lead_import, after)):
        statistics.after(writer.keys_written)
        review_pairs = _analyse(rows, ctx)
        with transaction.atomic():
            # One writer at a time per import: a second worker on the same job waits here, then skips.
            LeadImport.objects.select_for_update().filter(pk=lead_import.pk).values_list("pk", flat=True).first()
            if ImportRow.objects.filter(lead_import=lead_import, number__gte=rows[0].number).exists():
                continue
            writer.write(rows, review_pairs)
            done += len(rows)
            tally = _tally(tally, rows)
            run.progress(
                min(99, 100 * done / total),
                f"{done:,} of {total:,} rows imported",
                last_row=rows[-1].number,
                tally=tally,
            )
    return _finish(lead_import, actor, tally)


@transaction.atomic
def _finish(lead_import: LeadImport, actor: User, tally: dict[str, int]) -> dict:
    counts = report_counts(lead_import, tally)
    LeadImport.objects.filter(pk=lead_import.pk).update(
        status=Status.DONE, counts=counts, finished_at=timezone.now(), message=""
    )
    lead_import.refresh_from_db()
    message = f"{counts['leads']:,} leads from {counts['rows']:,} rows"
    importing.audit(lead_import, actor=actor, verb="imported", note=message)
    return {"message": message, "leads": counts["leads"]}


def report_counts(lead_import: LeadImport, tally: dict[str, int] | None = None) -> dict[str, Any]:
    """Rows per verdict and per result (from the ImportRows), the notes' tally, leads and cost per lead."""
    grid: dict[str, dict[str, int]] = defaultdict(dict)
    verdicts: Counter[str] = Counter()
    results: Counter[str] = Counter()
    for verdict, result, n in (
        ImportRow.objects.filter(lead_import=lead_import)
        .values_list("verdict", "result")
        .annotate(n=Count("id"))
        .order_by()
    ):
        grid[verdict][result] = n
        verdicts[verdict] += n
        results[result] += n
    leads = results[Result.CREATED] + results[Result.ATTACHED]
    notes = {k.split(":", 1)[1]: v for k, v in (tally or {}).items() if k.startswith("note:")}
    return {
        "rows": sum(verdicts.values()),
        "verdicts": dict(verdicts),
        "results": dict(results),
        "grid": {k: dict(v) for k, v in grid.items()},
        "notes": notes,
        "leads": leads,
        "cost_per_lead": str((lead_import.cost / leads).quantize(Decimal("0.01"))) if leads else None,
    }


def lead_import_lead_count(*, lead_import: LeadImport) -> int:
    return Lead.objects.filter(lead_import=lead_import).count()


def lead_import_rows(
    *, lead_import: LeadImport, actor: User, verdicts: Iterable[str] = (), result: str = "", limit: int = 50
) -> list[ImportRow]:
    """Rows of an import for its report, in file order: ``cells_text`` (the cells that hold something)
    and, for rows that matched someone, ``person`` (the contact, or None if it is gone)."""
    require(actor, "view", lead_import)
    rows = ImportRow.objects.filter(lead_import=lead_import).order_by("number")
    if verdicts:
        rows = rows.filter(verdict__in=list(verdicts))
    if result:
        rows = rows.filter(result=result)
    rows = list(rows[:limit])
    people = Contact.objects.in_bulk([row.match_contact_id for row in rows if row.match_contact_id])
    for row in rows:
        row.cells_text = " · ".join(str(cell) for cell in row.values if str(cell).strip())
        row.person = people.get(row.match_contact_id)
        row.other_notes = [note for note in row.notes if note.get("kind") != "match"]
    return rows


def lead_import_rejects(*, lead_import: LeadImport, actor: User) -> Iterator[str]:
    """The rejected rows as CSV text, line by line (for a streamed download): line, reasons, then the
    row's cells under the file's own header, in the file's delimiter, so the vendor can fix and resend."""
    require(actor, "view", lead_import)
    rejected = (
        ImportRow.objects.filter(lead_import=lead_import, result=Result.REJECTED)
        .order_by("number")
        .values_list("number", "errors", "values")
    )
    yield from tabular.csv_lines(
        ["line", "reasons", *lead_import.header],
        ([number, " ".join(errors), *values] for number, errors, values in rejected.iterator(chunk_size=2000)),
        delimiter=lead_import.delimiter,
    )


def _contacts_in_use(ids: list[int]) -> dict[int, str]:
    """Of these contacts, those something points at (a touch, an order, another lead …), with what does:
    found through Django's relation metadata, so apps added later are covered without an import here."""
    in_use: dict[int, str] = {}
    owned = {ContactEmail, ContactPhone}
    for relation in Contact._meta.related_objects:
        if relation.related_model in owned or not (relation.one_to_many or relation.one_to_one):
            continue
        label = str(relation.related_model._meta.verbose_name_plural)
        for batch in _id_batches(ids):
            found = (
                relation.related_model._base_manager.filter(**{f"{relation.field.name}__in": batch})
                .values_list(relation.field.attname, flat=True)
                .distinct()
            )
            for contact_id in found:
                in_use.setdefault(contact_id, label)
    return in_use


@transaction.atomic
def lead_import_undo(*, lead_import: LeadImport, actor: User) -> dict[str, Any]:
    """Undo a whole import in one transaction: its leads removed (a converted one stays), the prospects it
    created removed with their e-mails, phones and keys unless something else now points at them, and
    its updates reverted where the field still holds what the import wrote."""
    lead_import = importing.lock(lead_import, actor=actor)
    if lead_import.status == Status.UNDONE:
        raise ValidationError("This import was undone already.")
    if lead_import.status == Status.RUNNING and lead_import.job and not lead_import.job.is_finished:
        raise ValidationError("This import is running: cancel it first, then undo it.")
    if lead_import.status == Status.CHECKING:
        raise ValidationError("This list is being checked; nothing was imported yet.")
    rows = ImportRow.objects.filter(lead_import=lead_import)
    leads = Lead.objects.filter(lead_import=lead_import)
    kept_leads = leads.filter(status=Lead.Status.CONVERTED).count()
    lead_ids = list(leads.exclude(status=Lead.Status.CONVERTED).values_list("pk", flat=True))
    protected = _release(Lead, lead_ids)
    kept_leads += len(protected)
    lead_ids = [pk for pk in lead_ids if pk not in protected]
    _delete(Lead, lead_ids)
    created = list(rows.filter(contact_id_created__isnull=False).values_list("contact_id_created", flat=True))
    in_use = _contacts_in_use(created)
    kept: dict[int, str] = {**dict.fromkeys(_customers(created), "now a customer"), **in_use}
    remove = [cid for cid in created if cid not in kept]
    for batch in _id_batches(remove):
        MatchKey.objects.filter(subject="contact", object_id__in=batch).delete()
        MatchCandidate.objects.filter(subject="contact", status=MatchCandidate.Status.OPEN).filter(
            Q(a_id__in=batch) | Q(b_id__in=batch)
        ).delete()
        ContactEmail.objects.filter(contact_id__in=batch).delete()
        ContactPhone.objects.filter(contact_id__in=batch).delete()
    _delete(Contact, remove)
    reverted, changed_since = _revert_updates(rows.filter(result=Result.UPDATED), actor, lead_import)
    summary = {
        "leads_removed": len(lead_ids),
        "leads_kept": kept_leads,
        "prospects_removed": len(remove),
        "prospects_kept": len(kept),
        "kept_because": dict(Counter(kept.values())),
        "updates_reverted": reverted,
        "updates_kept": changed_since,
    }
    lead_import.status, lead_import.undone_at = Status.UNDONE, timezone.now()
    lead_import.counts = {**lead_import.counts, "undo": summary}
    lead_import.save(update_fields=["status", "undone_at", "counts"])
    importing.audit(lead_import, actor=actor, verb="undone", note=str(summary))
    return summary


def _id_batches(ids: list[int], size: int = 5000) -> Iterator[list[int]]:
    size = min(size, (connection.features.max_query_params or size) - 10)
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _release(model: type[Model], ids: list[int]) -> set[int]:
    """Let go of rows about to be deleted: SET_NULL references emptied, CASCADE ones deleted; returns the
    ids something PROTECTs (they stay). Read from the relation metadata, so later apps are covered."""
    protected: set[int] = set()
    for relation in model._meta.related_objects:
        if not (relation.one_to_many or relation.one_to_one):
            continue
        for batch in _id_batches(ids):
            pointing = relation.related_model._base_manager.filter(**{f"{relation.field.name}__in": batch})
            if relation.on_delete is models.SET_NULL:
                pointing.update(**{relation.field.name: None})
            elif relation.on_delete is models.CASCADE:
                pointing.delete()
            else:
                protected.update(pointing.values_list(relation.field.attname, flat=True))
    return protected


def _delete(model: type[Model], ids: list[int]) -> None:
    """Delete rows nothing points at any more, one statement per batch. Django's delete() would fetch
    every row first and delete them a hundred at a time; the references were dealt with before (and the
    database's foreign keys still refuse a row that something new points at: the transaction fails)."""
    table, pk = connection.ops.quote_name(model._meta.db_table), connection.ops.quote_name(model._meta.pk.column)
    with connection.cursor() as cursor:
        for batch in _id_batches(ids):
            placeholders = ", ".join(["%s"] * len(batch))
            cursor.execute(f"DELETE FROM {table} WHERE {pk} IN ({placeholders})", batch)  # noqa: S608 (names quoted, ids bound)


def _customers(ids: list[int]) -> set[int]:
    out: set[int] = set()
    for batch in _id_batches(ids):
        out |= set(Contact.objects.filter(pk__in=batch, is_prospect=False).values_list("pk", flat=True))
    return out


def _revert_updates(rows: QuerySet[ImportRow], actor: User, lead_import: LeadImport) -> tuple[int, int]:
    """Put back what updates filled in, field by field, where the field still holds the imported value."""
    from contacts.matching.engine import contact_keys_refresh

    reverted = kept = 0
    touched = []
    for row in rows.iterator(chunk_size=500):
        contact = Contact.objects.filter(pk=row.match_contact_id).first()
        if contact is None:
            continue
        before, changes = row.before or {}, {}
        fields = []
        for name, old in before.get("fields", {}).items():
            if getattr(contact, name) == before.get("after", {}).get(name):
                changes[name] = [getattr(contact, name), old]
                setattr(contact, name, old)
                fields.append(name)
                if name == "first_name":
                    contact.first_key = name_key(old)
                    fields.append("first_key")
            else:
                kept += 1
        if before.get("email_id") and ContactEmail.objects.filter(pk=before["email_id"]).delete()[0]:
            changes["emails"] = ["added by the import", "removed"]
        if before.get("phone_id") and ContactPhone.objects.filter(pk=before["phone_id"]).delete()[0]:
            changes["phones"] = ["added by the import", "removed"]
        if fields:
            contact.save(update_fields=[*fields, "updated_at"])
        if changes:
            reverted += 1
            touched.append(contact.pk)
            audit_record(
                actor=actor,
                instance=contact,
                action=AuditAction.UPDATE,
                changes=changes,
                note=f"list import {lead_import.list_name} undone",
            )
    contact_keys_refresh(touched)
    return reverted, kept


@job_task(kind="lead_import")
def lead_import_task(run: JobRun) -> dict:
    return lead_import_run(run)


@job_task(kind="lead_import_check")
def lead_import_check_task(run: JobRun) -> dict:
    return lead_import_check_run(run)
