"""Measure the orders issue's target on the database that bench/datagen.py built with its orders section.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sfa_bench_orders .venv/bin/python -m bench.orders_bench
    … -m bench.orders_bench --runs 10 --warmup 2            # a quick look

Target (issue #7): the order list and the fulfilment dashboard render in <= 200 ms with 1,000,000 orders
and 5,000,000 lines.

Everything runs in-process through Django's test Client with DEBUG off, signed in as the demo's admin,
manager (Sales North: three people's orders) and rep, so middleware, session, selectors, templates and
DRF are in the figures; only the network and a WSGI server are not. Pages: the order list (first page,
filtered by status, a page deep in the keyset, as admin and as rep), the fulfilment dashboard (manager,
admin) and the API list ``/api/orders/``. Each is warmed up, then requested ``--runs`` times, the
scenarios interleaved so that the machine's load falls on all alike. The SQL each page sent is captured
once and replayed with a bare psycopg2 cursor: Django / SQL is the ratio of the medians. A page over the
target is profiled: its statements by time with the plan of the slowest, and the Python side by cProfile.

Then the plans (EXPLAIN ANALYZE, BUFFERS) of the queries the list and the dashboard are likely to run:
which index each one uses, and how long it takes on this data.

Results: a Markdown report on stdout and in bench/results/orders.md. The database default is
``sfa_bench_orders``; nothing is written to it.
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import io
import os
import pstats
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import numpy as np

from bench import django_setup
from bench.common import explain, log, machine, ms, replay, require_migrated, row_counts, timed

RESULTS = Path(__file__).resolve().parent / "results" / "orders.md"
DATABASE_URL = "postgres://postgres@127.0.0.1:5432/sfa_bench_orders"  # unless DATABASE_URL says otherwise
TARGET_MS = 200.0
USERS = ("admin", "manager", "rep")


# --- What is measured ----------------------------------------------------------------------------


@dataclass
class Scenario:
    label: str
    user: str
    path: str
    params: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    target: float | None = TARGET_MS
    samples: list[float] = field(default_factory=list)
    bare: list[float] = field(default_factory=list)
    statements: list[str] = field(default_factory=list)
    per_statement: list[float] = field(default_factory=list)  # median ms of each statement, bare
    sql_in_request: list[float] = field(default_factory=list)  # ms the request spent in cursor.execute
    cpu: list[float] = field(default_factory=list)  # ms of this thread's CPU time (Python, without waiting)
    size: int = 0
    rows: int | None = None

    @property
    def url(self) -> str:
        return self.path + (f"?{urlencode(self.params)}" if self.params else "")

    def cells(self) -> list[str]:
        median, p95 = ms(self.samples)
        bare = float(np.median(self.bare)) if self.bare else 0.0
        in_request = float(np.median(self.sql_in_request)) if self.sql_in_request else 0.0
        cpu_median, cpu_p95 = ms(self.cpu) if self.cpu else (0.0, 0.0)
        verdict = (
            "" if self.target is None else f"≤ {self.target:g}: {'**pass**' if p95 <= self.target else '**MISS**'}"
        )
        rows = "" if self.rows is None else f"{self.rows} rows, "
        return [
            self.label,
            self.user,
            f"`{self.url}`",
            str(len(self.samples)),
            f"{median:.1f}",
            f"{p95:.1f}",
            f"{bare:.1f}",
            f"{median / bare:.1f}×" if bare else "–",
            f"{in_request:.1f}",
            f"{cpu_median:.1f} / {cpu_p95:.1f}",
            verdict,
            f"{rows}{len(self.statements)} queries, {self.size / 1024:.0f} KiB",
        ]


def table(scenarios: list[Scenario]) -> str:
    head = (
        "| page | as | request | n | median ms | p95 ms | bare SQL median ms | Django / SQL "
        "| SQL in request ms | CPU median / p95 ms | target (p95) | note |"
    )
    lines = [head, "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|"]
    lines += ["| " + " | ".join(s.cells()) + " |" for s in scenarios]
    return "\n".join(lines)


def list_cursor(ordered_on: date, pk: int) -> str:
    """The order list's cursor for "the page after (ordered_on, pk)" (sfa.listing's format)."""
    from sfa.listing import _encode

    return _encode(["n", ordered_on, pk])


def api_cursor(ordered_on: date) -> str:
    """DRF's cursor for the API page that starts at ``ordered_on`` (its position is the first ordering field)."""
    return base64.b64encode(urlencode({"p": ordered_on.isoformat()}).encode()).decode()


