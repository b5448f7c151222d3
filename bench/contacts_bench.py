"""Measure the contacts issue's targets on the database that bench/datagen.py built.

    .venv/bin/python -m bench.contacts_bench [--rounds 5] [--page-runs 50] [--guard-runs 100]
    .venv/bin/python -m bench.contacts_bench --only guard       # one section; its own results file

Targets: the search answers in <= 50 ms at p95 (HTML partial and API alike), a contact page with 200
touches renders in <= 100 ms, and the guard adds <= 5 ms to saving a touch.

Everything runs in-process through Django's test Client, signed in as the demo rep, with DEBUG off, so
the middleware, the session, the HTML templates and DRF's serialisation are in the figures; only the
network and a WSGI server are not. For each search query the SQL that the selector sends is captured
once and replayed with a bare psycopg2 cursor: the ratio Django / bare SQL tells how much of the time is
the database's. The guard's cost is the difference between ``touch_log`` saving an outbound touch for a
purpose with a guard rule and the same call for an inbound touch (which skips the guard), and
``guard_check`` timed alone: for every rule on random contacts (the headline figure), and for the
account-wide Renewal rule on contacts of the busiest accounts (the worst case: the most touches in the
window, every check a conflict). Touches written by the benchmark are deleted at the end, with their
audit and guard-log rows, so the dataset stays as generated.

Results: a Markdown table on stdout and in bench/results/contacts.md, with the plans (EXPLAIN ANALYZE,
BUFFERS) of the guard's statement on the busiest account and of the slowest search query. ``--only
SECTION`` runs one section (search, page or guard) and writes to bench/results/contacts_SECTION.md, so a
partial run never replaces the full report.
"""

from __future__ import annotations

import argparse
import os
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from bench import django_setup
from bench.common import explain, log, machine, ms, replay, require_migrated, row_counts, timed

RESULTS = Path(__file__).resolve().parent / "results" / "contacts.md"
SEARCH_TARGET_MS = 50.0
PAGE_TARGET_MS = 100.0
GUARD_TARGET_MS = 5.0
HTML_LIMIT, API_LIMIT = 8, 50  # what the views ask the selector for (HTMX partial, API page size)
BUSIEST_ACCOUNTS = 20  # the guard's worst case for an account-wide rule
SECTIONS = ("search", "page", "guard")
DATASET_LABELS = {
    "account": "accounts",
    "contact": "contacts",
    "contactemail": "e-mails",
    "contactphone": "phones",
    "touch": "touches",
}
QUERY_KINDS = {  # kind: how many queries of the mix
    "name prefix": 60,
    "first last": 30,
    "e-mail prefix": 30,
    "phone, national": 20,
    "phone, international": 20,
    "company": 40,
}


@dataclass
class Row:
    """One line of the results table."""

    operation: str
    samples: list[float]
    bare_sql: list[float] = field(default_factory=list)
    target: float | None = None
    note: str = ""
    summary: tuple[float, float] | None = None  # median and p95 given, not computed from samples

    def cells(self) -> list[str]:
        median, p95 = self.summary or ms(self.samples)
        cells = [self.operation, f"{len(self.samples)}", f"{median:.1f}", f"{p95:.1f}"]
        if self.bare_sql:
            sql_median, _ = ms(self.bare_sql)
            cells += [f"{sql_median:.1f}", f"{median / sql_median:.1f}×" if sql_median else "–"]
        else:
            cells += ["–", "–"]
        if self.target is None:
            cells.append("")
        else:
            cells.append(f"≤ {self.target:g}: {'**pass**' if p95 <= self.target else '**MISS**'}")
        return [*cells, self.note]


def table(rows: list[Row]) -> str:
    head = "| operation | n | median ms | p95 ms | bare SQL median ms | Django / SQL | target (p95) | note |"
    lines = [head, "|---|---:|---:|---:|---:|---:|---|---|"]
    lines += ["| " + " | ".join(row.cells()) + " |" for row in rows]
    return "\n".join(lines)


# --- The query mix -------------------------------------------------------------------------------


def truncate_digits(text: str, digits: int) -> str:
    """``text`` cut right after its ``digits``-th digit: '+49 151 2345678', 7 -> '+49 151 23'."""
    seen = 0
    for index, char in enumerate(text):
        seen += char.isdigit()
        if seen == digits:
            return text[: index + 1]
    return text


