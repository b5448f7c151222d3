"""Sustained load on the public configurator: 2 gunicorn workers, 16 concurrent clients, wrk.

    .venv/bin/python -m bench.configurator_load [--seconds 60] [--connections 16] [--workers 2]

Target (issue 6, item 7): 200 requests/s sustained on 2 gunicorn workers with 16 concurrent clients, no
errors. What it does:

1. builds a fresh PostgreSQL database (``--database-url``, default ``sfa_bench_load``) with the demo company
   and the demo catalog (the configurable car, e-bike and desk) through the demo's own steps;
2. starts gunicorn (``sfa.wsgi``, production settings, DEBUG off) with ``--workers`` sync workers and the
   cache on Redis (the compiled configurator model and the rate-limit counters are shared, as in a
   deployment), the rate limit raised out of the way (one client address sends everything here);
3. runs wrk (Debian's ``wrk``) for ``--seconds`` against two requests a customer makes: the option-change
   round trip (an HTMX POST to ``/configure/<slug>/`` with CSRF cookie and header, choices varied per request
   by a Lua script) and, for comparison, the page itself (GET);
4. writes requests/s, latency percentiles and error counts to bench/results/configurator_load.md, with the CPU
   time each part spent per request (from /proc: the gunicorn workers, the PostgreSQL backends of the bench
   database, redis-server, wrk itself) and the load average, so that a run on a busy machine can be told from
   a slow server.

wrk runs on the same 2-core machine as the server, so it takes CPU from gunicorn: the figure is a floor.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "configurator_load.md"
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/sfa_bench_load"
PORT = 8765
REDIS_URL = "redis://127.0.0.1:6379/13"
SECRET = "bench-only-" + "x" * 40


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime and stime, fields 14 and 15 of proc(5)


def machine_busy() -> tuple[float, float]:
    """CPU seconds the whole machine has been busy (all cores), and the wall clock."""
    ticks = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(ticks) - ticks[3] - ticks[4]) / TICKS, time.monotonic()  # minus idle and iowait


def children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == parent:
                    found.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return found


class CpuMeter:
    """CPU seconds spent by the server's parts during one wrk run (processes that exit midway are not counted)."""

    def __init__(self, server: subprocess.Popen, database_url: str) -> None:
        self.server, self.database_url = server, database_url

    def groups(self) -> dict[str, list[int]]:
        import psycopg2
        from redis import Redis

        name = self.database_url.rsplit("/", 1)[1]
        connection = psycopg2.connect(self.database_url.replace("postgres://", "postgresql://"))
        with connection.cursor() as cursor:
            cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [name])
            backends = [row[0] for row in cursor.fetchall()]
        connection.close()
        redis_pid = Redis.from_url(REDIS_URL).info("server")["process_id"]
        return {
            "gunicorn": [self.server.pid, *children(self.server.pid)],
            "postgres": backends,
            "redis": [int(redis_pid)],
        }

    def __enter__(self) -> CpuMeter:
        self.pids = self.groups()
        self.start = {pid: cpu_seconds(pid) for pids in self.pids.values() for pid in pids}
        self.wrk_start = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.load_start = os.getloadavg()[0]
        self.busy_start = machine_busy()
        return self

    def __exit__(self, *exc) -> None:
        end = resource.getrusage(resource.RUSAGE_CHILDREN)  # wrk: the only child waited for meanwhile
        self.seconds = {}
        for group, pids in self.groups().items():  # backends opened during the run count from zero
            self.seconds[group] = sum(max(0.0, cpu_seconds(pid) - self.start.get(pid, 0.0)) for pid in pids)
        self.seconds["wrk"] = end.ru_utime + end.ru_stime - self.wrk_start.ru_utime - self.wrk_start.ru_stime
        busy, clock = machine_busy()
        # Cores kept busy by everything else on the machine meanwhile (other people's tests, builds ...).
        self.others = max(0.0, busy - self.busy_start[0] - sum(self.seconds.values())) / (clock - self.busy_start[1])
        self.load = (self.load_start, os.getloadavg()[0])


