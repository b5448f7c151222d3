"""Settings really take effect: Celery ignores a misspelt setting silently, so we check each one."""

import os
import subprocess
import sys
from pathlib import Path

from celery.app.defaults import NAMESPACES, flatten
from django.conf import settings

from sfa.celery import app

ROOT = Path(__file__).resolve().parent.parent
KNOWN_CELERY_KEYS = {name for name, _ in flatten(NAMESPACES)}


def celery_settings() -> dict:
    return {name: getattr(settings, name) for name in dir(settings) if name.startswith("CELERY_")}


def test_every_celery_setting_is_one_celery_knows():
    unknown = [name for name in celery_settings() if name.removeprefix("CELERY_").lower() not in KNOWN_CELERY_KEYS]
    assert unknown == [], f"Celery does not know these settings (misspelt?): {unknown}"


def test_every_scheduled_task_exists():
    app.loader.import_default_modules()
    missing = [entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values() if entry["task"] not in app.tasks]
    assert missing == [], f"The beat schedule names tasks nobody registered: {missing}"


def test_every_celery_setting_reached_the_app():
    for name, value in celery_settings().items():
        key = name.removeprefix("CELERY_").lower()
        assert app.conf[key] == value, f"{name} = {value!r} but the Celery app has {app.conf[key]!r}"
    assert app.conf.task_acks_late is True
    assert app.conf.worker_prefetch_multiplier == 1
    assert app.conf.task_default_queue == "sfa"


def embedded_settings(env_overrides: dict) -> dict:
    """Read the base settings in a fresh interpreter, with only ``env_overrides`` in the environment."""
    env = {
        k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(env_overrides, DJANGO_SETTINGS_MODULE="sfa.settings.base")
    code = (
        "import json, django; django.setup(); from django.conf import settings as s; from sfa.celery import app;"
        "print(json.dumps({'engine': s.DATABASES['default']['ENGINE'], 'name': str(s.DATABASES['default']['NAME']),"
        "'broker': app.conf.broker_url, 'opts': app.conf.broker_transport_options}))"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    import json

    return json.loads(out.stdout.strip().splitlines()[-1])


def test_with_no_environment_sfa_runs_embedded(tmp_path):
    conf = embedded_settings({"SFA_DATA_DIR": str(tmp_path)})
    assert conf["engine"] == "django.db.backends.sqlite3" and conf["name"] == str(tmp_path / "sfa.sqlite3")
    assert conf["broker"].startswith("filesystem")
    assert conf["opts"]["data_folder_in"].startswith(str(tmp_path))
    assert (tmp_path / "broker" / "queue").is_dir()


def test_database_url_and_broker_url_switch_to_postgresql_and_redis(tmp_path):
    conf = embedded_settings(
        {
            "SFA_DATA_DIR": str(tmp_path),
            "DATABASE_URL": "postgres://sfa:secret@db.internal:5432/sfa",
            "CELERY_BROKER_URL": "redis://cache.internal:6379/0",
        }
    )
    assert conf["engine"] == "django.db.backends.postgresql" and conf["name"] == "sfa"
    assert conf["broker"] == "redis://cache.internal:6379/0"
    assert "data_folder_in" not in conf["opts"]
