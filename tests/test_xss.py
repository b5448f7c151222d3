"""Every text a user can type is shown escaped: each text field of one row of every model holds a script
tag and quote characters, and a crawl of the whole app (as an admin and as a rep) must never return them raw.
"""

import re
from collections import deque

import pytest
from django.apps import apps
from django.db import models

from sfa.permissions import registered_policies
from tests.test_permissions_matrix import make_owned

PAYLOAD = "\"'><script>xss()</script>"
RAW = "<script>xss()</script>"
MAX_PAGES = 400
# Values the system makes, not text people type (tokens in URLs, keys, numbers, codes).
MACHINE_FIELDS = {"password", "username", "currency", "slug", "country", "kind", "status", "code", "sku", "number"}
MACHINE_SUFFIXES = ("token", "key", "hash", "_id", "_code", "uuid")
SKIP_PREFIXES = ("/logout/", "/admin/", "/static/", "/media/", "/api/docs/")
LINK = re.compile(r'(?:href|hx-get)="(/[^"#]*)"')


def _poison() -> int:
    """Write the payload into every free-text field of every row (unique fields keep a distinct suffix)."""
    poisoned = 0
    for model in apps.get_models():
        if (
            not model._meta.managed
            or model._meta.proxy
            or model._meta.app_label in ("auth", "contenttypes", "sessions", "admin", "authtoken")
        ):
            continue
        for obj in model._base_manager.all()[:50]:
            changed = []
            for field in model._meta.concrete_fields:
                if not isinstance(field, models.CharField | models.TextField) or field.choices or field.primary_key:
                    continue
                if not field.editable or field.name in MACHINE_FIELDS or field.name.endswith(MACHINE_SUFFIXES):
                    continue
                value = f"{PAYLOAD}{obj.pk}"
                if field.max_length and field.max_length < len(value):
                    continue
                setattr(obj, field.attname, value)
                changed.append(field.attname)
            if changed:
                model._base_manager.filter(pk=obj.pk).update(**{name: getattr(obj, name) for name in changed})
                poisoned += 1
    return poisoned


def _crawl(client) -> tuple[int, list[str], list[str]]:
    seen, queue, raw, errors = set(), deque(["/"]), [], []
    while queue and len(seen) < MAX_PAGES:
        url = queue.popleft()
        if url in seen or url.startswith(SKIP_PREFIXES):
            continue
        seen.add(url)
        response = client.get(url)
        if response.status_code >= 500:
            errors.append(f"{url} answered {response.status_code}")
            continue
        if response.status_code != 200 or response.get("Content-Type", "").split(";")[0] not in (
            "text/html",
            "text/csv",
        ):
            continue
        body = response.content.decode("utf-8", "replace")
        if RAW in body:
            raw.append(url)
        for link in LINK.findall(body):
            link = link.replace("&amp;", "&")
            if "download" in link or "export" in link:
                continue
            if link not in seen:
                queue.append(link)
    return len(seen), raw, errors


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["admin", "rep"])
def test_no_typed_text_is_ever_rendered_raw(client, org, role):
    for model in registered_policies():
        try:
            make_owned(model, org.rep)
        except KeyError:  # an app whose ownership helper does not know the model
            continue
    assert _poison() > 10
    client.force_login(getattr(org, role))
    pages, raw, errors = _crawl(client)
    assert pages > 30, f"only {pages} pages were reached"
    assert not errors, errors
    assert not raw, f"raw script tag on: {raw}"