def build_database(database_url: str) -> None:
    """A fresh database with the demo company and catalog (through the demo's own steps)."""
    name = database_url.rsplit("/", 1)[1]
    if not name.startswith("sfa_bench"):
        raise SystemExit(f"Refusing to rebuild {name!r}: the database name must start with sfa_bench.")
    admin_url = database_url.rsplit("/", 1)[0] + "/postgres"
    import psycopg2

    connection = psycopg2.connect(admin_url.replace("postgres://", "postgresql://"))
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute(f'CREATE DATABASE "{name}"')
    connection.close()
    script = (
        "import django; django.setup();"
        "from django.core.management import call_command; call_command('migrate', verbosity=0);"
        "from sfa.demo import DemoContext, demo_steps;"
        "ctx = DemoContext(password='bench-password-1', log=lambda m: None);"
        "[step(ctx) for order, name, step in demo_steps() if name.split('.')[0] in ('sfa', 'catalog')]"
    )
    subprocess.run([sys.executable, "-c", script], check=True, env=server_env(database_url), cwd=ROOT)


def server_env(database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "sfa.settings.production",
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": REDIS_URL,
        "CACHE_URL": REDIS_URL,
        "SECRET_KEY": SECRET,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "False",
        "CONFIGURATOR_RATE_LIMIT": "100000000/min",
        "SFA_DATA_DIR": tempfile.mkdtemp(prefix="sfa-load-"),
    }


def start_gunicorn(database_url: str, workers: int) -> subprocess.Popen:
    env = server_env(database_url)
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"], check=True, env=env, cwd=ROOT
    )
    gunicorn = Path(sys.executable).with_name("gunicorn")
    process = subprocess.Popen(
        [str(gunicorn), "sfa.wsgi", "--workers", str(workers), "--bind", f"127.0.0.1:{PORT}", "--log-level", "warning"],
        env=env,
        cwd=ROOT,
        start_new_session=True,
    )
    for _ in range(60):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{PORT}/healthz", timeout=1)
            return process
        except OSError:
            time.sleep(0.5)
    process.kill()
    raise SystemExit("gunicorn did not answer /healthz within 30 s")


def session_for(slug: str) -> tuple[str, str, str]:
    """The CSRF cookie and token of a visitor's first page view, and the page's posted field names."""
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"http://127.0.0.1:{PORT}/configure/{slug}/").read().decode()
    cookie = next(c.value for c in jar if c.name == "csrftoken")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    return cookie, token, page


def radio_options(page: str) -> dict[str, list[str]]:
    """Attribute code -> value codes of the radio-like inputs on the page (what the Lua script varies)."""
    options: dict[str, list[str]] = {}
    for name, value in re.findall(r'type="radio"[^>]*name="([a-z_][a-z0-9_]*)"[^>]*value="([A-Z0-9]+)"', page):
        options.setdefault(name, []).append(value)
    return options


LUA = """
local options = %(options)s
local names = {}
for name, _ in pairs(options) do table.insert(names, name) end
local counter = 0
request = function()
  counter = counter + 1
  local name = names[(counter %% #names) + 1]
  local values = options[name]
  local value = values[(math.floor(counter / #names) %% #values) + 1]
  local body = "csrfmiddlewaretoken=%(token)s&_changed=" .. name .. "&_touched=" .. name .. "&" .. name .. "=" .. value
  return wrk.format("POST", "/configure/%(slug)s/", {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Cookie"] = "csrftoken=%(cookie)s",
    ["X-CSRFToken"] = "%(token)s",
    ["HX-Request"] = "true",
    ["Referer"] = "http://127.0.0.1:%(port)d/configure/%(slug)s/",
  }, body)
end
"""


