"""Mixed load on the whole stack: locust against gunicorn + PostgreSQL + Redis + a real Celery worker.

    .venv/bin/python -m bench.load --users 10 --seconds 60                 # a short proof (1 % dataset)
    .venv/bin/python -m bench.load --users 50 --seconds 300 --ramp 5 \\
        --database-url postgres://postgres@127.0.0.1:5432/sfa_bench --no-build   # issue #10: on a quiet machine
    .venv/bin/python -m bench.load --step --seconds 60                      # raise the users until something gives

The mix (locust user classes, weights 5 : 2 : 3):

- **reps** sign in through the login form, type into the search box (HTMX ``GET /search/?q=`` with 2–5
  letters of a name), open the API search (``GET /api/contacts/?search=``), open a contact they found and log
  a touch on it (``POST /api/touches/`` with the session cookie and the CSRF header; an outbound touch the
  guard warns about is repeated with an ``override_reason``, as the API asks);
- **managers** sign in and open the forecast dashboard (``/forecasting/``) and the pipeline
  (``/forecasting/pipeline/``);
- **customers** open the public configurator (``/configure/aurora/``) and change options (HTMX POST with CSRF);
- in the background, **lead-list imports** (``--import-rows`` rows each, the leads benchmark's realistic list)
  are uploaded and started one after the other through ``leads.imports``: the Celery worker runs them.

The script builds the dataset (``bench.build --scale``, default 0.01) unless ``--no-build``, starts
gunicorn (``--workers`` sync workers, production settings, DEBUG off, cache and broker on Redis) and one Celery
worker (``--celery-concurrency``), runs locust headless (``--users``, ``--ramp`` users/s, ``--seconds``),
and writes p95 per endpoint, failures, requests/s, the CPU time of gunicorn, Celery, the PostgreSQL backends
and Redis (from /proc), the peak of database connections and the load average to bench/results/load.md.
``--step`` runs ``--seconds`` per step with 10, 20, 40, 60, 80, 120, 160 … users until a step has failures or
an endpoint's p95 over 1 s, and says what gave first. Everything runs on this machine, locust included:
run the real thing on a quiet one.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "load.md"
SERVER = "postgres://postgres@127.0.0.1:5432"
DEFAULT_DB = f"{SERVER}/sfa_bench_h10_loadmix"
PORT = 8791
REDIS_URL = "redis://127.0.0.1:6379/12"
SECRET = "bench-only-" + "y" * 40
PASSWORD = os.environ.get("SFA_DEMO_PASSWORD", "sfa-demo-2026")
TICKS = os.sysconf("SC_CLK_TCK")
PREFIXES = ("mü", "ma", "sch", "ber", "dup", "lef", "ros", "wil", "mar", "fis", "wag", "ric", "tay", "bro", "kl")

# --- The locust users (this file is also the locustfile) -----------------------------------------

try:
    # Only inside locust: importing it monkey-patches the process with gevent (ssl, threads), which breaks
    # plain requests in the driver and in bench.fault_pg_restart (a RecursionError in ssl).
    if "locust" not in Path(sys.argv[0]).name:
        raise ImportError("not running under locust")
    from locust import HttpUser, between, task
except ImportError:  # --help and the driver work without locust; running the load needs it
    HttpUser = object  # type: ignore[assignment,misc]

    def task(weight=1):  # type: ignore[no-redef]
        return (lambda f: f) if isinstance(weight, int) else weight

    def between(low, high):  # type: ignore[no-redef]
        return None


def _login(user, username: str) -> None:
    _plain_http(user)
    page = user.client.get("/login/", name="/login/ (form)")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    response = user.client.post(
        "/login/",
        {"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token.group(1) if token else ""},
        headers={"Referer": f"{user.host}/login/"},
        name="/login/ (POST)",
    )
    if "sessionid" not in user.client.cookies:
        raise RuntimeError(f"{username} could not sign in ({response.status_code})")


def _plain_http(user) -> None:
    """Production settings mark the cookies Secure; this test speaks plain HTTP to gunicorn: keep them unsecured
    (a policy would not do: requests copies the jar into a default one for every request)."""
    from requests.cookies import RequestsCookieJar

    class PlainJar(RequestsCookieJar):
        def set_cookie(self, cookie, *args, **kwargs):
            cookie.secure = False
            return super().set_cookie(cookie, *args, **kwargs)

    user.client.cookies = PlainJar()


class Rep(HttpUser):
    weight = 5
    wait_time = between(1, 3)

    def on_start(self) -> None:
        _login(self, random.choice(("rep", "rep2", "rep3", "rep4")))
        self.purposes = json.loads(os.environ.get("LOAD_PURPOSES", "[]"))
        self.contacts: list[int] = []

    @task(4)
    def search_box(self) -> None:
        query = random.choice(PREFIXES)[: random.randint(2, 3)]
        self.client.get(f"/search/?q={query}", headers={"HX-Request": "true"}, name="/search/?q= (HTMX)")

    @task(2)
    def search_api(self) -> None:
        response = self.client.get(f"/api/contacts/?search={random.choice(PREFIXES)}", name="/api/contacts/?search=")
        if response.ok:
            self.contacts = [c["id"] for c in response.json().get("results", [])][:20] or self.contacts

    @task(1)
    def contact_page(self) -> None:
        if self.contacts:
            self.client.get(f"/contacts/{random.choice(self.contacts)}/", name="/contacts/<id>/")

    @task(2)
    def log_touch(self) -> None:
        if not self.contacts or not self.purposes:
            return
        body = {
            "contact": random.choice(self.contacts),
            "purpose": random.choice(self.purposes),
            "channel": random.choice(("call", "email", "meeting")),
            "direction": random.choice(("in", "out")),
            "notes": "Load test",
        }
        headers = {"X-CSRFToken": self.client.cookies.get("csrftoken", ""), "Referer": f"{self.host}/"}
        with self.client.post(
            "/api/touches/", json=body, headers=headers, name="/api/touches/ (POST)", catch_response=True
        ) as r:
            if r.status_code == 409:  # the guard warns: go ahead with a reason, as a rep would
                r.success()
                body["override_reason"] = "Customer asked for it"
                self.client.post("/api/touches/", json=body, headers=headers, name="/api/touches/ (POST, override)")
            elif r.status_code == 403 and "guard" in r.text:  # a block reps may not override: an answer, not an error
                r.success()
            elif r.status_code != 201:
                r.failure(f"{r.status_code}: {r.text[:150]}")


class Manager(HttpUser):
    weight = 2
    wait_time = between(2, 5)

    def on_start(self) -> None:
        _login(self, random.choice(("manager", "manager2")))

    @task(2)
    def forecast(self) -> None:
        self.client.get("/forecasting/", name="/forecasting/")

    @task(1)
    def pipeline(self) -> None:
        self.client.get("/forecasting/pipeline/", name="/forecasting/pipeline/")


class Customer(HttpUser):
    weight = 3
    wait_time = between(1, 3)

    def on_start(self) -> None:
        _plain_http(self)
        page = self.client.get("/configure/aurora/", name="/configure/<slug>/ (GET)")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        self.token = token.group(1) if token else ""
        self.options: dict[str, list[str]] = {}
        for name, value in re.findall(r'type="radio"[^>]*name="([a-z_][a-z0-9_]*)"[^>]*value="([A-Z0-9]+)"', page.text):
            self.options.setdefault(name, []).append(value)

    @task(4)
    def change_option(self) -> None:
        if not self.options:
            return
        name = random.choice(list(self.options))
        data = {
            "csrfmiddlewaretoken": self.token,
            "_changed": name,
            "_touched": name,
            name: random.choice(self.options[name]),
        }
        headers = {"HX-Request": "true", "Referer": f"{self.host}/configure/aurora/"}
        self.client.post("/configure/aurora/", data, headers=headers, name="/configure/<slug>/ (HTMX POST)")

    @task(1)
    def page(self) -> None:
        self.client.get("/configure/aurora/", name="/configure/<slug>/ (GET)")


# --- The driver ----------------------------------------------------------------------------------

IMPORTER = """
import csv, os, sys, time
import django
django.setup()
from django.core.files import File
from bench.leads_import_bench import HEADER, list_rows
from leads import imports
from sfa.jobs import JobRun  # noqa: F401  (the job model the import reports on)
from sfa.models import User

