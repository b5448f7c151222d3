"""Forecast runs through real Celery workers: one worker process against two (issue #8, item 3 and 9).

    .venv/bin/python -m bench.forecast_runs_bench                       # 3,000 series, 1 and 2 workers
    .venv/bin/python -m bench.forecast_runs_bench --series 10000 --repeats 3 --no-build

A run is what a manager starts on the dashboard: the job lists the series (every product, category,
region and rep, and the total), queues about twenty chunk tasks, the workers forecast and store them,
and the task that stores the last chunk reconciles the hierarchy. Timed from ``forecast_run_start`` to
the run's status DONE, as the progress bar sees it. Each configuration starts its own ``celery worker
--concurrency 1`` processes (what scaling out adds) on Redis, against a PostgreSQL database that
``bench.build`` fills with ``--series`` products of ``--months`` months of sales (``--no-build`` keeps
it). The runs alternate between the configurations; medians and the ratio go to
bench/results/forecast_runs.md (and to ``--json`` for bench.run_all).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "forecast_runs.md"
SERVER = "postgres://postgres@127.0.0.1:5432"
DEFAULT_DB = f"{SERVER}/sfa_bench_h8_runs"
BROKER = "redis://127.0.0.1:6379/13"
TIMEOUT = 1800  # seconds a run may take before the benchmark gives up


def start_workers(count: int, env: dict[str, str], logs: Path) -> list[subprocess.Popen]:
    workers = []
    for i in range(count):
        with (logs / f"worker-{count}-{i}.log").open("w") as out:
            workers.append(
                subprocess.Popen(
                    [sys.executable, "-m", "celery", "-A", "sfa", "worker", "--concurrency", "1", "--loglevel",
                     "WARNING", "--without-gossip", "--without-mingle", "-n", f"runs-{count}-{i}@%h"],
                    cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                )
            )  # fmt: skip
    from sfa.celery import app

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if len(app.control.ping(timeout=1)) >= count:
            return workers
    stop_workers(workers)
    raise SystemExit(f"{count} Celery worker(s) did not answer a ping within 60 s (logs in {logs})")


def stop_workers(workers: list[subprocess.Popen]) -> None:
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()


def timed_run(actor) -> tuple[float, dict]:
    from forecasting.models import ForecastRun
    from forecasting.services_runs import forecast_run_start

    started = time.perf_counter()
    run = forecast_run_start(actor=actor)
    while True:
        time.sleep(0.1)
        run.refresh_from_db()
        if run.status in (ForecastRun.Status.DONE, ForecastRun.Status.FAILED):
            break
        if time.perf_counter() - started > TIMEOUT:
            raise SystemExit(
                f"run {run.pk} not done after {TIMEOUT} s ({run.chunks_done} of {run.chunks_total} chunks)"
            )
    seconds = time.perf_counter() - started
    if run.status != ForecastRun.Status.DONE:
        raise SystemExit(f"run {run.pk} failed: {run.error}")
    return seconds, {"series": run.series_total, "chunks": run.chunks_total, "horizon": run.horizon}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_DB)
    parser.add_argument("--series", type=int, default=3000)
    parser.add_argument("--months", type=int, default=48)
    parser.add_argument("--workers", default="1,2", help="worker counts to compare, e.g. 1,2")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--no-build", action="store_true")
    parser.add_argument("--json", help="write the figures for bench.run_all here")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    counts = [int(c) for c in args.workers.split(",")]
    logs = Path(tempfile.mkdtemp(prefix="sfa-forecast-runs-"))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "sfa.settings.base",
        "DATABASE_URL": args.database_url,
        "CELERY_BROKER_URL": BROKER,
        "CELERY_TASK_ALWAYS_EAGER": "False",
        "SFA_DATA_DIR": str(logs),
        "DEBUG": "False",
    }
    if not args.no_build:
        command = [sys.executable, "-m", "bench.build", "--scale", "0.001", "--series", str(args.series)]
        subprocess.run([*command, "--months", str(args.months)], cwd=ROOT, env=env, check=True)
    os.environ.update(env)
    from bench import django_setup

    django_setup()
    from bench.common import figure, machine, write_json
    from sfa.celery import app
    from sfa.models import User

    app.control.purge()
    actor, _ = User.objects.get_or_create(username="bench-forecast-runs", defaults={"role": "admin"})
    times: dict[int, list[float]] = {c: [] for c in counts}
    shape: dict = {}
    for repeat in range(args.repeats):
        for count in counts if repeat % 2 == 0 else reversed(counts):
            workers = start_workers(count, env, logs)
            try:
                seconds, shape = timed_run(actor)
            finally:
                stop_workers(workers)
            times[count].append(seconds)
            print(
                f"  repeat {repeat + 1}, {count} worker(s): {seconds:.1f} s; load {os.getloadavg()[0]:.1f}", flush=True
            )

    base = median(times[counts[0]])
    what = f"{shape['series']:,} series, {shape['chunks']} chunks, {shape['horizon']} months ahead"
    lines = [
        "# Forecast runs through Celery workers",
        "",
        f"`python -m bench.forecast_runs_bench --series {args.series} --repeats {args.repeats}`, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {machine().get('cpu', '')}; "
        f"load average {os.getloadavg()[0]:.1f} at the end.",
        "",
        f"A run of {what}: from the start to the run's DONE (listing, chunks, storing, reconciling).",
        "",
        "| worker processes | runs (s) | median s | speed-up |",
        "|---:|---|---:|---:|",
    ]
    rows = []
    for count in counts:
        mid = median(times[count])
        lines.append(f"| {count} | {', '.join(f'{t:.1f}' for t in times[count])} | {mid:.1f} | {base / mid:.2f}× |")
        rows.append(figure(f"forecast run through Celery ({what}): {count} worker(s)", times[count], unit="s"))
    text = "\n".join(lines) + "\n"
    print(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    if args.json:
        write_json(args.json, "forecast_runs", rows, **machine())


if __name__ == "__main__":
    main()
