"""Run every benchmark of the feature issues and write one table to docs/benchmarks.md.

    .venv/bin/python -m bench.run_all --quick        # small data, a few minutes: proves the harness end to end
    .venv/bin/python -m bench.build                  # the full dataset first (about 15 minutes, see bench/README.md)
    .venv/bin/python -m bench.run_all                # every benchmark at its own default size (an hour or more)

Each benchmark runs as its own process (as one would run it by hand), one after the other, with a time limit.
The in-process ones (contacts, duplicates, orders, catalog, leads import, forecast dashboards, forecast runs
through Celery workers) write their
figures with ``--json``; the configurator under load and the forecast engine are read from their Markdown
results. The table gives, per operation, median and p95, the median of the bare SQL behind it where the
benchmark replays it (*Django / SQL*: what Django, serialisation and templates add), the benchmark's own
target and whether it is met. A benchmark that fails is listed with the end of its output; the others go on.

``--quick`` builds its own small dataset (``bench.build --scale 0.01``) in ``sfa_bench_h10_quick``, runs each
benchmark with few repetitions, leaves the committed results in bench/results/ as they were (a quick run
only writes docs/benchmarks.md, or ``--output``) and drops the databases it made. Without ``--quick`` the
benchmarks read the dataset of ``--database-url`` (default ``sfa_bench``, built by ``bench.build``) and
write their usual results files.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DOC = ROOT / "docs" / "benchmarks.md"
SERVER = "postgres://postgres@127.0.0.1:5432"
QUICK_DB = "sfa_bench_h10_quick"
QUICK_IMPORT_DB = "sfa_bench_import_h10"
QUICK_LOAD_DB = "sfa_bench_h10_load"
QUICK_RUNS_DB = "sfa_bench_h8_runs_quick"


@dataclass
class Bench:
    name: str
    issue: str
    module: str
    full: list[str]
    quick: list[str]
    reader: str = "json"  # json, configurator_load or forecast
    timeout: int = 3600
    env: dict[str, str] = field(default_factory=dict)


def benches(database_url: str, quick: bool) -> list[Bench]:
    server = database_url.rsplit("/", 1)[0]
    return [
        Bench(
            "contacts",
            "#3 contacts",
            "bench.contacts_bench",
            [],
            ["--rounds", "1", "--page-runs", "10", "--guard-runs", "10"],
            timeout=7200,
        ),
        Bench("duplicates", "#4 duplicates", "bench.duplicates_bench", [], ["--import-rows", "2000", "--checks", "50"]),
        Bench("orders", "#7 orders", "bench.orders_bench", [], ["--runs", "10", "--warmup", "2", "--no-plans"]),
        Bench("catalog", "#6 catalog", "bench.catalog_bench", [], ["--runs", "200", "--requests", "100"]),
        Bench(
            "leads_import",
            "#5 leads import",
            "bench.leads_import_bench",
            [],
            ["--rows", "5000", "--database", QUICK_IMPORT_DB],
        ),
        Bench(
            "dashboards",
            "#8 forecast dashboards",
            "bench.dashboards_bench",
            [],
            ["--products", "300", "--runs", "10", "--warmup", "2"],
        ),
        Bench(
            "configurator_load",
            "#6 configurator under load",
            "bench.configurator_load",
            ["--seconds", "60"],
            ["--seconds", "10", "--database-url", f"{server}/{QUICK_LOAD_DB}"],
            reader="configurator_load",
        ),
        Bench(
            "forecast_runs",
            "#8 forecast runs",
            "bench.forecast_runs_bench",
            ["--database-url", f"{server}/sfa_bench_h8_runs"],
            ["--series", "300", "--repeats", "1", "--database-url", f"{server}/{QUICK_RUNS_DB}"],
        ),
        Bench(
            "forecast", "#8 forecast engine", "bench.forecast_bench", [], ["--quick"], reader="forecast", timeout=5400
        ),
    ]


# --- Reading the results -------------------------------------------------------------------------


def row(operation: str, median: float | None, unit: str, *, p95=None, n=None, target=None, met=None, note="") -> dict:
    return {
        "operation": operation,
        "n": n,
        "median": median,
        "p95": p95,
        "unit": unit,
        "sql_median": None,
        "target": target,
        "met": met,
        "note": note,
    }


def number(text: str) -> float:
    return float(text.replace(",", "").replace("*", "").strip())


def read_configurator_load(text: str) -> list[dict]:
    """The wrk table (p50, p90, p99: wrk gives no p95) and the requests/s target."""
    verdict = re.search(r"Target: 200 requests/s with no errors — \*\*(met|NOT met)\*\*", text)
    rows = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 8 and cells[0].startswith(("option change (", "page view (")):
            rps, p50, p90, p99, requests, non_2xx = (number(c) for c in cells[1:7])
            rows.append(
                row(
                    f"configurator under load: {cells[0]}",
                    p50,
                    "ms",
                    n=int(requests),
                    target="≥ 200 requests/s, no errors",
                    met=rps >= 200 and non_2xx == 0 and cells[7] == "none",
                    note=f"{rps:.0f} requests/s; p90 {p90:.1f} ms, p99 {p99:.1f} ms (wrk gives no p95); "
                    f"non-2xx {int(non_2xx)}, socket errors {cells[7]}",
                )
            )
    if not rows or verdict is None:
        raise ValueError("no wrk table or target line in the configurator_load results")
    return rows


def read_forecast(text: str) -> list[dict]:
    rows = []
    overall = re.search(r"^\| \*\*overall\*\* \| (\d+) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \|", text, re.M)
    if overall:
        n, engine, naive, autoets = int(overall[1]), *(float(overall[i]) for i in (2, 3, 4))
        rows.append(
            row(
                "forecast accuracy: overall MASE (engine)",
                engine,
                "MASE",
                n=n,
                target="≤ 0.9 × seasonal naive and ≤ AutoETS",
                met=engine <= 0.9 * naive and engine <= autoets,
                note=f"seasonal naive {naive:.3f}, AutoETS {autoets:.3f}",
            )
        )
    series = re.search(r"([\d,]+) monthly series of (\d+) months", text)
    label = f"{series[1]} series × {series[2]} months" if series else "speed series"
    for match in re.finditer(
        r"^\| (engine, jobs=\d|AutoETS, n_jobs=\d) \| ([^|]*) \| ([\d.]+) \| ([\d.]+) \|", text, re.M
    ):
        rows.append(
            row(
                f"forecast speed: {match[1]}, {label}",
                float(match[3]),
                "s",
                n=len(match[2].split(",")),
                note=f"CPU {float(match[4]):.1f} s",
            )
        )
    ratio = re.search(r"wall clock: \*\*([\d.]+)\*\* \(target ≤ ([\d.]+)\)", text)
    if ratio:
        rows.append(
            row(
                "forecast speed: engine (jobs=2) / AutoETS, wall clock",
                float(ratio[1]),
                "×",
                target=f"≤ {ratio[2]}",
                met=float(ratio[1]) <= float(ratio[2]),
            )
        )
    if not rows:
        raise ValueError("no accuracy or speed table in the forecast results")
    return rows


# --- Running -------------------------------------------------------------------------------------


@dataclass
class Outcome:
    bench: Bench
    command: str
    seconds: float
    returncode: int | None
    rows: list[dict]
    error: str = ""
    meta: dict = field(default_factory=dict)


def preserved(paths: list[Path]) -> Callable[[], None]:
    """Snapshot the results files; the returned call puts back those a quick run changed."""
    before = {p: p.read_bytes() if p.exists() else None for p in paths}

    def restore() -> None:
        for path, content in before.items():
            now = path.read_bytes() if path.exists() else None
            if now != content:
                if content is None:
                    path.unlink()
                else:
                    path.write_bytes(content)

    return restore


def run_bench(bench: Bench, args: argparse.Namespace, workdir: Path) -> Outcome:
    argv = list(bench.quick if args.quick else bench.full)
    out_json = workdir / f"{bench.name}.json"
    out_md = workdir / f"{bench.name}.md"
    if bench.reader == "json":
        argv += ["--json", str(out_json)]
        if bench.name in ("contacts", "orders") and args.quick:
            argv += ["--output", str(out_md)]
    elif bench.reader == "forecast" and args.quick:
        argv += ["--output", str(out_md)]
    env = {**os.environ, "DATABASE_URL": args.database_url, **bench.env}
    command = f"python -m {bench.module} {' '.join(argv)}".strip()
    log_path = workdir / f"{bench.name}.log"
    restore = preserved(sorted(RESULTS.glob("*.md"))) if args.quick else None
    print(f"[{time.strftime('%H:%M:%S')}] {bench.name}: {command}", flush=True)
    started = time.perf_counter()
    returncode: int | None = None
    error = ""
    try:
        with log_path.open("w") as log:
            done = subprocess.run(
                [sys.executable, "-m", bench.module, *argv],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=bench.timeout,
            )
        returncode = done.returncode
    except subprocess.TimeoutExpired:
        error = f"stopped after the time limit of {bench.timeout} s"
    seconds = time.perf_counter() - started
    rows: list[dict] = []
    meta: dict = {}
    try:
        if bench.reader == "json":
            if out_json.exists():
                payload = json.loads(out_json.read_text())
                rows, meta = payload.pop("rows"), payload
        else:
            source = out_md if out_md.exists() else RESULTS / f"{bench.name}.md"
            if source.exists() and source.stat().st_mtime >= time.time() - seconds - 5:
                text = source.read_text()
                rows = read_configurator_load(text) if bench.reader == "configurator_load" else read_forecast(text)
    except (ValueError, KeyError, json.JSONDecodeError) as exc:
        error = error or f"results not readable: {exc}"
    finally:
        if restore is not None:
            restore()
    if not rows and not error:
        error = f"exit status {returncode}, no figures written"
    if error:
        tail = log_path.read_text(errors="replace").strip().splitlines()[-12:]
        error += "\n\n```\n" + "\n".join(tail) + "\n```"
    print(f"    {len(rows)} figures in {seconds:.0f} s" + (f"; {error.splitlines()[0]}" if error else ""), flush=True)
    return Outcome(bench, command, seconds, returncode, rows, error, meta)


def psql(sql: str) -> None:
    subprocess.run(["psql", f"{SERVER}/postgres", "-qAtc", sql], check=False, capture_output=True)


# --- The report ----------------------------------------------------------------------------------


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "–"
    text = f"{value:,.1f}" if unit in ("ms", "s") else f"{value:.3f}"
    return f"{text} {unit}" if unit not in ("ms", "MASE") else text


def report(outcomes: list[Outcome], args: argparse.Namespace, started: datetime, loads: list[float]) -> str:
    import platform

    kind = "QUICK run (small data, few repetitions)" if args.quick else "full run"
    cpu = ""
    if Path("/proc/cpuinfo").exists():
        match = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
        cpu = f" ({match.group(1).strip()})" if match else ""
    lines = [
        "# Benchmarks",
        "",
        f"**{kind}** of `.venv/bin/python -m bench.run_all{' --quick' if args.quick else ''}`, "
        f"{started:%Y-%m-%d %H:%M} UTC, {sum(o.seconds for o in outcomes) / 60:.0f} minutes; "
        f"{os.cpu_count()} CPUs{cpu}, Python {platform.python_version()}; "
        f"load average {loads[0]:.1f} at the start, {os.getloadavg()[0]:.1f} at the end.",
        "",
    ]
    if args.quick:
        lines += [
            "> This is a quick run on a shared machine: 1 % of the dataset (`bench.build --scale 0.01`), a few "
            "repetitions per operation, other people's tests running on the same two cores. It proves the "
            "harness works end to end; its figures are NOT the issues' verdicts (the targets are stated for the "
            "full dataset). The full run: `bench.build` then `bench.run_all` on a quiet machine (bench/README.md).",
            "",
        ]
    lines += [
        "Median and p95 per operation; *bare SQL* is the median of the statements the request sent, replayed "
        "with a plain psycopg2 cursor, and *Django / SQL* the ratio of the medians: what Django, the "
        "serialisation and the templates add. *Target* is the benchmark's own (p95 unless it says otherwise).",
        "",
        "| issue | operation | n | median ms | p95 ms | bare SQL ms | Django / SQL | target | met |",
        "|---|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for outcome in outcomes:
        for r in outcome.rows:
            unit = r.get("unit") or "ms"
            ratio = "–"
            if r.get("sql_median") and r.get("median") and unit == "ms":
                ratio = f"{r['median'] / r['sql_median']:.1f}×"
            met = {True: "yes", False: "**no**", None: "–"}[r.get("met")]
            note = f" ({r['note']})" if r.get("note") else ""
            lines.append(
                f"| {outcome.bench.issue} | {r['operation']}{note} | {r.get('n') or '–'} | "
                f"{fmt(r.get('median'), unit)} | {fmt(r.get('p95'), unit)} | "
                f"{fmt(r.get('sql_median'), 'ms')} | {ratio} | {r.get('target') or '–'} | {met} |"
            )
    lines += [
        "",
        "Figures in seconds (imports, scans, the forecast engine) or other units carry their unit.",
        "",
        "## The runs",
        "",
        "| benchmark | command | minutes | figures | status |",
        "|---|---|---:|---:|---|",
    ]
    for o in outcomes:
        status = "ok" if not o.error else "**failed** (below)"
        if not o.error and o.returncode not in (0, None):
            status = f"ok (exit {o.returncode}: a target missed)"
        lines.append(f"| {o.bench.name} | `{o.command}` | {o.seconds / 60:.1f} | {len(o.rows)} | {status} |")
    for o in outcomes:
        if o.error:
            lines += ["", f"### {o.bench.name} failed", "", o.error]
    lines += [
        "",
        "Where the figures come from: each benchmark's own results file in bench/results/ (plans, profiles, "
        "caveats), bench/README.md (how each one measures), bench/results/load.md (the mixed load test).",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small data and few repetitions: minutes")
    parser.add_argument("--database-url", help=f"the dataset (default {SERVER}/sfa_bench; --quick: its own)")
    parser.add_argument("--build", action="store_true", help="build the dataset first (bench.build; --quick always)")
    parser.add_argument("--only", nargs="+", help="run these benchmarks only (names as in the table of runs)")
    parser.add_argument("--output", type=Path, default=DOC)
    parser.add_argument("--keep", action="store_true", help="--quick: keep the databases it made")
    args = parser.parse_args(argv)
    args.database_url = args.database_url or f"{SERVER}/{QUICK_DB if args.quick else 'sfa_bench'}"
    started = datetime.now(UTC)
    loads = list(os.getloadavg())
    workdir = Path(tempfile.mkdtemp(prefix="sfa-run-all-"))
    print(f"logs in {workdir}", flush=True)
    outcomes: list[Outcome] = []
    try:
        if args.quick or args.build:
            build = ["--scale", "0.01"] if args.quick else []
            print(f"[{time.strftime('%H:%M:%S')}] building the dataset: bench.build {' '.join(build)}", flush=True)
            began = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-m", "bench.build", *build],
                cwd=ROOT,
                env={**os.environ, "DATABASE_URL": args.database_url},
                stdout=(workdir / "build.log").open("w"),
                stderr=subprocess.STDOUT,
            )
            if done.returncode:
                print((workdir / "build.log").read_text()[-3000:])
                raise SystemExit("bench.build failed")
            print(f"    built in {time.perf_counter() - began:.0f} s", flush=True)
        for bench in benches(args.database_url, args.quick):
            if args.only and bench.name not in args.only:
                continue
            outcomes.append(run_bench(bench, args, workdir))
    finally:
        if args.quick and not args.keep:
            for name in (args.database_url.rsplit("/", 1)[1], QUICK_IMPORT_DB, QUICK_LOAD_DB, QUICK_RUNS_DB):
                if name.startswith("sfa_bench"):
                    psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    text = report(outcomes, args, started, loads)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(text)
    print(f"written to {args.output}")
    return 1 if any(o.error for o in outcomes) else 0


if __name__ == "__main__":
    raise SystemExit(main())
