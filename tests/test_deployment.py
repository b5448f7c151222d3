"""Deployment files: docker-compose.yml, the Dockerfile, .env.example, and production settings that
refuse to start without a real configuration.

No Docker and no database needed: the compose file is read as YAML, and every settings load runs in a
subprocess so that production settings never replace the test settings of this process. Production
settings raise on import without their environment, so ``REQUIRED_ENV`` is read from the source.
"""

import ast
import json
import os
import re
import secrets
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SETTINGS_DIR = ROOT / "sfa" / "settings"
APP_SERVICES = ("web", "worker", "beat")

_SETTINGS_ENV_READ = re.compile(
    r"""\benv(?:\.\w+)?\(\s*["'](\w+)["']"""  # env("X"), env.str("X", ...), env.db("X", ...)
    r"""|\bos\.environ\.get\(\s*["'](\w+)["']"""
    r"""|\bos\.environ\[\s*["'](\w+)["']\s*\]"""
    r"""|\bos\.getenv\(\s*["'](\w+)["']"""
)
_ASSIGNMENT = re.compile(r"^\s*(?:export\s+)?([A-Za-z_]\w*)\s*=", re.MULTILINE)
_EXAMPLE_ASSIGNMENT = re.compile(r"^#\s*([A-Z_][A-Z0-9_]*)=", re.MULTILINE)


