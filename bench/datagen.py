"""Build the contacts benchmark's dataset in PostgreSQL, fast.

    .venv/bin/python -m bench.datagen --contacts 1000000 --touches 5000000
    .venv/bin/python -m bench.datagen --contacts 20000 --touches 100000      # a quick run

The database named by ``DATABASE_URL`` (default ``postgres://postgres@127.0.0.1:5432/sfa_bench``; only
names starting with ``sfa_bench`` are accepted, since it is dropped) is created anew and migrated. The demo
company (departments, teams, users, password as for the demo) and the purposes with their guard rules are
made by the demo's own steps, through the services. Then accounts, contacts, their e-mails and phones and
the touches are drawn with numpy from a fixed seed and loaded with ``COPY ... FROM STDIN``: a generator
writes CSV chunk by chunk into an in-memory buffer that psycopg2's ``copy_expert`` reads, so only one chunk
of text is ever in memory.

Loading is fastest into bare tables: the secondary indexes, unique and foreign-key constraints of the
loaded tables are read back from pg_catalog as migrate made them, dropped, and recreated after the load
from those very definitions (the run checks that the catalog ends identical). ``COPY ... FREEZE`` after a
``TRUNCATE`` in the same transaction writes the rows frozen and all-visible, so no VACUUM pass is needed;
ANALYZE ends the run. One contact, with the e-mail ``BENCH_EMAIL``, has exactly 200 touches: the
benchmark opens its page.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from bench import django_setup

BENCH_EMAIL = "charlotte.lefevre-bauer@timeline-200.example"
TIMELINE_TOUCHES = 200
LOADED_TABLES = (
    "contacts_account",
    "contacts_contact",
    "contacts_contactemail",
    "contacts_contactphone",
    "contacts_touch",
)
DAY = 86_400
YEAR = 365 * DAY

# --- Vocabulary ----------------------------------------------------------------------------------

COUNTRIES = ("DE", "FR", "GB", "IT")
COUNTRY_SHARES = (0.45, 0.20, 0.20, 0.15)
LOCALES = {"DE": "de_DE", "FR": "fr_FR", "GB": "en_GB", "IT": "it_IT"}
CALLING_CODES = {"DE": "49", "FR": "33", "GB": "44", "IT": "39"}
# National significant number prefixes and how many random digits follow; every pattern gives numbers
# that phonenumbers holds valid (checked on a sample at the end of the run).
PHONE_PATTERNS = {
    "DE": {
        "mobile": [("151", 8), ("152", 8), ("160", 7), ("170", 8), ("171", 8), ("172", 8), ("176", 8), ("177", 8)],
        "office": [("30", 8), ("40", 8), ("89", 8), ("221", 7), ("69", 8), ("711", 7), ("211", 7), ("351", 7)],
    },
    "FR": {
        "mobile": [("61", 7), ("62", 7), ("64", 7), ("66", 7), ("67", 7), ("68", 7), ("76", 7), ("78", 7)],
        "office": [("1", 8), ("2", 8), ("3", 8), ("41", 7), ("47", 7), ("5", 8), ("9", 8)],
    },
    "GB": {
        "mobile": [("74", 8), ("75", 8), ("77", 8), ("78", 8), ("79", 8)],
        "office": [("207", 7), ("203", 7), ("208", 7), ("161", 7), ("1212", 6), ("1312", 6), ("1132", 6)],
    },
    "IT": {
        "mobile": [("32", 8), ("33", 8), ("34", 8), ("36", 8), ("38", 8), ("39", 8)],
        "office": [("06", 8), ("02", 8), ("011", 7), ("055", 7), ("081", 7)],
    },
}
WEBMAIL = {
    "DE": ("web.de", "gmx.de", "t-online.de", "gmail.com", "outlook.de", "posteo.de"),
    "FR": ("orange.fr", "free.fr", "gmail.com", "laposte.net", "sfr.fr", "hotmail.fr"),
    "GB": ("gmail.com", "btinternet.com", "outlook.com", "yahoo.co.uk", "sky.com"),
    "IT": ("libero.it", "gmail.com", "virgilio.it", "alice.it", "tiscali.it"),
}
TLD = {"DE": "de", "FR": "fr", "GB": "co.uk", "IT": "it"}
LEGAL_FORMS = {
    "DE": ("GmbH", "GmbH", "GmbH & Co. KG", "AG", "KG"),
    "FR": ("SARL", "SAS", "SA"),
    "GB": ("Ltd", "Ltd", "PLC", "LLP"),
    "IT": ("S.r.l.", "S.r.l.", "S.p.A.", "S.n.c."),
}
SECTORS = {
    "DE": ("Logistik", "Bau", "Technik", "Handel", "Energie", "Systeme", "Medizintechnik", "Maschinenbau", "Software"),
    "FR": ("Logistique", "Construction", "Technologies", "Distribution", "Énergie", "Systèmes", "Santé", "Industries"),
    "GB": ("Logistics", "Construction", "Technologies", "Retail", "Energy", "Systems", "Healthcare", "Engineering"),
    "IT": ("Logistica", "Costruzioni", "Tecnologie", "Commercio", "Energia", "Sistemi", "Sanità", "Meccanica"),
}
BRAND_WORDS = (
    "Nord",
    "Alpen",
    "Atlas",
    "Orion",
    "Delta",
    "Nova",
    "Vita",
    "Terra",
    "Aqua",
    "Helios",
    "Argo",
    "Vega",
    "Lumen",
    "Prima",
    "Zenit",
    "Kappa",
    "Iris",
    "Sigma",
    "Astra",
    "Polar",
    "Vertex",
    "Fortis",
    "Optima",
    "Solis",
)
CITIES = {
    "DE": ("Berlin", "Hamburg", "München", "Köln", "Frankfurt am Main", "Stuttgart", "Düsseldorf", "Leipzig",
           "Dortmund", "Essen", "Bremen", "Dresden", "Hannover", "Nürnberg", "Münster", "Würzburg"),
    "FR": ("Paris", "Marseille", "Lyon", "Toulouse", "Nice", "Nantes", "Strasbourg", "Montpellier", "Bordeaux",
           "Lille", "Rennes", "Reims", "Saint-Étienne", "Orléans"),
    "GB": ("London", "Birmingham", "Manchester", "Leeds", "Glasgow", "Liverpool", "Bristol", "Sheffield",
           "Edinburgh", "Cardiff", "Leicester", "Nottingham"),
    "IT": ("Roma", "Milano", "Napoli", "Torino", "Palermo", "Genova", "Bologna", "Firenze", "Bari", "Catania",
           "Venezia", "Verona", "Forlì"),
}  # fmt: skip
STREETS = {
    "DE": ("Hauptstraße", "Bahnhofstraße", "Gartenweg", "Schillerstraße", "Goethestraße", "Lindenallee", "Am Markt",
           "Mühlenweg", "Kirchplatz", "Friedrichstraße", "Rosenstraße", "Königstraße"),
    "FR": ("rue de la République", "avenue Jean Jaurès", "rue Victor Hugo", "boulevard Pasteur", "rue des Écoles",
           "place de l'Église", "rue du Moulin", "avenue de la Gare"),
    "GB": ("High Street", "Station Road", "Church Lane", "Victoria Road", "Green Lane", "Manor Road", "Park Avenue",
           "King Street"),
    "IT": ("Via Roma", "Via Garibaldi", "Corso Vittorio Emanuele", "Via Mazzini", "Piazza del Duomo", "Via Verdi",
           "Viale dei Mille", "Via Dante"),
}  # fmt: skip
GB_POSTCODE_AREAS = ("SW1A", "EC1V", "M1", "B2", "LS1", "G2", "L1", "BS1", "S1", "EH1", "CF10", "NG1")
TITLES = (
    "Managing Director",
    "Head of Purchasing",
    "Procurement Manager",
    "Buyer",
    "CFO",
    "IT Manager",
    "Office Manager",
    "Operations Director",
    "Facility Manager",
    "Project Manager",
    "Plant Manager",
    "Marketing Manager",
    "Head of Sales",
    "Fleet Manager",
    "Engineer",
)
NOTES = (
    "Asked for a quote.",
    "Call back next quarter.",
    "Happy with the service.",
    "Interested in the new model; send the brochure.",
    "Budget frozen until spring.",
    "Wants a demo for the whole team.",
    "Complained about the delivery time, sorted out.",
    "Renewal likely; decision in the board meeting.",
    "Invoice query, resolved on the phone.",
    "Met at the trade fair, exchanged cards.",
    'Asked whether the "premium" plan includes on-site service.',
    "Prefers e-mail, not calls before 10.",
    "New purchasing contact from next month.",
    "Technician visit confirmed, part replaced.",
    "Not the right person; forwarded to the plant manager.",
    "Discussed volume discount, 8% agreed in principle.",
)
PREFERENCES = (
    "Prefers e-mail to phone calls.",
    "Early meetings only; very punctual.",
    "Likes detailed written offers, hates surprises.",
    "Golf on Fridays, don't call then.",
    "Vegetarian; keen on sustainability topics.",
)
DNC_SOURCES = ("web form", "phone call", "letter", "e-mail reply")
OUTCOMES_BY_CHANNEL = {
    "call": ("reached", "reached", "no_answer", "left_message", "interested", "not_interested"),
    "email": ("sent", "sent", "sent", "bounced"),
    "meeting": ("completed", "interested", "not_interested"),
    "visit": ("completed", "completed", "interested"),
    "letter": ("sent",),
    "chat": ("completed", "reached"),
    "web": ("",),
}
# Frequent surnames first: the lists of the Faker locales are alphabetical for these two.
HEAD_LAST_NAMES = {
    "DE": ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann",
           "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Schröder", "Neumann", "Schwarz", "Zimmermann"),
    "IT": ("Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci", "Marino", "Greco",
           "Bruno", "Gallo", "Conti", "De Luca", "Mancini", "Costa", "Giordano", "Rizzo", "Lombardi", "Moretti"),
}  # fmt: skip
ODD_NAMES = {"Dussen van", "auch Schlauchin", "Koch II"}  # oddities in the Faker lists

# Who touches customers: the sales people own accounts and contacts; everyone else touches anyone.
SALES = ("rep", "rep2", "rep3", "rep4", "manager", "manager2")
SALES_SHARES = (0.22, 0.22, 0.2, 0.2, 0.08, 0.08)
OTHER_TOUCHERS = {
    "marketing": 0.3,
    "support": 0.25,
    "service": 0.12,
    "billing": 0.12,
    "rep": 0.03,
    "rep2": 0.03,
    "rep3": 0.03,
    "rep4": 0.03,
    "director": 0.03,
    "marketing_lead": 0.03,
    "operations": 0.03,
}
OWNER_SHARE = 0.45  # of the touches on a contact, how many its owner makes


# --- Output --------------------------------------------------------------------------------------

_START = time.perf_counter()
TIMINGS: dict[str, float] = {}  # seconds per step, for the summary


def log(message: str) -> None:
    print(f"[{time.perf_counter() - _START:7.1f}s] {message}", flush=True)


@contextmanager
def step(name: str) -> Iterator[None]:
    started = time.perf_counter()
    log(f"{name} …")
    yield
    TIMINGS[name] = time.perf_counter() - started
    log(f"{name}: done in {TIMINGS[name]:.1f}s")


def q(value: str) -> str:
    """A text value as a CSV field: always quoted, because COPY reads an unquoted empty field as NULL."""
    return '"' + value.replace('"', '""') + '"'


def quoted(values: Sequence[str]) -> np.ndarray:
    return np.array([q(v) for v in values], dtype=object)


# --- COPY FROM STDIN fed by a generator ----------------------------------------------------------

Encoder = Callable[[slice], Sequence[str]]


def csv_chunks(table: str, rows: int, encoders: Sequence[Encoder], chunk_rows: int) -> Iterator[str]:
    """The rows as CSV text, ``chunk_rows`` at a time; each encoder turns a slice of rows into one column."""
    for start in range(0, rows, chunk_rows):
        part = slice(start, min(start + chunk_rows, rows))
        columns = [encode(part) for encode in encoders]
        yield "\n".join(map(",".join, zip(*columns, strict=True))) + "\n"
        log(f"  {table}: {part.stop:,} / {rows:,} rows")


class ChunkReader(io.TextIOBase):
    """A read-only text file over a generator of chunks, for ``copy_expert``: one chunk in memory at a time."""

    def __init__(self, chunks: Iterator[str]):
        self._chunks = chunks
        self._buffer = io.StringIO()

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> str:
        size = -1 if size is None else size
        data = self._buffer.read(size)
        while size < 0 or len(data) < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._buffer = io.StringIO(chunk)
            data += self._buffer.read(size - len(data) if size >= 0 else -1)
        return data


def copy_rows(table: str, columns: dict[str, Encoder], rows: int, chunk_rows: int) -> None:
    """TRUNCATE and COPY ... FREEZE in one transaction: the rows land frozen and visible to all.

    Columns that datagen does not draw (added by later migrations) get their model default.
    """
    from django.db import connection, transaction

    columns = {**columns, **missing_columns(table, columns)}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {table} CASCADE")
        sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv, FREEZE true)"
        chunks = csv_chunks(table, rows, list(columns.values()), chunk_rows)
        cursor.cursor.copy_expert(sql, ChunkReader(chunks), size=1 << 20)


def missing_columns(table: str, drawn: dict[str, Encoder]) -> dict[str, Encoder]:
    """A constant encoder per column of ``table``'s model that ``drawn`` lacks: the field's default, else
    NULL or an empty string; a column that has neither stops the run, naming it."""
    from django.apps import apps

    model = next(m for m in apps.get_models() if m._meta.db_table == table)
    out: dict[str, Encoder] = {}
    for field in model._meta.concrete_fields:
        if field.column in drawn:
            continue
        if field.has_default():
            value = field.get_default()
        elif field.null:
            value = None
        elif field.empty_strings_allowed:
            value = ""
        else:
            raise SystemExit(f"datagen does not fill {table}.{field.column}: give it a value in bench/datagen.py")
        out[field.column] = constant(csv_value(value))
        log(f"  {table}.{field.column}: {value!r} for every row (not drawn by datagen)")
    return out


def csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list | dict):
        return q(json.dumps(value))
    if isinstance(value, datetime):
        return value.isoformat()
    return q(str(value))


def ints(values: np.ndarray) -> Encoder:
    return lambda part: values[part].astype(str).tolist()


def nullable_ints(values: np.ndarray) -> Encoder:
    """Zero stands for NULL (an unquoted empty field)."""
    return lambda part: np.where(values[part] > 0, values[part].astype(str), "").tolist()


def coded(vocabulary: np.ndarray, codes: np.ndarray) -> Encoder:
    return lambda part: vocabulary[codes[part]].tolist()


def texts(values: np.ndarray) -> Encoder:
    return lambda part: values[part].tolist()


def timestamps(seconds: np.ndarray) -> Encoder:
    """Epoch seconds as ISO 8601 in UTC; a negative value stands for NULL."""

    def encode(part: slice) -> list[str]:
        text = np.datetime_as_string(seconds[part].astype("datetime64[s]"), timezone="UTC")
        return np.where(seconds[part] >= 0, text, "").tolist()

    return encode


def constant(value: str) -> Encoder:
    return lambda part: [value] * (part.stop - part.start)


def booleans(values: np.ndarray) -> Encoder:
    return lambda part: np.where(values[part], "t", "f").tolist()


# --- Schema: drop the secondary indexes and constraints, recreate them as migrate made them -------


@dataclass(frozen=True)
class Schema:
    indexes: tuple[tuple[str, str, str], ...]  # (table, index, CREATE INDEX …)
    constraints: tuple[tuple[str, str, str, str], ...]  # (table, constraint, type u/f, definition)


def schema_of(tables: Sequence[str]) -> Schema:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.conrelid::regclass::text, c.conname, c.contype, pg_get_constraintdef(c.oid)
            FROM pg_constraint c
            WHERE c.conrelid = ANY(%s::regclass[]) AND c.contype IN ('u', 'f')
            ORDER BY 1, 2
            """,
            [list(tables)],
        )
        constraints = tuple(cursor.fetchall())
        cursor.execute(
            """
            SELECT i.indrelid::regclass::text, i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
            FROM pg_index i
            WHERE i.indrelid = ANY(%s::regclass[]) AND NOT i.indisprimary
              AND NOT EXISTS (
                SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.contype IN ('u', 'p', 'x')
              )
            ORDER BY 1, 2
            """,
            [list(tables)],
        )
        indexes = tuple(cursor.fetchall())
    return Schema(indexes=indexes, constraints=constraints)


