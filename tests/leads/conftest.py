"""Fixtures of the leads tests. Each part adds its own below, with names that say whose they are."""

from __future__ import annotations

import pytest

# --- list imports (tests/leads/test_imports.py, tests/browser/test_lead_import.py) ------------------


@pytest.fixture
def import_upload():
    """``import_upload(text_or_bytes, name="list.csv", charset="utf-8")`` -> an uploaded file."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    def _upload(content, name: str = "list.csv", charset: str = "utf-8"):
        data = content.encode(charset) if isinstance(content, str) else content
        return SimpleUploadedFile(name, data, content_type="text/csv")

    return _upload


@pytest.fixture
def import_list(org, import_upload, settings, tmp_path):
    """``import_list(text, **kwargs)`` -> a LeadImport uploaded by org.manager (media in a temp folder)."""
    from leads.imports import lead_import_create

    settings.MEDIA_ROOT = str(tmp_path / "media")

    def _import(content, *, name: str = "list.csv", charset: str = "utf-8", actor=None, **kwargs):
        kwargs.setdefault("vendor", "Adressbroker GmbH")
        kwargs.setdefault("list_name", "Messe 2026")
        return lead_import_create(actor=actor or org.manager, file=import_upload(content, name, charset), **kwargs)

    return _import


# --- pipeline and opportunities (tests/leads/test_pipeline.py, tests/browser/test_pipeline_board.py) --


@pytest.fixture
def pipeline_stages(db):
    """The default pipeline's stages by name (Prospecting … Closed won, Closed lost)."""
    from leads.services import pipeline_default

    return {stage.name: stage for stage in pipeline_default().stages.order_by("order")}


@pytest.fixture
def pipeline_account(org):
    """An account owned by org.rep, with one person working there."""
    from contacts.services import account_create, contact_create

    account = account_create(actor=org.rep, name="Velo Logistik GmbH", city="Hamburg", country="DE")
    contact_create(actor=org.rep, first_name="Jana", last_name="Kranz", account=account, emails=["jana@velo.example"])
    return account


@pytest.fixture
def pipeline_deal(org, pipeline_stages, pipeline_account):
    """``pipeline_deal(name, owner=org.rep, stage="Prospecting", amount=1000, **kwargs)`` -> an opportunity
    made through opportunity_create (``at=`` back-dates it, ``expected_close`` defaults to in 60 days)."""
    from datetime import timedelta

    from django.utils import timezone

    from leads.services import opportunity_create

    def _deal(name: str, *, owner=None, stage: str = "Prospecting", amount=1000, via: str = "form", **kwargs):
        owner = owner or org.rep
        kwargs.setdefault("expected_close", timezone.localdate() + timedelta(days=60))
        kwargs.setdefault("account", pipeline_account)
        return opportunity_create(
            actor=owner, owner=owner, name=name, stage=pipeline_stages[stage], amount=amount, via=via, **kwargs
        )

    return _deal
