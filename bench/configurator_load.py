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
4. writes requests/s, latency percentiles and error counts to bench/results/configurator_load.md.

wrk runs on the same 2-core machine as the server, so it takes CPU from gunicorn: the figure is a floor.
"""

from __future__ import annotations

import argparse
import json
import os
import re
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
SECRET = "bench-only-" + "x" * 40


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


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
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/13",
        "CACHE_URL": "redis://127.0.0.1:6379/13",
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
        post = run_wrk([*common, "-s", str(script), f"http://127.0.0.1:{PORT}"])
        log(f"page view: {options.seconds} s, {options.connections} connections")
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
    verdict = "met" if min(post["rps"], get["rps"]) >= 200 and not (post["non_2xx"] or get["non_2xx"]) else "NOT met"
    lines += ["", f"Target: 200 requests/s with no errors — **{verdict}**.", ""]
    RESULTS.write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
