"""Measure importing a purchased list on PostgreSQL: 100,000 rows validated, matched and stored in <= 60 s.

    .venv/bin/python -m bench.leads_import_bench                      # 100,000 rows into an empty database
    .venv/bin/python -m bench.leads_import_bench --rows 20000         # a quick run
    .venv/bin/python -m bench.leads_import_bench --copy-of sfa_bench  # into a copy of a database with contacts

The database ``sfa_bench_import`` (``sfa_bench_import2`` with ``--copy-of``) is created anew — only names
starting with ``sfa_bench_import`` are accepted, since it is dropped — and migrated; it is dropped again at
the end unless ``--keep``. With ``--copy-of`` it is a copy (``createdb -T``) of that database, made only
when nobody is connected to it; contacts without blocking keys get them first (not timed), and a share of
the list's rows are people of that database, entered again with the usual slips.

The list is realistic: ``contacts.matching.synthetic.generate`` people (companies and households, a quarter
of them entered twice or more with typos, swapped names, other e-mails or phone formats) in a UTF-8 CSV with
a byte-order mark and semicolons, as Excel writes it, plus 1 % bad rows (no last name, a broken e-mail or
phone). Two assignment rules (round-robin for DE, least-loaded for FR) give the leads owners.

Everything runs in-process, with CELERY_TASK_ALWAYS_EAGER: the job runs inside ``lead_import_start`` as a
worker would run it, chunk by chunk with its checkpoints. Timed: the upload (reading the file), the check
(validation and matching without writes; ``--no-check`` skips it), the run (the target) and the undo
(``--no-undo`` skips it). Each step is reported in wall-clock seconds and in CPU seconds of this process:
PostgreSQL's own work is the difference, and on a shared machine the wall clock also holds the waits for
a CPU. ``--profile`` prints where the run spends its time.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PG = {"host": "127.0.0.1", "port": "5432", "user": "postgres"}
HEADER = ["Vorname", "Nachname", "E-Mail", "Telefon", "Firma", "Straße", "PLZ", "Ort", "Land", "Interessen"]
INTERESTS = ["e-bike", "leasing", "service", "zubehör", "cargo", "trekking", ""]


def psql(database: str, sql: str) -> str:
    out = subprocess.run(
        ["psql", "-h", PG["host"], "-p", PG["port"], "-U", PG["user"], "-d", database, "-Atc", sql],
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip()


def create_database(name: str, template: str | None) -> None:
    if not name.startswith("sfa_bench_import"):
        sys.exit(f"Refusing to drop and create {name!r}: the name must start with sfa_bench_import.")
    psql("postgres", f'DROP DATABASE IF EXISTS "{name}"')
    if template:
        busy = int(psql("postgres", f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{template}'"))
        if busy:
            sys.exit(f"{busy} session(s) are connected to {template}: it cannot be copied now. Try again later.")
        psql("postgres", f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    else:
        psql("postgres", f'CREATE DATABASE "{name}"')


def drop_database(name: str) -> None:
    from django.db import connections

    connections.close_all()
    psql("postgres", f'DROP DATABASE IF EXISTS "{name}"')


def list_rows(count: int, bad: int, seed: int, known: list[dict]) -> list[list[str]]:
    """``count`` rows: generated people, ``known`` people entered again, ``bad`` broken rows."""
    from contacts.matching.synthetic import _perturb, generate

    rng = random.Random(seed)
    people = generate(people=int(count * 0.8) + 10, duplicate_share=0.25, seed=seed)
    rows = [
        [
            p.first_name,
            p.last_name,
            p.email,
            p.phone,
            p.company,
            p.street,
            p.postcode,
            p.city,
            p.country,
            ", ".join(sorted({rng.choice(INTERESTS) for _ in range(2)} - {""})),
        ]
        for p in people
    ]
    for person in known:
        again = _perturb(rng, person)
        rows.append(
            [
                again.first_name,
                again.last_name,
                again.email,
                again.phone,
                again.company,
                again.street,
                again.postcode,
                again.city,
                again.country,
                "",
            ]
        )
    rng.shuffle(rows)
    rows = rows[:count]
    for index in rng.sample(range(len(rows)), bad):
        kind = index % 3
        if kind == 0:
            rows[index][1] = ""
        elif kind == 1:
            rows[index][2] = rows[index][2].split("@")[0] + "@" if rows[index][2] else "kein-at-zeichen"
        else:
            rows[index][3] = "12345"
    return rows


def known_people(sample: int, seed: int) -> list:
    """People of the database (with e-mail or phone) to put into the list again."""
    from contacts.matching.synthetic import Row
    from contacts.models import Contact

    every = list(Contact.objects.filter(is_prospect=False).order_by("pk").values_list("pk", flat=True))
    ids = random.Random(seed).sample(every, min(sample, len(every)))
    out = []
    contacts = Contact.objects.filter(pk__in=ids).select_related("account").prefetch_related("emails", "phones")
    for contact in contacts:
        email = next(iter(contact.emails.all()), None)
        phone = next(iter(contact.phones.all()), None)
        out.append(
            Row(
                0,
                contact.pk,
                contact.first_name,
                contact.last_name,
                email.email if email else "",
                phone.e164 if phone else "",
                contact.account.name if contact.account_id else "",
                contact.street,
                contact.city,
                contact.postcode,
                contact.country or "DE",
                None,
            )
        )
    return out


def ensure_keys() -> float:
    """Blocking keys for contacts that have none (a database loaded with COPY), as contact_keys_refresh
    computes them but written with the import's COPY path: not part of the timing."""
    from django.db import connection, transaction

    from contacts.matching.keys import person_keys
    from contacts.models import Contact, MatchKey
    from leads.imports import _load_people, bulk_insert

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.id FROM contacts_contact c WHERE NOT EXISTS "
            "(SELECT 1 FROM contacts_matchkey k WHERE k.subject = 'contact' AND k.object_id = c.id) ORDER BY c.id"
        )
        missing = [r[0] for r in cursor.fetchall()]
    for start in range(0, len(missing), 20_000):
        with transaction.atomic():
            people = _load_people(missing[start : start + 20_000])
            bulk_insert(
                MatchKey,
                [
                    {"subject": "contact", "object_id": cid, "key": key[:200]}
                    for cid, person in people.items()
                    for key in person_keys(person.record)
                ],
            )
        print(f"  keys: {min(start + 20_000, len(missing)):,} of {len(missing):,} contacts", flush=True)
    if missing:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE contacts_matchkey")
    print(f"  {Contact.objects.count():,} contacts in the database")
    return time.perf_counter() - started


