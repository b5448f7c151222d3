"""Duplicates benchmark on PostgreSQL: the check on create, matching an import, and a full scan.

Targets (issue 4): the check on create <= 20 ms at p95; a 100,000-row import matched against 1,000,000
contacts <= 60 s; a full scan of 1,000,000 contacts <= 10 minutes.

    .venv/bin/python -m bench.datagen --contacts 1000000 --touches 5000000   # once
    .venv/bin/python -m bench.duplicates_bench [--import-rows 100000] [--skip-scan]

Uses DATABASE_URL (default postgres://postgres@127.0.0.1:5432/sfa_bench); migrates it and builds the
blocking keys of every contact (once) with COPY. Writes bench/results/duplicates.md.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import time
from pathlib import Path

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/sfa_bench")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sfa.settings.base")

import django

django.setup()

from django.core.management import call_command
from django.db import connection, transaction

from contacts.matching.engine import contact_candidates, contact_candidates_many
from contacts.matching.keys import person_keys
from contacts.matching.score import PersonRecord

RESULTS = Path(__file__).resolve().parent / "results" / "duplicates.md"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def build_keys() -> float:
    """Blocking keys of every contact, computed in Python and loaded with COPY (skipped if present)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM contacts_matchkey WHERE subject = 'contact')")
        if cursor.fetchone()[0]:
            return 0.0
    started = time.perf_counter()
    with transaction.atomic():
        _copy_keys(started)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE contacts_matchkey")
    return time.perf_counter() - started


def _copy_keys(started: float) -> None:
    connection.ensure_connection()
    raw = connection.connection
    read = raw.cursor(name="contacts_for_keys")
    read.itersize = 20000
    read.execute(
        "SELECT c.id, c.first_name, c.last_name, c.city, c.postcode, COALESCE(a.name, ''), "
        "COALESCE((SELECT string_agg(e.email, ' ') FROM contacts_contactemail e WHERE e.contact_id = c.id), ''), "
        "COALESCE((SELECT string_agg(p.e164, ' ') FROM contacts_contactphone p WHERE p.contact_id = c.id), '') "
        "FROM contacts_contact c LEFT JOIN contacts_account a ON a.id = c.account_id ORDER BY c.id"
    )
    write = raw.cursor()
    buffer, rows = io.StringIO(), 0
    for cid, first, last, city, postcode, company, emails, phones in read:
        record = PersonRecord(
            id=cid,
            first_name=first,
            last_name=last,
            city=city,
            postcode=postcode,
            company=company,
            emails=emails.split(),
            phones=phones.split(),
        )
        for key in person_keys(record):
            buffer.write(f"contact\t{cid}\t{key[:200].replace(chr(9), ' ').replace(chr(92), '')}\n")
        rows += 1
        if rows % 50000 == 0:
            buffer.seek(0)
            write.copy_from(buffer, "contacts_matchkey", columns=("subject", "object_id", "key"))
            buffer = io.StringIO()
            print(f"  keys for {rows:,} contacts ({time.perf_counter() - started:.0f} s)", flush=True)
    buffer.seek(0)
    write.copy_from(buffer, "contacts_matchkey", columns=("subject", "object_id", "key"))
    read.close()


