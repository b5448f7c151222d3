"""Catalog services: products and rich text, uploads, prices over time, related products, the configurator's
model (its checks and the pruning of rules), saved configurations, the audit trail and who may write."""

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from catalog import services
from catalog.configurator import evaluate_product
from catalog.models import Attribute, ConfigRule, Configuration, Product, ProductImage
from catalog.selectors import current_price, current_prices, price_rows
from sfa.models import AuditEvent

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n"


def new_product(catalog, actor=None, **data):
    fields = {"name": "Roof box", "sku": "rb-1", "category": catalog.vehicles, **data}
    return services.product_create(actor=actor, **fields)


# --- Products -------------------------------------------------------------------------------------


def test_a_product_is_created_with_derived_keys_and_sanitised_description(catalog, org):
    product = new_product(
        catalog,
        actor=org.admin,
        name="  Roof Box 420 ",
        description='<p onclick="steal()">Big <strong>box</strong></p><script>alert(1)</script>'
        '<a href="javascript:alert(1)">x</a><a href="https://example.com">site</a><img src=x onerror=alert(1)>',
        specs="Volume: 420 l\nWeight:16 kg",
    )
    assert product.name == "Roof Box 420" and product.name_key == "roof box 420"
    assert product.sku == "RB-1" and product.slug == "roof-box-420"
    assert "<script" not in product.description and "alert" not in product.description
    assert (
        "onclick" not in product.description
        and "onerror" not in product.description
        and "<img" not in product.description
    )
    assert "<strong>box</strong>" in product.description
    assert (
        'href="https://example.com"' in product.description
        and 'rel="noopener noreferrer nofollow"' in product.description
    )
    assert product.specs == [{"name": "Volume", "value": "420 l"}, {"name": "Weight", "value": "16 kg"}]
    event = AuditEvent.objects.get(object_id=str(product.pk), action="create", content_type__model="product")
    assert event.actor == org.admin


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"specs": "Volume 420 l"}, "specs"),
        ({"specs": [{"name": "", "value": "x"}]}, "specs"),
        ({"specs": [{"name": "x" * 81, "value": "x"}]}, "specs"),
        ({"sku": "bad sku!"}, "sku"),
        ({"name": "   "}, "name"),
        ({"colour": "red"}, "colour"),
        ({"currency": "euro"}, "currency"),
        ({"slug": "new"}, "slug"),
    ],
)
def test_bad_product_input_is_refused_by_field(catalog, data, field):
    with pytest.raises(ValidationError) as exc:
        new_product(catalog, **data)
    assert field in exc.value.message_dict


def test_only_admins_manage_the_catalog(catalog, org):
    for user in (org.rep, org.manager):
        with pytest.raises(PermissionDenied):
            new_product(catalog, actor=user)
    product = new_product(catalog, actor=org.admin)
    with pytest.raises(PermissionDenied):
        services.product_update(product=product, actor=org.manager, data={"name": "Mine"})
    with pytest.raises(PermissionDenied):
        services.attribute_create(product=product, actor=org.rep, code="colour", name="Colour", kind="radio")


def test_changing_a_compiled_field_renews_the_config_stamp_and_other_fields_do_not(car):
    product = car.product
    stamp = product.config_stamp
    services.product_update(product=product, actor=None, data={"summary": "New words"})
    assert product.config_stamp == stamp
    services.product_update(product=product, actor=None, data={"base_lead_time_days": 20})
    assert product.config_stamp != stamp
    assert Product.objects.get(pk=product.pk).config_stamp == product.config_stamp


def test_a_category_cannot_sit_below_itself(catalog):
    with pytest.raises(ValidationError):
        services.category_update(category=catalog.vehicles, actor=None, data={"parent": catalog.cars})


# --- Uploads --------------------------------------------------------------------------------------


