"""PostgreSQL restarted under load: requests fail cleanly (503 + Retry-After) and the app recovers by itself.

    .venv/bin/python -m bench.fault_pg_restart                    # 1 % dataset, 40 s of load, restart at 15 s
    .venv/bin/python -m bench.fault_pg_restart --seconds 20 --restart-at 8 --no-build \\
        --database-url postgres://postgres@127.0.0.1:5432/sfa_bench
    .venv/bin/python -m bench.fault_pg_restart --no-restart       # the load and the checks only: disturbs nobody

Issue #10's fault "restart PostgreSQL under load". The stack is bench.load's, started by its functions: the dataset
from ``bench.build --scale`` (unless ``--no-build``), gunicorn (production settings, DEBUG off), Redis as cache and
broker (database 11 here) and one Celery worker. ``--threads`` clients (plain ``requests``), each signed in as a
demo rep or manager, read (the contact list, the HTMX search box, ``GET /api/contacts/?search=``, managers the
forecast dashboard) and write (``POST /api/touches/``, inbound so the guard never holds one back, each with a
unique marker in its notes and as its ``Idempotency-Key``; a write that meets a 503 or a lost connection is sent
again with the same key for up to 15 s, as a careful client does).
At ``--restart-at`` seconds the PostgreSQL server is restarted
(``pg_ctlcluster <version> main restart``, the version from /etc/postgresql; else ``service postgresql restart``)
while the load goes on; a probe connects every 0.1 s to see when it is down and when it accepts connections again.

Then it checks: every answer was a success or a clean 503 (``Retry-After: 5``, the message; JSON on /api/) — no
500, no traceback, no dropped connection; in the database, every write whose last attempt was answered 201 is
stored exactly once (a retry of one that had gone in is replayed, not stored again) and one that never got a
201 left nothing; gunicorn's processes have the PIDs they had before (no restart); nothing failed
later than 10 s after PostgreSQL was back, and every kind of request succeeded again after it. Per-second counts,
the outage window, the time to recover and the checks go to bench/results/faults.md; the exit code is 1 when a
check fails.

**It restarts the whole PostgreSQL server**: every connection to it, other people's tests included, is cut.
Keep runs short and few on a shared machine.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import requests

from bench import load

RESULTS = load.ROOT / "bench" / "results" / "faults.md"
DEFAULT_DB = f"{load.SERVER}/sfa_bench_h10_faults"
PORT = 8793  # not bench.load's, so a load run next door is never the server measured here
REDIS_URL = "redis://127.0.0.1:6379/11"  # cache and broker; bench.load uses 12
USERS = ("rep", "rep2", "rep3", "rep4", "manager", "manager2")
MESSAGE = "The database is unavailable; try again in a few seconds."  # sfa.middleware.DATABASE_UNAVAILABLE
RECOVERY_LIMIT = 10.0  # seconds after PostgreSQL accepts connections again
RETRY_SECONDS, RETRY_PAUSE = 15, 0.5  # a write that met the outage is sent again, with its key
OUTCOMES = ("ok", "503", "5xx", "conn", "other")
OUTCOME_LABELS = {"ok": "OK", "503": "503", "5xx": "other 5xx", "conn": "connection errors", "other": "other"}


class Client(requests.Session):
    """A ``requests`` session on the server's address that takes (and ignores) locust's request names, so that
    bench.load's sign-in (``_login``) works with it."""

    def __init__(self, host: str) -> None:
        super().__init__()
        self.host = host

    def request(self, method, url, *args, name=None, catch_response=None, **kwargs):
        kwargs.setdefault("timeout", 30)
        kwargs.setdefault("allow_redirects", False)  # a redirect to /login/ is a failure, not a page
        return super().request(method, self.host + url if url.startswith("/") else url, *args, **kwargs)


@dataclass
class Answer:
    start: float  # seconds since the load started
    end: float
    kind: str
    outcome: str  # one of OUTCOMES
    status: int | None = None
    marker: str = ""  # a write's unique notes text
    note: str = ""