def sample_people(n: int, rng: random.Random) -> list[PersonRecord]:
    """People as they arrive: half are existing contacts entered again with slips, half are new."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT max(id) FROM contacts_contact")
        top = cursor.fetchone()[0]
        ids = rng.sample(range(1, top + 1), n)
        cursor.execute(
            "SELECT c.id, c.first_name, c.last_name, c.city, c.postcode, "
            "(SELECT e.email FROM contacts_contactemail e WHERE e.contact_id = c.id LIMIT 1), "
            "(SELECT p.e164 FROM contacts_contactphone p WHERE p.contact_id = c.id LIMIT 1) "
            "FROM contacts_contact c WHERE c.id = ANY(%s)",
            [ids],
        )
        rows = cursor.fetchall()
    people = []
    for index, (_cid, first, last, city, postcode, email, phone) in enumerate(rows):
        if index % 2:  # a new person: another surname, no shared identifier
            people.append(PersonRecord(id=f"n{index}", first_name=first, last_name=last[::-1] + "son", city=city))
            continue
        keep_email = rng.random() < 0.6
        people.append(
            PersonRecord(
                id=f"e{index}",
                first_name=first if rng.random() < 0.9 else first[:1] + ".",
                last_name=last.upper(),
                emails=[email.upper()] if email and keep_email else [],
                phones=[phone] if phone and (not keep_email or rng.random() < 0.5) else [],
                city=city,
                postcode=postcode,
            )
        )
    return people


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--import-rows", type=int, default=100_000)
    parser.add_argument("--checks", type=int, default=400)
    parser.add_argument("--skip-scan", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON (for bench.run_all)")
    args = parser.parse_args()
    rng = random.Random(4)
    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM contacts_contact")
        contacts = cursor.fetchone()[0]
    print(f"{contacts:,} contacts")
    key_seconds = build_keys()
    print(f"blocking keys built in {key_seconds:.0f} s" if key_seconds else "blocking keys already built")

    people = sample_people(args.checks, rng)
    for person in people[:20]:
        contact_candidates(person)  # warm up
    timings = []
    for person in people:
        started = time.perf_counter()
        contact_candidates(person)
        timings.append(1000 * (time.perf_counter() - started))
    check = (statistics.median(timings), percentile(timings, 0.95))
    print(f"check on create: median {check[0]:.1f} ms, p95 {check[1]:.1f} ms")

    batch = sample_people(args.import_rows, rng)
    started = time.perf_counter()
    found = contact_candidates_many(batch)
    import_seconds = time.perf_counter() - started
    linked = sum(1 for matches in found.values() if matches and matches[0].verdict == "same")
    print(f"import of {len(batch):,} rows matched in {import_seconds:.1f} s ({linked:,} sure matches)")

    scan = None
    if not args.skip_scan:
        from contacts.duplicates import contacts_scan
        from contacts.models import MatchCandidate

        MatchCandidate.objects.filter(source="scan").delete()
        started = time.perf_counter()
        counts = contacts_scan(
            progress=lambda c, last: (
                print(f"  scan: {c['pairs']:,} pairs", flush=True) if c["pairs"] % 200000 < 5000 else None
            )
        )
        scan = (time.perf_counter() - started, counts)
        print(f"full scan: {scan[0]:.0f} s, {counts['pairs']:,} pairs compared, {counts['queued']:,} queued")

    RESULTS.parent.mkdir(exist_ok=True)
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
    lines = [
        f"# Duplicates benchmark ({time.strftime('%Y-%m-%d')})",
        "",
        f"PostgreSQL {version}, {os.cpu_count()} cores, {contacts:,} contacts.",
        "",
        "| operation | figure | target |",
        "|---|---|---|",
        f"| blocking keys for every contact (COPY) | {key_seconds:.0f} s (once) | — |",
        f"| check on create, {len(people)} people | median {check[0]:.1f} ms, p95 {check[1]:.1f} ms | p95 ≤ 20 ms |",
        f"| matching a {len(batch):,}-row import | {import_seconds:.1f} s | ≤ 60 s |",
    ]
    if scan:
        lines.append(
            f"| full scan | {scan[0]:.0f} s ({scan[1]['pairs']:,} pairs, {scan[1]['queued']:,} queued) | ≤ 600 s |"
        )
    RESULTS.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    if args.json:
        from bench.common import figure, write_json

        scale = 100_000 / len(batch)
        rows = [
            figure(f"duplicates: check on create, {len(people)} people", timings, target=20.0),
            figure(
                f"duplicates: matching a {len(batch):,}-row import",
                median=import_seconds,
                n=1,
                unit="s",
                met=import_seconds * scale <= 60,
                note=f"target: 100,000 rows in ≤ 60 s ({import_seconds * scale:.0f} s scaled)",
            ),
        ]
        if scan:
            rows.append(
                figure(
                    f"duplicates: full scan of {contacts:,} contacts",
                    median=scan[0],
                    n=1,
                    unit="s",
                    met=scan[0] <= 600 if contacts >= 1_000_000 else None,
                    note=f"target ≤ 600 s for 1,000,000 contacts; {scan[1]['pairs']:,} pairs",
                )
            )
        write_json(args.json, "duplicates", rows, results=str(RESULTS), contacts=contacts)


if __name__ == "__main__":
    main()