def test_an_image_is_sniffed_renamed_and_stored_under_media_root(catalog, org):
    product = new_product(catalog)
    upload = SimpleUploadedFile("holiday.HTML", PNG, content_type="text/html")
    image = services.product_image_add(product=product, actor=org.admin, file=upload, alt="The box, open")
    assert image.content_type == "image/png"
    assert image.file.name.startswith("catalog/images/") and image.file.name.endswith(".png")
    stored = Path(settings.MEDIA_ROOT) / image.file.name
    assert stored.read_bytes() == PNG
    assert AuditEvent.objects.filter(object_id=str(image.pk), content_type__model="productimage").exists()


@pytest.mark.parametrize(
    ("content", "name"),
    [
        (b"<html><script>alert(1)</script></html>", "photo.png"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "logo.svg"),
        (PDF, "datasheet.png"),
        (b"", "empty.png"),
    ],
)
def test_an_image_that_is_not_one_is_refused(catalog, content, name):
    product = new_product(catalog)
    with pytest.raises(ValidationError) as exc:
        services.product_image_add(product=product, actor=None, file=SimpleUploadedFile(name, content), alt="x")
    assert "file" in exc.value.message_dict
    assert not ProductImage.objects.exists()


def test_uploads_have_a_size_limit(catalog, monkeypatch):
    monkeypatch.setattr("catalog.services.IMAGE_MAX_BYTES", 50)
    with pytest.raises(ValidationError) as exc:
        services.product_image_add(product=new_product(catalog), actor=None, file=SimpleUploadedFile("a.png", PNG))
    assert "at most" in exc.value.message_dict["file"][0]


def test_documents_are_pdf_only_and_a_deleted_file_leaves_storage(catalog, django_capture_on_commit_callbacks):
    product = new_product(catalog)
    with pytest.raises(ValidationError):
        services.product_document_add(product=product, actor=None, file=SimpleUploadedFile("a.pdf", PNG), title="x")
    document = services.product_document_add(
        product=product, actor=None, file=SimpleUploadedFile("spec.exe", PDF), title="Datasheet"
    )
    assert document.content_type == "application/pdf" and document.file.name.endswith(".pdf")
    stored = Path(settings.MEDIA_ROOT) / document.file.name
    assert stored.exists()
    with django_capture_on_commit_callbacks(execute=True):
        services.product_file_delete(instance=document, actor=None)
    assert not stored.exists()


# --- Prices ---------------------------------------------------------------------------------------


def test_the_current_price_is_the_one_valid_today_from_the_latest_list(catalog, org):
    product = new_product(catalog)
    today = date(2026, 6, 15)
    old = services.price_list_create(
        actor=None,
        name="2025",
        code="eur-2025",
        currency="EUR",
        valid_from=date(2025, 1, 1),
        valid_to=date(2025, 12, 31),
    )
    spring = services.price_list_create(
        actor=None,
        name="Spring",
        code="eur-spring",
        currency="EUR",
        valid_from=date(2026, 3, 1),
        valid_to=date(2026, 6, 30),
    )
    future = services.price_list_create(
        actor=None, name="2027", code="eur-2027", currency="EUR", valid_from=date(2027, 1, 1)
    )
    off = services.price_list_create(
        actor=None, name="Off", code="eur-off", currency="EUR", valid_from=date(2026, 6, 1), is_active=False
    )
    for price_list, amount in ((catalog.eur, 100), (old, 90), (spring, 95), (future, 110), (off, 1), (catalog.gbp, 85)):
        services.price_set(product=product, price_list=price_list, amount=Decimal(amount), actor=None)
    assert current_price(product=product, currency="EUR", on=today) == Decimal("95.00")  # spring overrides retail
    assert current_price(product=product, currency="EUR", on=date(2026, 7, 1)) == Decimal("100.00")
    assert current_price(product=product, currency="EUR", on=date(2025, 5, 1)) == Decimal("90.00")
    assert current_price(product=product, currency="EUR", on=date(2027, 2, 1)) == Decimal("110.00")
    assert current_price(product=product, currency="USD", on=today) is None
    assert current_prices(product_ids=[product.pk], on=today) == {
        product.pk: {"EUR": Decimal("95.00"), "GBP": Decimal("85.00")}
    }
    rows = {r.price.price_list.code: r for r in price_rows(actor=org.rep, product=product, on=today)}
    assert rows["eur-spring"].is_current and rows["retail-gbp"].is_current
    assert not rows["retail-eur"].is_current and rows["eur-2027"].is_future


