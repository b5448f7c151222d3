"""Backup and restore of a whole SFA installation: the database and the uploaded files.

``backup_create`` writes one ``.tar.gz``: ``manifest.json`` (when, which database engine, the applied
migrations, row counts per table), the database (``db.dump``, a ``pg_dump`` custom-format archive on
PostgreSQL; ``db.sqlite3``, SQLite's online backup, on the embedded database) and ``media/`` (uploads,
imports, documents, exports). Both dumps are consistent snapshots taken while the app keeps running.

``backup_restore`` puts it all back over the current installation: it refuses an archive made on the
other database engine or by a newer SFA (migrations this code does not know), replaces the database
(``pg_restore --clean`` / SQLite's backup API the other way) and the media folder, and checks the row
counts against the manifest. Stop the web and worker processes first; restoring is not done under load.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, connections
from django.db.migrations.loader import MigrationLoader

FORMAT = 1


def _engine() -> str:
    vendor = connection.vendor
    if vendor not in ("postgresql", "sqlite"):
        raise ValidationError(f"Backups support PostgreSQL and SQLite, not {vendor}.")
    return vendor


def _pg_env() -> tuple[list[str], dict[str, str]]:
    db = connection.settings_dict
    args = ["--dbname", db["NAME"]]
    if db.get("HOST"):
        args += ["--host", str(db["HOST"])]
    if db.get("PORT"):
        args += ["--port", str(db["PORT"])]
    if db.get("USER"):
        args += ["--username", str(db["USER"])]
    env = {**os.environ}
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    return args, env


def _run(command: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise ValidationError(f"{command[0]} failed: {done.stderr.strip()[-800:]}")


def _applied_migrations() -> list[str]:
    loader = MigrationLoader(connection, ignore_no_migrations=True)
    return sorted(f"{app}.{name}" for app, name in loader.applied_migrations)


def _row_counts() -> dict[str, int]:
    counts = {}
    tables = set(connection.introspection.table_names())
    for model in apps.get_models():
        if model._meta.managed and not model._meta.proxy and model._meta.db_table in tables:
            counts[model._meta.label] = model._base_manager.count()
    return counts


def _dump_database(target: Path) -> str:
    if _engine() == "postgresql":
        args, env = _pg_env()
        _run(["pg_dump", "--format=custom", "--no-owner", "--file", str(target / "db.dump"), *args], env)
        return "db.dump"
    connection.ensure_connection()
    with sqlite3.connect(target / "db.sqlite3") as copy:
        connection.connection.backup(copy)
    return "db.sqlite3"


def backup_create(*, path: Path) -> dict[str, Any]:
    """Write the backup archive to ``path`` and return its manifest."""
    path = Path(path)
    manifest = {
        "format": FORMAT,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "engine": _engine(),
        "migrations": _applied_migrations(),
        "counts": _row_counts(),
    }
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        manifest["database"] = _dump_database(work)
        (work / "manifest.json").write_text(json.dumps(manifest, indent=2))
        partial = path.with_name(path.name + ".partial")
        with tarfile.open(partial, "w:gz") as tar:
            tar.add(work / "manifest.json", arcname="manifest.json")
            tar.add(work / manifest["database"], arcname=manifest["database"])
            media = Path(settings.MEDIA_ROOT)
            if media.is_dir():
                tar.add(media, arcname="media")
        partial.replace(path)  # a crash mid-way never leaves a truncated file under the final name
    return manifest


def _read_manifest(tar: tarfile.TarFile) -> dict[str, Any]:
    try:
        member = tar.extractfile("manifest.json")
    except KeyError:
        member = None
    if member is None:
        raise ValidationError("This is not an SFA backup: it has no manifest.json.")
    manifest = json.loads(member.read())
    if manifest.get("format") != FORMAT:
        raise ValidationError(f"Unknown backup format {manifest.get('format')!r}.")
    return manifest


def _check_compatible(manifest: dict[str, Any]) -> None:
    if manifest["engine"] != _engine():
        raise ValidationError(
            f"The backup was made on {manifest['engine']}; this installation runs on {_engine()}. "
            "Restore it into an installation on the same database."
        )
    loader = MigrationLoader(None, ignore_no_migrations=True)
    known = {f"{app}.{name}" for app, name in loader.disk_migrations}
    unknown = sorted(set(manifest["migrations"]) - known)
    if unknown:
        raise ValidationError(f"The backup comes from a newer SFA: unknown migrations {', '.join(unknown[:5])}.")


def _restore_database(work: Path, manifest: dict[str, Any]) -> None:
    if manifest["engine"] == "postgresql":
        args, env = _pg_env()
        for alias in connections:
            connections[alias].close()
        _run(
            [
                "pg_restore",
                "--clean",
                "--if-exists",
                "--no-owner",
                "--single-transaction",
                *args,
                str(work / "db.dump"),
            ],
            env,
        )
        return
    connection.ensure_connection()
    with sqlite3.connect(work / "db.sqlite3") as source:
        source.backup(connection.connection)


def _restore_media(work: Path) -> None:
    media = Path(settings.MEDIA_ROOT)
    if media.exists():
        shutil.rmtree(media)
    if (work / "media").is_dir():
        shutil.copytree(work / "media", media)
    else:
        media.mkdir(parents=True)


def backup_restore(*, path: Path) -> dict[str, Any]:
    """Replace the database and the media files with the backup's; returns its manifest."""
    path = Path(path)
    if not path.is_file():
        raise ValidationError(f"No backup file at {path}.")
    try:
        tar = tarfile.open(path, "r:gz")  # noqa: SIM115 (closed by the with block below)
    except (tarfile.TarError, OSError) as exc:
        raise ValidationError(f"{path} is not a readable backup archive ({exc}).") from exc
    with tar, tempfile.TemporaryDirectory() as tmp:
        manifest = _read_manifest(tar)
        _check_compatible(manifest)
        work = Path(tmp)
        tar.extractall(work, filter="data")  # the data filter refuses absolute paths, links out and devices
        _restore_database(work, manifest)
        _restore_media(work)
    counts = _row_counts()
    wrong = {label: (n, counts.get(label)) for label, n in manifest["counts"].items() if counts.get(label) != n}
    if wrong:
        raise ValidationError(f"Restored, but row counts differ from the backup's: {wrong}")
    return manifest
