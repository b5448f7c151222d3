"""Catalog pages: the list and product page for reps, the product managers' screens, and the public
configurator with its bad-input list (tampered codes, posted prices, over-long text, honeypot, CSRF, 429)."""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from catalog import services
from catalog.models import Attribute, AttributeValue, ConfigRule, Configuration, Product
from tests.catalog.factories import ProductFactory

HTMX = {"HX-Request": "true"}
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


# --- Reps: list and product page -----------------------------------------------------------------------


def test_the_catalog_pages_render_for_every_role(org, login, car, desk):
    for user in (org.rep, org.manager, org.admin):
        client = login(user)
        for url in ("/products/", f"/products/{car.product.slug}/", "/products/?q=tes&configurable=true"):
            assert client.get(url).status_code == 200, (user.username, url)


def test_search_by_name_word_or_sku_prefix_and_category_with_subcategories(org, login, car, desk, catalog):
    ProductFactory(name="Roof box", sku="ACC-RB", category=catalog.cars)
    client = login(org.rep)

    def names(query: str) -> set[str]:
        response = client.get(f"/products/?{query}", headers=HTMX)
        assert b"<html" not in response.content
        return {p.name for p in response.context["page"].rows}

    assert names("q=tes") == {"Test car"}
    assert names("q=car") == {"Test car"}  # a word of the name
    assert names("q=acc-") == {"Roof box"}  # an SKU prefix
    assert names("q=DS") == {"Desk"}
    assert names(f"category={catalog.vehicles.pk}") == {"Test car", "Roof box"}  # Cars sits below Vehicles
    assert names(f"category={catalog.furniture.pk}") == {"Desk"}
    assert names("configurable=false") == {"Roof box"}


def test_the_list_pages_with_keyset_cursors(org, login, catalog):
    for n in range(5):
        ProductFactory(name=f"Widget {n}", sku=f"W-{n}", category=catalog.furniture)
    client = login(org.rep)
    first = client.get("/products/?page_size=2")
    page = first.context["page"]
    assert [p.name for p in page.rows] == ["Widget 0", "Widget 1"] and page.next_cursor
    second = client.get(f"/products/?page_size=2&cursor={page.next_cursor}").context["page"]
    assert [p.name for p in second.rows] == ["Widget 2", "Widget 3"]
    assert client.get("/products/?sort=price").status_code == 400


def test_the_product_page_shows_what_a_rep_needs(org, login, car, catalog):
    services.product_update(
        product=car.product,
        actor=None,
        data={"competitor_notes": "Cheaper than the Vesta.", "description": "<p>Roomy</p>", "specs": "Seats: 5"},
    )
    services.faq_add(product=car.product, actor=None, question="Towing?", answer="Up to 1,600 kg.")
    box = ProductFactory(name="Roof box", category=catalog.cars)
    services.related_add(product=car.product, related=box, kind="accessory", actor=None)
    page = login(org.rep).get(f"/products/{car.product.slug}/").content.decode()
    for text in ("Cheaper than the Vesta.", "<p>Roomy</p>", "Seats", "Towing?", "Roof box", "€20,000", "£17,000"):
        assert text in page, text
    assert "/configure/test-car/" in page
    assert "Upload an image" not in page and "Attributes &amp; rules" not in page
    admin_page = login(org.admin).get(f"/products/{car.product.slug}/").content.decode()
    assert "Upload an image" in admin_page and "Attributes &amp; rules" in admin_page


def test_product_panels_registered_by_other_apps_show_on_the_product_page(org, login, car, monkeypatch):
    from catalog import ui

    monkeypatch.setattr(ui, "_panels", [])
    ui.product_panel_register(
        ui.ProductPanel("sales", "Sales", "sfa/partials/_messages.html", 10, lambda request, product: {"x": 1})
    )
    response = login(org.rep).get(f"/products/{car.product.slug}/")
    assert [panel.name for panel, _ in response.context["panels"]] == ["sales"]


