"""Benchmarks on PostgreSQL with generated data: see bench/README.md."""

from __future__ import annotations

import os

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/sfa_bench"


def django_setup() -> None:
    """Set Django up against the benchmark database (``DATABASE_URL``, else the local ``sfa_bench``), DEBUG off.

    DEBUG is forced off: with it on, every query is kept in ``connection.queries`` and error pages differ,
    which is not what production measures.
    """
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sfa.settings.base")
    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    os.environ["DEBUG"] = "False"

    import django

    django.setup()

    from django.conf import settings

    if "testserver" not in settings.ALLOWED_HOSTS and "*" not in settings.ALLOWED_HOSTS:
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