def classify(path: str, response: requests.Response, expected: int) -> tuple[str, str]:
    """``ok``, a clean ``503``, another ``5xx`` (a 500, a traceback, a 503 without Retry-After or message) or
    ``other`` (a redirect, a 4xx), with what was wrong."""
    if "Traceback (most recent call last)" in response.text:
        return "5xx", f"{response.status_code} with a traceback"
    if response.status_code == expected:
        return "ok", ""
    if response.status_code == 503:
        if response.headers.get("Retry-After") != "5":
            return "5xx", f"503 with Retry-After {response.headers.get('Retry-After')!r}"
        if path.startswith("/api/"):
            try:
                clean = response.json() == {"detail": MESSAGE}
            except ValueError:
                clean = False
        else:
            clean = MESSAGE in response.text and response.headers.get("Content-Type", "").startswith("text/html")
        return ("503", "") if clean else ("5xx", f"503 without the message: {response.text[:80]!r}")
    if response.status_code >= 500:
        return "5xx", f"{response.status_code}: {response.text[:80]!r}"
    return "other", f"{response.status_code} (expected {expected}): {response.text[:80]!r}"


class Worker(threading.Thread):
    """One signed-in user reading and writing in a loop until ``stop`` is set; every answer kept."""

    def __init__(self, index: int, user, t0: float, stop: threading.Event, run: str, purpose: int) -> None:
        super().__init__(daemon=True)
        self.index, self.user, self.t0, self.stop, self.run_id, self.purpose = index, user, t0, stop, run, purpose
        self.answers: list[Answer] = []
        self.writes = 0
        self.random = random.Random(index)
        self.manager = user.username.startswith("manager")

    def call(self, kind: str, method: str, path: str, expected: int = 200, marker: str = "", **kwargs) -> str:
        """Send one request and keep its answer; returns its outcome."""
        start = time.monotonic() - self.t0
        try:
            response = self.user.client.request(method, path, **kwargs)
        except requests.RequestException as exc:
            self.answers.append(
                Answer(start, time.monotonic() - self.t0, kind, "conn", None, marker, type(exc).__name__)
            )
            return "conn"
        outcome, note = classify(path, response, expected)
        if response.headers.get("Idempotent-Replayed") == "true":
            note = "replayed"
        self.answers.append(
            Answer(start, time.monotonic() - self.t0, kind, outcome, response.status_code, marker, note)
        )
        return outcome

    def write(self) -> None:
        self.writes += 1
        marker = f"{self.run_id}-{self.index}-{self.writes}"
        body = {
            "contact": self.random.choice(self.user.contacts),
            "purpose": self.purpose,
            "channel": "call",
            "direction": "in",  # inbound touches are never held back by the guard: every write should go in
            "notes": marker,
        }
        headers = {
            "X-CSRFToken": self.user.client.cookies.get("csrftoken", ""),
            "Referer": f"{self.user.host}/",
            "Idempotency-Key": marker,
        }
        # As a careful client does: a 503 or a lost connection is retried with the same key (the API replays
        # a write that went in, or stores one that did not), for up to RETRY_SECONDS.
        deadline = time.monotonic() + RETRY_SECONDS
        while True:
            outcome = self.call("POST /api/touches/", "POST", "/api/touches/", 201, marker, json=body, headers=headers)
            if outcome not in ("503", "conn") or time.monotonic() > deadline:
                return
            time.sleep(RETRY_PAUSE)

    def run(self) -> None:
        while not self.stop.is_set():
            prefix = self.random.choice(load.PREFIXES)
            if self.manager:
                self.call("GET /forecasting/", "GET", "/forecasting/")
            else:
                self.call("GET /search/?q= (HTMX)", "GET", f"/search/?q={prefix[:2]}", headers={"HX-Request": "true"})
            self.call("GET /contacts/", "GET", "/contacts/")
            self.call("GET /api/contacts/?search=", "GET", f"/api/contacts/?search={prefix}")
            if self.user.contacts:
                self.write()
            self.stop.wait(self.random.uniform(0.05, 0.2))