def query_mix(seed: int) -> list[tuple[str, str]]:
    """About 200 (kind, query) pairs as people type them, drawn from the data with a fixed seed."""
    import phonenumbers
    from django.db.models import Max

    from contacts.models import Account, Contact, ContactEmail, ContactPhone
    from contacts.normalize import fold

    rnd = random.Random(seed)

    def sample(model: Any, count: int, **filters: Any) -> list[Any]:
        top = model.objects.aggregate(top=Max("id"))["top"]
        ids = rnd.sample(range(1, top + 1), min(top, count * 3))
        return list(model.objects.filter(pk__in=ids, **filters).order_by("id")[:count])

    def typed(text: str) -> str:
        """As typed: mostly lower case, sometimes without the accents."""
        roll = rnd.random()
        return fold(text) if roll < 0.2 else text.lower() if roll < 0.8 else text

    mix: list[tuple[str, str]] = []
    people = sample(Contact, QUERY_KINDS["name prefix"] + QUERY_KINDS["first last"])
    for person in people[: QUERY_KINDS["name prefix"]]:
        name = person.last_name if rnd.random() < 0.6 or not person.first_name else person.first_name
        mix.append(("name prefix", typed(name[: rnd.randint(2, 6)])))
    for person in people[QUERY_KINDS["name prefix"] :]:
        last = person.last_name[: rnd.randint(1, len(person.last_name))]
        mix.append(("first last", typed(f"{person.first_name} {last}")))
    for email in sample(ContactEmail, QUERY_KINDS["e-mail prefix"]):
        at = email.email.index("@")
        mix.append(("e-mail prefix", email.email[: at + 1 + rnd.randint(0, 4)].lower()))
    german = sample(ContactPhone, QUERY_KINDS["phone, national"], e164__startswith="+49")
    for phone in german:
        national = phonenumbers.format_number(phonenumbers.parse(phone.e164), phonenumbers.PhoneNumberFormat.NATIONAL)
        mix.append(("phone, national", truncate_digits(national, rnd.randint(6, 11))))
    for phone in sample(ContactPhone, QUERY_KINDS["phone, international"]):
        text = phonenumbers.format_number(phonenumbers.parse(phone.e164), phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        text = "00" + text[1:] if rnd.random() < 0.25 else text
        mix.append(("phone, international", truncate_digits(text, rnd.randint(7, 12))))
    for account in sample(Account, QUERY_KINDS["company"]):
        mix.append(("company", typed(account.name[: rnd.randint(3, len(account.name))]).strip()))
    return mix


# --- Measuring -----------------------------------------------------------------------------------


def selector_sql(actor: Any, query: str, limit: int) -> list[str]:
    """The statements ``contacts.selectors.search`` sends for ``query``, as sent."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from contacts.selectors import search

    with CaptureQueriesContext(connection) as captured:
        search(actor=actor, query=query, limit=limit)
    return [q["sql"] for q in captured.captured_queries]


@dataclass
class SearchResults:
    html: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))  # kind -> ms
    api: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    sql_html: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    sql_api: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    main_html: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))  # slowest statement
    by_query: dict[tuple[str, str, str], list[float]] = field(default_factory=lambda: defaultdict(list))
    hits: dict[str, int] = field(default_factory=lambda: defaultdict(int))


def bench_search(client: Any, actor: Any, mix: list[tuple[str, str]], rounds: int, seed: int) -> SearchResults:
    out = SearchResults()
    html_headers = {"HX-Request": "true"}

    def html(query: str) -> Any:
        return client.get("/search/", {"q": query}, headers=html_headers)

    def api(query: str) -> Any:
        return client.get("/api/contacts/", {"search": query})

    log(f"search: warming up with {len(mix)} queries …")
    for kind, query in mix:
        for call in (html, api):
            response = call(query)
            assert response.status_code == 200, (query, response.status_code)
        found = api(query).json()["results"]
        out.hits[kind] += bool(found) or "<li" in html(query).content.decode()
    order = list(mix)
    for round_ in range(rounds):
        random.Random(seed + round_).shuffle(order)
        for kind, query in order:
            elapsed, _ = timed(lambda q=query: html(q))
            out.html[kind].append(elapsed)
            out.by_query[("html", kind, query)].append(elapsed)
            elapsed, _ = timed(lambda q=query: api(q))
            out.api[kind].append(elapsed)
            out.by_query[("api", kind, query)].append(elapsed)
        log(f"search: round {round_ + 1}/{rounds} done")
    log("search: replaying the selector's SQL with a bare cursor …")
    for kind, query in mix:
        for limit, totals in ((HTML_LIMIT, out.sql_html), (API_LIMIT, out.sql_api)):
            statements = selector_sql(actor, query, limit)
            replay(statements)  # warm
            for _ in range(rounds):
                total, each = replay(statements)
                totals[kind].append(total)
                if limit == HTML_LIMIT:
                    out.main_html[kind].append(max(each, default=0.0))
    return out


def bench_page(client: Any, contact_id: int, runs: int) -> tuple[Row, int, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    path = f"/contacts/{contact_id}/"
    for _ in range(5):
        response = client.get(path)
        assert response.status_code == 200, response.status_code
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    statements = [q["sql"] for q in captured.captured_queries]
    samples = [timed(lambda: client.get(path))[0] for _ in range(runs)]
    bare = [replay(statements)[0] for _ in range(runs)]
    row = Row(f"contact page, 200 touches (GET {path})", samples, bare, PAGE_TARGET_MS)
    return row, len(statements), len(response.content)


@dataclass
class GuardResults:
    rows: list[Row]
    verdicts: dict[str, int]
    outbound: list[float]
    checks: list[float]
    checks_sql: list[float]
    cost_median: float
    cost_p95: float
    plan_title: str = ""
    plan_sql: str = ""
    plan: str = ""


def bench_guard(actor: Any, runs: int, seed: int) -> GuardResults:
    """touch_log outbound (guarded purposes) vs inbound (no guard), interleaved, each on a fresh contact."""
    from django.db import connection
    from django.db.models import Count, Max
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from contacts import services
    from contacts.guard import guard_check
    from contacts.models import Contact, GuardLog, GuardRule, Purpose, Touch
    from sfa.models import AuditEvent

    rnd = random.Random(seed)
    top = Contact.objects.aggregate(top=Max("id"))["top"]
    warmup = 10
    wanted = (runs + warmup) * 3 + runs * 5
    ids = rnd.sample(range(1, top), min(top - 1, wanted * 2))
    contacts = list(
        Contact.objects.filter(pk__in=ids, do_not_contact=False, account__isnull=False).select_related("account")
    )
    rnd.shuffle(contacts)
    pool = iter(contacts)
    cross_sell = Purpose.objects.get(name="Cross-sell")  # rule: warn, 14 days, the contact
    renewal = Purpose.objects.get(name="Renewal")  # rule: warn, 30 days, the whole account
    variants = [
        ("touch_log, inbound (guard skipped)", cross_sell, Touch.Direction.IN),
        ("touch_log, outbound, Cross-sell (rule on the contact)", cross_sell, Touch.Direction.OUT),
        ("touch_log, outbound, Renewal (rule on the account)", renewal, Touch.Direction.OUT),
    ]
    samples: dict[str, list[float]] = defaultdict(list)
    bare: dict[str, list[float]] = defaultdict(list)  # the same statements replayed with a bare cursor
    queries: dict[str, set[int]] = defaultdict(set)  # statements per call (a conflict may add one)
    levels: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))  # guard_check's verdicts
    verdicts: dict[str, int] = defaultdict(int)
    created: list[int] = []
    try:
        for run in range(warmup + runs):
            for label, purpose, direction in variants[run % 3 :] + variants[: run % 3]:
                contact = next(pool)

                def save(c: Contact = contact, p: Purpose = purpose, d: str = direction) -> Touch:
                    return services.touch_log(
                        actor=actor,
                        contact=c,
                        purpose=p,
                        channel="call",
                        direction=d,
                        override_reason="benchmark: measuring the guard",
                        via="bench",
                    )

                elapsed, touch = timed(save)
                created.append(touch.pk)
                if run >= warmup:
                    samples[label].append(elapsed)
                    if direction == Touch.Direction.OUT:
                        verdicts["warned (saved with the reason)" if touch.override_reason else "ok"] += 1

        def measure(label: str, contact: Contact, purpose: Purpose, record: bool = True) -> list[str]:
            def check() -> Any:
                return guard_check(contact=contact, purpose=purpose, channel="email", at=timezone.now(), actor=actor)

            elapsed, verdict = timed(check)
            with CaptureQueriesContext(connection) as captured:
                check()
            statements = [q["sql"] for q in captured.captured_queries]
            if record:
                samples[label].append(elapsed)
                levels[label][verdict.level] += 1
                bare[label].append(replay(statements)[0])
                queries[label].add(len(statements))
            return statements

        guarded = GuardRule.objects.filter(is_active=True).select_related("purpose").order_by("purpose__name")
        for rule in guarded:
            label = f"guard_check alone, {rule.purpose.name} ({rule.mode}, {rule.window_days} d, {rule.scope})"
            for _ in range(runs):
                measure(label, next(pool), rule.purpose)

        # The worst case of an account-wide rule: contacts of the accounts with the most touches, where the
        # guard's query reads the most rows.
        busiest = list(
            Touch.objects.filter(account__isnull=False)
            .values_list("account_id")
            .annotate(n=Count("id"))
            .order_by("-n")[:BUSIEST_ACCOUNTS]
        )
        crowd = list(
            Contact.objects.filter(account_id__in=[a for a, _ in busiest], do_not_contact=False).select_related(
                "account"
            )
        )
        rnd.shuffle(crowd)
        label = (
            f"guard_check alone, Renewal on the {len(busiest)} busiest accounts "
            f"({busiest[-1][1]:,}–{busiest[0][1]:,} touches each)"
        )
        for index in range(runs):
            measure(label, crowd[index % len(crowd)], renewal)
        biggest = next(c for c in crowd if c.account_id == busiest[0][0])
        statements = measure(label, biggest, renewal, record=False)
        replay(statements)
        per_statement = np.median([replay(statements)[1] for _ in range(5)], axis=0)
        plan_sql = statements[int(np.argmax(per_statement))]
        plan = explain(plan_sql)
        plan_title = (
            f"Plan of the guard's slowest statement: Renewal (account rule) for {biggest}, "
            f"account {busiest[0][0]} with {busiest[0][1]:,} touches"
        )
    finally:
        GuardLog.objects.filter(touch_id__in=created).delete()
        AuditEvent.objects.filter(content_type__model="touch", object_id__in=[str(pk) for pk in created]).delete()
        Touch.objects.filter(pk__in=created).delete()
    inbound = samples[variants[0][0]]
    outbound = samples[variants[1][0]] + samples[variants[2][0]]
    cost_median = ms(outbound)[0] - ms(inbound)[0]
    cost_p95 = ms(outbound)[1] - ms(inbound)[1]

    def note(label: str) -> str:
        if label not in queries:
            return ""
        low, high = min(queries[label]), max(queries[label])
        count = f"{low} {'query' if low == 1 else 'queries'}" if low == high else f"{low}–{high} queries"
        return f"{count}; " + ", ".join(f"{k} {v}" for k, v in sorted(levels[label].items()))

    rows = [Row(label, values, bare.get(label, []), note=note(label)) for label, values in samples.items()]
    every_rule = [label for label in samples if label.startswith("guard_check") and "busiest" not in label]
    checks = [v for label in every_rule for v in samples[label]]
    checks_sql = [v for label in every_rule for v in bare[label]]
    return GuardResults(
        rows, dict(verdicts), outbound, checks, checks_sql, cost_median, cost_p95, plan_title, plan_sql, plan
    )


# --- Report --------------------------------------------------------------------------------------


def dataset() -> dict[str, int]:
    return row_counts(
        ("contacts_account", "contacts_contact", "contacts_contactemail", "contacts_contactphone", "contacts_touch")
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="repetitions of the ~200 search queries")
    parser.add_argument("--page-runs", type=int, default=50)
    parser.add_argument("--guard-runs", type=int, default=100)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--only", choices=SECTIONS, help="run one section; the report goes to results/contacts_<section>.md"
    )
    parser.add_argument("--output", type=Path, help="default: results/contacts.md (contacts_<section>.md with --only)")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON (for bench.run_all)")
    args = parser.parse_args(argv)
    sections = (args.only,) if args.only else SECTIONS
    output = args.output or (RESULTS.with_name(f"contacts_{args.only}.md") if args.only else RESULTS)

    django_setup()
    from django.test import Client

    from bench.datagen import BENCH_EMAIL, TIMELINE_TOUCHES
    from contacts.models import ContactEmail, Touch
    from sfa.models import User

    require_migrated("build it again with `.venv/bin/python -m bench.datagen` (about two minutes), or migrate it.")
    started = datetime.now(UTC)
    load_before = os.getloadavg()
    rep = User.objects.get(username="rep")
    counts = dataset()
    log(f"dataset: {', '.join(f'{k} {v:,}' for k, v in counts.items())}")
    client = Client()
    client.force_login(rep)
    try:
        if "search" in sections:
            mix = query_mix(args.seed)
            search = bench_search(client, rep, mix, args.rounds, args.seed)
        if "page" in sections:
            timeline_id = ContactEmail.objects.get(email_key=BENCH_EMAIL).contact_id
            assert Touch.objects.filter(contact_id=timeline_id).count() == TIMELINE_TOUCHES
            log("contact page …")
            page_row, page_queries, page_bytes = bench_page(client, timeline_id, args.page_runs)
            page_row.note = f"{page_queries} queries, {page_bytes / 1024:.0f} KiB of HTML"
        if "guard" in sections:
            log("guard …")
            rep.refresh_from_db()
            guard = bench_guard(rep, args.guard_runs, args.seed)
    finally:
        client.logout()

    headline: list[Row] = []
    if "search" in sections:
        all_html = [v for values in search.html.values() for v in values]
        all_api = [v for values in search.api.values() for v in values]
        all_sql_html = [v for values in search.sql_html.values() for v in values]
        all_sql_api = [v for values in search.sql_api.values() for v in values]
        headline += [
            Row("search, HTML partial (GET /search/?q= with HX-Request)", all_html, all_sql_html, SEARCH_TARGET_MS),
            Row("search, API (GET /api/contacts/?search=)", all_api, all_sql_api, SEARCH_TARGET_MS),
        ]
    if "page" in sections:
        headline.append(page_row)
    if "guard" in sections:
        headline += [
            Row(
                "guard: guard_check alone, every rule",
                guard.checks,
                guard.checks_sql,
                target=GUARD_TARGET_MS,
                note="what the guard adds to touch_log; its queries run inside the same transaction",
            ),
            Row(
                "guard: touch_log outbound − inbound",
                guard.outbound,
                target=GUARD_TARGET_MS,
                note="difference of the medians and of the p95s (commit included in both)",
                summary=(guard.cost_median, guard.cost_p95),
            ),
        ]

    info = machine()
    load = f"load average {load_before[0]:.1f} at the start, {os.getloadavg()[0]:.1f} at the end"
    command = ".venv/bin/python -m bench.contacts_bench" + (f" --only {args.only}" if args.only else "")
    title = "Contacts benchmark" + (f": {args.only} only" if args.only else "")
    lines = [
        f"# {title}",
        "",
        f"Run {started:%Y-%m-%d %H:%M} UTC by `{command}` "
        f"(rounds {args.rounds}, page runs {args.page_runs}, guard runs {args.guard_runs}, seed {args.seed}).",
        "",
        "- **Dataset** (bench/datagen.py): " + ", ".join(f"{v:,} {DATASET_LABELS[k]}" for k, v in counts.items()) + ".",
        f"- **Machine**: {info['nproc']} CPUs ({info['cpu']}), {info['memory']} RAM; "
        f"PostgreSQL {info['server_version']} ({info['settings']}); Python {info['python']}, Django {info['django']}; "
        f"in-process test Client, DEBUG off, warm caches; {load}.",
        "- **Bare SQL**: the statements the selector (or the page) sent, replayed with a psycopg2 cursor; "
        "Django / SQL is the ratio of the medians.",
        "",
        "## Targets",
        "",
        table(headline),
        "",
    ]
    if "search" in sections:
        lines += search_report(rep, mix, search, args.rounds)
    if "guard" in sections:
        lines += [
            "## Guard",
            "",
            "Each call saves a real touch (committed) on a contact not used before, then all are deleted. "
            f"Outbound verdicts: {', '.join(f'{k} {v}' for k, v in sorted(guard.verdicts.items()))}.",
            "",
            table(guard.rows),
            "",
        ]
        if guard.plan:
            lines += [f"## {guard.plan_title}", "", "```sql", guard.plan_sql, "```", "", "```", guard.plan, "```", ""]
    if "search" in sections:
        lines += search_plan(rep, mix, search)
    report = "\n".join(lines)
    print()
    print(report)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(report)
    log(f"written to {output}")
    if args.json:
        from bench.common import figure, write_json

        rows = []
        for row in headline:
            median, p95 = row.summary or ms(row.samples)
            rows.append(
                figure(
                    row.operation,
                    n=len(row.samples),
                    median=median,
                    p95=p95,
                    sql=row.bare_sql or None,
                    target=row.target,
                    note=row.note,
                )
            )
        write_json(args.json, "contacts", rows, command=command, results=str(output), dataset=counts)


def search_report(actor: Any, mix: list[tuple[str, str]], search: SearchResults, rounds: int) -> list[str]:
    """The search section: figures per kind of query, the slowest statement alone, the slowest queries."""
    kinds = []
    for kind in QUERY_KINDS:
        queries = [q for k, q in mix if k == kind]
        hit_rate = f"{search.hits[kind]}/{len(queries)} queries find something"
        kinds.append(Row(f"{kind} — HTML", search.html[kind], search.sql_html[kind], SEARCH_TARGET_MS, hit_rate))
        kinds.append(Row(f"{kind} — API", search.api[kind], search.sql_api[kind], SEARCH_TARGET_MS))
    main_rows = [Row(f"{kind}: slowest statement alone", search.main_html[kind]) for kind in QUERY_KINDS]
    slowest = sorted(search.by_query.items(), key=lambda item: -float(np.median(item[1])))[:8]
    slowest_lines = [
        f"| {endpoint_} | {kind_} | `{query_}` | {np.median(values):.1f} | {max(values):.1f} |"
        for (endpoint_, kind_, query_), values in slowest
    ]
    examples = defaultdict(list)
    for k, q in mix:
        examples[k].append(q)
    return [
        "## Search by kind of query",
        "",
        f"{len(mix)} queries, each run {rounds} times per endpoint after a warm-up; the HTML partial asks for "
        f"{HTML_LIMIT} contacts, the API for {API_LIMIT}.",
        "",
        table(kinds),
        "",
        table(main_rows),
        "",
        "The slowest queries:",
        "",
        "| endpoint | kind | query | median ms | max ms |",
        "|---|---|---|---:|---:|",
        *slowest_lines,
        "",
        "Examples: " + "; ".join(f"{k}: " + ", ".join(f"`{q}`" for q in examples[k][:4]) for k in QUERY_KINDS) + ".",
        "",
    ]


def search_plan(actor: Any, mix: list[tuple[str, str]], search: SearchResults) -> list[str]:
    """The plan of the slowest query of the slowest kind (by p95), on the endpoint where it is slowest."""
    endpoint, kind = max(
        ((endpoint, kind) for endpoint in ("html", "api") for kind in QUERY_KINDS),
        key=lambda ek: ms((search.html if ek[0] == "html" else search.api)[ek[1]])[1],
    )
    slowest_query = max(
        (q for k, q in mix if k == kind), key=lambda q: float(np.median(search.by_query[(endpoint, kind, q)]))
    )
    statements = selector_sql(actor, slowest_query, HTML_LIMIT if endpoint == "html" else API_LIMIT)
    replay(statements)
    per_statement = np.median([replay(statements)[1] for _ in range(3)], axis=0)
    slowest_sql = statements[int(np.argmax(per_statement))]
    return [
        f"## Plan of the slowest search: {kind} ({endpoint}), `{slowest_query}`",
        "",
        "Its slowest statement:",
        "",
        "```sql",
        slowest_sql,
        "```",
        "",
        "```",
        explain(slowest_sql),
        "```",
        "",
    ]


if __name__ == "__main__":
    main()
