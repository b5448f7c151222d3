"""Hostile search and filter parameters: every list page and API list, as a rep, with SQL fragments, LIKE
wildcards, a NUL byte, very long and non-text values in each parameter it reads. Nothing may answer with a
server error, and a rep's list never grows by it (the parameters cannot widen what the rep may see)."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.authtoken.models import Token

from tests.contacts.factories import AccountFactory, ContactFactory

PAYLOADS = [
    "' OR '1'='1; DROP TABLE sfa_user; --",  # SQL
    "%_\\",  # LIKE wildcards, an escape, and a format placeholder
    "\x00",  # PostgreSQL refuses NUL in text
    "99999999999999999999999",  # beyond a 64-bit integer
    "a" * 5000,
    "2026-13-45 <script>x</script> ☃",  # an impossible date, markup, non-ASCII
]
COMMON = ["q", "search", "owner", "status", "ordering", "sort", "page", "cursor", "period", "start", "end", "team"]


def list_urls() -> list[str]:
    urls = []

    def walk(patterns, prefix=""):
        for p in patterns:
            if isinstance(p, URLResolver):
                if not str(p.pattern).startswith("admin/"):
                    walk(p.url_patterns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern):
                route = prefix + str(p.pattern)
                if "<" in route or "(?P" in route or "logout" in route or "\\." in route:
                    continue
                urls.append("/" + route.replace("^", "").replace("$", "").replace("\\Z", ""))

    walk(get_resolver().url_patterns)
    return sorted(set(urls))


def _params_of(url: str) -> list[str]:
    """The parameters a URL's view reads: its filterset's and the common ones."""
    from django.urls import resolve

    view = resolve(url).func
    cls = getattr(view, "cls", None)
    names = set(COMMON)
    filterset = getattr(cls, "filterset_class", None)
    if filterset is not None:
        names |= set(filterset.base_filters)
    return sorted(names)


def _count(response) -> int | None:
    if response.get("Content-Type", "").startswith("application/json"):
        data = response.json()
        if isinstance(data, dict) and isinstance(data.get("results"), list):
            return len(data["results"])
        return len(data) if isinstance(data, list) else None
    return None


@pytest.mark.django_db
def test_hostile_parameters_never_break_or_widen_a_list(client, org):
    for i in range(3):
        ContactFactory(owner=org.rep_other, account=AccountFactory(owner=org.rep_other), last_name=f"Other{i}")
    ContactFactory(owner=org.rep, last_name="Mine")
    token = Token.objects.create(user=org.rep).key
    client.force_login(org.rep)
    tried, errors, widened = 0, [], []
    for url in list_urls():
        headers = {"HTTP_AUTHORIZATION": f"Token {token}"} if url.startswith("/api/") else {}
        if url.startswith(("/api/schema", "/api/docs", "/api/auth")):
            continue
        baseline = client.get(url, **headers)
        if baseline.status_code != 200:
            continue
        plain = _count(baseline)
        for name in _params_of(url):
            for payload in PAYLOADS:
                response = client.get(url, {name: payload}, **headers)
                tried += 1
                if response.status_code >= 500:
                    errors.append(f"{url}?{name}={payload[:20]!r} -> {response.status_code}")
                n = _count(response)
                if response.status_code == 200 and plain is not None and n is not None and n > plain:
                    widened.append(f"{url}?{name}={payload[:20]!r}: {n} rows, {plain} without")
    assert tried > 500
    assert not errors, errors[:30]
    assert not widened, widened[:30]
