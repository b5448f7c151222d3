"""Health of the services SFA depends on, for /healthz and the jobs page."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.db import connection
from kombu import Connection


def database_status() -> tuple[bool, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return False, f"{exc.__class__.__name__}: {exc}".strip()[:200]
    return True, connection.vendor


def broker_status() -> tuple[bool, str]:
    url = settings.CELERY_BROKER_URL
    if url.startswith("filesystem"):
        folder = Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"])
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            return False, f"filesystem broker folder not writable: {exc}"
        return True, "filesystem"
    try:
        with Connection(url, connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
            transport = conn.transport_cls
    except Exception as exc:
        return False, f"{exc.__class__.__name__}: {exc}".strip()[:200]
    return True, transport if isinstance(transport, str) else "broker"


def health() -> dict:
    db_ok, db_detail = database_status()
    broker_ok, broker_detail = broker_status()
    return {
        "status": "ok" if db_ok and broker_ok else "degraded",
        "database": {"ok": db_ok, "detail": db_detail},
        "broker": {"ok": broker_ok, "detail": broker_detail},
    }
