"""Build the benchmarks' dataset in PostgreSQL, fast: contacts and touches, and orders with their history.

    .venv/bin/python -m bench.datagen --contacts 1000000 --touches 5000000
    .venv/bin/python -m bench.datagen --contacts 20000 --touches 100000      # a quick run
    .venv/bin/python -m bench.datagen --orders 1000000 --lines 5000000       # everything (issue #10)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sfa_bench_orders \
        .venv/bin/python -m bench.datagen --orders-only --orders 1000000 --lines 5000000

The database named by ``DATABASE_URL`` (default ``postgres://postgres@127.0.0.1:5432/sfa_bench``; only
names starting with ``sfa_bench`` are accepted, since it is dropped) is created anew and migrated. The demo
company (departments, teams, users, password as for the demo) and the purposes with their guard rules are
made by the demo's own steps, through the services. Then accounts, contacts, their e-mails and phones and
the touches are drawn with numpy from a fixed seed and loaded with ``COPY ... FROM STDIN``: a generator
writes CSV chunk by chunk into an in-memory buffer that psycopg2's ``copy_expert`` reads, so only one chunk
of text is ever in memory.

The orders section (``--orders N``, ``--lines M``, default five lines an order) adds the demo catalog plus
generated products (``--products``), three warehouses, VAT rates, monthly GBP rates and the order settings
through the apps' services, then ``--years`` of orders: every order gets a whole timeline drawn up front
(confirmed, allocated, shipped in one or two shipments, delivered, closed; some cancelled before shipping,
some returned), and what lies after now has not happened yet, which leaves the newest orders open and the
late ones flagged at risk as ``orders.delays`` would. Lines, reservations and stock levels, order events,
shipments and their lines, the sales ledger (``SalesEntry``: booked on ``ordered_on``, delivered per
shipment, cancellations and returns reversed, amounts in the base currency at the booking day's rate) and
the ``DeliveryStat`` rollup follow from the timelines; the ledger and the rollup are row for row what
``orders.ledger.ledger_rebuild`` and ``delivery_stats_rebuild`` make of the same orders. These tables are
loaded in PostgreSQL's binary COPY format, whose rows numpy assembles as bytes: no cell passes through
Python. ``--orders-only`` keeps the database (creating it when missing) and rebuilds only this section;
when the database has no contacts yet it first makes accounts and contacts (no e-mails, phones, touches).

Loading is fastest into bare tables: the secondary indexes, unique and foreign-key constraints of the
loaded tables are read back from pg_catalog as migrate made them, dropped, and recreated after the load
from those very definitions (the run checks that the catalog ends identical; a failed load restores them
too). ``COPY ... FREEZE`` after a ``TRUNCATE`` in the same transaction writes the rows frozen and
all-visible, so no VACUUM pass is needed; ANALYZE ends the run. One contact, with the e-mail
``BENCH_EMAIL``, has exactly 200 touches: the contacts benchmark opens its page.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import time
from collections import defaultdict
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
        names = ", ".join(f'"{column}"' for column in columns)  # SalesEntry has a column named "on"
        sql = f"COPY {table} ({names}) FROM STDIN WITH (FORMAT csv, FREEZE true)"
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
        if value is not None:  # a column left out of the COPY is NULL
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


# Encoders are most of a load's time. A column whose values span a small range is encoded through a table
# of its strings (one fancy-indexing step); dates and times through tables of days and of seconds in a day.
LOOKUP_RANGE = 200_000


def lookup(values: np.ndarray, render: Callable[[np.ndarray], np.ndarray]) -> tuple[int, np.ndarray] | None:
    """(lowest value, rendering of every value from it to the highest), when the range is small."""
    if not len(values):
        return None
    low, high = int(values.min()), int(values.max())
    if high - low > LOOKUP_RANGE:
        return None
    return low, np.asarray(render(np.arange(low, high + 1)), dtype=object)


def ints(values: np.ndarray) -> Encoder:
    table = lookup(values, lambda v: v.astype(str))
    if table is None:
        return lambda part: list(map(str, values[part].tolist()))
    low, strings = table
    return lambda part: strings[values[part] - low].tolist()


def nullable_ints(values: np.ndarray) -> Encoder:
    """Zero stands for NULL (an unquoted empty field)."""
    table = lookup(values, lambda v: np.where(v > 0, v.astype(str), ""))
    if table is None:
        return lambda part: [str(v) if v > 0 else "" for v in values[part].tolist()]
    low, strings = table
    return lambda part: strings[values[part] - low].tolist()


def coded(vocabulary: np.ndarray, codes: np.ndarray) -> Encoder:
    return lambda part: vocabulary[codes[part]].tolist()


def texts(values: np.ndarray) -> Encoder:
    return lambda part: values[part].tolist()


def day_strings(days: np.ndarray) -> np.ndarray:
    return np.datetime_as_string(days.astype("datetime64[D]"))


def dates(days: np.ndarray) -> Encoder:
    """Days since 1970 as ISO dates; a negative value stands for NULL."""
    table = lookup(days, lambda d: np.where(d >= 0, day_strings(np.maximum(d, 0)), ""))
    if table is None:
        return lambda part: np.where(days[part] >= 0, day_strings(days[part]), "").tolist()
    low, strings = table
    return lambda part: strings[days[part] - low].tolist()


_TIMES_OF_DAY: list[np.ndarray] = []


def times_of_day() -> np.ndarray:
    """ "T00:00:00Z" … "T23:59:59Z", made once."""
    if not _TIMES_OF_DAY:
        _TIMES_OF_DAY.append(
            np.array([f"T{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}Z" for s in range(DAY)], dtype=object)
        )
    return _TIMES_OF_DAY[0]


def timestamps(seconds: np.ndarray) -> Encoder:
    """Epoch seconds as ISO 8601 in UTC; a negative value stands for NULL."""
    days = seconds // DAY
    table = lookup(days, lambda d: day_strings(np.maximum(d, 0)))
    if table is None:

        def slow(part: slice) -> list[str]:
            text = np.datetime_as_string(seconds[part].astype("datetime64[s]"), timezone="UTC")
            return np.where(seconds[part] >= 0, text, "").tolist()

        return slow
    low, day_text = table
    clock = times_of_day()

    def encode(part: slice) -> list[str]:
        value = seconds[part]
        day = value // DAY
        text = day_text[day - low] + clock[value - day * DAY]
        if value.min() < 0:
            text[value < 0] = ""
        return text.tolist()

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


def canonical(schema: Schema) -> Schema:
    """``schema`` with casts and parentheses taken out of the definitions: PostgreSQL deparses the predicate of
    a partial index it was given as its own output with other casts (``status IN (…)`` of
    ``order_open_promise_idx``), the same index all the same."""

    def plain(definition: str) -> str:
        return re.sub(r"::[a-z ]+(\[\])?|[()\s]", "", definition)

    return Schema(
        indexes=tuple((t, n, plain(d)) for t, n, d in schema.indexes),
        constraints=tuple((t, n, k, plain(d)) for t, n, k, d in schema.constraints),
    )


def schema_missing(schema: Schema, tables: Sequence[str]) -> list[str]:
    """The indexes and unique constraints that the models of ``tables`` declare but ``schema`` lacks (a load
    that was killed between dropping and restoring them leaves a kept database so)."""
    from django.apps import apps
    from django.db import models

    present = {name for _, name, _ in schema.indexes} | {name for _, name, _, _ in schema.constraints}
    present |= {name.strip('"') for name in present}
    missing = []
    for model in apps.get_models():
        if model._meta.db_table in tables:
            declared = [index.name for index in model._meta.indexes]
            declared += [c.name for c in model._meta.constraints if isinstance(c, models.UniqueConstraint)]
            missing += [f"{model._meta.db_table}.{name}" for name in declared if name not in present]
    return missing


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


# --- Binary COPY, rows assembled by numpy (the orders section) ------------------------------------
#
# Formatting text is most of a CSV load's time: every cell passes through Python. PostgreSQL's binary COPY
# format takes integers, dates, times and numerics as fixed-width big-endian fields, so whole columns are
# converted by numpy and scattered into one byte buffer per chunk; texts come from small vocabularies
# (statuses, product names) and are scattered as byte ranges. The field widths follow the column types
# read from pg_attribute, so a bigint is written as 8 bytes and an integer as 4.

PG_EPOCH = 946_684_800  # 2000-01-01 in Unix seconds: PostgreSQL's binary dates and times count from it
COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
COPY_TRAILER = (-1).to_bytes(2, "big", signed=True)


@dataclass
class Column:
    """One column's values for ``copy_binary``.

    ``kind``: "int" (NULL below ``null_below``), "day" and "second" (days and seconds since 1970, NULL when
    negative), "hundredths" (a numeric with two places: cents, or percent × 100), "bool", "text" (codes
    into ``vocabulary``, whose None is NULL) or "digits" (a non-negative int as exactly ``width`` digits).
    """

    kind: str
    values: np.ndarray
    vocabulary: Sequence[str | None] = ()
    null_below: int | None = None
    width: int = 0


def b_ints(values: np.ndarray, nullable: bool = False) -> Column:
    """Integers; with ``nullable``, zero (and below) is NULL."""
    return Column("int", np.asarray(values, dtype=np.int64), null_below=1 if nullable else None)


def b_days(values: np.ndarray) -> Column:
    return Column("day", np.asarray(values, dtype=np.int64))


def b_seconds(values: np.ndarray) -> Column:
    return Column("second", np.asarray(values, dtype=np.int64))


def b_hundredths(values: np.ndarray) -> Column:
    return Column("hundredths", np.asarray(values, dtype=np.int64))


def b_bool(values: np.ndarray) -> Column:
    return Column("bool", np.asarray(values, dtype=bool))


def b_text(vocabulary: Sequence[str | None], codes: np.ndarray) -> Column:
    return Column("text", np.asarray(codes, dtype=np.int64), vocabulary=vocabulary)


def b_const(value: str, rows: int) -> Column:
    return Column("text", np.zeros(rows, dtype=np.int64), vocabulary=[value])


def b_digits(values: np.ndarray, width: int) -> Column:
    return Column("digits", np.asarray(values, dtype=np.int64), width=width)


def column_types(table: str) -> dict[str, str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute"
            " WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
            [table],
        )
        return dict(cursor.fetchall())


def numeric_fields(hundredths: np.ndarray) -> np.ndarray:
    """Numeric values with two decimal places in PostgreSQL's binary layout, 16 bytes each: four base-10000
    digits (weight 2, so below 10**12), leading and trailing zero digits included (the server strips them)."""
    magnitude = np.abs(hundredths)
    units = magnitude // 100
    if len(units) and int(units.max()) >= 10**12:
        raise SystemExit("a numeric value of 10**12 or more: widen numeric_fields")
    words = np.empty((len(hundredths), 8), dtype=">i2")
    words[:, 0], words[:, 1], words[:, 3] = 4, 2, 2  # ndigits, weight, dscale
    words[:, 2] = np.where(hundredths < 0, 0x4000, 0)  # sign
    words[:, 4] = units // 10**8
    words[:, 5] = units // 10**4 % 10**4
    words[:, 6] = units % 10**4
    words[:, 7] = magnitude % 100 * 100
    return words.view(np.uint8).reshape(-1, 16)


def field_bytes(column: Column, pg_type: str, part: slice) -> tuple[np.ndarray, np.ndarray | None]:
    """(length of each field, -1 for NULL; a fixed-width byte matrix of the values) for the rows of ``part``;
    the matrix is None for texts (written from their vocabulary)."""
    values = column.values[part]
    rows = len(values)
    if column.kind == "text":
        return np.zeros(rows, dtype=np.int64), None  # lengths come from the vocabulary
    if column.kind == "digits":
        powers = 10 ** np.arange(column.width - 1, -1, -1, dtype=np.int64)
        digits = (values[:, None] // powers % 10 + 48).astype(np.uint8)
        return np.full(rows, column.width, dtype=np.int64), digits
    null = np.zeros(rows, dtype=bool)
    if column.kind == "int":
        if column.null_below is not None:
            null = values < column.null_below
        dtype = {"bigint": ">i8", "integer": ">i4", "smallint": ">i2"}[pg_type]
        data = values.astype(dtype)
    elif column.kind == "day":
        null = values < 0
        data = (values - PG_EPOCH // DAY).astype(">i4")
    elif column.kind == "second":
        null = values < 0
        data = ((values - PG_EPOCH) * 1_000_000).astype(">i8")
    elif column.kind == "hundredths":
        matrix = numeric_fields(values)
        return np.full(rows, 16, dtype=np.int64), matrix
    elif column.kind == "bool":
        data = values.astype(np.uint8)
    else:
        raise ValueError(column.kind)
    width = data.dtype.itemsize
    return np.where(null, -1, width), data.view(np.uint8).reshape(rows, width)


def binary_chunk(columns: list[tuple[Column, str, list[bytes], np.ndarray]], part: slice) -> bytes:
    """The rows of ``part`` as binary COPY tuples."""
    rows = part.stop - part.start
    lengths, matrices = [], []
    for column, pg_type, _encoded, encoded_lengths in columns:
        length, matrix = field_bytes(column, pg_type, part)
        if column.kind == "text":
            length = encoded_lengths[column.values[part]]
        lengths.append(length)
        matrices.append(matrix)
    sizes = np.stack([4 + np.maximum(length, 0) for length in lengths], axis=1)
    row_size = 2 + sizes.sum(axis=1)
    row_start = np.concatenate([[0], np.cumsum(row_size)[:-1]])
    buffer = np.empty(int(row_size.sum()), dtype=np.uint8)
    count = np.frombuffer(len(columns).to_bytes(2, "big"), dtype=np.uint8)
    buffer[row_start[:, None] + np.arange(2)] = count
    field_start = row_start + 2
    for index, (column, _pg_type, encoded, _) in enumerate(columns):
        length = lengths[index]
        prefix = length.astype(">i4").view(np.uint8).reshape(rows, 4)
        buffer[field_start[:, None] + np.arange(4)] = prefix
        data_start = field_start + 4
        if column.kind == "text":
            joined, offsets = encoded
            size = np.maximum(length, 0)
            total = int(size.sum())
            if total:
                row = np.repeat(np.arange(rows), size)
                within = np.arange(total) - np.repeat(np.cumsum(size) - size, size)
                buffer[data_start[row] + within] = joined[offsets[column.values[part]][row] + within]
        else:
            matrix = matrices[index]
            present = length >= 0
            if present.all():
                buffer[data_start[:, None] + np.arange(matrix.shape[1])] = matrix
            elif present.any():
                buffer[data_start[present][:, None] + np.arange(matrix.shape[1])] = matrix[present]
        field_start = field_start + sizes[:, index]
    return buffer.tobytes()


class ByteChunkReader(io.RawIOBase):
    """A read-only binary file over a generator of byte chunks, for ``copy_expert``."""

    def __init__(self, chunks: Iterator[bytes]):
        self._chunks = chunks
        self._buffer = b""
        self._position = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes of the current chunk (short reads are fine for psycopg2); b"" at the end."""
        if self._position >= len(self._buffer):
            chunk = next(self._chunks, None)
            if chunk is None:
                return b""
            self._buffer, self._position = chunk, 0
        end = len(self._buffer) if size is None or size < 0 else min(len(self._buffer), self._position + size)
        data = self._buffer[self._position : end]
        self._position = end
        return data