rows, stop = int(sys.argv[1]), sys.argv[2]
manager = User.objects.get(username="manager")
done = 0
while not os.path.exists(stop):
    path = os.path.join(os.environ["SFA_DATA_DIR"], f"list-{done}.csv")
    with open(path, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(HEADER)
        writer.writerows(list_rows(rows, rows // 100, 11 + done, []))
    started = time.perf_counter()
    with open(path, "rb") as handle:
        lead_import = imports.lead_import_create(actor=manager, file=File(handle, name="messe.csv"), vendor="Load",
                                                 list_name=f"Load {done}", cost="100")
    imports.lead_import_configure(lead_import=lead_import, actor=manager, on_match="attach")
    job = imports.lead_import_start(lead_import=lead_import, actor=manager)
    while True:
        job.refresh_from_db()
        if job.status in ("succeeded", "failed", "cancelled") or os.path.exists(stop):
            break
        time.sleep(1)
    print(f"import {done}: {rows} rows, {job.status} in {time.perf_counter() - started:.1f} s", flush=True)
    done += 1
"""


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def server_env(database_url: str, data_dir: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "sfa.settings.production",
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": REDIS_URL,
        "CELERY_TASK_ALWAYS_EAGER": "False",
        "CACHE_URL": REDIS_URL,
        "SECRET_KEY": SECRET,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "False",
        "SESSION_COOKIE_SECURE": "False",
        "CSRF_COOKIE_SECURE": "False",
        "CONFIGURATOR_RATE_LIMIT": "100000000/min",
        "LOGIN_RATE_LIMIT": "100000000/min",
        "SFA_DATA_DIR": data_dir,
        "MEDIA_ROOT": data_dir,
        "PYTHONPATH": str(ROOT),
    }


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def descendants(parent: int) -> list[int]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            tree.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [parent]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += tree.get(pid, [])
    return found


class Meter(threading.Thread):
    """Samples, every second, the CPU time of the server's parts and the database connections."""

    def __init__(self, groups: dict[str, int], database: str) -> None:
        super().__init__(daemon=True)
        self.groups, self.database = groups, database
        self.cpu: dict[int, float] = {}
        self.group_of: dict[int, str] = {}
        self.first: dict[int, float] = {}
        self.connections: list[int] = []
        self.stop_event = threading.Event()
        self.errors: list[str] = []

    def sample(self) -> None:
        import psycopg2

        with psycopg2.connect(f"{SERVER}/postgres".replace("postgres://", "postgresql://")) as conn, conn.cursor() as c:
            c.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", [self.database])
            backends = [row[0] for row in c.fetchall()]
            c.execute("SELECT pid FROM pg_stat_activity WHERE backend_type = 'client backend'")
        conn.close()
        self.connections.append(len(backends))
        pids = dict.fromkeys(backends, "postgres backends")
        for group, root in self.groups.items():
            pids.update(dict.fromkeys(descendants(root), group))
        for pid, group in pids.items():
            now = cpu_seconds(pid)
            self.first.setdefault(pid, now)
            self.cpu[pid], self.group_of[pid] = now, group

    def run(self) -> None:
        while not self.stop_event.is_set():
            try:
                self.sample()
            except Exception as exc:  # a sample lost is no reason to stop measuring
                self.errors.append(str(exc))
            self.stop_event.wait(1.0)

    def stop(self) -> dict[str, float]:
        self.stop_event.set()
        self.join()
        totals: dict[str, float] = {}
        for pid, now in self.cpu.items():
            totals[self.group_of[pid]] = totals.get(self.group_of[pid], 0.0) + now - self.first[pid]
        return totals


def redis_pid() -> int:
    from redis import Redis

    return int(Redis.from_url(REDIS_URL).info("server")["process_id"])


def start_stack(args: argparse.Namespace, env: dict[str, str]) -> tuple[subprocess.Popen, subprocess.Popen]:
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"], check=True, env=env, cwd=ROOT
    )
    bin_dir = Path(sys.executable).parent
    web = subprocess.Popen(
        [
            str(bin_dir / "gunicorn"),
            "sfa.wsgi",
            "--workers",
            str(args.workers),
            "--bind",
            f"127.0.0.1:{PORT}",
            "--log-level",
            "warning",
            "--timeout",
            "60",
        ],
        env=env,
        cwd=ROOT,
        start_new_session=True,
    )
    worker = subprocess.Popen(
        [
            str(bin_dir / "celery"),
            "-A",
            "sfa",
            "worker",
            "--concurrency",
            str(args.celery_concurrency),
            "--loglevel",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
            "-n",
            f"load-{os.getpid()}@%h",
        ],
        env=env,
        cwd=ROOT,
        start_new_session=True,
        stdout=open(Path(env["SFA_DATA_DIR"]) / "celery.log", "w"),  # noqa: SIM115 - closed with the process
        stderr=subprocess.STDOUT,
    )
    import urllib.request

    for _ in range(60):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{PORT}/healthz", timeout=1)
            return web, worker
        except OSError:
            time.sleep(0.5)
    raise SystemExit("gunicorn did not answer /healthz within 30 s")


def purposes(database_url: str) -> list[int]:
    import psycopg2

    with psycopg2.connect(database_url.replace("postgres://", "postgresql://")) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT id FROM contacts_purpose ORDER BY id")
        return [row[0] for row in cursor.fetchall()]


def run_locust(users: int, ramp: float, seconds: int, workdir: Path, env: dict[str, str]) -> dict:
    prefix = workdir / f"u{users}"
    command = [
        str(Path(sys.executable).with_name("locust")),
        "-f",
        str(Path(__file__).resolve()),
        "--headless",
        "-u",
        str(users),
        "-r",
        str(ramp),
        "-t",
        f"{seconds}s",
        "--host",
        f"http://127.0.0.1:{PORT}",
        "--csv",
        str(prefix),
        "--only-summary",
        "--stop-timeout",
        "10",
        "--exit-code-on-error",
        "0",
    ]
    with open(f"{prefix}.log", "w") as out:
        subprocess.run(command, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, check=False)
    endpoints, total = [], None
    with open(f"{prefix}_stats.csv") as handle:
        for r in csv.DictReader(handle):
            figures = {
                "name": f"{r['Type']} {r['Name']}" if r["Name"] != "Aggregated" else "all requests",
                "requests": int(r["Request Count"]),
                "failures": int(r["Failure Count"]),
                "median": float(r["50%"] or 0),
                "p95": float(r["95%"] or 0),
                "p99": float(r["99%"] or 0),
                "rps": float(r["Requests/s"] or 0),
            }
            (endpoints.append(figures) if r["Name"] != "Aggregated" else None)
            total = figures if r["Name"] == "Aggregated" else total
    failures = []
    if Path(f"{prefix}_failures.csv").exists():
        with open(f"{prefix}_failures.csv") as handle:
            failures = [
                f"{r['Method']} {r['Name']}: {r['Error']} ({r['Occurrences']}×)" for r in csv.DictReader(handle)
            ]
    return {"users": users, "endpoints": endpoints, "total": total or {}, "failures": failures}


def measured_run(args, users: int, env, groups, database, workdir) -> dict:
    meter = Meter(groups, database)
    meter.start()
    load_before = os.getloadavg()[0]
    result = run_locust(users, args.ramp, args.seconds, workdir, env)
    result["cpu"] = meter.stop()
    result["connections"] = max(meter.connections or [0])
    result["load"] = (load_before, os.getloadavg()[0])
    result["seconds"] = args.seconds
    return result


def section(result: dict) -> list[str]:
    total = result["total"]
    cpu = result["cpu"]
    lines = [
        f"### {result['users']} users, {result['seconds']} s",
        "",
        f"{total.get('requests', 0):,} requests, {total.get('rps', 0):.1f}/s, {total.get('failures', 0)} failures; "
        f"p95 of all requests {total.get('p95', 0):.0f} ms; peak of {result['connections']} connections to the "
        f"database; load average {result['load'][0]:.1f} → {result['load'][1]:.1f}.",
        "",
        "| endpoint | requests | failures | median ms | p95 ms | p99 ms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for e in sorted(result["endpoints"], key=lambda e: -e["p95"]):
        lines.append(
            f"| {e['name']} | {e['requests']:,} | {e['failures']} | {e['median']:.0f} | {e['p95']:.0f} "
            f"| {e['p99']:.0f} |"
        )
    lines += [
        "",
        "CPU seconds during the run (cores busy = seconds / run time): "
        + ", ".join(
            f"{g} {s:.1f} s ({s / result['seconds']:.2f} cores)" for g, s in sorted(cpu.items(), key=lambda x: -x[1])
        )
        + ".",
        "",
    ]
    if result["failures"]:
        lines += ["Failures:", "", *(f"- {f}" for f in result["failures"][:10]), ""]
    return lines


def gave(result: dict, threshold: float) -> str | None:
    """What gave in this step, if anything."""
    total = result["total"]
    # Signing in hashes the password (hundreds of ms by design) once per user: not what the load is about.
    slow = [e for e in result["endpoints"] if e["p95"] > threshold and "/login/" not in e["name"]]
    if not total.get("failures") and not slow:
        return None
    busiest = max(result["cpu"].items(), key=lambda x: x[1], default=("?", 0))
    parts = []
    if total.get("failures"):
        parts.append(f"{total['failures']} failures ({'; '.join(result['failures'][:3])})")
    if slow:
        worst = max(slow, key=lambda e: e["p95"])
        parts.append(f"p95 of {worst['name']} {worst['p95']:.0f} ms > {threshold:.0f} ms")
    parts.append(
        f"busiest part: {busiest[0]} with {busiest[1] / result['seconds']:.2f} of {os.cpu_count()} cores; "
        f"{result['connections']} database connections at the peak"
    )
    return "; ".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--seconds", type=int, default=60, help="duration (per step with --step)")
    parser.add_argument("--ramp", type=float, default=2.0, help="users started per second")
    parser.add_argument("--step", action="store_true", help="raise the users until failures or p95 > --threshold")
    parser.add_argument("--threshold", type=float, default=1000.0, help="p95 limit in ms for --step")
    parser.add_argument("--max-users", type=int, default=400)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--celery-concurrency", type=int, default=1)
    parser.add_argument("--import-rows", type=int, default=10000, help="rows per background lead import (0: none)")
    parser.add_argument("--database-url", default=DEFAULT_DB)
    parser.add_argument("--scale", type=float, default=0.01, help="dataset size for bench.build")
    parser.add_argument("--no-build", action="store_true", help="use the dataset as it is")
    parser.add_argument("--keep", action="store_true", help="keep the database it built")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    database = args.database_url.rsplit("/", 1)[1]
    if not args.no_build and not database.startswith("sfa_bench"):
        raise SystemExit("bench.build only builds databases named sfa_bench*")
    workdir = Path(tempfile.mkdtemp(prefix="sfa-load-"))
    log(f"work files in {workdir}")
    if not args.no_build:
        log(f"building the dataset: bench.build --scale {args.scale:g} into {database}")
        subprocess.run(
            [sys.executable, "-m", "bench.build", "--scale", str(args.scale)],
            env={**os.environ, "DATABASE_URL": args.database_url},
            cwd=ROOT,
            check=True,
            stdout=open(workdir / "build.log", "w"),  # noqa: SIM115 - closed with the process
            stderr=subprocess.STDOUT,
        )
    env = server_env(args.database_url, str(workdir))
    env["LOAD_PURPOSES"] = json.dumps(purposes(args.database_url))
    log(f"starting gunicorn ({args.workers} workers) and a Celery worker (concurrency {args.celery_concurrency})")
    web, worker = start_stack(args, env)
    stop_file = workdir / "stop-imports"
    importer = None
    results: list[dict] = []
    given = None
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    try:
        if args.import_rows:
            importer = subprocess.Popen(
                [sys.executable, "-c", IMPORTER, str(args.import_rows), str(stop_file)],
                env=env,
                cwd=ROOT,
                stdout=open(workdir / "imports.log", "w"),  # noqa: SIM115 - closed with the process
                stderr=subprocess.STDOUT,
            )
        groups = {"gunicorn": web.pid, "celery worker": worker.pid, "redis": redis_pid()}
        if importer:
            groups["import driver"] = importer.pid
        steps = [args.users]
        if args.step:
            steps = [u for u in (10, 20, 40, 60, 80, 120, 160, 240, 320, 400, 600) if u <= args.max_users]
        for users in steps:
            log(f"locust: {users} users for {args.seconds} s (ramp {args.ramp:g}/s)")
            result = measured_run(args, users, env, groups, database, workdir)
            results.append(result)
            t = result["total"]
            log(f"  {t.get('requests', 0)} requests, {t.get('failures', 0)} failures, p95 {t.get('p95', 0):.0f} ms")
            given = gave(result, args.threshold)
            if args.step and given:
                break
    finally:
        stop_file.touch()
        if importer:
            try:
                importer.wait(timeout=120)
            except subprocess.TimeoutExpired:
                importer.kill()
        for process in (web, worker):
            os.killpg(process.pid, signal.SIGTERM)
        for process in (web, worker):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        if not args.no_build and not args.keep:
            subprocess.run(
                ["psql", f"{SERVER}/postgres", "-qAtc", f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'],
                check=False,
                capture_output=True,
            )
    imports_log = (workdir / "imports.log").read_text().strip().splitlines() if args.import_rows else []
    command = "python -m bench.load " + " ".join(argv if argv is not None else sys.argv[1:])
    lines = [
        "# Mixed load: reps, managers, customers and an import",
        "",
        f"`{command}` on {started}: locust (reps 5 : managers 2 : customers 3, see bench/load.py) against gunicorn "
        f"({args.workers} sync workers, production settings), PostgreSQL `{database}`"
        f"{f' (bench.build --scale {args.scale:g})' if not args.no_build else ''}, Redis (cache and broker) and one "
        f"Celery worker (concurrency {args.celery_concurrency}); ramp {args.ramp:g} users/s. Locust runs on the same "
        f"{os.cpu_count()} cores as the server and the database.",
        "",
        "**Shared machine:** other people's tests ran at the same time (see the load averages); a run meant to "
        "decide the issue's target (50 users, 5 minutes, no errors) must be made on a quiet machine with the "
        "full dataset (bench/README.md).",
        "",
    ]
    if args.step:
        lines += [f"**Step mode**: what gave first: {given or 'nothing up to the last step'}.", ""]
    for result in results:
        lines += section(result)
    if imports_log:
        lines += [
            f"Background imports ({args.import_rows:,} rows each, run by the Celery worker):",
            "",
            *(f"- {line}" for line in imports_log[-10:]),
            "",
        ]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text("\n".join(lines))
    print("\n".join(lines))
    log(f"written to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