def test_admins_upload_images_and_everyone_inside_gets_them_with_the_sniffed_type(org, login, car):
    client = login(org.admin)
    upload = SimpleUploadedFile("front.jpg", PNG, content_type="image/jpeg")
    response = client.post(f"/products/{car.product.slug}/images/", {"image-file": upload, "image-alt": "Front"})
    assert response.status_code == 302
    image = car.product.images.get()
    refused = client.post(
        f"/products/{car.product.slug}/images/", {"image-file": SimpleUploadedFile("x.png", b"<svg/>")}, follow=True
    )
    assert "Not saved" in refused.content.decode()
    assert car.product.images.count() == 1
    served = login(org.rep).get(f"/catalog/files/image/{image.pk}/")
    assert served.status_code == 200 and served["Content-Type"] == "image/png"
    assert b"".join(served.streaming_content) == PNG
    assert Client().get(f"/catalog/files/image/{image.pk}/").status_code == 302  # to the login page


def test_reps_and_managers_cannot_reach_the_product_managers_screens(org, login, car):
    rule = car.rules["sport_no_eco"]
    attribute = Attribute.objects.get(product=car.product, code="line")
    for user in (org.rep, org.manager):
        client = login(user)
        for url in (
            "/products/new/",
            f"/products/{car.product.slug}/edit/",
            f"/products/{car.product.slug}/configurator/",
            f"/products/{car.product.slug}/configurator/rules/{rule.pk}/",
            f"/products/{car.product.slug}/configurator/attributes/{attribute.pk}/",
            "/catalog/configurators/",
        ):
            assert client.get(url).status_code == 403, (user.username, url)
        response = client.post(f"/products/{car.product.slug}/configurator/rules/{rule.pk}/delete/")
        assert response.status_code == 403
    assert ConfigRule.objects.filter(pk=rule.pk).exists()


def test_a_product_manager_builds_a_configurable_product_through_the_forms(org, login, catalog):
    client = login(org.admin)
    response = client.post(
        "/products/new/",
        {
            "name": "Garden shed",
            "sku": "shd-1",
            "category": catalog.furniture.pk,
            "currency": "EUR",
            "base_lead_time_days": 10,
            "is_active": "on",
            "is_configurable": "on",
            "specs": "Floor: 6 m²",
        },
    )
    assert response.status_code == 302, response.content.decode()
    product = Product.objects.get(sku="SHD-1")
    services.price_set(product=product, price_list=catalog.eur, amount=Decimal("1000"), actor=None)
    base = f"/products/{product.slug}/configurator"
    assert client.get(f"{base}/").status_code == 200
    response = client.post(
        f"{base}/attributes/new/",
        {"name": "Roof", "code": "roof", "kind": "radio", "required": "on", "step": 1, "position": 0},
    )
    assert response.status_code == 302, response.content.decode()
    roof = Attribute.objects.get(product=product, code="roof")
    for code, extra in (("FLAT", 0), ("GABLE", 250)):
        response = client.post(
            f"{base}/attributes/{roof.pk}/values/new/",
            {
                "label": code.title(),
                "code": code,
                "price_extra": extra,
                "lead_time_extra_days": 0,
                "position": 0,
                "is_active": "on",
            },
        )
        assert response.status_code == 302, response.content.decode()
    bad = client.post(
        f"{base}/attributes/new/", {"name": "Width", "code": "width", "kind": "number", "step": 1, "position": 1}
    )
    assert bad.status_code == 400 and "minimum" in bad.content.decode()
    client.post(
        f"{base}/attributes/new/",
        {"name": "Extras", "code": "extras", "kind": "multi", "step": 2, "position": 0},
    )
    extras = Attribute.objects.get(product=product, code="extras")
    client.post(
        f"{base}/attributes/{extras.pk}/values/new/",
        {
            "label": "Solar panel",
            "code": "SOL",
            "price_extra": 400,
            "lead_time_extra_days": 5,
            "position": 0,
            "is_active": "on",
        },
    )
    flat = AttributeValue.objects.get(attribute=roof, code="FLAT")
    solar = AttributeValue.objects.get(attribute=extras, code="SOL")
    response = client.post(
        f"{base}/rules/new/",
        {"kind": "excludes", "conditions": [flat.pk], "targets": [solar.pk], "position": 0, "is_active": "on"},
    )
    assert response.status_code == 302, response.content.decode()
    try_panel = client.get(f"{base}/?roof=FLAT&extras=SOL", headers=HTMX).content.decode()
    assert "not valid" in try_panel and "broken" in try_panel and "<html" not in try_panel
    try_ok = client.get(f"{base}/?roof=GABLE&extras=SOL", headers=HTMX).content.decode()
    assert "€1,650" in try_ok and "valid" in try_ok
    rule = ConfigRule.objects.get(product=product)
    assert client.post(f"{base}/rules/{rule.pk}/delete/").status_code == 302
    assert not ConfigRule.objects.filter(product=product).exists()