def copy_binary(table: str, columns: dict[str, Column], rows: int, chunk_rows: int) -> None:
    """TRUNCATE and COPY ... (FORMAT binary, FREEZE) in one transaction. Columns not given are NULL, so every
    NOT NULL column must be given (the server says which one is not)."""
    from django.db import connection, transaction

    types = column_types(table)
    prepared = []
    for name, column in columns.items():
        if len(column.values) != rows:
            raise ValueError(f"{table}.{name}: {len(column.values)} values for {rows} rows")
        pg_type = types[name]
        encoded: Any = None
        encoded_lengths = np.zeros(0, dtype=np.int64)
        if column.kind == "text":
            prefix = b"\x01" if pg_type == "jsonb" else b""  # jsonb's binary format: a version byte, then text
            items = [None if v is None else prefix + v.encode() for v in column.vocabulary]
            encoded_lengths = np.array([-1 if b is None else len(b) for b in items], dtype=np.int64)
            joined = np.frombuffer(b"".join(b or b"" for b in items), dtype=np.uint8)
            offsets = np.concatenate([[0], np.cumsum(np.maximum(encoded_lengths, 0))[:-1]]).astype(np.int64)
            encoded = (joined, offsets)
        prepared.append((column, pg_type, encoded, encoded_lengths))

    def chunks() -> Iterator[bytes]:
        yield COPY_HEADER
        for start in range(0, rows, chunk_rows):
            part = slice(start, min(start + chunk_rows, rows))
            yield binary_chunk(prepared, part)
            log(f"  {table}: {part.stop:,} / {rows:,} rows")
        yield COPY_TRAILER

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {table} CASCADE")
        names = ", ".join(f'"{name}"' for name in columns)
        sql = f"COPY {table} ({names}) FROM STDIN WITH (FORMAT binary, FREEZE true)"
        cursor.cursor.copy_expert(sql, ByteChunkReader(chunks()), size=1 << 20)


# --- Orders: catalog, warehouses, taxes, three years of orders, their ledger and rollups ----------

