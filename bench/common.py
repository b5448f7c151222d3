"""What the in-process benchmarks share: timing and percentiles, replaying captured SQL with a bare cursor,
EXPLAIN ANALYZE, the machine's description and the dataset's row counts, and the migration check.

Call ``bench.django_setup()`` first: the functions that touch the database import Django inside.
"""

from __future__ import annotations

import os
import platform
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np


def log(message: str) -> None:
    print(message, flush=True)


def ms(values: Sequence[float]) -> tuple[float, float]:
    """Median and 95th percentile."""
    array = np.asarray(values, dtype=float)
    return float(np.median(array)), float(np.percentile(array, 95))


def timed(call: Callable[[], Any]) -> tuple[float, Any]:
    """Milliseconds ``call`` took, and what it returned."""
    started = time.perf_counter()
    result = call()
    return (time.perf_counter() - started) * 1000, result


def replay(statements: list[str]) -> tuple[float, list[float]]:
    """Run the statements with a bare psycopg2 cursor: total ms, and ms per statement."""
    from django.db import connection

    connection.ensure_connection()
    each = []
    with connection.connection.cursor() as cursor:
        for sql in statements:
            started = time.perf_counter()
            cursor.execute(sql)
            if cursor.description is not None:
                cursor.fetchall()
            each.append((time.perf_counter() - started) * 1000)
    return sum(each), each


def explain(sql: str) -> str:
    """The plan PostgreSQL runs ``sql`` with (EXPLAIN ANALYZE, BUFFERS), as text."""
    from django.db import connection

    with connection.connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        return "\n".join(row[0] for row in cursor.fetchall())


def machine() -> dict[str, str]:
    """What the figures were measured on: CPUs, memory, the PostgreSQL server and its settings, Python, Django."""
    from django import get_version
    from django.db import connection

    cpu = ""
    if Path("/proc/cpuinfo").exists():
        match = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
        cpu = match.group(1).strip() if match else ""
    memory = ""
    if Path("/proc/meminfo").exists():
        match = re.search(r"MemTotal:\s*(\d+)", Path("/proc/meminfo").read_text())
        memory = f"{int(match.group(1)) / 1024 / 1024:.0f} GB" if match else ""
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
        settings = []
        for name in ("shared_buffers", "work_mem", "effective_cache_size", "random_page_cost", "jit"):
            cursor.execute(f"SHOW {name}")
            settings.append(f"{name}={cursor.fetchone()[0]}")
    return {
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "memory": memory,
        "server_version": version,
        "settings": ", ".join(settings),
        "python": platform.python_version(),
        "django": get_version(),
    }


def row_counts(tables: Sequence[str]) -> dict[str, int]:
    """Rows per table, named without the app's prefix ("contacts_account" -> "account")."""
    from django.db import connection

    counts = {}
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"SELECT count(*) FROM {table}")
            counts[table.split("_", 1)[1]] = cursor.fetchone()[0]
    return counts


def require_migrated(remedy: str) -> None:
    """Stop with a clear message when the database is behind the code's migrations (new columns, new
    indexes); ``remedy`` says how to bring it up to date."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if pending:
        names = ", ".join(f"{m.app_label}.{m.name}" for m, _ in pending)
        raise SystemExit(f"The benchmark database lacks migrations ({names}): {remedy}")


def figure(
    operation: str,
    samples: Sequence[float] | None = None,
    *,
    median: float | None = None,
    p95: float | None = None,
    n: int | None = None,
    unit: str = "ms",
    sql: Sequence[float] | float | None = None,
    target: float | None = None,
    met: bool | None = None,
    note: str = "",
) -> dict[str, Any]:
    """One operation's figures as ``bench.run_all`` reads them (``--json``): median and p95 from ``samples``
    unless given, the bare SQL median (samples or a number), and the p95 target in ``unit`` and whether it is met."""
    if samples:
        computed = ms(samples)
        median = computed[0] if median is None else median
        p95 = computed[1] if p95 is None else p95
        n = len(samples) if n is None else n
    if sql is not None and not isinstance(sql, (int, float)):
        sql = ms(sql)[0] if len(sql) else None
    if met is None and target is not None and p95 is not None:
        met = p95 <= target
    return {
        "operation": operation,
        "n": n,
        "median": median,
        "p95": p95,
        "unit": unit,
        "sql_median": sql,
        "target": None if target is None else f"p95 ≤ {target:g} {unit}",
        "met": met,
        "note": note,
    }


def write_json(path: str | Path, bench: str, rows: Sequence[dict[str, Any]], **meta: Any) -> None:
    """Write a benchmark's figures (rows made by ``figure``) for ``bench.run_all`` to aggregate."""
    import json
    from datetime import UTC, datetime

    payload = {
        "bench": bench,
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        **meta,
        "rows": list(rows),
    }
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(payload, indent=1, ensure_ascii=False, default=str) + "\n")