def deep_row(users: dict[str, Any], user: str, share: float) -> tuple[date, int, int]:
    """(ordered_on, id, position) of the row ``share`` of the way down the user's order list."""
    from orders import selectors

    qs = selectors.order_list(actor=users[user], filters={}).order_by("-ordered_on", "-pk")
    position = int(qs.count() * share)
    row = qs.values_list("ordered_on", "pk")[position]
    return row[0], row[1], position


def scenarios_for(users: dict[str, Any]) -> list[Scenario]:
    admin_day, admin_pk, admin_at = deep_row(users, "admin", 0.5)
    rep_day, rep_pk, rep_at = deep_row(users, "rep", 0.5)
    out = [
        Scenario("order list, first page", "admin", "/orders/"),
        Scenario("order list, first page", "rep", "/orders/"),
        Scenario("order list, first page", "manager", "/orders/"),
        Scenario("order list, status confirmed", "admin", "/orders/", {"status": "confirmed"}),
        Scenario("order list, status confirmed", "rep", "/orders/", {"status": "confirmed"}),
        Scenario("order list, status delivered", "admin", "/orders/", {"status": "delivered"}),
        Scenario(
            "order list, status filter as HTMX partial",
            "admin",
            "/orders/",
            {"status": "confirmed"},
            {"HX-Request": "true", "HX-Target": "results"},
        ),
        Scenario("order list, at risk only", "manager", "/orders/", {"at_risk": "true"}),
        Scenario(
            f"order list, deep keyset page (row {admin_at:,})",
            "admin",
            "/orders/",
            {"cursor": list_cursor(admin_day, admin_pk)},
        ),
        Scenario(
            f"order list, deep keyset page (row {rep_at:,})",
            "rep",
            "/orders/",
            {"cursor": list_cursor(rep_day, rep_pk)},
        ),
        Scenario("fulfilment dashboard", "manager", "/fulfilment/"),
        Scenario("fulfilment dashboard", "admin", "/fulfilment/"),
        Scenario("fulfilment dashboard", "rep", "/fulfilment/"),
        Scenario("API order list, first page", "admin", "/api/orders/"),
        Scenario("API order list, first page", "rep", "/api/orders/"),
        Scenario("API order list, status confirmed", "admin", "/api/orders/", {"status": "confirmed"}),
        Scenario("API order list, deep cursor", "admin", "/api/orders/", {"cursor": api_cursor(admin_day)}),
    ]
    return out


# --- Measuring -----------------------------------------------------------------------------------