def test_the_rule_form_refuses_values_of_another_product(org, login, car, desk):
    other = AttributeValue.objects.filter(attribute__product=desk).first()
    response = login(org.admin).post(
        f"/products/{car.product.slug}/configurator/rules/new/",
        {"kind": "excludes", "conditions": [car.values["COM"].pk], "targets": [other.pk], "position": 0},
    )
    assert response.status_code == 400
    assert not ConfigRule.objects.filter(targets=other).exists()


# --- The public configurator -----------------------------------------------------------------------------


def configure_url(product) -> str:
    return f"/configure/{product.slug}/"


def test_the_public_page_needs_no_login_and_is_labelled(car, client):
    response = client.get(configure_url(car.product))
    assert response.status_code == 200
    page = response.content.decode()
    assert "<fieldset" in page and "<legend>" in page
    assert 'aria-live="polite"' in page and 'role="status"' in page
    assert "Test car" in page and "€20,000" in page and "about 4 weeks" in page
    assert "Cheaper" not in page  # never the reps' notes
    assert "csrfmiddlewaretoken" in page


def test_products_not_published_have_no_public_page(car, client, catalog):
    standard = ProductFactory(category=catalog.cars, is_configurable=False)
    assert client.get(configure_url(standard)).status_code == 404
    services.product_update(product=car.product, actor=None, data={"is_active": False})
    assert client.get(configure_url(car.product)).status_code == 404
    assert client.get("/configure/nothing-here/").status_code == 404


def test_an_option_change_returns_the_live_partial_with_the_new_price(car, client):
    response = client.post(
        configure_url(car.product), {"line": "COM", "colour": "RED", "_changed": "colour"}, headers=HTMX
    )
    assert response.status_code == 200
    partial = response.content.decode()
    assert "<html" not in partial
    assert 'id="cfg-live"' in partial and 'hx-swap-oob="innerHTML"' in partial
    assert "€20,500" in partial and "about 5 weeks" in partial  # 30 + 5 days
    assert '<input type="hidden" name="_touched" value="colour">' in partial
    # the line was posted but never touched: it keeps following its default
    assert response.context["result"].explicit == frozenset({"colour"})


def test_a_rule_shows_as_an_error_and_impossible_options_as_disabled_with_their_reason(car, client):
    response = client.post(
        configure_url(car.product),
        {"_touched": ["line"], "line": "COM", "interior": "LTH", "_changed": "interior"},
        headers=HTMX,
    )
    partial = response.content.decode()
    assert "Not possible yet" in partial and "Lth requires Lwb or Comf." in partial
    assert "disabled" in partial and 'id="cfg-save"' in partial
    assert 'id="cfg-extras-TOW" disabled' in partial
    assert "No towbar on the compact." in partial
    resolved = client.post(
        configure_url(car.product),
        {
            "_touched": ["line", "interior"],
            "line": "COM",
            "interior": "LTH",
            "packages": ["COMF"],
            "_changed": "packages",
        },
        headers=HTMX,
    ).content.decode()
    assert "Not possible yet" not in resolved
    assert "€23,300" in resolved  # 20,000 + 2,000 leather + 300 heating (default with leather) + 1,000 comfort


@pytest.mark.parametrize(
    "post",
    [
        {"_touched": ["colour"], "colour": "PINK"},  # a tampered or withdrawn code
        {"_touched": ["hacked"], "hacked": "1"},  # an attribute that does not exist
        {"_touched": ["packages"], "packages": ["COMF", "GOLD"]},
        {"_touched": ["plate"], "plate": "x" * 500},  # over-long text
    ],
)
def test_tampered_input_is_a_clear_error_and_saves_nothing(car, client, post):
    partial = client.post(configure_url(car.product), post, headers=HTMX).content.decode()
    assert "Not possible yet" in partial
    response = client.post(f"{configure_url(car.product)}save/", post)
    assert response.status_code == 400
    assert "Not saved" in response.content.decode()
    assert not Configuration.objects.exists()