CUSTOMER_TABLES = ("contacts_account", "contacts_contact")
ORDER_TABLES = (
    "orders_stocklevel",
    "orders_order",
    "orders_orderline",
    "orders_reservation",
    "orders_orderevent",
    "orders_shipment",
    "orders_shipmentline",
    "orders_salesentry",
    "orders_deliverystat",
)
VAT = {"DE": "19", "FR": "20", "GB": "20", "IT": "22"}  # the countries' standard rates
VAT_BY_CATEGORY = {("FR", "services"): "10", ("IT", "services"): "10"}  # reduced rates for services
WAREHOUSES = (  # code, name, country, priority; index = warehouse code in the arrays
    ("de-hamburg", "Hamburg central warehouse", "DE", 0),
    ("fr-lyon", "Lyon warehouse", "FR", 1),
    ("gb-leeds", "Leeds warehouse", "GB", 2),
)
CARRIERS = {
    "DE": ("DHL", "DPD", "GLS", "UPS"),
    "FR": ("Colissimo", "Chronopost", "DPD", "GLS"),
    "GB": ("Royal Mail", "DPD", "Parcelforce", "UPS"),
    "IT": ("BRT", "GLS", "Poste Italiane", "DHL"),
}
CANCEL_REASONS = (
    "Customer changed their mind",
    "Ordered twice by mistake",
    "Delivery date too late for the customer",
    "Credit check failed",
    "Replaced by a new order with other options",
)
ABANDONED = "Customer did not confirm the order"
RETURN_REASONS = (
    "Damaged in transit",
    "Wrong size",
    "Not as described",
    "Withdrawn within the 14 days",
    "Wrong item delivered",
)
# Generated products beside the demo catalog's: category slug -> (nouns, EUR price range, lead time, stocked)
EXTRA_PRODUCTS = {
    "car-accessories": (
        ("roof bars", "dash camera", "boot liner", "snow chains", "child seat", "seat covers", "jump starter"),
        (40, 900),
        5,
        True,
    ),
    "bikes": (("cargo e-bike", "folding e-bike", "e-mountain bike", "speed pedelec"), (1800, 5200), 21, False),
    "bike-accessories": (
        ("saddle", "light set", "mudguards", "rear rack", "bike computer", "frame bag", "child seat", "tyre"),
        (15, 350),
        5,
        True,
    ),
    "desks": (("standing desk", "meeting table", "desk frame", "corner desk"), (280, 1600), 10, True),
    "chairs": (("task chair", "meeting chair", "stool", "lounge chair"), (120, 950), 5, True),
    "storage": (("filing cabinet", "locker", "bookcase", "pedestal", "desk lamp"), (40, 700), 5, True),
    "services": (("installation", "maintenance visit", "training day", "service plan"), (60, 1500), 10, False),
}


@dataclass
class Catalog:
    """The products orders draw from; arrays are indexed by product code (0 … P-1)."""

    product_id: np.ndarray
    category_id: np.ndarray
    names: list[str]
    skus: list[str]
    price: dict[str, np.ndarray]  # currency -> current list price in cents
    lead_days: np.ndarray  # the product's lead time in working days
    stocked: np.ndarray  # has stock levels; otherwise made to order
    configurable: np.ndarray
    popularity: np.ndarray  # probabilities
    tax_bp: np.ndarray  # [country code, product code] -> rate in hundredths of a percent
    warehouse_ids: np.ndarray  # by index of WAREHOUSES
    fx_first_month: int  # months since 1970 of the first GBP rate
    fx_gbp: np.ndarray  # EUR per GBP × 1e6, one per month