def schema_drop(schema: Schema) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for table, name, _kind, _ in sorted(schema.constraints, key=lambda c: c[2] != "f"):  # foreign keys first
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        for _, name, _ in schema.indexes:
            cursor.execute(f'DROP INDEX "{name}"')


def schema_restore(schema: Schema, table: str) -> None:
    """Indexes and unique constraints of ``table``, then its foreign keys (validated by one join each)."""
    from django.db import connection

    with connection.cursor() as cursor:
        for owner, _, definition in schema.indexes:
            if owner == table:
                cursor.execute(definition)
        for kind in ("u", "f"):
            for owner, name, constraint_kind, definition in schema.constraints:
                if owner == table and constraint_kind == kind:
                    cursor.execute(f'ALTER TABLE {owner} ADD CONSTRAINT "{name}" {definition}')


# --- The company and the rules: the demo's own steps, through the services -----------------------


@dataclass
class Company:
    user_ids: dict[str, int]
    department_of: dict[str, int | None]
    purpose_ids: dict[str, int]


def seed_company() -> Company:
    from django.conf import settings

    from contacts.demo import demo_purposes
    from contacts.models import Purpose
    from sfa.demo import DemoContext, demo_company

    ctx = DemoContext(password=settings.SFA_DEMO_PASSWORD, log=lambda message: log(f"  {message}"))
    demo_company(ctx)
    demo_purposes(ctx)
    return Company(
        user_ids={name: user.pk for name, user in ctx.users.items()},
        department_of={name: user.department_id for name, user in ctx.users.items()},
        purpose_ids=dict(Purpose.objects.values_list("name", "id")),
    )