class Probe(threading.Thread):
    """Connects to PostgreSQL every 0.1 s: when it went down and when it accepted connections again."""

    def __init__(self, t0: float, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.t0, self.stop = t0, stop
        self.samples: list[tuple[float, bool]] = []

    def run(self) -> None:
        import psycopg2

        while not self.stop.is_set():
            at = time.monotonic() - self.t0
            try:
                psycopg2.connect(f"{load.SERVER}/postgres", connect_timeout=1).close()
                self.samples.append((at, True))
            except psycopg2.Error:
                self.samples.append((at, False))
            self.stop.wait(0.1)

    def window(self) -> tuple[float, float | None] | None:
        """(first refused connection, first accepted one after it), or None when it never saw the server down."""
        down = next((at for at, ok in self.samples if not ok), None)
        if down is None:
            return None
        return down, next((at for at, ok in self.samples if ok and at > down), None)


def restart_postgres() -> tuple[str, float, float]:
    """Restart the server: the command that did it, and when it started and ended (time.monotonic)."""
    commands = []
    found = os.listdir("/etc/postgresql") if os.path.isdir("/etc/postgresql") else []
    versions = sorted(found, key=lambda v: [int(x) for x in v.split(".") if x.isdigit()])
    if versions and shutil.which("pg_ctlcluster"):
        commands.append(["pg_ctlcluster", versions[-1], "main", "restart"])
    commands.append(["service", "postgresql", "restart"])
    failures = []
    for command in commands:
        started = time.monotonic()
        done = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
        if done.returncode == 0:
            return " ".join(command), started, time.monotonic()
        failures.append(f"`{' '.join(command)}` exited {done.returncode}: {(done.stderr or done.stdout).strip()}")
    raise RuntimeError("Could not restart PostgreSQL: " + "; ".join(failures))


def wait_for_postgres(seconds: float = 120) -> None:
    import psycopg2

    deadline = time.monotonic() + seconds
    while True:
        try:
            psycopg2.connect(f"{load.SERVER}/postgres", connect_timeout=2).close()
            return
        except psycopg2.Error as exc:
            if time.monotonic() > deadline:
                raise SystemExit(f"PostgreSQL at {load.SERVER} still refuses connections: {exc}") from exc
            time.sleep(0.5)


@contextmanager
def stderr_to(path: Path):
    """bench.load.start_stack leaves gunicorn writing to our stderr: send it to a file, to count what it logs."""
    saved = os.dup(2)
    with open(path, "ab") as handle:
        os.dup2(handle.fileno(), 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def port_free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def signed_in(username: str, index: int) -> SimpleNamespace:
    """A user signed in through the login form (bench.load's ``_login``), with the contacts it may see."""
    user = SimpleNamespace(host=f"http://127.0.0.1:{PORT}", username=username)
    user.client = Client(user.host)
    load._login(user, username)
    response = user.client.get(f"/api/contacts/?search={load.PREFIXES[index % len(load.PREFIXES)]}")
    response.raise_for_status()
    user.contacts = [c["id"] for c in response.json()["results"]] or [
        c["id"] for c in user.client.get("/api/contacts/").json()["results"]
    ]
    return user


def active_purpose(database_url: str) -> int:
    import psycopg2

    with psycopg2.connect(database_url) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT id FROM contacts_purpose WHERE is_active ORDER BY id LIMIT 1")
        row = cursor.fetchone()
    conn.close()
    if row is None:
        raise SystemExit(f"{database_url} has no active touch purpose: build the dataset (bench.build) first.")
    return row[0]


def stored_writes(database_url: str, run: str) -> Counter:
    """How many touches carry each of this run's markers."""
    import psycopg2

    with psycopg2.connect(database_url) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT notes, count(*) FROM contacts_touch WHERE notes LIKE %s GROUP BY notes", [f"{run}-%"])
        rows = cursor.fetchall()
    conn.close()
    return Counter(dict(rows))


def check_writes(answers: list[Answer], stored: Counter) -> tuple[bool, str]:
    """Each write (a marker, sent until it got an answer other than 503, with one Idempotency-Key): stored
    exactly once when its last attempt got a 201, not at all when it never did."""
    attempts = [a for a in answers if a.marker]
    last = {a.marker: a for a in sorted(attempts, key=lambda a: a.end)}
    ok = [a for a in last.values() if a.outcome == "ok"]
    lost = [a.marker for a in ok if stored[a.marker] == 0]
    doubled = [f"{a.marker} ({stored[a.marker]}×)" for a in last.values() if stored[a.marker] > 1]
    left = [f"{a.marker} ({a.outcome} {a.status or a.note}, {stored[a.marker]} row)" for a in last.values()
            if a.outcome != "ok" and stored[a.marker]]  # fmt: skip
    unknown = sorted(set(stored) - set(last))
    retried = {a.marker for a in attempts if a.outcome != "ok"}
    replayed = sum(1 for a in attempts if a.note == "replayed")
    passed = not (lost or doubled or left or unknown)
    detail = (
        f"{len(last)} writes, {len(ok)} answered 201 in the end ({len(retried)} after a 503 or a lost connection, "
        f"retried with their Idempotency-Key; {replayed} of those retries replayed a write that had gone in), "
        f"{len(last) - len(ok)} never; in the database: {sum(stored.values())} rows with this run's markers"
    )
    for label, items in (("lost", lost), ("stored twice or more", doubled), ("failed but stored", left),
                         ("stored but never sent", unknown)):  # fmt: skip
        if items:
            detail += f"; {label}: {', '.join(items[:5])}{' …' if len(items) > 5 else ''}"
    return passed, detail


def log_counts(path: Path) -> dict[str, int]:
    text = path.read_text(errors="replace") if path.exists() else ""
    return {
        "outage warnings (sfa.middleware)": text.count("Database unavailable, answered 503"),
        "Django's 503 lines (django.request)": text.count("Service Unavailable:"),
        "Internal Server Error lines": text.count("Internal Server Error"),
        "tracebacks": text.count("Traceback (most recent call last)"),
    }


def analyse(answers: list[Answer], window: tuple[float, float | None] | None) -> dict:
    """The outage seen by the clients, against the one the probe saw.

    It starts with the first failed answer and ends with the first successful answer to a request made after the
    last failing one was; recovery is how long after PostgreSQL accepted connections again that answer came.
    """
    failures = [a for a in answers if a.outcome != "ok"]
    figures: dict = {"failures": len(failures), "pg_window": window}
    if failures:
        last = max(a.start for a in failures)
        after = [a.end for a in answers if a.outcome == "ok" and a.start > last]
        figures["first_failure"] = min(a.end for a in failures)
        figures["recovered"] = min(after) if after else None
    if window and window[1] is not None:
        up = window[1]
        figures["late_failures"] = [a for a in failures if a.start > up + RECOVERY_LIMIT]
        figures["kinds_back"] = {a.kind for a in answers if a.outcome == "ok" and a.start > up}
        if figures.get("recovered") is not None:
            figures["recovery"] = max(0.0, figures["recovered"] - up)
    return figures


def per_second(answers: list[Answer], probe: Probe, seconds: int, restart_at: float | None) -> list[str]:
    rows = ["| second | " + " | ".join(OUTCOME_LABELS[o] for o in OUTCOMES) + " | PostgreSQL |",
            "|---:|" + "---:|" * len(OUTCOMES) + "---|"]  # fmt: skip
    last = max([seconds, *(int(a.start) + 1 for a in answers)])
    for second in range(last):
        counts = Counter(a.outcome for a in answers if second <= a.start < second + 1)
        probes = [ok for at, ok in probe.samples if second <= at < second + 1]
        state = "down" if probes and not any(probes) else "down / up" if probes and not all(probes) else "up"
        if restart_at is not None and second <= restart_at < second + 1:
            state += " (restart)"
        rows.append(f"| {second} | " + " | ".join(str(counts[o]) for o in OUTCOMES) + f" | {state} |")
    return rows


def per_kind(answers: list[Answer]) -> list[str]:
    rows = ["| request | " + " | ".join(OUTCOME_LABELS[o] for o in OUTCOMES) + " | slowest ms |",
            "|---|" + "---:|" * len(OUTCOMES) + "---:|"]  # fmt: skip
    for kind in sorted({a.kind for a in answers}):
        mine = [a for a in answers if a.kind == kind]
        counts = Counter(a.outcome for a in mine)
        slowest = max((a.end - a.start) * 1000 for a in mine)
        rows.append(f"| {kind} | " + " | ".join(str(counts[o]) for o in OUTCOMES) + f" | {slowest:.0f} |")
    return rows


def stop_stack(processes) -> None:
    for process in processes:
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


@dataclass
class Run:
    """What one run saw: the answers, the probe, the restart and the state before and after."""

    users: list[SimpleNamespace]
    t0: float
    probe: Probe
    answers: list[Answer]
    restart: tuple[str, float, float] | None  # command, started, ended (time.monotonic)
    gunicorn: tuple[list[int], list[int]]  # PIDs before, after
    celery: tuple[list[int], list[int]]
    stored: Counter = field(default_factory=Counter)  # touches per marker, read after the load
    logs: dict[str, int] = field(default_factory=dict)  # counts in gunicorn's log


def run_load(args: argparse.Namespace, web, worker, purpose: int, marker: str) -> Run:
    """Sign the users in, run the clients, restart PostgreSQL on time; the answers and what changed."""
    users = [signed_in(USERS[i % len(USERS)], i) for i in range(args.threads)]
    gunicorn_before, celery_before = sorted(load.descendants(web.pid)), sorted(load.descendants(worker.pid))
    stop = threading.Event()
    t0 = time.monotonic()
    probe = Probe(t0, stop)
    clients = [Worker(i, user, t0, stop, marker, purpose) for i, user in enumerate(users)]
    for thread in (probe, *clients):
        thread.start()
    load.log(f"{args.threads} clients ({', '.join(u.username for u in users)}) for {args.seconds} s")
    restart = None
    if not args.no_restart:
        time.sleep(max(0.0, t0 + args.restart_at - time.monotonic()))
        load.log("restarting PostgreSQL")
        try:
            restart = restart_postgres()
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:  # the load goes on; the report says so
            load.log(str(exc))
        else:
            load.log(f"  `{restart[0]}` took {restart[2] - restart[1]:.1f} s")
    time.sleep(max(0.0, t0 + args.seconds - time.monotonic()))
    stop.set()
    for thread in (probe, *clients):
        thread.join(timeout=60)
    wait_for_postgres()
    return Run(
        users=users,
        t0=t0,
        probe=probe,
        answers=sorted((a for c in clients for a in c.answers), key=lambda a: a.start),
        restart=restart,
        gunicorn=(gunicorn_before, sorted(load.descendants(web.pid))),
        celery=(celery_before, sorted(load.descendants(worker.pid))),
    )


def checks_of(args: argparse.Namespace, run: Run, figures: dict) -> list[tuple[str, bool, str]]:
    """(what, passed, detail) for each thing a clean outage must satisfy."""
    window = run.probe.window()
    checks: list[tuple[str, bool, str]] = []
    if not args.no_restart:
        checks.append(
            (
                "PostgreSQL was restarted and seen down",
                run.restart is not None and window is not None,
                f"`{run.restart[0]}`" if run.restart else "the restart command failed (see the log)",
            )
        )
    unclean = [a for a in run.answers if a.outcome == "5xx"]
    errors, tracebacks = run.logs["Internal Server Error lines"], run.logs["tracebacks"]
    checks.append(
        (
            "no 500, no traceback, no 503 without Retry-After and message",
            not unclean and not errors and not tracebacks,
            f"{len(unclean)} such answers"
            + (f" (first: {unclean[0].kind}: {unclean[0].note})" if unclean else "")
            + f"; server log: {errors} Internal Server Error, {tracebacks} tracebacks",
        )
    )
    for outcome, label in (("conn", "every request got an answer"), ("other", "no unexpected status")):
        odd = [a for a in run.answers if a.outcome == outcome]
        checks.append((label, not odd, f"{len(odd)}" + (f" (first: {odd[0].kind}: {odd[0].note})" if odd else "")))
    checks.append(
        (
            "writes: each one that got its 201 (first time or retried) stored once, none twice",
            *check_writes(run.answers, run.stored),
        )
    )
    before, after = run.gunicorn
    checks.append(
        (
            "gunicorn not restarted (same PIDs)",
            before == after,
            f"{before}" + ("" if before == after else f" → {after}"),
        )
    )
    if window:
        late = figures.get("late_failures")
        missing = {a.kind for a in run.answers} - figures.get("kinds_back", set())
        checks.append(
            (
                f"recovered within {RECOVERY_LIMIT:g} s of PostgreSQL accepting connections, every kind of request",
                late is not None and not late and not missing,
                "PostgreSQL never came back during the load"
                if late is None
                else f"{len(late)} failures later than that"
                + (f"; never succeeded again: {', '.join(sorted(missing))}" if missing else ""),
            )
        )
    return checks


def report(args: argparse.Namespace, run: Run, figures: dict, checks: list, command: str, started: str) -> list[str]:
    def at(value: float | None) -> str:
        return "—" if value is None else f"{value:.1f} s"

    passed = all(ok for _, ok, _ in checks)
    totals = Counter(a.outcome for a in run.answers)
    lines = [
        "# Fault: PostgreSQL restarted under load",
        "",
        f"`{command}` on {started}: {args.threads} clients (plain `requests`, signed in as "
        f"{', '.join(sorted({u.username for u in run.users}))}) against gunicorn ({args.workers} sync workers, "
        f"production settings), PostgreSQL `{args.database}`"
        f"{f' (bench.build --scale {args.scale:g})' if not args.no_build else ''}, Redis and one Celery worker, for "
        f"{args.seconds} s; "
        + ("no restart (dry run)." if args.no_restart else f"PostgreSQL restarted at {args.restart_at:g} s."),
        "",
        f"**Result: {'all checks passed' if passed else 'FAILED'}.** {len(run.answers):,} requests: "
        + ", ".join(f"{totals[o]:,} {OUTCOME_LABELS[o]}" for o in OUTCOMES)
        + ".",
        "",
        "| figure | value |",
        "|---|---|",
    ]
    if run.restart:
        command_run, began, ended = run.restart
        lines.append(f"| restart command | `{command_run}`: {ended - began:.1f} s, from {at(began - run.t0)} |")
    window = figures["pg_window"]
    if window:
        lines.append(f"| PostgreSQL refusing connections (probe every 0.1 s) | {at(window[0])} → {at(window[1])} |")
    if figures["failures"]:
        lines += [
            f"| outage seen by the clients (first failed answer → first success after the last failure) | "
            f"{at(figures['first_failure'])} → {at(figures.get('recovered'))} |",
            f"| failed requests | {figures['failures']} |",
        ]
    if "recovery" in figures:
        lines.append(f"| recovered after PostgreSQL accepted connections again | {figures['recovery']:.1f} s |")
    slowest = max(((a.end - a.start) * 1000 for a in run.answers), default=0)
    celery_before, celery_after = run.celery
    lines += [
        f"| slowest answer | {slowest:.0f} ms |",
        f"| Celery worker's processes | {'unchanged' if celery_before == celery_after else 'changed'} "
        f"({len(celery_after)}) |",
        "| server log | " + ", ".join(f"{v} {k}" for k, v in run.logs.items()) + " |",
        "",
        "## Checks",
        "",
        "| check | passed | detail |",
        "|---|---|---|",
        *(f"| {name} | {'yes' if ok else '**NO**'} | {detail} |" for name, ok, detail in checks),
        "",
        "## Answers per request",
        "",
        *per_kind(run.answers),
        "",
        "## Answers per second (by the second the request started)",
        "",
        *per_second(run.answers, run.probe, args.seconds, None if run.restart is None else run.restart[1] - run.t0),
        "",
        "A clean 503 is the middleware's answer (`sfa.middleware.DatabaseUnavailableMiddleware`, DRF's handler for "
        "API views): `Retry-After: 5` and the message, JSON on /api/. Everything ran on one machine "
        f"({os.cpu_count()} cores) shared with other work.",
        "",
    ]
    return lines


def arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=40, help="how long the clients run")
    parser.add_argument("--restart-at", type=float, default=15.0, help="when PostgreSQL restarts, in seconds")
    parser.add_argument("--no-restart", action="store_true", help="the load and the checks only (a dry run)")
    parser.add_argument("--threads", type=int, default=8, help="clients, each signed in as a rep or a manager")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--celery-concurrency", type=int, default=1)
    parser.add_argument("--database-url", default=DEFAULT_DB, help="the dataset's database (built unless --no-build)")
    parser.add_argument("--no-build", action="store_true", help="run on the database as it is")
    parser.add_argument("--scale", type=float, default=0.01, help="bench.build's --scale when it builds")
    parser.add_argument("--keep", action="store_true", help="keep a database it built (else it is dropped)")
    parser.add_argument("--output", type=Path, default=RESULTS, help="the Markdown report")
    args = parser.parse_args(argv)
    args.database = args.database_url.rsplit("/", 1)[1]
    if not (args.no_build or args.database.startswith("sfa_bench")):
        parser.error("bench.build drops and rebuilds only databases named sfa_bench*: name one, or add --no-build")
    if not (args.no_restart or 0 < args.restart_at < args.seconds):
        parser.error(f"--restart-at {args.restart_at:g} must fall inside the --seconds {args.seconds} of load")
    return args


def build_dataset(args: argparse.Namespace, log_file: Path) -> None:
    load.log(f"building the dataset: bench.build --scale {args.scale:g} into {args.database} (log: {log_file})")
    with log_file.open("w") as out:
        command = [sys.executable, "-m", "bench.build", f"--scale={args.scale:g}"]
        built = subprocess.run(
            command, env=dict(os.environ, DATABASE_URL=args.database_url), cwd=load.ROOT, stdout=out, stderr=out
        )
    if built.returncode:
        raise SystemExit(f"bench.build failed (exit {built.returncode}): see {log_file}")


def drop_database(name: str) -> None:
    import psycopg2

    wait_for_postgres()
    conn = psycopg2.connect(f"{load.SERVER}/postgres")
    conn.autocommit = True  # DROP DATABASE cannot run in a transaction
    with conn.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    conn.close()


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    if not port_free(PORT):
        raise SystemExit(f"127.0.0.1:{PORT} is taken: another run of this script, or something else, listens there")
    workdir = Path(tempfile.mkdtemp(prefix="sfa-fault-"))
    load.log(f"work files in {workdir}")
    if not args.no_build:
        build_dataset(args, workdir / "build.log")
    env = {**load.server_env(args.database_url, str(workdir)), "CACHE_URL": REDIS_URL, "CELERY_BROKER_URL": REDIS_URL}
    purpose = active_purpose(args.database_url)
    load.log(f"starting gunicorn ({args.workers} workers) and a Celery worker on port {PORT}, Redis {REDIS_URL}")
    load.PORT = PORT  # start_stack binds (and waits for) bench.load.PORT
    with stderr_to(workdir / "gunicorn.log"):
        web, worker = load.start_stack(args, env)
    marker = f"fault-{time.strftime('%Y%m%d%H%M%S')}-{os.getpid()}"
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    try:
        run = run_load(args, web, worker, purpose, marker)
        run.stored = stored_writes(args.database_url, marker)
    finally:
        stop_stack((web, worker))
        from redis import Redis

        Redis.from_url(REDIS_URL).flushdb()
        if not args.no_build and not args.keep:
            drop_database(args.database)
    run.logs = log_counts(workdir / "gunicorn.log")
    figures = analyse(run.answers, run.probe.window())
    checks = checks_of(args, run, figures)
    command = " ".join(["python -m bench.fault_pg_restart", *(argv if argv is not None else sys.argv[1:])])
    lines = report(args, run, figures, checks, command, started)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text("\n".join(lines))
    print("\n".join(lines))
    load.log(f"written to {args.output}; work files in {workdir}")
    return 0 if all(ok for _, ok, _ in checks) else 1


if __name__ == "__main__":
    raise SystemExit(main())