def organisation():
    from leads.models import AssignmentRule
    from sfa.models import Department, Role, Team, User

    sales, _ = Department.objects.get_or_create(name="Bench sales", defaults={"code": "bench-sales", "is_sales": True})
    manager = User.objects.create_user(username="bench_importer", password="x", role=Role.MANAGER, department=sales)
    for name, country, method in (("Bench DE", "DE", "round_robin"), ("Bench FR", "FR", "least_loaded")):
        team = Team.objects.create(name=name, department=sales, manager=manager)
        for i in range(3):
            User.objects.create_user(
                username=f"bench_{country.lower()}_{i}", password="x", role=Role.REP, department=sales, team=team
            )
        AssignmentRule.objects.create(name=name, country=country, team=team, method=method)
    return manager


def timed(label: str, results: list, func, profile: bool = False):
    started, cpu = time.perf_counter(), time.process_time()
    if profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        value = profiler.runcall(func)
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
    else:
        value = func()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    results.append((label, seconds, cpu))
    print(f"{label}: {seconds:.1f} s ({cpu:.1f} s of CPU in this process)", flush=True)
    return value, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--bad", type=int, default=None, help="broken rows (default: 1 %% of --rows)")
    parser.add_argument("--copy-of", default="", help="import into a copy of this database (e.g. sfa_bench)")
    parser.add_argument("--known", type=int, default=5000, help="with --copy-of: rows that are people of it")
    parser.add_argument("--database", default="")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--keep", action="store_true", help="do not drop the database at the end")
    parser.add_argument("--profile", action="store_true", help="print where the run spends its time (cProfile)")
    parser.add_argument("--no-check", action="store_true", help="skip the check: run the import straight away")
    parser.add_argument("--no-undo", action="store_true", help="leave the import in place (with --keep, to look at it)")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON (for bench.run_all)")
    args = parser.parse_args()
    database = args.database or ("sfa_bench_import2" if args.copy_of else "sfa_bench_import")
    bad = args.rows // 100 if args.bad is None else args.bad

    create_database(database, args.copy_of or None)
    media = tempfile.mkdtemp(prefix="sfa-bench-import-")
    os.environ["DATABASE_URL"] = f"postgres://{PG['user']}@{PG['host']}:{PG['port']}/{database}"
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "True"
    os.environ["MEDIA_ROOT"] = media
    from bench import django_setup

    django_setup()
    from django.core.files import File
    from django.core.management import call_command
    from django.db import connection

    from leads import imports
    from leads.models import ImportRow, Lead

    try:
        if args.copy_of:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT 1 FROM information_schema.columns WHERE table_name = 'leads_leadimport' "
                    "AND column_name = 'preview'"
                )
                stale = cursor.fetchone() is None and "leads_leadimport" in connection.introspection.table_names()
            if stale:  # the copy has the leads tables of an older migration: they are empty, make them anew
                call_command("migrate", "leads", "zero", verbosity=0)
        call_command("migrate", verbosity=0)
        print(f"Database {database} ready (PostgreSQL {connection.pg_version // 10000}).")
        keys_seconds = ensure_keys() if args.copy_of else 0.0
        manager = organisation()
        known = known_people(args.known, args.seed) if args.copy_of else []
        started = time.perf_counter()
        rows = list_rows(args.rows, bad, args.seed, known)
        path = Path(media) / "list.csv"
        with path.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle, delimiter=";")
            writer.writerow(HEADER)
            writer.writerows(rows)
        size = path.stat().st_size
        print(
            f"List: {len(rows):,} rows ({bad:,} broken, {len(known):,} of known people), {size / 1e6:.1f} MB, "
            f"made in {time.perf_counter() - started:.0f} s"
        )

        results: list[tuple[str, float, float]] = []
        with path.open("rb") as handle:
            lead_import, _ = timed(
                "upload (read, detect, count)",
                results,
                lambda: imports.lead_import_create(
                    actor=manager,
                    file=File(handle, name="messe-2026.csv"),
                    vendor="Bench Daten GmbH",
                    list_name="Messe 2026",
                    cost="4500",
                ),
            )
        imports.lead_import_configure(lead_import=lead_import, actor=manager, on_match="attach")
        if not args.no_check:
            lead_import, _ = timed(
                "check (validate and match, no writes)",
                results,
                lambda: imports.lead_import_check(lead_import=lead_import, actor=manager),
            )
        lead_import.refresh_from_db()
        job, run_seconds = timed(
            "run (validate, match, store: the target)",
            results,
            lambda: imports.lead_import_start(lead_import=lead_import, actor=manager),
            profile=args.profile,
        )
        job.refresh_from_db()
        lead_import.refresh_from_db()
        if job.status != "succeeded":
            sys.exit(f"The import job ended {job.status}: {job.error}")
        counts = lead_import.counts
        leads = Lead.objects.filter(lead_import=lead_import).count()
        assert leads == counts["leads"], (leads, counts["leads"])
        assert ImportRow.objects.filter(lead_import=lead_import).count() == len(rows)
        summary = None
        if not args.no_undo:
            summary, _ = timed(
                "undo (one transaction)",
                results,
                lambda: imports.lead_import_undo(lead_import=lead_import, actor=manager),
            )
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print()
        print("| step | seconds | CPU seconds (this process) | rows/s |\n|---|---:|---:|---:|")
        for label, seconds, cpu in results:
            print(f"| {label} | {seconds:.1f} | {cpu:.1f} | {len(rows) / seconds:,.0f} |")
        print()
        print(f"Rows per verdict: {counts['verdicts']}")
        print(f"Rows per result:  {counts['results']}")
        print(f"Leads: {counts['leads']:,}, cost per lead {counts['cost_per_lead']} EUR; notes {counts['notes']}")
        print(f"Undo: {summary}")
        verdict = "met" if run_seconds * 100_000 / len(rows) <= 60 else "MISSED"
        print(
            f"Run: {run_seconds:.1f} s for {len(rows):,} rows = {len(rows) / run_seconds:,.0f} rows/s "
            f"(target: 100,000 rows in <= 60 s) — {verdict}"
        )
        print(
            f"Peak memory of the process: {peak:,.0f} MB"
            + (f"; blocking keys built in {keys_seconds:.0f} s" if keys_seconds else "")
        )
        if args.json:
            from bench.common import figure, write_json

            scaled = run_seconds * 100_000 / len(rows)
            figures = [
                figure(
                    f"lead import, {len(rows):,} rows: {label}",
                    median=seconds,
                    n=1,
                    unit="s",
                    met=(scaled <= 60) if label.startswith("run") else None,
                    note=(f"target: 100,000 rows in ≤ 60 s ({scaled:.0f} s scaled); " * label.startswith("run"))
                    + f"{cpu:.1f} s CPU in this process",
                )
                for label, seconds, cpu in results
            ]
            write_json(args.json, "leads_import", figures, list_rows=len(rows))
    finally:
        shutil.rmtree(media, ignore_errors=True)
        if not args.keep:
            drop_database(database)
            print(f"Database {database} dropped.")


if __name__ == "__main__":
    main()