# --- Drawing the data ----------------------------------------------------------------------------


@dataclass
class Pool:
    """Names to draw from, weighted like real name frequencies (a few common, a long tail)."""

    names: list[str]
    csv: np.ndarray  # the names as CSV fields
    keys: list[str]  # their name_key
    keys_csv: np.ndarray
    weights: np.ndarray

    @classmethod
    def of(
        cls, values: Any, rng: np.random.Generator, exponent: float, head: Sequence[str] = (), ordered: bool = False
    ) -> Pool:
        """``values`` with frequencies (a dict), or in frequency order (``ordered``), or else with ``head``
        first and the rest shuffled; list positions get Zipf-like weights."""
        from contacts.normalize import name_key

        if isinstance(values, dict):
            names = [n for n in values if n not in ODD_NAMES]
            weights = np.array([values[n] for n in names], dtype=float)
        else:
            names = [n for n in dict.fromkeys(values) if n not in ODD_NAMES]
            if not ordered:
                rest = [n for n in names if n not in head]
                rng.shuffle(rest)
                names = [n for n in head if n in names] + rest
            weights = 1.0 / (np.arange(len(names)) + 4.0) ** exponent
        keys = [name_key(n) for n in names]
        return cls(names, quoted(names), keys, quoted(keys), weights / weights.sum())

    def draw(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.choice(len(self.names), size=size, p=self.weights)


def name_pools(rng: np.random.Generator) -> dict[str, dict[str, Pool]]:
    import importlib

    pools = {}
    for country, locale in LOCALES.items():
        provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
        # French surnames come in frequency order already, British ones with frequencies; German and
        # Italian ones get the most frequent first and a shuffled tail.
        pools[country] = {
            "last": Pool.of(provider.last_names, rng, 0.9, HEAD_LAST_NAMES.get(country, ()), ordered=country == "FR"),
            "female": Pool.of(provider.first_names_female, rng, 0.7),
            "male": Pool.of(provider.first_names_male, rng, 0.7),
        }
    return pools


def pick(rng: np.random.Generator, shares: Sequence[float], size: int) -> np.ndarray:
    return rng.choice(len(shares), size=size, p=np.asarray(shares) / np.sum(shares))


def phones_for(rng: np.random.Generator, countries: np.ndarray, kind: str) -> list[str]:
    """One E.164 number of ``kind`` (mobile/office) per entry of ``countries`` (codes into COUNTRIES)."""
    out = np.empty(len(countries), dtype=object)
    for code, country in enumerate(COUNTRIES):
        where = np.flatnonzero(countries == code)
        patterns = PHONE_PATTERNS[country][kind]
        chosen = rng.integers(0, len(patterns), size=len(where))
        digits = rng.random(len(where))
        cc = CALLING_CODES[country]
        out[where] = [
            f"+{cc}{patterns[p][0]}{int(d * 10 ** patterns[p][1]):0{patterns[p][1]}d}"
            for p, d in zip(chosen.tolist(), digits.tolist(), strict=True)
        ]
    return out.tolist()


@dataclass
class Accounts:
    count: int
    country: np.ndarray
    owner: np.ndarray  # user ids
    domain: list[str]


def load_accounts(
    rng: np.random.Generator, count: int, pools: dict, company: Company, now: int, chunk: int
) -> Accounts:
    """Companies named like real ones: "Müller GmbH", "Rossi & Greco S.r.l.", "Atlas Logistics Leeds Ltd"."""
    from contacts.demo import INDUSTRIES
    from contacts.models import Account
    from contacts.normalize import name_key

    country = pick(rng, COUNTRY_SHARES, count)
    owner = np.array([company.user_ids[u] for u in SALES])[pick(rng, SALES_SHARES, count)]
    surname = np.empty((count, 2), dtype=object)
    for code, c in enumerate(COUNTRIES):
        where = np.flatnonzero(country == code)
        pool = pools[c]["last"]
        surname[where] = np.array(pool.names, dtype=object)[pool.draw(rng, 2 * len(where))].reshape(-1, 2)
    pattern = pick(rng, (35, 25, 15, 15, 10), count).tolist()
    with_city = (rng.random(count) < 0.2).tolist()
    picks = rng.integers(0, 720, size=(count, 5)).tolist()  # legal form, sector, two brand words, city
    has_site = (rng.random(count) < 0.85).tolist()
    names, domains, seen = [], [], set()
    for i, c in enumerate(COUNTRIES[k] for k in country.tolist()):
        legal, sector, word, word2, city = picks[i]
        sector = SECTORS[c][sector % len(SECTORS[c])]
        word, word2 = BRAND_WORDS[word % len(BRAND_WORDS)], BRAND_WORDS[word2 % len(BRAND_WORDS)]
        base = (
            surname[i, 0],
            f"{surname[i, 0]} {sector}",
            f"{surname[i, 0]} & {surname[i, 1]}",
            f"{word} {sector}",
            f"{word}{word2.lower()}",
        )[pattern[i]]
        if with_city[i]:
            base = f"{base} {CITIES[c][city % len(CITIES[c])]}"
        names.append(f"{base} {LEGAL_FORMS[c][legal % len(LEGAL_FORMS[c])]}")
        slug = "-".join(re.sub(r"[^a-z0-9 ]+", " ", name_key(base)).split())
        domain = f"{slug}.{TLD[c]}"
        if domain in seen:
            domain = f"{slug}-{i}.{TLD[c]}"
        seen.add(domain)
        domains.append(domain if has_site[i] else "")
    cities = city_names(rng, country)
    created = now - rng.integers(30 * DAY, 5 * YEAR, size=count)
    columns = {
        "id": ints(np.arange(1, count + 1)),
        "name": texts(quoted(names)),
        "name_key": texts(quoted([name_key(n) for n in names])),
        "website": texts(quoted([f"https://www.{d}" if d else "" for d in domains])),
        "domain": texts(quoted(domains)),
        "industry": coded(quoted(INDUSTRIES), rng.integers(len(INDUSTRIES), size=count)),
        "size": coded(quoted(Account.Size.values), pick(rng, (30, 35, 20, 10, 5), count)),
        "segment": coded(quoted(Account.Segment.values), pick(rng, (10, 30, 55, 5), count)),
        "owner_id": ints(owner),
        "street": texts(quoted(street_lines(rng, country))),
        "city": texts(quoted(cities)),
        "postcode": texts(quoted(postcodes(rng, country))),
        "region": constant('""'),
        "country": coded(quoted(COUNTRIES), country),
        "created_at": timestamps(created),
        "updated_at": timestamps(created),
    }
    copy_rows("contacts_account", columns, count, chunk)
    return Accounts(count=count, country=country, owner=owner, domain=domains)


def street_lines(rng: np.random.Generator, country: np.ndarray) -> list[str]:
    numbers = rng.integers(1, 180, size=len(country)).tolist()
    which = rng.integers(0, 1000, size=len(country)).tolist()
    out = []
    for c, n, w in zip(country.tolist(), numbers, which, strict=True):
        streets = STREETS[COUNTRIES[c]]
        street = streets[w % len(streets)]
        out.append(f"{n} {street}" if COUNTRIES[c] in ("FR", "GB") else f"{street} {n}")
    return out


def city_names(rng: np.random.Generator, country: np.ndarray) -> list[str]:
    which = rng.integers(0, 720, size=len(country)).tolist()
    return [CITIES[COUNTRIES[c]][w % len(CITIES[COUNTRIES[c]])] for c, w in zip(country.tolist(), which, strict=True)]


def postcodes(rng: np.random.Generator, country: np.ndarray) -> list[str]:
    digits = rng.integers(1000, 99999, size=len(country)).tolist()
    out = []
    for c, d in zip(country.tolist(), digits, strict=True):
        if COUNTRIES[c] == "GB":
            area = GB_POSTCODE_AREAS[d % len(GB_POSTCODE_AREAS)]
            out.append(f"{area} {d % 9 + 1}{chr(65 + d % 26)}{chr(65 + d // 26 % 26)}")
        else:
            out.append(f"{d:05d}")
    return out


@dataclass
class Contacts:
    count: int
    account: np.ndarray  # account id per contact id (index = id; 0 = none)
    owner: np.ndarray  # owner user id per contact id
    timeline_contact: int


def load_contacts(
    rng: np.random.Generator, count: int, accounts: Accounts, pools: dict, company: Company, now: int, chunk: int
) -> tuple[Contacts, dict[str, np.ndarray]]:
    """Contacts 1..count; the last one is the timeline contact (200 touches, BENCH_EMAIL)."""
    from contacts.demo import TASTES
    from contacts.normalize import name_key

    with_account = rng.random(count) < 0.8
    # Account sizes are skewed: a few large customers with hundreds of contacts, many with one or two.
    sizes = rng.lognormal(0.0, 1.3, accounts.count)
    account = np.where(with_account, rng.choice(accounts.count, size=count, p=sizes / sizes.sum()) + 1, 0)
    country = pick(rng, COUNTRY_SHARES, count)
    same_country = with_account & (rng.random(count) < 0.95)
    country[same_country] = accounts.country[account[same_country] - 1]
    female = rng.random(count) < 0.5

    first_csv = np.empty(count, dtype=object)
    first_key_csv = np.empty(count, dtype=object)
    last_csv = np.empty(count, dtype=object)
    last_key_csv = np.empty(count, dtype=object)
    first_ascii = np.empty(count, dtype=object)  # for e-mail addresses
    last_ascii = np.empty(count, dtype=object)
    for code, c in enumerate(COUNTRIES):
        for sex, is_female in (("female", True), ("male", False)):
            where = np.flatnonzero((country == code) & (female == is_female))
            pool = pools[c][sex]
            drawn = pool.draw(rng, len(where))
            first_csv[where] = pool.csv[drawn]
            first_key_csv[where] = pool.keys_csv[drawn]
            first_ascii[where] = np.array(pool.keys, dtype=object)[drawn]
        where = np.flatnonzero(country == code)
        pool = pools[c]["last"]
        drawn = pool.draw(rng, len(where))
        last_csv[where] = pool.csv[drawn]
        last_key_csv[where] = pool.keys_csv[drawn]
        last_ascii[where] = np.array(pool.keys, dtype=object)[drawn]
        # Double-barrelled surnames, common in Germany and France.
        if c in ("DE", "FR"):
            double = where[rng.random(len(where)) < 0.03]
            seconds = pool.draw(rng, len(double))
            for i, j in zip(double.tolist(), seconds.tolist(), strict=True):
                name = f"{last_csv[i][1:-1]}-{pool.names[j]}"
                last_csv[i], last_key_csv[i], last_ascii[i] = q(name), q(name_key(name)), name_key(name)

    tl = count - 1  # index of the timeline contact
    timeline_account = int(np.argmax(accounts.country == 0)) + 1  # a German account (or the first one)
    account[tl], country[tl], with_account[tl] = timeline_account, 0, True
    first_csv[tl], first_key_csv[tl], first_ascii[tl] = q("Charlotte"), q("charlotte"), "charlotte"
    last_csv[tl], last_key_csv[tl], last_ascii[tl] = q("Lefèvre-Bauer"), q(name_key("Lefèvre-Bauer")), "lefevre bauer"

    sales_ids = np.array([company.user_ids[u] for u in SALES])
    consumer_owner = sales_ids[pick(rng, SALES_SHARES, count)]
    owner = np.where(with_account, accounts.owner[np.maximum(account, 1) - 1], consumer_owner)
    owner[tl] = company.user_ids["rep"]
    has_address = rng.random(count) < 0.6
    address_country = np.where(has_address, country, 0)
    streets = np.where(has_address, quoted(street_lines(rng, address_country)), '""')
    cities = np.where(has_address, quoted(city_names(rng, country)), '""')
    codes = np.where(has_address, quoted(postcodes(rng, address_country)), '""')
    tag_sets = quoted(
        [
            json.dumps(sorted({TASTES[j] for j in rng.integers(len(TASTES), size=n)}))
            for n in rng.integers(1, 4, size=300)
        ]
    )
    tags = np.where(rng.random(count) < 0.15, tag_sets[rng.integers(len(tag_sets), size=count)], '"[]"')
    preferences = np.where(
        rng.random(count) < 0.05, quoted(PREFERENCES)[rng.integers(len(PREFERENCES), size=count)], '""'
    )
    dnc = rng.random(count) < 0.01
    dnc[tl] = False
    dnc_at = np.where(dnc, now - rng.integers(DAY, YEAR, size=count), -1)
    dnc_source = np.where(dnc, quoted(DNC_SOURCES)[rng.integers(len(DNC_SOURCES), size=count)], '""')
    birth = np.where(rng.random(count) < 0.25, rng.integers(-20 * 365, 35 * 365, size=count), -(10**6))
    created = now - rng.integers(DAY, 4 * YEAR, size=count)
    titles = np.where(with_account, quoted(TITLES)[rng.integers(len(TITLES), size=count)], '""')

    def birth_dates(part: slice) -> list[str]:
        days = birth[part]
        return np.where(days > -(10**6), np.datetime_as_string(days.astype("datetime64[D]")), "").tolist()

    columns = {
        "id": ints(np.arange(1, count + 1)),
        "street": texts(streets),
        "city": texts(cities),
        "postcode": texts(codes),
        "region": constant('""'),
        "country": coded(quoted(COUNTRIES), country),
        "first_name": texts(first_csv),
        "last_name": texts(last_csv),
        "first_key": texts(first_key_csv),
        "last_key": texts(last_key_csv),
        "title": texts(titles),
        "birth_date": birth_dates,
        "tags": texts(tags),
        "preferences": texts(preferences),
        "do_not_contact": booleans(dnc),
        "do_not_contact_at": timestamps(dnc_at),
        "do_not_contact_source": texts(dnc_source),
        "created_at": timestamps(created),
        "updated_at": timestamps(created),
        "account_id": nullable_ints(account),
        "owner_id": ints(owner),
    }
    copy_rows("contacts_contact", columns, count, chunk)
    by_id = Contacts(
        count=count,
        account=np.concatenate([[0], account]),
        owner=np.concatenate([[0], owner]),
        timeline_contact=count,
    )
    return by_id, {"country": country, "first": first_ascii, "last": last_ascii, "account": account}


def load_emails(rng: np.random.Generator, contacts: dict, accounts: Accounts, chunk: int) -> int:
    """About nine in ten contacts have an e-mail (at work when their account has a domain), one in four a second."""
    count = len(contacts["country"])
    has_first = rng.random(count) < 0.9
    has_second = has_first & (rng.random(count) < 0.25)
    pattern = rng.integers(0, 5, size=count).tolist()
    pattern2 = rng.integers(0, 5, size=count).tolist()
    number = rng.integers(1, 99, size=count).tolist()
    webmail_pick = rng.integers(0, 60, size=count).tolist()
    capitalised = (rng.random(count) < 0.1).tolist()
    rows: list[tuple[int, str, str, bool]] = []  # contact id, address, label, primary

    def local(first: str, last: str, p: int, n: int, private: bool) -> str:
        f, s = first.replace(" ", ""), last.replace(" ", "-")
        base = (f"{f}.{s}", f"{f[:1]}.{s}", f"{f}{s.replace('-', '')}", f"{s}.{f}", f"{f}_{s}")[p]
        return f"{base}{n}" if private and p in (2, 4) else base

    for i in range(count - 1):  # the last one is the timeline contact, with BENCH_EMAIL
        if not has_first[i]:
            continue
        c = COUNTRIES[contacts["country"][i]]
        webmail = WEBMAIL[c]
        first, last = contacts["first"][i] or "info", contacts["last"][i]
        account = contacts["account"][i]
        domain = accounts.domain[account - 1] if account else ""
        if domain:
            address, label = f"{local(first, last, pattern[i], 0, False)}@{domain}", "work"
        else:
            address = f"{local(first, last, pattern[i], number[i], True)}@{webmail[webmail_pick[i] % len(webmail)]}"
            label = "home"
        if capitalised[i]:
            address = address[:1].upper() + address[1:]
        rows.append((i + 1, address, label, True))
        if has_second[i]:
            other = webmail[(webmail_pick[i] + 1) % len(webmail)]
            second = f"{local(first, last, pattern2[i], number[i] + 1, True)}@{other}"
            if second.lower() != address.lower():
                rows.append((i + 1, second, "home", False))
    rows.append((count, BENCH_EMAIL, "work", True))
    contact_ids = np.array([r[0] for r in rows])
    columns = {
        "id": ints(np.arange(1, len(rows) + 1)),
        "contact_id": ints(contact_ids),
        "email": texts(quoted([r[1] for r in rows])),
        "email_key": texts(quoted([r[1].lower() for r in rows])),
        "label": texts(quoted([r[2] for r in rows])),
        "is_primary": booleans(np.array([r[3] for r in rows])),
    }
    copy_rows("contacts_contactemail", columns, len(rows), chunk)
    return len(rows)


def load_phones(rng: np.random.Generator, contacts: dict, chunk: int) -> int:
    """About 85 in 100 contacts have a phone, a third of them a second one (mobile and office)."""
    count = len(contacts["country"])
    country = contacts["country"]
    has_first = rng.random(count) < 0.85
    has_first[-1] = True
    has_second = has_first & (rng.random(count) < 0.3)
    first_is_mobile = rng.random(count) < 0.6
    mobiles = phones_for(rng, country, "mobile")
    offices = phones_for(rng, country, "office")
    rows: list[tuple[int, str, str, bool]] = []
    for i in np.flatnonzero(has_first).tolist():
        kinds = ("mobile", "office") if first_is_mobile[i] else ("office", "mobile")
        numbers = {"mobile": mobiles[i], "office": offices[i]}
        rows.append((i + 1, numbers[kinds[0]], kinds[0], True))
        if has_second[i]:
            rows.append((i + 1, numbers[kinds[1]], kinds[1], False))
    columns = {
        "id": ints(np.arange(1, len(rows) + 1)),
        "contact_id": ints(np.array([r[0] for r in rows])),
        "e164": texts(quoted([r[1] for r in rows])),
        "label": texts(quoted([r[2] for r in rows])),
        "is_primary": booleans(np.array([r[3] for r in rows])),
    }
    copy_rows("contacts_contactphone", columns, len(rows), chunk)
    return len(rows)


def load_touches(
    rng: np.random.Generator, count: int, contacts: Contacts, company: Company, now: int, chunk: int
) -> None:
    """Two years of touches by every department, in the order they happened (ids follow time).

    Touches per contact are skewed (lognormal): most contacts have a few, some dozens. The timeline
    contact gets exactly TIMELINE_TOUCHES, all in the past.
    """
    from contacts.demo import DEPARTMENT_MIX
    from contacts.models import Channel, Touch

    mix = {
        **DEPARTMENT_MIX,
        "manager": DEPARTMENT_MIX["rep"],
        "manager2": DEPARTMENT_MIX["rep3"],
        "director": DEPARTMENT_MIX["rep2"],
        "marketing_lead": DEPARTMENT_MIX["marketing"],
        "operations": DEPARTMENT_MIX["support"],
    }
    users = list(mix)
    user_id = np.array([company.user_ids[u] for u in users])
    department_id = np.array([company.department_of[u] or 0 for u in users])
    code_of_user_id = np.zeros(user_id.max() + 1, dtype=np.int64)
    code_of_user_id[user_id] = np.arange(len(users))

    random_touches = count - TIMELINE_TOUCHES
    activity = rng.lognormal(0.0, 1.0, contacts.count - 1)  # the timeline contact is drawn apart
    contact = np.concatenate(
        [
            rng.choice(contacts.count - 1, size=random_touches, p=activity / activity.sum()) + 1,
            np.full(TIMELINE_TOUCHES, contacts.timeline_contact),
        ]
    )
    planned = rng.random(count) < 0.015
    planned[random_touches:] = False
    # Past touches on working days between 8:00 and 18:00 UTC; planned ones in the next 60 days.
    today = now - now % DAY
    day = today - rng.integers(1, 731, size=count) * DAY
    weekday = (day // DAY + 3) % 7  # 0 = Monday
    day = day - np.where(weekday == 5, DAY, 0) + np.where(weekday == 6, DAY, 0)
    at = np.where(
        planned, now + rng.integers(3600, 60 * DAY, size=count), day + rng.integers(8 * 3600, 18 * 3600, size=count)
    )
    at = np.minimum(at, np.where(planned, at, now - 60))
    order = np.argsort(at, kind="stable")
    contact, at, planned = contact[order], at[order], planned[order]

    # Who: the contact's owner for a good share, then marketing, support, service, billing and the rest.
    owner_code = code_of_user_id[contacts.owner[contact]]
    others = np.array([users.index(u) for u in OTHER_TOUCHERS])
    other_code = others[pick(rng, list(OTHER_TOUCHERS.values()), count)]
    user = np.where(rng.random(count) < OWNER_SHARE, owner_code, other_code)

    channels = list(Channel.values)
    purposes = sorted(company.purpose_ids, key=company.purpose_ids.get)
    purpose_ids = np.array([company.purpose_ids[p] for p in purposes])
    channel = np.zeros(count, dtype=np.int64)
    purpose = np.zeros(count, dtype=np.int64)
    for code, name in enumerate(users):
        where = np.flatnonzero(user == code)
        their_purposes, their_channels = mix[name]
        purpose[where] = np.array([purposes.index(p) for p in their_purposes])[
            rng.integers(len(their_purposes), size=len(where))
        ]
        channel[where] = np.array([channels.index(c) for c in their_channels])[
            rng.integers(len(their_channels), size=len(where))
        ]

    outcomes = list(Touch.Outcome.values)
    outcome = np.zeros(count, dtype=np.int64)
    for code, name in enumerate(channels):
        where = np.flatnonzero(channel == code)
        choices = np.array([outcomes.index(o) for o in OUTCOMES_BY_CHANNEL.get(name, ("",))])
        outcome[where] = choices[rng.integers(len(choices), size=len(where))]
    outcome[planned] = outcomes.index("")

    statuses = list(Touch.Status.values)
    status = np.where(rng.random(count) < 0.02, statuses.index("cancelled"), statuses.index("done"))
    status[planned] = statuses.index("planned")
    directions = list(Touch.Direction.values)
    direction = np.where((rng.random(count) < 0.12) & ~planned, directions.index("in"), directions.index("out"))
    notes_vocabulary = np.concatenate([['""'], quoted(NOTES)])
    notes = np.where((rng.random(count) < 0.4) & ~planned, rng.integers(1, len(notes_vocabulary), size=count), 0)
    created = np.where(planned, now - rng.integers(0, 20 * DAY, size=count), at)

    columns = {
        "id": ints(np.arange(1, count + 1)),
        "contact_id": ints(contact),
        "account_id": nullable_ints(contacts.account[contact]),
        "channel": coded(quoted(channels), channel),
        "direction": coded(quoted(directions), direction),
        "purpose_id": ints(purpose_ids[purpose]),
        "status": coded(quoted(statuses), status),
        "at": timestamps(at),
        "outcome": coded(quoted(outcomes), outcome),
        "notes": coded(notes_vocabulary, notes),
        "user_id": ints(user_id[user]),
        "department_id": nullable_ints(department_id[user]),
        "campaign_id": constant(""),
        "override_reason": constant('""'),
        "guard_conflicts": constant('"[]"'),
        "created_at": timestamps(created),
    }
    copy_rows("contacts_touch", columns, count, chunk)


# --- The run -------------------------------------------------------------------------------------


def recreate_database() -> str:
    """Drop and create the benchmark database (only one named sfa_bench*), then return its name."""
    import psycopg2
    from django.conf import settings
    from psycopg2 import sql

    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.postgresql":
        raise SystemExit(f"The benchmark runs on PostgreSQL; DATABASE_URL points to {db['ENGINE']}.")
    name = db["NAME"]
    if not name.startswith("sfa_bench"):
        raise SystemExit(f"Refusing to drop the database {name!r}: datagen only rebuilds databases named sfa_bench*.")
    conn = psycopg2.connect(
        host=db["HOST"] or None, port=db["PORT"] or None, user=db["USER"], password=db["PASSWORD"], dbname="postgres"
    )
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    conn.close()
    return name


def check_phones(sample: int = 2000) -> float:
    """The share of a random sample of the stored numbers that phonenumbers holds valid."""
    import phonenumbers
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT e164 FROM contacts_contactphone ORDER BY random() LIMIT %s", [sample])
        numbers = [row[0] for row in cursor.fetchall()]
    valid = sum(phonenumbers.is_valid_number(phonenumbers.parse(n, None)) for n in numbers)
    return valid / max(1, len(numbers))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--touches", type=int, default=5_000_000)
    parser.add_argument("--accounts", type=int, help="default: a tenth of the contacts")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--chunk", type=int, default=250_000, help="rows per CSV chunk")
    parser.add_argument(
        "--keep-indexes", action="store_true", help="load into the indexed tables (slower; for comparison)"
    )
    args = parser.parse_args(argv)
    if args.contacts < 100 or args.touches < TIMELINE_TOUCHES:
        parser.error(f"at least 100 contacts and {TIMELINE_TOUCHES} touches")
    accounts_count = args.accounts or max(10, args.contacts // 10)

    django_setup()
    from django.core.management import call_command
    from django.db import connection

    with step("database"):
        name = recreate_database()
        log(f"  {name} created")
    with step("migrate"):
        call_command("migrate", verbosity=0)
    with step("company, users, purposes and guard rules"):
        company = seed_company()
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO off")
        cursor.execute("SET maintenance_work_mem TO '1GB'")
    schema = schema_of(LOADED_TABLES)
    if not args.keep_indexes:
        schema_drop(schema)
        log(f"  dropped {len(schema.indexes)} indexes and {len(schema.constraints)} constraints for the load")

    rng = np.random.default_rng(args.seed)
    now = int(datetime.now(UTC).timestamp())
    pools = name_pools(rng)
    with step("accounts"):
        accounts = load_accounts(rng, accounts_count, pools, company, now, args.chunk)
    with step("contacts"):
        contacts, people = load_contacts(rng, args.contacts, accounts, pools, company, now, args.chunk)
    with step("contact e-mails"):
        emails = load_emails(rng, people, accounts, args.chunk)
    with step("contact phones"):
        phones = load_phones(rng, people, args.chunk)
    del people
    with step("touches"):
        load_touches(rng, args.touches, contacts, company, now, args.chunk)
    if not args.keep_indexes:
        for table in LOADED_TABLES:
            with step(f"indexes and constraints of {table}"):
                schema_restore(schema, table)
        if schema_of(LOADED_TABLES) != schema:
            raise SystemExit("The schema after the load differs from the migrated one.")
        log("  schema identical to the migrated one")
    with step("sequences and ANALYZE"), connection.cursor() as cursor:
        for table in LOADED_TABLES:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence(%s, 'id'), (SELECT max(id) FROM {table}))",
                [table],
            )
        cursor.execute("ANALYZE")

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, pg_size_pretty(pg_total_relation_size(oid)) FROM pg_class WHERE relname = ANY(%s)",
            [list(LOADED_TABLES)],
        )
        sizes = dict(cursor.fetchall())
    log(f"phones valid per phonenumbers (sample): {check_phones():.1%}")
    total = time.perf_counter() - _START
    print()
    print(f"Dataset in {name}: seed {args.seed}")
    print(f"  accounts {accounts_count:>12,}  {sizes['contacts_account']:>9}")
    print(f"  contacts {args.contacts:>12,}  {sizes['contacts_contact']:>9}")
    print(f"  e-mails  {emails:>12,}  {sizes['contacts_contactemail']:>9}")
    print(f"  phones   {phones:>12,}  {sizes['contacts_contactphone']:>9}")
    print(f"  touches  {args.touches:>12,}  {sizes['contacts_touch']:>9}")
    print(f"  timeline contact: id {contacts.timeline_contact} ({TIMELINE_TOUCHES} touches, {BENCH_EMAIL})")
    print()
    print("| step | seconds |\n|---|---:|")
    for step_name, seconds in TIMINGS.items():
        print(f"| {step_name} | {seconds:.1f} |")
    print(f"| **total (wall clock)** | **{total:.1f}** |")


if __name__ == "__main__":
    main()
