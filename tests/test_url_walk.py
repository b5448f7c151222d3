"""Every page and API endpoint that shows one record, walked as each role and as a second user of the
same role: a row answers 200 exactly to those the permission matrix lets view it (docs/permissions.md,
whose cells tests/test_permissions_matrix.py ties to the policies), and 404 to everyone else.

Which model a URL shows is learnt, not listed: the URL is first called with an unknown id and the model
that ``sfa.permissions.get_object_for`` (pages) or the scoped API base class (``get_queryset``) is asked for
is recorded. A URL that reads a record any other way is found by ``test_every_record_url_is_scoped``.
"""

import re
import sys

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.authtoken.models import Token

import sfa.permissions
from sfa.permissions import can
from tests.test_permissions_matrix import make_owned

UNKNOWN = 987654321
PK = re.compile(r"<int:(\w+)>|\(\?P<(\w+)>\[\^/\.\]\+\)")
# Record URLs whose view reads a row another way (a public token, the job owner check): checked elsewhere.
NOT_BY_GET_OBJECT_FOR = {
    "job-detail", "job-cancel", "job-retry", "job-download", "audit-history",
}  # fmt: skip


def record_urls() -> list[tuple[str, str, str]]:
    """(name, route with one id placeholder, placeholder) of every GET-able pattern that takes exactly one id."""
    found = []

    def walk(patterns, prefix="", namespace=""):
        for p in patterns:
            if isinstance(p, URLResolver):
                if str(p.pattern).startswith("admin/"):
                    continue
                walk(
                    p.url_patterns, prefix + str(p.pattern), f"{namespace}{p.namespace}:" if p.namespace else namespace
                )
            elif isinstance(p, URLPattern):
                route = prefix + str(p.pattern)
                ids = PK.findall(route)
                if len(ids) != 1 or "<" in PK.sub("", route).replace("(?P<format>", ""):
                    continue
                if "(?P<format>" in route:
                    continue
                found.append((f"{namespace}{p.name}", route, PK.search(route).group(0)))

    walk(get_resolver().url_patterns)
    return found


def _url(route: str, placeholder: str, pk) -> str:
    return "/" + route.replace(placeholder, str(pk)).replace("^", "").replace("$", "").replace("\\Z", "")


@pytest.fixture
def learn_model(monkeypatch):
    seen: list = []
    original = sfa.permissions.scoped

    def recording(actor, queryset, action="view"):
        seen.append((sys._getframe(1).f_code.co_name == "get_object_for", queryset.model))
        return original(actor, queryset, action)

    get_resolver().url_patterns  # noqa: B018 (imports every view module first)
    for module in list(sys.modules.values()):  # every module that imported scoped by name
        if getattr(module, "scoped", None) is original:
            monkeypatch.setattr(module, "scoped", recording)
    return seen


def _shown_model(seen: list):
    """The model get_object_for was asked for; else the one model an API endpoint scoped (else None)."""
    by_get_object_for = [model for direct, model in seen if direct]
    if by_get_object_for:
        return by_get_object_for[0]
    models = {model for _, model in seen}
    return models.pop() if len(models) == 1 else None


def _get(client, url: str, user):
    if url.startswith("/api/"):
        token = Token.objects.get_or_create(user=user)[0].key
        return client.get(url, HTTP_AUTHORIZATION=f"Token {token}")
    client.force_login(user)
    return client.get(url)


@pytest.mark.django_db
def test_each_record_url_shows_a_row_to_exactly_whom_the_matrix_lets_view_it(client, org, learn_model):
    owners = [org.rep, org.rep_b, org.rep_other]  # own, a peer in the same team, another team's
    viewers = [org.rep, org.rep_b, org.manager, org.manager_b, org.admin]  # each role, and a second user of it
    checked, models = 0, set()
    for name, route, placeholder in record_urls():
        learn_model.clear()
        probe = _get(client, _url(route, placeholder, UNKNOWN), org.admin)
        if probe.status_code == 405 or not learn_model:
            continue
        model = _shown_model(learn_model)
        if model is None:
            continue
        models.add(model._meta.label)
        for owner in owners:
            row = make_owned(model, owner)
            url = _url(route, placeholder, row.pk)
            for viewer in viewers:
                response = _get(client, url, viewer)
                allowed = can(viewer, "view", row)
                assert response.status_code < 500, f"{name} {url} as {viewer.username}: {response.status_code}"
                if allowed:  # a page for an action they may not take answers 403; the row is never hidden
                    assert response.status_code != 404, (
                        f"{name} {url}: {viewer.username} may view the {model._meta.label} of {owner.username} "
                        f"but got {response.status_code}"
                    )
                else:
                    assert response.status_code in (403, 404), (
                        f"{name} {url}: {viewer.username} must not see the {model._meta.label} of {owner.username} "
                        f"but got {response.status_code}"
                    )
                checked += 1
    assert len(models) >= 15 and checked > 500, (len(models), checked)


@pytest.mark.django_db
def test_every_record_url_is_scoped(client, org, learn_model):
    """A GET-able URL that takes a record id and answers an unknown id without the scoping helpers would
    decide visibility on its own: none may exist beyond the listed ones."""
    own_way = []
    for name, route, placeholder in record_urls():
        learn_model.clear()
        response = _get(client, _url(route, placeholder, UNKNOWN), org.admin)
        if response.status_code != 405 and _shown_model(learn_model) is None and name not in NOT_BY_GET_OBJECT_FOR:
            own_way.append(f"{name} ({response.status_code})")
    assert not own_way, own_way