def run_wrk(args: list[str]) -> dict:
    output = subprocess.run(["wrk", *args], check=True, capture_output=True, text=True).stdout
    figures = {"raw": output}
    figures["rps"] = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    figures["requests"] = int(re.search(r"(\d+) requests in", output).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(r"Socket errors: (.*)", output)
    figures["non_2xx"] = int(non2xx.group(1)) if non2xx else 0
    figures["socket_errors"] = errors.group(1).strip() if errors else "none"
    for pct in ("50", "75", "90", "99"):
        match = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)", output, re.M)
        if match is None:  # a run without --latency
            continue
        value, unit = float(match.group(1)), match.group(2)
        figures[f"p{pct}_ms"] = value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=DEFAULT_DB)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--slug", default="aurora")
    parser.add_argument("--keep", action="store_true", help="Reuse the database if it exists (no rebuild)")
    options = parser.parse_args(argv)
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install wrk")
    if not options.keep:
        log("building the database (demo company and catalog)")
        build_database(options.database_url)
    log(f"starting gunicorn with {options.workers} workers")
    server = start_gunicorn(options.database_url, options.workers)
    try:
        cookie, token, page = session_for(options.slug)
        choices = radio_options(page)
        if not choices:
            raise SystemExit(f"No radio options found on /configure/{options.slug}/")
        lua_options = (
            "{"
            + ", ".join(f'["{k}"] = {json.dumps(v).replace("[", "{").replace("]", "}")}' for k, v in choices.items())
            + "}"
        )
        script = Path(tempfile.mkdtemp()) / "post.lua"
        script.write_text(
            LUA % {"options": lua_options, "token": token, "cookie": cookie, "slug": options.slug, "port": PORT}
        )
        common = ["-t", "2", "-c", str(options.connections), "-d", f"{options.seconds}s", "--latency"]
        log("warming up (5 s)")
        run_wrk(["-t", "2", "-c", str(options.connections), "-d", "5s", "-s", str(script), f"http://127.0.0.1:{PORT}"])
        log(f"option-change round trip: {options.seconds} s, {options.connections} connections")
        with CpuMeter(server, options.database_url) as post_cpu:
            post = run_wrk([*common, "-s", str(script), f"http://127.0.0.1:{PORT}"])
        log(f"page view: {options.seconds} s, {options.connections} connections")
        with CpuMeter(server, options.database_url) as get_cpu:
            get = run_wrk([*common, f"http://127.0.0.1:{PORT}/configure/{options.slug}/"])
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    lines = [
        "# Public configurator under sustained load",
        "",
        f"`.venv/bin/python -m bench.configurator_load --seconds {options.seconds} --connections "
        f"{options.connections} --workers {options.workers}` on {time.strftime('%Y-%m-%d')}: gunicorn "
        f"{options.workers} sync workers, PostgreSQL, Redis cache, wrk with {options.connections} connections on "
        f"the same 2-core machine, product `{options.slug}` ({len(choices)} single-choice attributes varied).",
        "",
        "| request | requests/s | p50 ms | p90 ms | p99 ms | requests | non-2xx | socket errors |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label, f in (("option change (HTMX POST, re-validate + partial)", post), ("page view (GET)", get)):
        lines.append(
            f"| {label} | {f['rps']:.0f} | {f['p50_ms']:.1f} | {f['p90_ms']:.1f} | {f['p99_ms']:.1f} | "
            f"{f['requests']} | {f['non_2xx']} | {f['socket_errors']} |"
        )
    lines += [
        "",
        "CPU time per request during each run, in ms (from /proc: waiting for a core is not counted; Redis is the"
        " whole server), the cores the machine's other processes kept busy meanwhile, and the load average:",
        "",
        "| request | gunicorn workers | PostgreSQL | Redis | wrk | all of these | other processes (cores) | load avg |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label, f, cpu in (("option change", post, post_cpu), ("page view", get, get_cpu)):
        per = {group: 1000 * seconds / max(1, f["requests"]) for group, seconds in cpu.seconds.items()}
        lines.append(
            f"| {label} | {per['gunicorn']:.2f} | {per['postgres']:.2f} | {per['redis']:.2f} | {per['wrk']:.2f} | "
            f"{sum(per.values()):.2f} | {cpu.others:.2f} | {cpu.load[0]:.1f} → {cpu.load[1]:.1f} |"
        )
    verdict = "met" if min(post["rps"], get["rps"]) >= 200 and not (post["non_2xx"] or get["non_2xx"]) else "NOT met"
    busy = max(post_cpu.others, get_cpu.others)
    caveat = (
        f" Other processes kept up to {busy:.1f} of the 2 cores busy meanwhile: the requests/s measure the CPU"
        " they left; the CPU per request above is the figure to compare between runs."
        if busy > 0.25
        else ""
    )
    lines += ["", f"Target: 200 requests/s with no errors — **{verdict}**.{caveat}", ""]
    RESULTS.write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
