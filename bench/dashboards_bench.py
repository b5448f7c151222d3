"""Render times of the forecast dashboards from stored results (issue #8: each dashboard in <= 300 ms).

    .venv/bin/python -m bench.dashboards_bench                        # SQLite (a throw-away test database)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sfa_bench .venv/bin/python -m bench.dashboards_bench
    .venv/bin/python -m bench.dashboards_bench --products 500 --runs 10   # a quick look

A throw-away database (Django's test database for ``DATABASE_URL``: ``test_<name>``, migrated, dropped at
the end unless ``--keep``) gets a done forecast run written straight into the tables with bulk inserts
(``tests.forecasting.factories.stored_run``): ``--products`` products (default 2,000) in 20 categories,
their categories, the total, 40 regions and 6 reps, 36 months of history each and ``--horizon`` months
(default 24) of points with intervals; and eight older runs carrying a year of accuracy history.

Each page is requested through Django's test ``Client`` with DEBUG off (middleware, session, selectors,
templates), signed in as a manager or a rep: warmed up, then ``--runs`` times, the pages interleaved so that
the machine's load falls on all alike. The report gives median and p95 in ms and the queries each page
sends, on stdout and in bench/results/forecast_dashboards.md.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "forecast_dashboards.md"
TARGET_MS = 300.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, default=2000)
    parser.add_argument("--horizon", type=int, default=24)
    parser.add_argument("--runs", type=int, default=30, help="timed requests per page")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the test database (and reuse it next time)")
    parser.add_argument("--json", help="also write the figures as JSON (for bench.run_all)")
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sfa.settings.base")
    os.environ["DEBUG"] = "False"
    os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "True")
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import setup_test_environment

    from bench.common import log, ms

    setup_test_environment()
    if connection.vendor == "sqlite":  # a file, as the embedded mode runs (Django's default is in memory)
        from django.conf import settings

        connection.settings_dict["TEST"]["NAME"] = str(Path(settings.DATA_DIR) / "dashboards_bench.sqlite3")
    started = time.perf_counter()
    old_name = connection.creation.create_test_db(verbosity=0, keepdb=args.keep)
    log(f"test database {connection.settings_dict['NAME']} ready in {time.perf_counter() - started:.0f} s")
    try:
        pages, data = build(args)
        results = measure(pages, args)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0, keepdb=args.keep)
    report(results, data, args, ms)


def build(args) -> tuple[list[tuple[str, str, str]], dict]:
    """The data, and the pages to time as (label, user, path)."""
    from django.db import connection

    from bench.common import log
    from forecasting.models import ForecastPoint, ForecastRun, ForecastSeries
    from forecasting.services_runs import month_add
    from sfa.models import Department, Role, Team, User
    from tests.forecasting.factories import stored_run

    ForecastRun.objects.all().delete()
    sales = Department.objects.create(name="Bench sales", is_sales=True)
    manager = User.objects.create_user("bench-manager", password="x", role=Role.MANAGER, department=sales)
    team = Team.objects.create(name="Bench team", manager=manager, department=sales)
    reps = [
        User.objects.create_user(f"bench-rep{i}", password="x", role=Role.REP, team=team, department=sales)
        for i in range(6)
    ]
    started = time.perf_counter()
    for i in range(8):  # older runs with a year of accuracy each (what the accuracy card reads)
        old = stored_run(products=2, categories=1, regions=1, reps=reps[:1], history=24, horizon=12)
        months = [month_add(old.history_end, -12 + m) for m in range(12)]
        old.summary["accuracy"] = [
            {
                "period": m.isoformat(),
                "total_forecast": 1e6,
                "total_actual": 1.05e6,
                "total_ape": 4.8,
                "total_in80": True,
                "total_in95": True,
                "mape": 20.0 + i,
                "smape": 18.0,
                "in80": 79.0,
                "in95": 94.0,
                "n": 2000,
            }
            for m in months
        ]
        ForecastRun.objects.filter(pk=old.pk).update(
            summary=old.summary, history_end=month_add(old.history_end, -12 - i)
        )
    run = stored_run(products=args.products, categories=20, regions=40, reps=reps, horizon=args.horizon)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    data = {
        "series": ForecastSeries.objects.filter(run=run).count(),
        "points": ForecastPoint.objects.filter(series__run=run).count(),
        "all_points": ForecastPoint.objects.count(),
        "seconds": time.perf_counter() - started,
        "database": connection.vendor,
    }
    log(f"stored run {run.pk}: {data['series']:,} series, {data['points']:,} points in {data['seconds']:.1f} s")
    category = ForecastSeries.objects.filter(run=run, level="category").order_by("label").first()
    product = ForecastSeries.objects.filter(run=run, level="product", parent_key=category.key).first()
    rep = ForecastSeries.objects.filter(run=run, level="rep").first()
    pages = [
        ("dashboard (manager)", "bench-manager", "/forecasting/"),
        ("dashboard (rep: own series)", rep_username(rep), "/forecasting/"),
        ("categories", "bench-manager", "/forecasting/by/categories/"),
        ("regions (40)", "bench-manager", "/forecasting/by/regions/"),
        ("reps", "bench-manager", "/forecasting/by/reps/"),
        (
            f"category with its {ForecastSeries.objects.filter(run=run, parent_key=category.key).count()} products",
            "bench-manager",
            f"/forecasting/series/category/{category.key}/",
        ),
        ("product", "bench-manager", f"/forecasting/series/product/{product.key}/"),
        ("runs", "bench-manager", "/forecasting/runs/"),
        ("run detail", "bench-manager", f"/forecasting/runs/{run.pk}/"),
        ("API: 50 product series with points", "bench-manager", "/api/forecasts/series/?level=product"),
    ]
    return pages, data


def rep_username(series) -> str:
    from sfa.models import User

    return User.objects.get(pk=int(series.key)).username


def measure(pages, args) -> list[dict]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from sfa.models import User

    clients = {}
    for _, username, _ in pages:
        if username not in clients:
            client = Client()
            client.force_login(User.objects.get(username=username))
            clients[username] = client
    results = []
    for label, username, path in pages:
        client = clients[username]
        for _ in range(args.warmup):
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)
        with CaptureQueriesContext(connection) as queries:
            client.get(path)
        results.append({"label": label, "path": path, "user": username, "queries": len(queries), "times": []})
    for _ in range(args.runs):
        for result in results:
            client = clients[result["user"]]
            started = time.perf_counter()
            response = client.get(result["path"])
            result["times"].append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
    return results


def report(results: list[dict], data: dict, args, ms) -> None:
    import platform

    from django import get_version

    lines = [
        "# Forecast dashboards: render times from stored results",
        "",
        f"Target: each dashboard in <= {TARGET_MS:.0f} ms. {data['database']} (a fresh test database), "
        f"Python {platform.python_version()}, Django {get_version()}, {os.cpu_count()} CPUs, "
        f"{time.strftime('%Y-%m-%d')}.",
        "",
        f"Data: one done run of {args.products:,} products in 20 categories, 40 regions and 6 reps "
        f"({data['series']:,} series, {data['points']:,} points of {args.horizon} months, 36 months of history "
        f"each), eight older runs with a year of accuracy history ({data['all_points']:,} points in all); "
        f"written with bulk inserts in {data['seconds']:.1f} s.",
        "",
        f"Django test Client, DEBUG off, {args.warmup} warm-up and {args.runs} timed requests per page, interleaved.",
        "",
        "| page | user | queries | median ms | p95 ms | within target |",
        "|---|---|---:|---:|---:|---|",
    ]
    for result in results:
        median, p95 = ms(result["times"])
        lines.append(
            f"| {result['label']} | {result['user']} | {result['queries']} | {median:.1f} | {p95:.1f} | "
            f"{'yes' if p95 <= TARGET_MS else 'NO'} |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    RESULTS.parent.mkdir(exist_ok=True)
    name = RESULTS if data["database"] == "postgresql" else RESULTS.with_name("forecast_dashboards_sqlite.md")
    name.write_text(text)
    if getattr(args, "json", None):
        from bench.common import figure, write_json

        rows = [
            figure(f"forecast {r['label']} ({r['user']})", r["times"], target=TARGET_MS, note=f"{r['queries']} queries")
            for r in results
        ]
        write_json(args.json, "dashboards", rows, database=data["database"], results=str(name))


if __name__ == "__main__":
    main()