def _required_env() -> tuple[str, ...]:
    tree = ast.parse((SETTINGS_DIR / "production.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "REQUIRED_ENV" for t in node.targets):
            return tuple(ast.literal_eval(node.value))
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", None) == "REQUIRED_ENV":
            return tuple(ast.literal_eval(node.value))
    raise AssertionError("sfa/settings/production.py defines no REQUIRED_ENV")


def _settings_env_names() -> set[str]:
    names = set()
    for path in SETTINGS_DIR.glob("*.py"):
        for match in _SETTINGS_ENV_READ.finditer(path.read_text()):
            names.add(next(group for group in match.groups() if group))
    return names


REQUIRED_ENV = _required_env()
SETTINGS_ENV_NAMES = _settings_env_names()


# --- docker-compose.yml ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _environment(service: dict) -> dict[str, str]:
    environment = service.get("environment") or {}
    if isinstance(environment, list):  # the KEY=value list form
        environment = dict(item.split("=", 1) if "=" in item else (item, "") for item in environment)
    return {name: str(value) for name, value in environment.items()}


def _command(service: dict) -> str:
    command = service.get("command") or ""
    return " ".join(command) if isinstance(command, list) else command


def _fixed_host_ports(service: dict) -> list[str]:
    """Published host ports that name one port: a second replica of the service could not bind it."""
    fixed = []
    for port in service.get("ports", []):
        host = str(port.get("published", "")) if isinstance(port, dict) else str(port).rpartition(":")[0]
        host = host.rpartition(":")[2]  # drop a host IP in "127.0.0.1:8000:8000"
        if host and "-" not in host:
            fixed.append(host)
    return fixed


def test_compose_defines_the_services(compose):
    assert {"postgres", "redis", "web", "worker", "beat"} <= set(compose["services"])


def test_required_env_is_read_from_production_settings():
    assert {"SECRET_KEY", "ALLOWED_HOSTS"} <= set(REQUIRED_ENV)


@pytest.mark.parametrize("service_name", APP_SERVICES)
def test_app_services_get_every_required_variable(compose, service_name):
    environment = _environment(compose["services"][service_name])

    assert environment.get("DJANGO_SETTINGS_MODULE") == "sfa.settings.production"
    missing = [name for name in REQUIRED_ENV if not environment.get(name)]
    assert not missing, f"{service_name} lacks {missing}"


@pytest.mark.parametrize("name", ["SECRET_KEY", "ALLOWED_HOSTS"])
def test_compose_takes_secrets_from_the_host_and_requires_them(compose, name):
    """No secret in the file: compose must stop with a message when the host does not set it."""
    for service_name in APP_SERVICES:
        value = _environment(compose["services"][service_name])[name]
        assert re.fullmatch(rf"\$\{{{name}:\?[^}}]+\}}", value), f"{service_name}: {name}={value}"


def test_service_commands(compose):
    services = compose["services"]

    assert "gunicorn" in _command(services["web"])
    assert "sfa.wsgi:application" in _command(services["web"])
    assert {"celery", "worker"} <= set(_command(services["worker"]).split())
    assert {"celery", "beat"} <= set(_command(services["beat"]).split())


@pytest.mark.parametrize("service_name", ["web", "worker"])
def test_scaled_services_pin_no_name_and_no_host_port(compose, service_name):
    service = compose["services"][service_name]

    assert "container_name" not in service
    assert not _fixed_host_ports(service)


def test_migrations_run_once_before_the_app_starts(compose):
    """Concurrent `migrate` in every web replica would race; one one-shot service runs it first."""
    services = compose["services"]
    migrators = [name for name, service in services.items() if "manage.py migrate" in _command(service)]
    assert migrators == ["migrate"]

    for service_name in APP_SERVICES:
        depends_on = services[service_name].get("depends_on") or {}
        assert depends_on.get("migrate", {}).get("condition") == "service_completed_successfully", service_name


def test_postgres_is_healthchecked_and_keeps_its_data(compose):
    postgres = compose["services"]["postgres"]

    assert postgres["image"].startswith("postgres:16")
    assert postgres.get("healthcheck", {}).get("test")
    named_volumes = [volume.split(":")[0] for volume in postgres["volumes"]]
    assert set(named_volumes) & set(compose.get("volumes") or {})


# --- .env.example ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def env_example() -> str:
    return (ROOT / ".env.example").read_text()


def test_settings_regex_finds_the_variables():
    """Guards the regex: if it stopped matching, the next test would pass on an empty set."""
    assert {"SECRET_KEY", "DATABASE_URL", "SECURE_SSL_REDIRECT", "SFA_TEST_DATA_DIR"} <= SETTINGS_ENV_NAMES


def test_env_example_lists_every_variable_the_settings_read(env_example):
    listed = set(_EXAMPLE_ASSIGNMENT.findall(env_example))
    wanted = SETTINGS_ENV_NAMES | set(REQUIRED_ENV) | {"DJANGO_SETTINGS_MODULE"}

    assert not wanted - listed, f"missing from .env.example: {sorted(wanted - listed)}"


def test_env_example_sets_nothing(env_example):
    """Every value is commented out, so copying the file to .env keeps the embedded defaults."""
    assert not _ASSIGNMENT.findall(env_example)


def test_env_example_documents_each_default(env_example):
    lines = env_example.splitlines()
    for index, line in enumerate(lines):
        if not _EXAMPLE_ASSIGNMENT.match(line):
            continue
        above = []
        for previous in reversed(lines[:index]):
            if not previous.startswith("#") or _EXAMPLE_ASSIGNMENT.match(previous):
                break
            above.append(previous)
        assert "Default" in " ".join(above), f"no description with its default above {line!r}"


# --- Dockerfile -----------------------------------------------------------------------------------


def _dockerfile_instructions() -> list[tuple[str, str]]:
    instructions, current = [], ""
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.strip().startswith("#") or not line.strip():
            continue
        current += line.rstrip("\\").strip() + " "
        if not line.endswith("\\"):
            keyword, _, arguments = current.strip().partition(" ")
            instructions.append((keyword.upper(), arguments))
            current = ""
    return instructions


def test_dockerfile_runs_gunicorn_as_a_non_root_user():
    instructions = _dockerfile_instructions()
    values = dict(instructions)  # the last FROM / USER / CMD wins, as in Docker

    assert values["FROM"] == "python:3.11-slim"
    assert values["USER"] not in ("root", "0")
    assert "gunicorn" in values["CMD"] and "sfa.wsgi:application" in values["CMD"]
    assert "8000" in values["EXPOSE"].split()
    assert not any(keyword in ("ENV", "ARG") and "SECRET_KEY" in args for keyword, args in instructions)


def test_dockerfile_collectstatic_runs_with_its_build_time_placeholders(tmp_path, settings_env):
    """The build step, without Docker: its placeholders must satisfy production settings."""
    instructions = _dockerfile_instructions()
    image_env = dict(
        word.split("=", 1) for keyword, args in instructions if keyword == "ENV" for word in shlex.split(args)
    )
    (run_line,) = [args for keyword, args in instructions if keyword == "RUN" and "collectstatic" in args]
    words = shlex.split(run_line)
    placeholders = dict(word.split("=", 1) for word in words if re.match(r"^[A-Z_]+=", word))
    command = [word for word in words if not re.match(r"^[A-Z_]+=", word)]

    assert image_env["DJANGO_SETTINGS_MODULE"] == "sfa.settings.production"
    assert set(REQUIRED_ENV) <= set(placeholders)
    assert command[:2] == ["python", "manage.py"]
    environment = settings_env(**placeholders, DJANGO_SETTINGS_MODULE=image_env["DJANGO_SETTINGS_MODULE"])
    result = _run(command[1:], env=environment)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "data" / "staticfiles" / "staticfiles.json").exists()


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_image():
    ignored = set((ROOT / ".dockerignore").read_text().split())

    assert {".env", ".venv", ".git", "var"} <= ignored


# --- Production settings --------------------------------------------------------------------------

_SETUP = "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'sfa.settings.production'; django.setup()"


@pytest.fixture
def settings_env(tmp_path):
    """``settings_env(**values)`` -> an environment with none of the settings' variables but ``values``.

    The data directory goes to tmp_path so that the repository's var/ is left alone. A .env in the
    repository root would also feed the settings, so tests that depend on exact input skip then.
    """
    dotenv = ROOT / ".env"
    overridden = set(_ASSIGNMENT.findall(dotenv.read_text())) & SETTINGS_ENV_NAMES if dotenv.exists() else set()
    if overridden:
        pytest.skip(f".env in the repository root sets {sorted(overridden)}, which these tests must control")

    def build(**values: str) -> dict[str, str]:
        # DJANGO_* too: e.g. DJANGO_ALLOW_ASYNC_UNSAFE, set in-process by the browser tests, fails the deploy checks.
        stripped = SETTINGS_ENV_NAMES | set(REQUIRED_ENV)
        environment = {
            name: value for name, value in os.environ.items() if name not in stripped and not name.startswith("DJANGO_")
        }
        environment["SFA_DATA_DIR"] = str(tmp_path / "data")
        environment.update(values)
        return environment

    return build


@pytest.fixture
def production_env(settings_env):
    return settings_env(
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="sfa.example.com",
        DATABASE_URL="postgres://u:p@127.0.0.1:5432/x",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/0",
    )


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def _error_line(result: subprocess.CompletedProcess) -> str:
    return result.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize(
    ("name", "value"),
    [*((name, None) for name in REQUIRED_ENV), ("SECRET_KEY", ""), ("ALLOWED_HOSTS", "")],
    ids=[*(f"{name}-unset" for name in REQUIRED_ENV), "SECRET_KEY-empty", "ALLOWED_HOSTS-empty"],
)
def test_production_refuses_to_start_without(production_env, name, value):
    if value is None:
        del production_env[name]
    else:
        production_env[name] = value

    result = _run(["-c", _SETUP], env=production_env)

    assert result.returncode != 0
    error = _error_line(result)
    assert "ImproperlyConfigured" in error
    assert name in error
    assert not [other for other in REQUIRED_ENV if other != name and other in error]


@pytest.mark.parametrize(
    "secret_key",
    ["dev-only-insecure-key-change-me", "dev-only-" + "x" * 40, "short-key"],
    ids=["dev", "dev-long", "short"],
)
def test_production_refuses_a_dev_or_short_secret_key(production_env, secret_key):
    production_env["SECRET_KEY"] = secret_key

    result = _run(["-c", _SETUP], env=production_env)

    assert result.returncode != 0
    assert "SECRET_KEY" in _error_line(result)


def test_production_starts_with_the_required_environment(production_env):
    production_env["DEBUG"] = "true"  # production forces it off whatever the environment says
    show = "from django.conf import settings as s; print(__import__('json').dumps([s.DEBUG, s.ALLOWED_HOSTS]))"

    result = _run(["-c", f"{_SETUP}; {show}"], env=production_env)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [False, ["sfa.example.com"]]


def test_production_passes_the_deploy_checks(production_env):
    production_env["DJANGO_SETTINGS_MODULE"] = "sfa.settings.production"

    result = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env=production_env)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNINGS" not in result.stdout + result.stderr
    assert "no issues" in result.stdout
