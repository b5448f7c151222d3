"""The public configurator's markup, written in Python (catalog/configurator_page.py) rather than a template:
every text escaped, every label and description pointing at an element that exists; the product read with
precompiled SQL; the rate limit's one-round-trip counter on Redis."""

import time
from decimal import Decimal
from html.parser import HTMLParser
from types import SimpleNamespace

import pytest
from django.core.cache.backends.redis import RedisCache
from django.core.exceptions import ImproperlyConfigured
from django.http import Http404
from django.test import RequestFactory

from catalog import ratelimit, selectors, services
from catalog.models import Product
from tests.catalog.conftest import add_attribute

HTMX = {"HX-Request": "true"}
MARKUP = '<b>"x"</b>'  # what a product manager might type; it must come out as text
ESCAPED = "&lt;b&gt;&quot;x&quot;&lt;/b&gt;"


class Page(HTMLParser):
    """Ids, label targets, aria-describedby references, form controls and text of a page."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: list[str] = []
        self.label_for: set[str] = set()
        self.described: list[str] = []
        self.controls: list[dict] = []
        self.text: list[str] = []
        self.open_tags: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.append(attrs["id"])
        if tag == "label" and "for" in attrs:
            self.label_for.add(attrs["for"])
        self.described += (attrs.get("aria-describedby") or "").split()
        if tag in ("input", "select") and attrs.get("type") != "hidden":
            self.controls.append({"tag": tag, **attrs})
        self.open_tags.append(tag)

    def handle_data(self, data):
        self.text.append(data)


@pytest.fixture
def awkward(catalog) -> Product:
    """A product whose every text a product manager types holds markup, with every kind of attribute."""
    product = services.product_create(
        actor=None, name=f"Awkward {MARKUP}", sku="AWK", slug="awkward", category=catalog.cars, is_configurable=True
    )
    services.price_set(product=product, price_list=catalog.eur, amount=Decimal("100"), actor=None)
    words = {"help_text": f"Help {MARKUP}", "step_title": f"Step {MARKUP}"}
    _, radio = add_attribute(product, "finish", "radio", [("MATT", 5, 0), ("GLOSS", 0, 3)], required=False, **words)
    _, swatch = add_attribute(product, "colour", "swatch", [("RED", 0, 0, True), ("BLUE", 7, 0)], **words)
    _, select = add_attribute(product, "size", "select", [("S", 0, 0), ("L", 9, 1)], **words)
    _, multi = add_attribute(product, "extras", "multi", [("A", 1, 0), ("B", 2, 0)], required=False, **words)
    number_fields = {"min_value": Decimal("1"), "max_value": Decimal("9"), "unit": "cm", "unit_price": Decimal("2")}
    add_attribute(product, "length", "number", step=2, **number_fields, **words)
    add_attribute(product, "note", "text", step=2, max_length=30, **words)
    for attribute in product.attributes.all():
        services.attribute_update(attribute=attribute, actor=None, data={"name": f"{attribute.code} {MARKUP}"})
    for attribute_value in (*radio.values(), *swatch.values(), *select.values(), *multi.values()):
        services.value_update(value=attribute_value, actor=None, data={"label": f"{attribute_value.code} {MARKUP}"})
    for kind, conditions, targets in (
        ("excludes", [radio["MATT"]], [swatch["BLUE"]]),
        ("excludes", [radio["MATT"]], [select["L"]]),
        ("requires", [multi["B"]], [radio["GLOSS"]]),
    ):
        services.rule_create(
            product=product, actor=None, kind=kind, conditions=conditions, targets=targets, message=f"Why {MARKUP}"
        )
    product.refresh_from_db()
    return product


def test_every_text_of_the_page_and_the_partial_is_escaped(awkward, client):
    url = f"/configure/{awkward.slug}/"
    posted = {"_touched": ["finish", "note"], "finish": "MATT", "note": MARKUP}
    for response in (client.get(url), client.post(url, posted, headers=HTMX), client.post(url, posted)):
        html = response.content.decode()
        assert response.status_code == 200
        assert "<b>" not in html and '"x"' not in html
        page = Page(html)
        assert "b" not in page.open_tags
        assert html.count(ESCAPED) >= 20  # names, help texts, step titles, labels, reasons, the typed note
    partial = client.post(url, posted, headers=HTMX).content.decode()
    assert f'<span class="cfg-attr-name">colour {ESCAPED}</span>' in partial
    assert f'<p class="help">Help {ESCAPED}</p>' in partial and f"Step {ESCAPED}</h2>" in partial
    assert f'<label for="cfg-note">note {ESCAPED}</label>' in partial
    assert f'value="{ESCAPED}"' in partial  # the text typed comes back in its field, as text
    assert f"BLUE {ESCAPED} is not available: </span>Why {ESCAPED}" in partial
    assert f"<strong>L {ESCAPED}</strong> is not available: Why {ESCAPED}" in partial  # drop-down: listed below


def test_every_control_is_labelled_and_every_description_exists(awkward, car, desk, client):
    cases = [
        (f"/configure/{awkward.slug}/", {"_touched": ["finish", "extras"], "finish": "MATT", "extras": ["B"]}),
        (f"/configure/{awkward.slug}/", {"_touched": ["size", "length"], "size": "", "length": "99"}),
        (f"/configure/{car.product.slug}/", {"_touched": ["line", "interior"], "line": "COM", "interior": "LTH"}),
        (f"/configure/{desk.slug}/", {"_touched": ["width"], "width": "170"}),
    ]
    for url, posted in cases:
        for response in (client.get(url), client.post(url, posted, headers=HTMX)):
            page = Page(response.content.decode())
            assert len(page.ids) == len(set(page.ids)), "ids are unique"
            assert set(page.described) <= set(page.ids), "aria-describedby names elements of the page"
            for control in page.controls:
                assert control["id"] in page.label_for, control


def test_the_options_show_their_state_and_why(awkward, client):
    url = f"/configure/{awkward.slug}/"
    partial = client.post(url, {"_touched": ["finish"], "finish": "MATT"}, headers=HTMX).content.decode()
    # the optional radio offers "None"; the chosen option is checked
    assert '<input type="radio" name="finish" value="" id="cfg-finish-none">' in partial
    checked = '<div class="cfg-option is-checked"><input type="radio" name="finish" value="MATT" id="cfg-finish-MATT"'
    assert f"{checked} checked>" in partial
    # an excluded swatch is disabled, described by its reason, and shows its costs
    assert (
        '<input type="radio" name="colour" value="BLUE" id="cfg-colour-BLUE" disabled '
        'aria-describedby="cfg-colour-BLUE-why">' in partial
    )
    assert '<span class="cfg-option-extra">+€7</span>' in partial
    # a drop-down option that is excluded says so, the required one without a value asks to choose
    assert f'<option value="L" disabled>L {ESCAPED} (+€9 · +1 days) — not available</option>' in partial
    assert '<option value="" selected>Choose…</option>' in partial
    # a checkbox that needs another choice says what it needs, without being disabled
    assert f'<p class="cfg-needs" id="cfg-extras-B-why">Why {ESCAPED}</p>' in partial
    assert 'id="cfg-extras-B" aria-describedby="cfg-extras-B-why">' in partial
    # numbers: bounds, unit price, and an error that the field names
    assert 'min="1" max="9" aria-describedby="cfg-length-help">' in partial and "; +€2 per cm above 1." in partial
    partial = client.post(url, {"_touched": ["length"], "length": "12"}, headers=HTMX).content.decode()
    assert 'value="12" inputmode="decimal" min="1" max="9" aria-describedby="cfg-length-help err-length">' in partial
    assert f'<div class="cfg-error" id="err-length"><p>length {ESCAPED} must be at most 9 cm.</p></div>' in partial


def test_the_public_product_is_read_whole_and_only_when_published(car, catalog):
    product = selectors.public_product_get(slug=car.product.slug)
    expected = Product.objects.get(pk=car.product.pk)
    fields = [f.attname for f in Product._meta.concrete_fields]
    assert [getattr(product, f) for f in fields] == [getattr(expected, f) for f in fields]
    assert product._state.adding is False and product._state.db == "default"
    with pytest.raises(Http404):
        selectors.public_product_get(slug="nothing-here")
    services.product_update(product=car.product, actor=None, data={"is_configurable": False})
    with pytest.raises(Http404):
        selectors.public_product_get(slug=car.product.slug)


def _redis_or_skip(settings) -> RedisCache:
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:6379/14"}
    }
    from django.core.cache import caches

    backend = caches["default"]
    try:
        backend.get("ping")
    except Exception as exc:  # any connection error: no Redis here
        pytest.skip(f"no Redis on 127.0.0.1:6379 ({exc})")
    return backend


def test_the_rate_limit_counts_in_redis_in_one_round_trip(settings):
    backend = _redis_or_skip(settings)
    settings.CONFIGURATOR_RATE_LIMIT = "3/min"
    request = RequestFactory().get("/", REMOTE_ADDR="192.0.2.44")
    scope = f"test-{id(request)}"
    verdicts = [ratelimit.hit(request, scope=scope) for _ in range(5)]
    assert [v.allowed for v in verdicts] == [True, True, True, False, False]
    assert 1 <= verdicts[-1].retry_after <= 60
    client = ratelimit._redis_client(backend)
    assert client is ratelimit._redis_client(backend)  # made once per pool
    keys = client.keys(f"*ratelimit:{scope}:*")
    assert len(keys) == 1 and 0 < client.ttl(keys[0]) <= 61
    # the counter is the one Django's cache API sees under the same key
    assert backend.get(keys[0].decode().split(":", 2)[2]) == 5
    other = RequestFactory().get("/", REMOTE_ADDR="192.0.2.45")
    assert ratelimit.hit(other, scope=scope).allowed
    client.delete(*client.keys(f"*ratelimit:{scope}:*"))


def test_a_scope_with_its_own_rate_counts_its_own_budget(settings, monkeypatch):
    settings.CONFIGURATOR_RATE_LIMIT = "1/min"
    now = (time.time() // 3600) * 3600 + 1800  # the middle of an hour (and of a minute): no window ends here
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: now))  # this module's clock only
    request = RequestFactory().get("/", REMOTE_ADDR="192.0.2.46")
    verdicts = [ratelimit.hit(request, scope="hourly", rate="3/hour") for _ in range(4)]
    assert [v.allowed for v in verdicts] == [True, True, True, False]
    assert 1 <= verdicts[-1].retry_after <= 3600
    assert ratelimit.hit(request).allowed  # the configurator's budget was not spent by the other scope
    assert not ratelimit.hit(request).allowed
    with pytest.raises(ImproperlyConfigured, match="rate limit 'hourly'='3/fortnight'"):
        ratelimit.hit(request, scope="hourly", rate="3/fortnight")