def seed_orders_catalog(rng: np.random.Generator, company: Company, products: int, now: int, years: int) -> Catalog:
    """The demo catalog through its own step, more products through the catalog services up to ``products``,
    warehouses, tax rates, monthly GBP rates and the order settings (all idempotent)."""
    from decimal import Decimal

    from django.conf import settings

    from catalog import services
    from catalog.demo import demo_catalog
    from catalog.models import Category, Price, PriceList, Product
    from orders.models import ExchangeRate, TaxRate, Warehouse
    from orders.services import order_settings
    from sfa.demo import DemoContext

    demo_catalog(DemoContext(password=settings.SFA_DEMO_PASSWORD, log=lambda message: log(f"  {message}")))
    categories = {c.slug: c for c in Category.objects.all()}
    lists = {p.code: p for p in PriceList.objects.filter(code__in=["retail-eur", "retail-gbp", "retail-eur-2025"])}
    pending = max(0, products - Product.objects.count())
    kinds = list(EXTRA_PRODUCTS)
    made = 0
    for i in range(10_000):
        if made >= pending:
            break
        slug_of_category = kinds[i % len(kinds)]
        nouns, (low, high), lead, _stocked = EXTRA_PRODUCTS[slug_of_category]
        brand = BRAND_WORDS[(i // len(kinds)) % len(BRAND_WORDS)]
        noun = nouns[(i // len(kinds) // len(BRAND_WORDS) + i) % len(nouns)]
        name = f"{brand} {noun}"
        sku = f"GEN-{i + 1:04d}"
        if Product.objects.filter(sku=sku).exists():
            continue
        eur = Decimal(int(np.exp(rng.uniform(np.log(low), np.log(high)))))
        product = services.product_create(
            actor=None,
            slug=f"{slug_of_category}-{name}-{i + 1}".lower().replace(" ", "-"),
            sku=sku,
            name=name,
            category=categories[slug_of_category],
            summary=f"{name.capitalize()} for every day.",
            base_lead_time_days=int(lead + rng.integers(0, 6)),
        )
        for code, factor in (("retail-eur", "1"), ("retail-gbp", "0.88"), ("retail-eur-2025", "0.96")):
            amount = (eur * Decimal(factor)).quantize(Decimal("1"))
            services.price_set(product=product, price_list=lists[code], amount=amount, actor=None)
        made += 1
    log(f"  {made} products generated; {Product.objects.count()} in the catalog")

    for code, name, country, priority in WAREHOUSES:
        Warehouse.objects.get_or_create(code=code, defaults={"name": name, "country": country, "priority": priority})
    for country, rate in VAT.items():
        TaxRate.objects.get_or_create(country=country, category=None, defaults={"rate": Decimal(rate)})
    for (country, slug), rate in VAT_BY_CATEGORY.items():
        TaxRate.objects.get_or_create(country=country, category=categories[slug], defaults={"rate": Decimal(rate)})
    order_settings()

    today = np.datetime64(now // DAY, "D")
    first_month = int(today.astype("datetime64[M]").astype(int)) - 12 * years - 1
    months = 12 * years + 2
    walk = 1.17 * np.exp(np.cumsum(rng.normal(0, 0.012, months)))  # EUR per GBP, a gentle random walk
    fx = np.round(walk * 1e6).astype(np.int64)
    for k in range(months):
        day = np.datetime64(first_month + k, "M").astype("datetime64[D]").item()
        ExchangeRate.objects.get_or_create(
            currency="GBP", valid_from=day, defaults={"rate": Decimal(int(fx[k])) / Decimal(1_000_000)}
        )
    stored = dict(
        ExchangeRate.objects.filter(currency="GBP").values_list("valid_from", "rate")
    )  # a kept database keeps its rates
    fx = np.array(
        [
            int(stored[np.datetime64(first_month + k, "M").astype("datetime64[D]").item()] * 1_000_000)
            for k in range(months)
        ]
    )

    rows = list(
        Product.objects.filter(is_active=True)
        .order_by("id")
        .values_list("id", "category_id", "category__slug", "name", "sku", "is_configurable", "base_lead_time_days")
    )
    prices = {
        (product, code): int(amount * 100)
        for product, code, amount in Price.objects.filter(
            price_list__code__in=["retail-eur", "retail-gbp"]
        ).values_list("product_id", "price_list__code", "amount")
    }
    rows = [r for r in rows if (r[0], "retail-eur") in prices and (r[0], "retail-gbp") in prices]
    ids = np.array([r[0] for r in rows])
    eur = np.array([prices[(r[0], "retail-eur")] for r in rows])
    gbp = np.array([prices[(r[0], "retail-gbp")] for r in rows])
    configurable = np.array([r[5] for r in rows])
    is_service = np.array([r[4].startswith("SRV-") or (r[4].startswith("GEN-") and r[2] == "services") for r in rows])
    generated_bikes = np.array([r[4].startswith("GEN-") and r[2] == "bikes" for r in rows])
    stocked = ~configurable & ~is_service & ~generated_bikes
    # Cheap things sell more often; a little noise so that neighbours in price differ.
    popularity = (eur / 100.0) ** -0.55 * rng.lognormal(0, 0.5, len(rows))

    by_id = {c.id: c for c in categories.values()}

    def rate_for(country: str, category_id: int) -> str:
        category = by_id[category_id]
        while category is not None:
            if (country, category.slug) in VAT_BY_CATEGORY:
                return VAT_BY_CATEGORY[(country, category.slug)]
            category = by_id.get(category.parent_id)
        return VAT[country]

    tax_bp = np.array([[int(Decimal(rate_for(c, r[1])) * 100) for r in rows] for c in COUNTRIES])
    warehouses = dict(Warehouse.objects.values_list("code", "id"))
    return Catalog(
        product_id=ids,
        category_id=np.array([r[1] for r in rows]),
        names=[r[3] for r in rows],
        skus=[r[4] for r in rows],
        price={"EUR": eur, "GBP": gbp},
        lead_days=np.array([r[6] for r in rows]),
        stocked=stocked,
        configurable=configurable,
        popularity=popularity / popularity.sum(),
        tax_bp=tax_bp,
        warehouse_ids=np.array([warehouses[w[0]] for w in WAREHOUSES]),
        fx_first_month=first_month,
        fx_gbp=fx,
    )


@dataclass
class Customers:
    """Accounts and contacts as they are in the database (generated now or before)."""

    account_id: np.ndarray
    account_owner: np.ndarray
    account_country: np.ndarray  # codes into COUNTRIES
    account_segment: np.ndarray  # codes into SEGMENTS
    contact_id: np.ndarray
    contact_account: np.ndarray  # index into account_id, -1 for none
    contact_owner: np.ndarray
    contact_country: np.ndarray


def read_customers() -> Customers:
    from django.db import connection

    from contacts.models import Account

    segments = ["", *Account.Segment.values]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, owner_id, coalesce(array_position(%s::text[], country), 1) - 1,"
            " coalesce(array_position(%s::text[], segment), 1) - 1 FROM contacts_account ORDER BY id",
            [list(COUNTRIES), segments],
        )
        accounts = np.array(cursor.fetchall(), dtype=np.int64).reshape(-1, 4)
        cursor.execute(
            "SELECT id, coalesce(account_id, 0), owner_id, coalesce(array_position(%s::text[], country), 1) - 1"
            " FROM contacts_contact ORDER BY id",
            [list(COUNTRIES)],
        )
        contacts = np.array(cursor.fetchall(), dtype=np.int64).reshape(-1, 4)
    account_index = np.searchsorted(accounts[:, 0], contacts[:, 1])
    has_account = contacts[:, 1] > 0
    return Customers(
        account_id=accounts[:, 0],
        account_owner=accounts[:, 1],
        account_country=accounts[:, 2],
        account_segment=accounts[:, 3],
        contact_id=contacts[:, 0],
        contact_account=np.where(has_account, account_index, -1),
        contact_owner=contacts[:, 2],
        contact_country=contacts[:, 3],
    )


def money(cents: np.ndarray) -> Encoder:
    """Cents (or hundredths of a percent) as a decimal with two places; exact, as cents stay below 2**53."""
    table = lookup(cents, lambda c: [f"{v / 100:.2f}" for v in c.tolist()])
    if table is None:
        return lambda part: [f"{c / 100:.2f}" for c in cents[part].tolist()]
    low, strings = table
    return lambda part: strings[cents[part] - low].tolist()


def money_few(cents: np.ndarray) -> Encoder:
    """``money`` for a column with few distinct values over a wide range (unit prices): through np.unique."""
    distinct, codes = np.unique(cents, return_inverse=True)
    return coded(np.array([f"{v / 100:.2f}" for v in distinct.tolist()], dtype=object), codes)


def round_div(numerator: np.ndarray, denominator: int) -> np.ndarray:
    """Integer division rounding half away from zero, as Decimal's ROUND_HALF_UP does."""
    return np.sign(numerator) * ((np.abs(numerator) + denominator // 2) // denominator)


def working_days_add(day: np.ndarray, count: np.ndarray) -> np.ndarray:
    """``count`` working days (Monday to Friday) after ``day``; a weekend day counts from the Friday before."""
    weekday = (day + 3) % 7  # 0 = Monday; 1 January 1970 was a Thursday
    day = day - np.maximum(weekday - 4, 0)
    weekday = np.minimum(weekday, 4)
    return day + count // 5 * 7 + count % 5 + np.where(weekday + count % 5 >= 5, 2, 0)


def seconds_between(rng: np.random.Generator, low: float, high: float, size: int) -> np.ndarray:
    return rng.integers(int(low), int(high), size=size)


def pick_within(rng: np.random.Generator, start: np.ndarray, count: np.ndarray) -> np.ndarray:
    """A random index in [start, start + count) for each pair (count > 0)."""
    return start + (rng.random(len(start)) * count).astype(np.int64)


@dataclass
class OrderRun:
    """Counts of what the orders section wrote, for the summary."""

    counts: dict[str, int]
    statuses: dict[str, int]
    at_risk: int
    on_time_share: float
    numbers: int  # the last order number given out


def load_orders(
    rng: np.random.Generator,
    count: int,
    lines: int,
    customers: Customers,
    catalog: Catalog,
    company: Company,
    now: int,
    years: int,
    chunk: int,
) -> OrderRun:
    """``count`` orders over ``years`` years with ``lines`` lines, and everything their history wrote.

    Each order gets a full timeline drawn up front (created, confirmed, allocated, shipped in one or two
    shipments, delivered, closed; or cancelled before shipping; or returned after delivery); what lies
    after ``now`` has not happened yet, which is what leaves the recent orders open and the late ones at
    risk. Rows are then derived from the timelines: statuses, dates, events, shipments, reservations and
    stock, the ledger (booked on ordered_on, delivered per shipment, reversals) and the delivery rollup.
    """
    from contacts.models import Account
    from orders.models import Order, SalesEntry

    statuses = list(Order.Status.values)
    code = {s: i for i, s in enumerate(statuses)}
    today = now // DAY
    n, m = count, lines

    # --- When: more orders every year, few at weekends, a summer and Christmas dip; ids follow time.
    days = np.arange(today - years * 365 + 1, today + 1)
    weekday = (days + 3) % 7
    month = days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) % 12
    season = np.array([0.9, 1.0, 1.1, 1.05, 1.0, 1.0, 0.9, 0.75, 1.05, 1.1, 1.1, 0.85])[month]
    weights = np.exp(0.22 * (days - days[0]) / 365) * np.select([weekday < 5, weekday == 5], [1.0, 0.1], 0.03)
    weights = weights * season
    ordered_day = rng.choice(days, size=n, p=weights / weights.sum())
    created = ordered_day * DAY + rng.integers(7 * 3600, 18 * 3600, size=n)
    is_today = ordered_day == today
    created[is_today] = today * DAY + (rng.random(int(is_today.sum())) * max(1, now - today * DAY - 1)).astype(int)
    order = np.argsort(created, kind="stable")
    ordered_day, created = ordered_day[order], created[order]
    ids = np.arange(1, n + 1)

    # --- Who: mostly accounts (a few big customers), some consumers; the customer's owner sells.
    accounts_count, contacts_count = len(customers.account_id), len(customers.contact_id)
    consumers = np.flatnonzero(customers.contact_account < 0)
    b2b = rng.random(n) < (0.85 if len(consumers) else 1.0)
    if accounts_count == 0:
        b2b[:] = False
    size = rng.lognormal(0, 1.5, max(1, accounts_count))
    account = np.where(b2b, rng.choice(max(1, accounts_count), size=n, p=size / size.sum()), -1)
    with_account = np.flatnonzero(customers.contact_account >= 0)
    by_account = with_account[np.argsort(customers.contact_account[with_account], kind="stable")]
    per_account = np.bincount(customers.contact_account[with_account], minlength=max(1, accounts_count))
    first_of_account = np.concatenate([[0], np.cumsum(per_account)[:-1]])
    acc = np.maximum(account, 0)
    named_contact = b2b & (per_account[acc] > 0) & (rng.random(n) < 0.7)
    contact = np.full(n, -1)
    contact[named_contact] = by_account[
        pick_within(rng, first_of_account[acc[named_contact]], per_account[acc[named_contact]])
    ]
    if len(consumers):
        loyalty = rng.lognormal(0, 1.0, len(consumers))
        contact[~b2b] = consumers[rng.choice(len(consumers), size=int((~b2b).sum()), p=loyalty / loyalty.sum())]
    account_id = np.where(b2b, customers.account_id[acc] if accounts_count else 0, 0)
    contact_id = np.where(contact >= 0, customers.contact_id[np.maximum(contact, 0)] if contacts_count else 0, 0)
    owner = np.where(b2b, customers.account_owner[acc] if accounts_count else 0, 0)
    owner[~b2b] = customers.contact_owner[contact[~b2b]]
    country = np.where(b2b, customers.account_country[acc] if accounts_count else 0, 0)
    country[~b2b] = customers.contact_country[contact[~b2b]]
    segment = np.where(b2b, customers.account_segment[acc] if accounts_count else 0, 0)
    gbp = country == COUNTRIES.index("GB")

    # --- Lines: 1 to 40 per order, skewed (most orders have a few), exactly ``lines`` in all.
    mean_extra = max(0.0, m / n - 1)
    per_order = 1 + (rng.negative_binomial(1.5, 1.5 / (1.5 + mean_extra), n) if mean_extra else np.zeros(n, int))
    per_order = np.minimum(per_order, 40)
    while (gap := m - int(per_order.sum())) != 0:
        if gap > 0:
            np.add.at(per_order, rng.choice(np.flatnonzero(per_order < 40), size=gap), 1)
        else:
            shrinkable = np.flatnonzero(per_order > 1)
            np.subtract.at(per_order, rng.choice(shrinkable, size=min(-gap, len(shrinkable)), replace=False), 1)
    start = np.concatenate([[0], np.cumsum(per_order)[:-1]])
    line_order = np.repeat(np.arange(n), per_order)
    position = np.arange(m) - start[line_order] + 1
    product = rng.choice(len(catalog.product_id), size=m, p=catalog.popularity)

    # Prices of the year of the order (4 % a year lower going back), options on configurable products.
    year = ordered_day.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
    this_year = int(np.datetime64(today, "D").astype("datetime64[Y]").astype(np.int64)) + 1970
    factor = 0.96 ** np.maximum(0, this_year - year)[line_order]
    list_price = np.where(gbp[line_order], catalog.price["GBP"][product], catalog.price["EUR"][product])
    options = np.where(catalog.configurable[product], rng.uniform(1.0, 1.6, m), 1.0)
    unit = np.round(list_price * factor * options / 100).astype(np.int64) * 100
    quantity = np.where(
        unit >= 200_000,
        np.where(rng.random(m) < 0.1, rng.integers(2, 6, m), 1),
        np.where(unit >= 20_000, rng.geometric(0.55, m), rng.geometric(0.22, m)),
    )
    quantity = np.minimum(quantity * np.where(segment[line_order] == 1, rng.integers(1, 4, m), 1), 500)
    line_discount = np.where(rng.random(m) < 0.3, rng.choice([200, 300, 500, 500, 800, 1000, 1000, 1500, 2000], m), 0)
    order_discount = np.where(rng.random(n) < 0.15, rng.choice([200, 300, 500, 500, 750, 1000], n), 0)
    tax_bp = catalog.tax_bp[country[line_order], product]
    gross = round_div(quantity * unit * (10_000 - line_discount), 10_000)
    subtotal = np.add.reduceat(gross, start)
    discount_total = round_div(subtotal * order_discount, 10_000)
    net = round_div(gross * (10_000 - order_discount[line_order]), 10_000)
    tax = round_div(net * tax_bp, 10_000)
    tax_total = np.add.reduceat(tax, start)
    total = subtotal - discount_total + tax_total
    options_lead = np.where(catalog.configurable[product], rng.integers(0, 15, m), 0)
    lead_time = catalog.lead_days[product] + options_lead
    stocked = catalog.stocked[product]
    # The promise (orders.promise): in stock, 1 day to pick and pack + 2 in transit; else lead time + 2.
    need = np.where(stocked, 3, lead_time + 2)
    order_need = np.maximum.reduceat(need, start)
    all_stocked = np.minimum.reduceat(stocked.astype(np.int8), start).astype(bool)

    # --- The timeline of every order, as if nothing were cut off by ``now``.
    hour = 3600
    quick = rng.random(n) < 0.65
    confirmed = created + np.where(quick, rng.integers(600, 4 * hour, n), rng.integers(1, 4, n) * DAY)
    promised = working_days_add(confirmed // DAY, order_need)
    roll = rng.random(n)
    delay = np.select(
        [roll < 0.80, roll < 0.94], [-rng.integers(0, 3, n), rng.integers(1, 6, n)], rng.integers(6, 25, n)
    )
    ship_last = (promised - rng.integers(2, 4, n) + delay) * DAY + rng.integers(13 * hour, 17 * hour, n)
    ship_last = np.maximum(ship_last, confirmed + 2 * hour)
    split = (per_order >= 2) & (rng.random(n) < 0.15)
    ship_first = np.where(split, np.minimum(confirmed + rng.integers(1, 4, n) * DAY, ship_last - DAY), ship_last)
    split &= ship_first > confirmed + hour
    ship_first = np.where(split, ship_first, ship_last)
    allocated = np.where(
        all_stocked,
        confirmed + rng.integers(hour // 2, 6 * hour, n),
        ship_first - rng.integers(1, 6, n) * DAY + rng.integers(-3 * hour, 3 * hour, n),
    )
    allocated = np.clip(allocated, confirmed + hour // 2, ship_first - hour // 2)
    arrive_first = ship_first + rng.integers(1, 4, n) * DAY - rng.integers(0, 5 * hour, n)
    arrive_last = np.where(split, ship_last + rng.integers(1, 4, n) * DAY - rng.integers(0, 5 * hour, n), arrive_first)
    delivered = np.maximum(arrive_first, arrive_last)
    closed = np.where(rng.random(n) < 0.95, delivered + rng.integers(5, 31, n) * DAY, -1)
    fate = rng.random(n)
    abandoned = fate < 0.01
    cancel_share = np.where(abandoned, 0.0, rng.random(n))
    cancelled = np.select(
        [abandoned, fate < 0.035],
        [created + rng.integers(14, 31, n) * DAY, created + (cancel_share * (ship_first - created)).astype(np.int64)],
        -1,
    )
    returned = np.where((fate >= 0.035) & (fate < 0.05), delivered + rng.integers(2, 31, n) * DAY, -1)

    def happened(t: np.ndarray) -> np.ndarray:
        """``t`` where it is not in the future, not after a cancellation and not on an abandoned draft, else -1."""
        cut = abandoned | ((cancelled >= 0) & (cancelled <= now) & (t > cancelled))
        return np.where(cut | (t > now) | (t < 0), -1, t)

    t_confirm = happened(confirmed)
    t_alloc = happened(allocated)
    t_ship_first = happened(ship_first)
    t_ship_last = happened(ship_last)
    t_arrive_first = happened(arrive_first)
    t_arrive_last = happened(arrive_last)
    t_deliver = happened(delivered)
    t_return = np.where((returned >= 0) & (returned <= now), returned, -1)
    t_close = happened(np.where((t_return >= 0) & (closed > t_return), -1, closed))
    t_cancel = np.where((cancelled >= 0) & (cancelled <= now), cancelled, -1)

    status = np.zeros(n, dtype=np.int64)
    for t, name in (
        (t_confirm, "confirmed"),
        (t_alloc, "allocated"),
        (np.where(split, t_ship_first, -1), "partially_shipped"),
        (t_ship_last, "shipped"),
        (t_deliver, "delivered"),
        (t_close, "closed"),
        (t_cancel, "cancelled"),
        (t_return, "returned"),
    ):
        status[t >= 0] = code[name]
    promised_day = np.where(t_confirm >= 0, promised, -1)

    # --- At risk now (orders.delays): not allocated 3 working days before the promise, or not shipped by it.
    unallocated = status == code["confirmed"]
    open_unshipped = np.isin(status, [code["confirmed"], code["allocated"], code["partially_shipped"]])
    late = open_unshipped & (today > promised_day) & (now >= (promised_day + 1) * DAY + 6 * hour + 1800)
    warn_day = promised_day - 5  # three working days before, give or take a weekend
    warned = unallocated & ~late & (now >= warn_day * DAY + 6 * hour + 1800)
    risk_at = np.select(
        [late, warned],
        [(promised_day + 1) * DAY + 6 * hour + 1800, np.maximum(warn_day * DAY + 6 * hour + 1800, t_confirm)],
        -1,
    )
    risks: dict[str, int] = {"": 0}
    risk = np.zeros(n, dtype=np.int64)  # codes into the risk texts
    for i in np.flatnonzero(late | warned).tolist():
        day = np.datetime64(int(promised_day[i]), "D").item()
        if late[i]:
            text = f"Not shipped by the promised date {day:%d %b %Y}"
        else:
            text = f"Not allocated 3 working days before the promised date {day:%d %b %Y}"
        risk[i] = risks.setdefault(text, len(risks))

    # --- Events: one per step that happened, ids in the order they happened.
    operations, support = company.user_ids["operations"], company.user_ids["support"]
    cancel_from = np.where(t_confirm < 0, code["draft"], np.where(t_alloc < 0, code["confirmed"], code["allocated"]))
    return_from = np.where(t_close >= 0, code["closed"], code["delivered"])
    no_status = len(statuses)  # the empty from_status of the first event
    kinds = [  # (time, from status, to status, by, note code, shipment number)
        (created, np.full(n, no_status), code["draft"], owner, 0, 0),
        (t_confirm, code["draft"], code["confirmed"], owner, 0, 0),
        (t_alloc, code["confirmed"], code["allocated"], np.full(n, operations), 0, 0),
        (np.where(split, t_ship_first, -1), code["allocated"], code["partially_shipped"], np.full(n, operations), 0, 1),
        (
            t_ship_last,
            np.where(split, code["partially_shipped"], code["allocated"]),
            code["shipped"],
            np.full(n, operations),
            0,
            np.where(split, 2, 1),
        ),
        (t_deliver, code["shipped"], code["delivered"], np.zeros(n, np.int64), 0, 0),
        (t_close, code["delivered"], code["closed"], owner, 0, 0),
        (
            t_cancel,
            cancel_from,
            code["cancelled"],
            owner,
            np.where(abandoned, 1, 2 + rng.integers(0, len(CANCEL_REASONS), n)),
            0,
        ),
        (
            t_return,
            return_from,
            code["returned"],
            np.full(n, support),
            2 + len(CANCEL_REASONS) + rng.integers(0, len(RETURN_REASONS), n),
            0,
        ),
    ]
    parts: dict[str, list[np.ndarray]] = defaultdict(list)
    version = np.zeros(n, dtype=np.int64)
    updated = created.copy()
    for t, source, target, by, note, shipment in kinds:
        where = np.flatnonzero(t >= 0)
        version[where] += 1
        updated[where] = np.maximum(updated[where], t[where])
        parts["order"].append(where)
        parts["at"].append(t[where])
        parts["from"].append(np.broadcast_to(source, n)[where])
        parts["to"].append(np.full(len(where), target))
        parts["by"].append(np.broadcast_to(by, n)[where])
        parts["note"].append(np.broadcast_to(note, n)[where])
        parts["shipment"].append(np.broadcast_to(shipment, n)[where])
    event = {key: np.concatenate(value) for key, value in parts.items()}
    del parts
    by_time = np.argsort(event["at"], kind="stable")
    event = {key: value[by_time] for key, value in event.items()}
    events = len(by_time)
    notes = ["", ABANDONED, *CANCEL_REASONS, *RETURN_REASONS]
    event_data = ["{}", json.dumps({"shipment": 1}), json.dumps({"shipment": 2})]

    # --- Shipments: the first of a split order, then the last (or only) one; ids by shipping time.
    has_first = split & (t_ship_first >= 0)
    has_last = t_ship_last >= 0
    ship_order = np.concatenate([np.flatnonzero(has_first), np.flatnonzero(has_last)])
    ship_number = np.concatenate([np.ones(int(has_first.sum()), np.int64), np.where(split, 2, 1)[has_last]])
    ship_at = np.concatenate([t_ship_first[has_first], t_ship_last[has_last]])
    ship_arrived = np.concatenate([t_arrive_first[has_first], t_arrive_last[has_last]])
    by_time = np.argsort(ship_at, kind="stable")
    ship_order, ship_number, ship_at, ship_arrived = (
        ship_order[by_time],
        ship_number[by_time],
        ship_at[by_time],
        ship_arrived[by_time],
    )
    shipments = len(ship_order)
    shipment_id = np.zeros((n, 3), dtype=np.int64)  # [order, number] -> shipment id
    shipment_id[ship_order, ship_number] = np.arange(1, shipments + 1)
    carriers = [c for k in COUNTRIES for c in CARRIERS[k]]  # four per country
    carrier = country[ship_order] * 4 + rng.integers(0, 4, shipments)
    tracking = rng.integers(10**11, 10**12, shipments)

    # --- Lines in shipments, reservations, stock.
    o = line_order
    first_part = split[o] & (position <= per_order[o] // 2)
    line_shipped_at = np.where(first_part, t_ship_first[o], t_ship_last[o])
    line_arrived_at = np.where(first_part, t_arrive_first[o], t_arrive_last[o])
    line_shipment = np.where(first_part, shipment_id[o, 1], shipment_id[o, np.where(split[o], 2, 1)])
    line_shipment = np.where(line_shipped_at >= 0, line_shipment, 0)
    shipped_qty = np.where(line_shipped_at >= 0, quantity, 0)
    returned_qty = np.where(t_return[o] >= 0, shipped_qty, 0)
    open_status = np.isin(status[o], [code["confirmed"], code["allocated"], code["partially_shipped"]])
    reserved_qty = np.where(stocked & open_status & (line_shipped_at < 0), quantity, 0)
    gb, fr = COUNTRIES.index("GB"), COUNTRIES.index("FR")
    warehouse = np.where(country == gb, 2, np.where((country == fr) & (rng.random(n) < 0.7), 1, 0))
    line_warehouse = warehouse[o]
    line_ids = np.arange(1, m + 1)

    stocked_products = np.flatnonzero(catalog.stocked)
    cell = product * len(WAREHOUSES) + line_warehouse
    reserved_cells = np.bincount(cell, weights=reserved_qty, minlength=len(catalog.product_id) * len(WAREHOUSES))
    stock_product = np.repeat(stocked_products, len(WAREHOUSES))
    stock_warehouse = np.tile(np.arange(len(WAREHOUSES)), len(stocked_products))
    stock_reserved = reserved_cells[stock_product * len(WAREHOUSES) + stock_warehouse].astype(np.int64)
    short = rng.random(len(stock_product)) < 0.08  # some products are nearly out
    stock_on_hand = stock_reserved + np.where(
        short, rng.integers(0, 3, len(stock_product)), rng.integers(20, 3000, len(stock_product))
    )

    # --- The ledger (orders.ledger): booked on ordered_on, delivered per shipment, reversals.
    base = catalog.fx_first_month
    entries: dict[str, list[np.ndarray]] = defaultdict(list)
    kinds_of_entry = list(SalesEntry.Kind.values)
    bases = list(SalesEntry.Basis.values)
    ledger = [  # (lines, kind, basis, sign, when)
        (np.flatnonzero(t_confirm[o] >= 0), "booked", "booking", 1, t_confirm[o]),
        (np.flatnonzero(line_arrived_at >= 0), "delivered", "delivery", 1, line_arrived_at),
        (np.flatnonzero((t_cancel[o] >= 0) & (t_confirm[o] >= 0)), "cancelled", "booking", -1, t_cancel[o]),
        (np.flatnonzero(returned_qty > 0), "returned", "booking", -1, t_return[o]),
        (np.flatnonzero(returned_qty > 0), "returned", "delivery", -1, t_return[o]),
    ]
    for where, kind, basis, sign, when in ledger:
        entries["line"].append(where)
        entries["kind"].append(np.full(len(where), kinds_of_entry.index(kind)))
        entries["basis"].append(np.full(len(where), bases.index(basis)))
        entries["sign"].append(np.full(len(where), sign))
        entries["at"].append(when[where])
    entry = {key: np.concatenate(value) for key, value in entries.items()}
    del entries
    by_time = np.argsort(entry["at"], kind="stable")
    entry = {key: value[by_time] for key, value in entry.items()}
    e_line, e_order = entry["line"], o[entry["line"]]
    booked = entry["kind"] == kinds_of_entry.index("booked")
    entry_on = np.where(booked, ordered_day[e_order], entry["at"] // DAY)
    entry_units = entry["sign"] * np.where(
        entry["kind"] == kinds_of_entry.index("returned"), returned_qty[e_line], quantity[e_line]
    )
    entry_amount = entry["sign"] * net[e_line]
    # In the base currency at the rate of the booking day: deliveries and reversals carry the booked base
    # amount forward (orders.ledger), so that a return takes back exactly what was booked.
    booking_month = np.clip(
        ordered_day.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) - base,
        0,
        len(catalog.fx_gbp) - 1,
    )
    booking_fx = np.where(gbp, catalog.fx_gbp[booking_month], 1_000_000)
    entry_base = entry["sign"] * round_div(net[e_line] * booking_fx[e_order], 1_000_000)
    sales_entries = len(e_line)

    # --- The delivery rollup (orders.ledger.delivery_stats_rebuild): per product, owner and month of
    # delivery, each delivered order counted once per product it holds.
    products_count = len(catalog.product_id)
    pairs = np.unique(o[t_deliver[o] >= 0] * products_count + product[t_deliver[o] >= 0])
    pair_order, pair_product = pairs // products_count, pairs % products_count
    owner_ids, pair_owner = np.unique(owner[pair_order], return_inverse=True)
    delivered_day = t_deliver[pair_order] // DAY
    month_index = delivered_day.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    first_month = int(month_index.min()) if len(month_index) else 0
    key = ((month_index - first_month) * products_count + pair_product) * len(owner_ids) + pair_owner
    stat_keys, cell = np.unique(key, return_inverse=True)  # the cells that have a delivery, in key order
    stat_deliveries = np.bincount(cell, minlength=len(stat_keys))
    stat_on_time = np.bincount(cell, weights=delivered_day <= promised_day[pair_order], minlength=len(stat_keys))
    stat_days = np.bincount(cell, weights=delivered_day - ordered_day[pair_order], minlength=len(stat_keys))
    owners_count = max(1, len(owner_ids))
    stat_owner = owner_ids[stat_keys % owners_count] if len(owner_ids) else stat_keys
    stat_month_product = stat_keys // owners_count
    on_time_share = float(stat_on_time.sum() / max(1, stat_deliveries.sum()))
    del pairs, pair_order, pair_product, pair_owner, cell

    # --- COPY, parents first.
    copy_binary(
        "orders_stocklevel",
        {
            "id": b_ints(np.arange(1, len(stock_product) + 1)),
            "product_id": b_ints(catalog.product_id[stock_product]),
            "warehouse_id": b_ints(catalog.warehouse_ids[stock_warehouse]),
            "on_hand": b_ints(stock_on_hand),
            "reserved": b_ints(stock_reserved),
            "updated_at": b_seconds(np.full(len(stock_product), now)),
        },
        len(stock_product),
        chunk,
    )
    segments = ["", *Account.Segment.values]
    currencies = ["EUR", "GBP"]
    copy_binary(
        "orders_order",
        {
            "id": b_ints(ids),
            "number": b_text([f"SO-{i:06d}" for i in range(1, n + 1)], np.arange(n)),
            "account_id": b_ints(account_id, nullable=True),
            "contact_id": b_ints(contact_id, nullable=True),
            "owner_id": b_ints(owner),
            "status": b_text(statuses, status),
            "source": b_text(["manual", "api"], rng.random(n) < 0.3),
            "currency": b_text(currencies, gbp),
            "country": b_text(COUNTRIES, country),
            "region": b_const("", n),
            "segment": b_text(segments, segment),
            "discount_percent": b_hundredths(order_discount),
            "subtotal": b_hundredths(subtotal),
            "discount_total": b_hundredths(discount_total),
            "tax_total": b_hundredths(tax_total),
            "total": b_hundredths(total),
            "allow_backorder": b_bool(rng.random(n) < 0.03),
            "ordered_on": b_days(ordered_day),
            "promised_date": b_days(promised_day),
            "confirmed_at": b_seconds(t_confirm),
            "allocated_at": b_seconds(t_alloc),
            "shipped_at": b_seconds(t_ship_last),
            "delivered_at": b_seconds(t_deliver),
            "closed_at": b_seconds(t_close),
            "cancelled_at": b_seconds(t_cancel),
            "returned_at": b_seconds(t_return),
            "risk": b_text(list(risks), risk),
            "risk_flagged_at": b_seconds(risk_at),
            "external_ref": b_const("", n),
            "notes": b_const("", n),
            "version": b_ints(version),
            "created_at": b_seconds(created),
            "updated_at": b_seconds(updated),
        },
        n,
        chunk,
    )
    copy_binary(
        "orders_orderline",
        {
            "id": b_ints(line_ids),
            "order_id": b_ints(o + 1),
            "position": b_ints(position),
            "product_id": b_ints(catalog.product_id[product]),
            "category_id": b_ints(catalog.category_id[product]),
            "description": b_text(catalog.names, product),
            "sku": b_text(catalog.skus, product),
            "quantity": b_ints(quantity),
            "unit_price": b_hundredths(unit),
            "discount_percent": b_hundredths(line_discount),
            "tax_rate": b_hundredths(tax_bp),
            "net_amount": b_hundredths(net),
            "tax_amount": b_hundredths(tax),
            "lead_time_days": b_ints(lead_time),
            "quantity_reserved": b_ints(reserved_qty),
            "quantity_shipped": b_ints(shipped_qty),
            "quantity_returned": b_ints(returned_qty),
        },
        m,
        chunk,
    )
    reserving = np.flatnonzero(reserved_qty > 0)
    copy_binary(
        "orders_reservation",
        {
            "id": b_ints(np.arange(1, len(reserving) + 1)),
            "line_id": b_ints(line_ids[reserving]),
            "warehouse_id": b_ints(catalog.warehouse_ids[line_warehouse[reserving]]),
            "quantity": b_ints(reserved_qty[reserving]),
        },
        len(reserving),
        chunk,
    )
    copy_binary(
        "orders_orderevent",
        {
            "id": b_ints(np.arange(1, events + 1)),
            "order_id": b_ints(event["order"] + 1),
            "at": b_seconds(event["at"]),
            "by_id": b_ints(event["by"], nullable=True),
            "from_status": b_text([*statuses, ""], event["from"]),
            "to_status": b_text(statuses, event["to"]),
            "note": b_text(notes, event["note"]),
            "data": b_text(event_data, event["shipment"]),
        },
        events,
        chunk,
    )
    del event
    copy_binary(
        "orders_shipment",
        {
            "id": b_ints(np.arange(1, shipments + 1)),
            "order_id": b_ints(ship_order + 1),
            "number": b_ints(ship_number),
            "shipped_at": b_seconds(ship_at),
            "carrier": b_text(carriers, carrier),
            "tracking": b_digits(tracking, 12),
            "delivered_at": b_seconds(ship_arrived),
            "by_id": b_ints(np.full(shipments, operations)),
        },
        shipments,
        chunk,
    )
    in_shipment = np.flatnonzero(line_shipment > 0)
    copy_binary(
        "orders_shipmentline",
        {
            "id": b_ints(np.arange(1, len(in_shipment) + 1)),
            "shipment_id": b_ints(line_shipment[in_shipment]),
            "line_id": b_ints(line_ids[in_shipment]),
            "warehouse_id": b_ints(catalog.warehouse_ids[line_warehouse[in_shipment]]),
            "quantity": b_ints(quantity[in_shipment]),
        },
        len(in_shipment),
        chunk,
    )
    copy_binary(
        "orders_salesentry",
        {
            "id": b_ints(np.arange(1, sales_entries + 1)),
            "line_id": b_ints(e_line + 1),
            "order_id": b_ints(e_order + 1),
            "kind": b_text(kinds_of_entry, entry["kind"]),
            "basis": b_text(bases, entry["basis"]),
            "on": b_days(entry_on),
            "product_id": b_ints(catalog.product_id[product[e_line]]),
            "category_id": b_ints(catalog.category_id[product[e_line]]),
            "rep_id": b_ints(owner[e_order]),
            "region": b_const("", sales_entries),
            "segment": b_text(segments, segment[e_order]),
            "account_id": b_ints(account_id[e_order], nullable=True),
            "units": b_ints(entry_units),
            "amount": b_hundredths(entry_amount),
            "currency": b_text(currencies, gbp[e_order]),
            "amount_base": b_hundredths(entry_base),
            "created_at": b_seconds(entry["at"]),
        },
        sales_entries,
        chunk,
    )
    month_days = (stat_month_product // products_count + first_month).astype("datetime64[M]").astype("datetime64[D]")
    copy_binary(
        "orders_deliverystat",
        {
            "id": b_ints(np.arange(1, len(stat_keys) + 1)),
            "month": b_days(month_days.astype(np.int64)),
            "product_id": b_ints(catalog.product_id[stat_month_product % products_count]),
            "owner_id": b_ints(stat_owner),
            "deliveries": b_ints(stat_deliveries),
            "on_time": b_ints(stat_on_time.astype(np.int64)),
            "days_total": b_ints(stat_days.astype(np.int64)),
        },
        len(stat_keys),
        chunk,
    )
    return OrderRun(
        counts={
            "orders_stocklevel": len(stock_product),
            "orders_order": n,
            "orders_orderline": m,
            "orders_reservation": len(reserving),
            "orders_orderevent": events,
            "orders_shipment": shipments,
            "orders_shipmentline": len(in_shipment),
            "orders_salesentry": sales_entries,
            "orders_deliverystat": len(stat_keys),
        },
        statuses={s: int((status == i).sum()) for i, s in enumerate(statuses)},
        at_risk=int((late | warned).sum()),
        numbers=n,
        on_time_share=on_time_share,
    )


# --- The run -------------------------------------------------------------------------------------


def database_settings() -> tuple[dict, str]:
    from django.conf import settings

    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.postgresql":
        raise SystemExit(f"The benchmark runs on PostgreSQL; DATABASE_URL points to {db['ENGINE']}.")
    name = db["NAME"]
    if not name.startswith("sfa_bench"):
        raise SystemExit(f"Refusing to load into {name!r}: datagen only builds databases named sfa_bench*.")
    return db, name


def server_connection(db: dict) -> Any:
    import psycopg2

    conn = psycopg2.connect(
        host=db["HOST"] or None, port=db["PORT"] or None, user=db["USER"], password=db["PASSWORD"], dbname="postgres"
    )
    conn.autocommit = True
    return conn


def recreate_database() -> str:
    """Drop and create the benchmark database (only one named sfa_bench*), then return its name."""
    from psycopg2 import sql

    db, name = database_settings()
    conn = server_connection(db)
    with conn.cursor() as cursor:
        cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    conn.close()
    return name


def ensure_database() -> tuple[str, bool]:
    """Create the benchmark database when it does not exist; its name, and whether it was created."""
    from psycopg2 import sql

    db, name = database_settings()
    conn = server_connection(db)
    with conn.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        exists = cursor.fetchone() is not None
        if not exists:
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    conn.close()
    return name, not exists


def check_phones(sample: int = 2000) -> float:
    """The share of a random sample of the stored numbers that phonenumbers holds valid."""
    import phonenumbers
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT e164 FROM contacts_contactphone ORDER BY random() LIMIT %s", [sample])
        numbers = [row[0] for row in cursor.fetchall()]
    valid = sum(phonenumbers.is_valid_number(phonenumbers.parse(n, None)) for n in numbers)
    return valid / max(1, len(numbers))


def table_sizes(tables: Sequence[str]) -> dict[str, str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, pg_size_pretty(pg_total_relation_size(oid)) FROM pg_class WHERE relname = ANY(%s)",
            [list(tables)],
        )
        return dict(cursor.fetchall())


def load_sections(
    args: argparse.Namespace,
    tables: Sequence[str],
    rng: np.random.Generator,
    orders_rng: np.random.Generator,
    company: Company,
    catalog: Catalog | None,
    now: int,
) -> tuple[int, int, Contacts | None, OrderRun | None]:
    """COPY the sections asked for into the bare tables: e-mails, phones, the contacts and the orders' run."""
    emails = phones = 0
    contacts = None
    if "contacts_contact" in tables:
        everything = "contacts_touch" in tables
        accounts_count = args.accounts or max(10, args.contacts // 10)
        pools = name_pools(rng)
        with step("accounts"):
            accounts = load_accounts(rng, accounts_count, pools, company, now, args.chunk)
        with step("contacts"):
            contacts, people = load_contacts(rng, args.contacts, accounts, pools, company, now, args.chunk)
        if everything:
            with step("contact e-mails"):
                emails = load_emails(rng, people, accounts, args.chunk)
            with step("contact phones"):
                phones = load_phones(rng, people, args.chunk)
        del people
        if everything:
            with step("touches"):
                load_touches(rng, args.touches, contacts, company, now, args.chunk)
    run = None
    if catalog is not None:
        with step("customers read back"):
            customers = read_customers()
            log(f"  {len(customers.account_id):,} accounts, {len(customers.contact_id):,} contacts")
        with step("orders and everything they wrote"):
            run = load_orders(
                orders_rng, args.orders, args.lines, customers, catalog, company, now, args.years, args.chunk
            )
    return emails, phones, contacts, run


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--touches", type=int, default=5_000_000)
    parser.add_argument("--accounts", type=int, help="default: a tenth of the contacts")
    parser.add_argument("--orders", type=int, default=0, help="build the orders section too, with this many orders")
    parser.add_argument("--lines", type=int, help="order lines in all (default: five per order)")
    parser.add_argument("--products", type=int, default=200, help="products: the demo catalog's, then generated ones")
    parser.add_argument("--years", type=int, default=3, help="years of order history, ending today")
    parser.add_argument(
        "--orders-only",
        action="store_true",
        help="keep the database (created when missing) and rebuild only the orders section; accounts and "
        "contacts (without e-mails, phones and touches) are generated only when it has none",
    )
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--chunk", type=int, default=250_000, help="rows per CSV chunk")
    parser.add_argument(
        "--keep-indexes", action="store_true", help="load into the indexed tables (slower; for comparison)"
    )
    args = parser.parse_args(argv)
    if args.contacts < 100 or args.touches < TIMELINE_TOUCHES:
        parser.error(f"at least 100 contacts and {TIMELINE_TOUCHES} touches")
    args.lines = args.lines or 5 * args.orders
    if args.orders_only and args.orders < 1:
        parser.error("--orders-only needs --orders")
    if args.orders and args.lines < args.orders:
        parser.error("at least one line per order")
    accounts_count = args.accounts or max(10, args.contacts // 10)

    django_setup()
    from django.core.management import call_command
    from django.db import connection

    with step("database"):
        if args.orders_only:
            name, created = ensure_database()
            log(f"  {name} {'created' if created else 'kept'}")
        else:
            name = recreate_database()
            log(f"  {name} created")
    with step("migrate"):
        call_command("migrate", verbosity=0)
    with step("company, users, purposes and guard rules"):
        company = seed_company()
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO off")
        cursor.execute("SET maintenance_work_mem TO '1GB'")
        cursor.execute("SELECT EXISTS (SELECT 1 FROM contacts_contact)")
        has_customers = cursor.fetchone()[0]
    customers_section = not args.orders_only or not has_customers
    everything = not args.orders_only
    rng = np.random.default_rng(args.seed)
    orders_rng = np.random.default_rng([args.seed, 7])  # the same orders whether built alone or with the rest
    now = int(datetime.now(UTC).timestamp())
    catalog = None
    if args.orders:
        with step("catalog, warehouses, tax and exchange rates, order settings"):
            catalog = seed_orders_catalog(orders_rng, company, args.products, now, args.years)

    tables = (LOADED_TABLES if everything else CUSTOMER_TABLES) if customers_section else ()
    tables += ORDER_TABLES if args.orders else ()
    schema = schema_of(tables)
    if missing := schema_missing(schema, tables):
        raise SystemExit(
            f"{name} lacks {', '.join(missing)} (an interrupted load?): build it anew, without --orders-only."
        )
    if not args.keep_indexes:
        schema_drop(schema)
        log(f"  dropped {len(schema.indexes)} indexes and {len(schema.constraints)} constraints for the load")
    try:
        emails, phones, contacts, run = load_sections(args, tables, rng, orders_rng, company, catalog, now)
    except BaseException:
        if not args.keep_indexes:  # leave a kept database whole: the tables emptied, the schema as it was
            log("the load failed: emptying the loaded tables and restoring their indexes and constraints")
            connection.close()
            with connection.cursor() as cursor:
                cursor.execute(f"TRUNCATE {', '.join(tables)} CASCADE")
            for table in tables:
                schema_restore(schema, table)
        raise
    if not args.keep_indexes:
        for table in tables:
            with step(f"indexes and constraints of {table}"):
                schema_restore(schema, table)
        if canonical(schema_of(tables)) != canonical(schema):
            raise SystemExit("The schema after the load differs from the migrated one.")
        log("  schema identical to the migrated one")
    if run is not None:
        from orders.models import NumberSequence  # new orders are numbered after the loaded ones

        NumberSequence.objects.update_or_create(prefix="SO", defaults={"last": run.numbers})
    with step("sequences and ANALYZE"), connection.cursor() as cursor:
        for table in tables:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence(%s, 'id'), coalesce(max(id), 1), max(id) IS NOT NULL)"
                f" FROM {table}",
                [table],
            )
        cursor.execute("ANALYZE")

    sizes = table_sizes(tables)
    if everything:
        log(f"phones valid per phonenumbers (sample): {check_phones():.1%}")
    total = time.perf_counter() - _START
    print()
    print(f"Dataset in {name}: seed {args.seed}")
    if customers_section:
        print(f"  accounts {accounts_count:>12,}  {sizes['contacts_account']:>9}")
        print(f"  contacts {args.contacts:>12,}  {sizes['contacts_contact']:>9}")
    if everything:
        print(f"  e-mails  {emails:>12,}  {sizes['contacts_contactemail']:>9}")
        print(f"  phones   {phones:>12,}  {sizes['contacts_contactphone']:>9}")
        print(f"  touches  {args.touches:>12,}  {sizes['contacts_touch']:>9}")
        print(f"  timeline contact: id {contacts.timeline_contact} ({TIMELINE_TOUCHES} touches, {BENCH_EMAIL})")
    if run is not None:
        for table, rows in run.counts.items():
            print(f"  {table.removeprefix('orders_'):<14} {rows:>12,}  {sizes[table]:>9}")
        mix = ", ".join(f"{status} {rows / args.orders:.1%}" for status, rows in run.statuses.items())
        print(f"  order statuses: {mix}")
        print(
            f"  at risk now: {run.at_risk:,} orders; delivered on time: {run.on_time_share:.1%} (per order and product)"
        )
    print()
    print("| step | seconds |\n|---|---:|")
    for step_name, seconds in TIMINGS.items():
        print(f"| {step_name} | {seconds:.1f} |")
    print(f"| **total (wall clock)** | **{total:.1f}** |")


if __name__ == "__main__":
    main()