@pytest.mark.parametrize("field", ["price", "total", "price_breakdown"])
def test_a_price_posted_by_the_client_is_refused(car, client, field):
    for url in (configure_url(car.product), f"{configure_url(car.product)}save/"):
        response = client.post(url, {"line": "COM", field: "1.00"})
        assert response.status_code == 400
        assert "Prices are worked out by us" in response.content.decode()
    assert not Configuration.objects.exists()


def test_save_and_reopen_a_shared_configuration(car, client, catalog):
    post = {"_touched": ["line", "interior", "plate"], "line": "LWB", "interior": "LTH", "plate": "Ada"}
    response = client.post(f"{configure_url(car.product)}save/", post)
    assert response.status_code == 302
    saved = Configuration.objects.get()
    assert response.url == f"/configure/test-car/c/{saved.token}/"
    assert saved.total == Decimal("27700.00") and saved.choices["line"] == "LWB" and saved.created_by is None
    assert saved.explicit == ["interior", "line", "plate"]
    reopened = client.get(response.url)
    assert reopened.context["result"].explicit == frozenset(saved.explicit)  # the rest still follows defaults
    assert reopened.context["result"].configuration == saved.choices
    page = reopened.content.decode()
    assert "Saved configuration" in page and "€27,700" in page and saved.token in page
    assert 'value="LWB" id="cfg-line-LWB" checked' in page
    assert "Prices have changed" not in page
    services.price_set(product=car.product, price_list=catalog.eur, amount=Decimal("21000"), actor=None)
    page = client.get(response.url).content.decode()
    assert "Prices have changed" in page and "€28,700" in page
    assert client.get("/configure/test-car/c/not-a-token/").status_code == 404


def test_a_shared_link_of_another_product_is_not_found(car, desk, client):
    saved = services.configuration_save(product=car.product, choices={}, actor=None)
    assert client.get(f"/configure/{desk.slug}/c/{saved.token}/").status_code == 404


def test_the_honeypot_turns_bots_away(car, client):
    response = client.post(f"{configure_url(car.product)}save/", {"line": "COM", "cfg_extra_note": "http://spam"})
    assert response.status_code == 400
    assert "could not save" in response.content.decode()
    assert not Configuration.objects.exists()


def test_csrf_is_enforced_on_the_public_posts(car):
    browser = Client(enforce_csrf_checks=True)
    url = f"{configure_url(car.product)}save/"
    assert browser.post(url, {"line": "COM"}).status_code == 403
    assert browser.post(configure_url(car.product), {"line": "COM"}, headers=HTMX).status_code == 403
    browser.get(configure_url(car.product))
    token = browser.cookies["csrftoken"].value
    assert browser.post(url, {"line": "COM", "csrfmiddlewaretoken": token}).status_code == 302
    assert Configuration.objects.count() == 1


def test_too_many_requests_from_one_address_answer_429_with_a_readable_page(car, client, settings):
    settings.CONFIGURATOR_RATE_LIMIT = "3/min"
    url = configure_url(car.product)
    for _ in range(3):
        assert client.get(url).status_code == 200
    refused = client.get(url)
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) >= 1
    assert "Please slow down" in refused.content.decode()
    partial = client.post(url, {"colour": "RED"}, headers=HTMX)
    assert partial.status_code == 429 and "<html" not in partial.content.decode()
    assert client.post(f"{url}save/", {"line": "COM"}).status_code == 429
    assert not Configuration.objects.exists()
    other = Client(REMOTE_ADDR="10.0.0.2")
    assert other.get(url).status_code == 200  # the budget is per address


def test_without_javascript_the_update_button_takes_every_posted_choice(car, client):
    response = client.post(configure_url(car.product), {"_all": "1", "line": "LWB", "colour": "RED", "interior": "CLO"})
    assert response.status_code == 200 and "<html" in response.content.decode()
    assert response.context["result"].configuration["line"] == "LWB"
    assert response.context["result"].total == Decimal("25500.00")