def test_a_price_change_renews_the_configurator_model(car, catalog):
    stamp = car.product.config_stamp
    services.price_set(product=car.product, price_list=catalog.eur, amount=Decimal("21000"), actor=None)
    product = Product.objects.get(pk=car.product.pk)
    assert product.config_stamp != stamp
    assert evaluate_product(product, {}).total == Decimal("21000.00")


def test_a_price_list_cannot_end_before_it_starts_nor_a_price_be_negative(catalog):
    with pytest.raises(ValidationError):
        services.price_list_create(
            actor=None, name="x", code="x", currency="EUR", valid_from=date(2026, 2, 1), valid_to=date(2026, 1, 1)
        )
    with pytest.raises(ValidationError):
        services.price_set(product=new_product(catalog), price_list=catalog.eur, amount=Decimal("-1"), actor=None)


def test_related_products(catalog):
    box, car = new_product(catalog), new_product(catalog, name="Car", sku="CAR")
    first = services.related_add(product=car, related=box, kind="accessory", actor=None)
    assert services.related_add(product=car, related=box, kind="accessory", actor=None) == first
    with pytest.raises(ValidationError):
        services.related_add(product=car, related=car, kind="accessory", actor=None)
    with pytest.raises(ValidationError):
        services.related_add(product=car, related=box, kind="spare", actor=None)


# --- The configurator's model ----------------------------------------------------------------------


def test_attribute_kinds_carry_their_own_fields(car):
    with pytest.raises(ValidationError) as exc:
        services.attribute_create(product=car.product, actor=None, code="width", name="Width", kind="number")
    assert "min_value" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.attribute_create(
            product=car.product,
            actor=None,
            code="width",
            name="Width",
            kind="number",
            min_value=Decimal("100"),
            max_value=Decimal("200"),
            step_value=Decimal("20"),
            default_number=Decimal("110"),
        )
    assert "default_number" in exc.value.message_dict
    radio = services.attribute_create(
        product=car.product, actor=None, code="trim", name="Trim", kind="radio", min_value=Decimal("1"), max_length=5
    )
    assert radio.min_value is None and radio.max_length is None
    with pytest.raises(ValidationError):  # one code per product
        services.attribute_create(product=car.product, actor=None, code="trim", name="Again", kind="radio")
    with pytest.raises(ValidationError):
        services.value_create(attribute=Attribute.objects.get(code="plate"), actor=None, code="X", label="X")


def test_a_single_choice_has_one_default_and_swatches_need_a_colour(car):
    services.value_update(value=car.values["LWB"], actor=None, data={"is_default": True})
    car.values["COM"].refresh_from_db()
    assert not car.values["COM"].is_default
    with pytest.raises(ValidationError):
        services.value_create(attribute=car.values["WHT"].attribute, actor=None, code="BLK", label="Black")


@pytest.mark.parametrize(
    ("kind", "pick", "field"),
    [
        ("excludes", lambda v, o: {"conditions": [v["COM"]], "targets": []}, "targets"),
        ("excludes", lambda v, o: {"conditions": [], "targets": [v["TOW"]]}, "conditions"),
        ("requires", lambda v, o: {"conditions": [v["LTH"]], "targets": [v["LTH"]]}, "targets"),
        ("default", lambda v, o: {"conditions": [v["LTH"]], "targets": [v["FRT"], v["RED"]]}, "targets"),
        ("default", lambda v, o: {"conditions": [v["LTH"]], "targets": [v["COM"], v["LWB"]]}, "targets"),
        ("default", lambda v, o: {"conditions": [v["LTH"]], "targets": [v["CLO"]]}, "targets"),
        ("price", lambda v, o: {"conditions": [v["LTH"]]}, "amount"),
        ("quantity", lambda v, o: {"target_attribute": v["COM"].attribute, "max_value": 1}, "target_attribute"),
        ("quantity", lambda v, o: {"target_attribute": v["COMF"].attribute}, "min_value"),
        ("excludes", lambda v, o: {"conditions": [v["COM"]], "targets": [o]}, "targets"),
    ],
)
def test_rules_are_checked_for_their_kind(car, desk, kind, pick, field):
    other = desk.attributes.get(code="frame").values.first()
    with pytest.raises(ValidationError) as exc:
        services.rule_create(product=car.product, actor=None, kind=kind, **pick(car.values, other))
    assert field in exc.value.message_dict