class SqlClock:
    """Adds up the time the wrapped requests spend in ``cursor.execute`` (psycopg2 fetches on execute)."""

    def __init__(self) -> None:
        self.total = 0.0

    def __call__(self, execute: Callable, sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.total += (time.perf_counter() - started) * 1000


def request(client: Any, scenario: Scenario) -> Any:
    response = client.get(scenario.path, scenario.params, headers=scenario.headers)
    if response.status_code != 200:
        raise SystemExit(f"{scenario.url} as {scenario.user} answered {response.status_code}")
    return response


def capture(client: Any, scenario: Scenario) -> None:
    """The statements one request sends (with their parameters in), the page's size and rows."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        response = request(client, scenario)
    scenario.statements = [q["sql"] for q in captured.captured_queries]
    scenario.size = len(response.content)
    if scenario.path.startswith("/api/"):
        scenario.rows = len(response.json()["results"])
    elif scenario.path == "/orders/":
        scenario.rows = len(re.findall(r'<td class="nowrap"><a href="/orders/\d+/">', response.content.decode()))


def measure(clients: dict[str, Any], scenarios: list[Scenario], runs: int, warmup: int) -> None:
    from django.db import connection

    log(f"warming up: {warmup} requests per page …")
    for scenario in scenarios:
        for _ in range(warmup):
            request(clients[scenario.user], scenario)
        capture(clients[scenario.user], scenario)
    clock = SqlClock()
    for run in range(runs):
        for scenario in scenarios:
            clock.total = 0.0
            cpu = time.thread_time()
            with connection.execute_wrapper(clock):
                elapsed, _ = timed(lambda s=scenario: request(clients[s.user], s))
            scenario.cpu.append((time.thread_time() - cpu) * 1000)
            scenario.samples.append(elapsed)
            scenario.sql_in_request.append(clock.total)
        if (run + 1) % 10 == 0:
            log(f"  run {run + 1}/{runs}")
    log("replaying the SQL of every page with a bare cursor …")
    for scenario in scenarios:
        replay(scenario.statements)
        each = []
        for _ in range(max(5, runs // 2)):
            total, per = replay(scenario.statements)
            scenario.bare.append(total)
            each.append(per)
        scenario.per_statement = np.median(np.array(each), axis=0).tolist() if each else []


def profile(client: Any, scenario: Scenario, top: int = 18) -> str:
    """cProfile of one request: the project's and the template engine's functions by cumulative time, then
    every function by time of its own."""
    profiler = cProfile.Profile()
    profiler.enable()
    request(client, scenario)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    project = r"/work/main/(?!\.venv|bench)|loader_tags|defaulttags|partials\.py|urls/base|dateformat|compiler\.py"
    stats.sort_stats("cumulative").print_stats(project, top)
    stats.sort_stats("tottime").print_stats(top)
    text = re.sub(r"/\S*/(site-packages|work/main)/", "", out.getvalue())
    return "\n".join(line for line in text.splitlines() if not line.startswith("   Ordered by")).strip()


# --- The plans of the likely queries -------------------------------------------------------------


@dataclass
class Plan:
    label: str
    expected: str
    sql: str
    plan: str = ""
    runtime: float = 0.0
    indexes: list[str] = field(default_factory=list)
    seq_scans: list[str] = field(default_factory=list)


def sql_of(queryset: Any) -> str:
    """The statement a queryset sends, parameters in (as psycopg2 would send it)."""
    from django.db import connection

    compiler = queryset.query.get_compiler(using=queryset.db)
    sql, params = compiler.as_sql()
    with connection.cursor() as cursor:
        return cursor.cursor.mogrify(sql, params).decode()


def likely_queries(users: dict[str, Any]) -> list[Plan]:
    from django.db.models import Count, F, Q, Sum
    from django.utils import timezone

    from orders.models import DeliveryStat, Order, OrderLine, SalesEntry
    from sfa.permissions import team_member_ids

    today = timezone.localdate()
    rep, manager = users["rep"], users["manager"]
    open_ = list(Order.OPEN)
    team = sorted(team_member_ids(manager))
    newest = Order.objects.select_related("account", "contact", "owner").order_by("-ordered_on", "-id")
    day, pk, _ = deep_row(users, "admin", 0.5)
    some_account = Order.objects.filter(account__isnull=False).order_by("-id").values_list("account_id", flat=True)[0]
    first_month = (today.replace(day=1) - timedelta(days=150)).replace(day=1)
    plans = [
        ("latest orders (list, admin)", "order_time_idx", newest[:51]),
        ("latest orders of one owner (list, rep)", "order_owner_time_idx", newest.filter(owner=rep)[:51]),
        (
            "latest orders of a team (list, manager)",
            "order_time_idx (owner filtered) or order_owner_time_idx",
            newest.filter(owner_id__in=team)[:51],
        ),
        ("latest orders by status (list filter)", "order_status_time_idx", newest.filter(status="confirmed")[:51]),
        (
            "latest open orders (status=open)",
            "order_time_idx or order_status_time_idx",
            newest.filter(status__in=open_)[:51],
        ),
        (
            "deep keyset page, as sfa.listing writes it (OR)",
            "order_time_idx with a range condition",
            newest.filter(Q(ordered_on__lt=day) | Q(ordered_on=day, pk__lt=pk))[:51],
        ),
        (
            "deep keyset page, with the redundant bound ordered_on <= v",
            "order_time_idx with a range condition",
            newest.filter(Q(ordered_on__lte=day), Q(ordered_on__lt=day) | Q(ordered_on=day, pk__lt=pk))[:51],
        ),
        (
            "open orders by promised date (backlog)",
            "order_open_promise_idx",
            Order.objects.filter(status__in=open_).order_by("promised_date", "id")[:50],
        ),
        (
            "open orders past their promise",
            "order_open_promise_idx",
            Order.objects.filter(status__in=open_, promised_date__lt=today).order_by("promised_date", "id")[:200],
        ),
        (
            "backlog by status and currency (dashboard)",
            "order_open_promise_idx or order_status_time_idx",
            Order.objects.filter(status__in=open_).values("status", "currency").annotate(n=Count("id"), v=Sum("total")),
        ),
        (
            "backlog by promised date, a manager's team (dashboard)",
            "order_open_promise_idx",
            Order.objects.filter(status__in=open_, owner_id__in=team)
            .values("promised_date", "currency")
            .annotate(n=Count("id"), v=Sum("total")),
        ),
        (
            "at-risk orders (dashboard)",
            "order_risk_idx",
            Order.objects.filter(~Q(risk=""), status__in=open_).select_related("account", "contact", "owner")[:200],
        ),
        (
            "at-risk orders of one owner",
            "order_risk_idx",
            Order.objects.filter(~Q(risk=""), status__in=open_, owner=rep).order_by("-risk_flagged_at")[:200],
        ),
        (
            "on-time deliveries of a team, last 90 days (dashboard, manager: as orders.selectors._own_on_time)",
            "order_owner_time_idx",
            Order.objects.filter(
                owner_id__in=team,
                ordered_on__gte=today - timedelta(days=90 + 180),
                delivered_at__gte=timezone.make_aware(
                    datetime.combine(today - timedelta(days=90), datetime.min.time())
                ),
                status__in=[Order.Status.DELIVERED, Order.Status.CLOSED, Order.Status.RETURNED],
            )
            .values("owner_id")
            .annotate(
                deliveries=Count("id"),
                on_time=Count(
                    "id", filter=Q(promised_date__isnull=True) | Q(delivered_at__date__lte=F("promised_date"))
                ),
            ),
        ),
        (
            "DeliveryStat by month (dashboard, admin)",
            "deliverystat_one_per_month",
            DeliveryStat.objects.filter(month__gte=first_month)
            .values("month")
            .annotate(d=Sum("deliveries"), o=Sum("on_time"), t=Sum("days_total")),
        ),
        (
            "DeliveryStat by product and month (dashboard)",
            "deliverystat_one_per_month",
            DeliveryStat.objects.filter(month__gte=first_month).values_list(
                "product_id", "month", "deliveries", "on_time", "days_total"
            ),
        ),
        ("an account's orders", "order_account_idx", newest.filter(account_id=some_account)[:51]),
        ("order by number (search box)", "orders_order_number_key", Order.objects.filter(number="SO-123456")),
        (
            "order lines of an order (detail)",
            "orders_orderline_order_id",
            OrderLine.objects.filter(order_id=pk).order_by("position", "id"),
        ),
        (
            "sales ledger, booking basis by month, five months (forecasting should read SalesFact)",
            "salesentry_basis_on_idx",
            SalesEntry.objects.filter(basis="booking", on__gte=first_month)
            .values("on__month")
            .annotate(a=Sum("amount_base")),
        ),
        (
            "sales ledger of one rep, one month (commission statement)",
            "salesentry_rep_on_idx",
            SalesEntry.objects.filter(rep=rep, on__gte=first_month, on__lt=first_month + timedelta(days=31)),
        ),
    ]
    return [Plan(label, expected, sql_of(qs)) for label, expected, qs in plans]


def run_plans(plans: list[Plan]) -> None:
    for plan in plans:
        explain(plan.sql)  # warm
        plan.plan = explain(plan.sql)
        match = re.search(r"Execution Time: ([\d.]+) ms", plan.plan)
        plan.runtime = float(match.group(1)) if match else float("nan")
        plan.indexes = list(dict.fromkeys(re.findall(r"Index (?:Only )?Scan(?: Backward)? using (\w+)", plan.plan)))
        plan.indexes += [
            name
            for name in dict.fromkeys(re.findall(r"Bitmap Index Scan on (\w+)", plan.plan))
            if name not in plan.indexes
        ]
        plan.seq_scans = list(dict.fromkeys(re.findall(r"Seq Scan on (\w+)", plan.plan)))


# --- Report --------------------------------------------------------------------------------------


def machine_line() -> str:
    info = machine()
    return (
        f"{info['nproc']} CPUs ({info['cpu']}); PostgreSQL {info['server_version'].split()[0]} ({info['settings']}); "
        f"Python {info['python']}, Django {info['django']}"
    )


def dataset() -> dict[str, int]:
    from django.db import connection

    counts = row_counts(
        (
            "contacts_account",
            "contacts_contact",
            "orders_order",
            "orders_orderline",
            "orders_orderevent",
            "orders_shipment",
            "orders_salesentry",
            "orders_deliverystat",
        )
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT status, count(*) FROM orders_order GROUP BY 1 ORDER BY 2 DESC")
        counts.update({f"status {s}": n for s, n in cursor.fetchall()})
        cursor.execute("SELECT count(*) FROM orders_order WHERE risk <> ''")
        counts["at risk"] = cursor.fetchone()[0]
    return counts


def slow_statements(scenario: Scenario, top: int = 3) -> list[str]:
    ranked = sorted(zip(scenario.per_statement, scenario.statements, strict=True), key=lambda x: -x[0])[:top]
    return [f"- {ms_:.1f} ms: `{sql[:300]}{'…' if len(sql) > 300 else ''}`" for ms_, sql in ranked]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=50, help="timed requests per page")
    parser.add_argument("--warmup", type=int, default=5, help="untimed requests per page first")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--no-plans", action="store_true", help="skip the EXPLAIN ANALYZE of the likely queries")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON (for bench.run_all)")
    args = parser.parse_args(argv)

    os.environ.setdefault("DATABASE_URL", DATABASE_URL)
    django_setup()
    from django.conf import settings
    from django.test import Client

    from sfa.models import User

    require_migrated(
        "migrate it, or build it again with "
        "`.venv/bin/python -m bench.datagen --orders-only --orders 1000000 --lines 5000000`."
    )
    started = datetime.now(UTC)
    load_before = os.getloadavg()
    counts = dataset()
    if counts.get("order", 0) == 0:
        raise SystemExit(f"{settings.DATABASES['default']['NAME']} has no orders: build them with bench.datagen.")
    log("dataset: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    users = {name: User.objects.get(username=name) for name in USERS}
    clients = {}
    for name, user in users.items():
        clients[name] = Client()
        clients[name].force_login(user)
    scenarios = scenarios_for(users)
    measure(clients, scenarios, args.runs, args.warmup)

    profiles = []
    for scenario in scenarios:
        if scenario.target is not None and ms(scenario.samples)[1] > scenario.target:
            log(f"profiling {scenario.label} as {scenario.user} …")
            worst = max(range(len(scenario.statements)), key=lambda i: scenario.per_statement[i])
            profiles.append((scenario, explain(scenario.statements[worst]), profile(clients[scenario.user], scenario)))

    plans: list[Plan] = []
    if not args.no_plans:
        log("plans of the likely queries …")
        plans = likely_queries(users)
        run_plans(plans)

    load = f"load average {load_before[0]:.1f} at the start, {os.getloadavg()[0]:.1f} at the end"
    lines = [
        "# Orders benchmark",
        "",
        f"Run {started:%Y-%m-%d %H:%M} UTC by `.venv/bin/python -m bench.orders_bench` "
        f"(runs {args.runs} per page after {args.warmup} warm-ups, the pages interleaved), "
        f"database `{settings.DATABASES['default']['NAME']}`.",
        "",
        "- **Dataset** (bench/datagen.py): "
        + ", ".join(f"{v:,} {k}" for k, v in counts.items() if not k.startswith("status") and k != "at risk")
        + "; statuses: "
        + ", ".join(f"{k.removeprefix('status ')} {v:,}" for k, v in counts.items() if k.startswith("status"))
        + f"; {counts['at risk']:,} at risk.",
        f"- **Machine**: {machine_line()}; in-process test Client, DEBUG off, warm caches; {load}.",
        "- **Bare SQL**: the statements one request sent (session and user included), replayed with a psycopg2 "
        "cursor; *Django / SQL* is the ratio of the medians. *SQL in request*: the median time the request "
        "itself spent in `cursor.execute`. *CPU*: the request thread's CPU time (Python and the driver, not the "
        "server, not time spent waiting for a core): on a shared machine the wall-clock tail is mostly waiting.",
        "",
        f"## Pages (target: ≤ {TARGET_MS:g} ms)",
        "",
        table(scenarios),
        "",
    ]
    for scenario, plan, python in profiles:
        median, p95 = ms(scenario.samples)
        lines += [
            f"## Over the target: {scenario.label}, as {scenario.user} (median {median:.0f} ms, p95 {p95:.0f} ms)",
            "",
            f"SQL replayed: {np.median(scenario.bare):.1f} ms in {len(scenario.statements)} statements; "
            f"in the request {np.median(scenario.sql_in_request):.1f} ms. The slowest statements:",
            "",
            *slow_statements(scenario),
            "",
            "Plan of the slowest:",
            "",
            "```",
            plan,
            "```",
            "",
            "cProfile of one request (cumulative):",
            "",
            "```",
            python,
            "```",
            "",
        ]
    if plans:
        lines += [
            "## Plans of the likely queries",
            "",
            "| query | index expected | indexes used | seq scans | ms |",
            "|---|---|---|---|---:|",
        ]
        for plan in plans:
            lines.append(
                f"| {plan.label} | {plan.expected} | {', '.join(plan.indexes) or '–'} "
                f"| {', '.join(plan.seq_scans) or '–'} | {plan.runtime:.1f} |"
            )
        lines += ["", "<details><summary>The plans</summary>", ""]
        for plan in plans:
            lines += [f"### {plan.label}", "", "```sql", plan.sql, "```", "", "```", plan.plan, "```", ""]
        lines += ["</details>", ""]
    report = "\n".join(lines)
    print()
    print(report)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(report)
    log(f"written to {args.output}")
    if args.json:
        from bench.common import figure, write_json

        rows = [
            figure(
                f"{s.label} ({s.user})",
                s.samples,
                sql=float(np.median(s.bare)) if s.bare else None,
                target=s.target,
                note=f"`{s.url}`",
            )
            for s in scenarios
        ]
        write_json(args.json, "orders", rows, command="bench.orders_bench", results=str(args.output), dataset=counts)


if __name__ == "__main__":
    main()