def test_a_rule_is_audited_with_its_values(car):
    rule = car.rules["leather_needs"]
    event = AuditEvent.objects.get(object_id=str(rule.pk), content_type__model="configrule", action="create")
    assert event.changes["targets"] == [None, ["line=LWB", "packages=COMF"]]
    services.rule_update(rule=rule, actor=None, data={"targets": [car.values["COMF"]]})
    update = AuditEvent.objects.get(object_id=str(rule.pk), content_type__model="configrule", action="update")
    assert update.changes["targets"] == [["line=LWB", "packages=COMF"], ["packages=COMF"]]


def test_deleting_values_prunes_the_rules_that_mention_them(car):
    services.value_delete(value=car.values["COMF"], actor=None)
    needs = ConfigRule.objects.get(pk=car.rules["leather_needs"].pk)
    assert [v.code for v in needs.targets.all()] == ["LWB"]  # still: leather needs the long model
    services.value_delete(value=car.values["LTH"], actor=None)
    remaining = set(ConfigRule.objects.values_list("pk", flat=True))
    assert car.rules["leather_needs"].pk not in remaining  # conditioned on leather: gone
    assert car.rules["leather_long"].pk not in remaining
    assert car.rules["leather_heating"].pk not in remaining
    services.value_delete(value=car.values["TOW"], actor=None)
    assert car.rules["compact_no_tow"].pk not in set(ConfigRule.objects.values_list("pk", flat=True))
    services.attribute_delete(attribute=Attribute.objects.get(code="packages"), actor=None)
    assert set(ConfigRule.objects.values_list("pk", flat=True)) == set()
    product = Product.objects.get(pk=car.product.pk)
    assert evaluate_product(product, {}).valid


# --- Saved configurations ----------------------------------------------------------------------------


def test_a_configuration_is_saved_with_prices_frozen(car, catalog):
    configuration = services.configuration_save(
        product=car.product, choices={"interior": "LTH", "line": "LWB", "plate": "Ada"}, actor=None
    )
    assert configuration.total == Decimal("27700.00")  # 20,000 + 5,000 + 2,000 + 300 (heating) + 400
    assert configuration.currency == "EUR" and configuration.lead_time_days == 40
    assert configuration.choices["heating"] == "FRT" and configuration.choices["plate"] == "Ada"
    assert configuration.sku_code.startswith("TC-LWB-WHT-LTH-FRT-_-_-T")
    assert len(configuration.token) == 43 and configuration.source == "public" and configuration.created_by is None
    assert {line["kind"] for line in configuration.price_breakdown} == {"base", "option", "rule"}
    services.price_set(product=car.product, price_list=catalog.eur, amount=Decimal("25000"), actor=None)
    configuration.refresh_from_db()
    assert configuration.total == Decimal("27700.00")


def test_an_invalid_configuration_is_not_saved(car):
    with pytest.raises(ValidationError) as exc:
        services.configuration_save(product=car.product, choices={"interior": "LTH", "colour": "PINK"}, actor=None)
    assert set(exc.value.message_dict) == {"interior", "colour"}
    assert not Configuration.objects.exists()


def test_an_inactive_product_cannot_be_configured(car):
    services.product_update(product=car.product, actor=None, data={"is_active": False})
    with pytest.raises(ValidationError):
        services.configuration_save(product=car.product, choices={}, actor=None)


def test_a_rep_saves_a_configuration_in_their_name(car, org):
    configuration = services.configuration_save(product=car.product, choices={}, actor=org.rep, source="rep")
    assert configuration.created_by == org.rep and configuration.source == "rep"


def test_share_tokens_are_unique(car):
    tokens = {services.configuration_save(product=car.product, choices={}, actor=None).token for _ in range(5)}
    assert len(tokens) == 5
