"""Opportunity lines (issue #5): catalog products and saved configurations on a deal, whose amount follows
its lines through opportunity_update (so the stage history records who changed it and when)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from catalog.models import Configuration, Product
from leads.models import OpportunityLine, StageChange
from leads.reports import format_money
from leads.services import opportunity_line_add, opportunity_line_remove, opportunity_move
from sfa.models import AuditAction, AuditEvent
from tests.catalog.factories import CategoryFactory, ConfigurationFactory, PriceFactory, ProductFactory

D = Decimal
TOKEN = "tok-aurora-custom-red-leather"


@dataclass
class Catalog:
    aurora: Product  # 1000.00 EUR on the price list
    unpriced: Product  # no price at all
    custom: Product  # configurable
    config: Configuration  # of custom: 2500.00 EUR frozen, SKU code AUR-C-RED-LTH


@pytest.fixture
def catalog(db) -> Catalog:
    cars = CategoryFactory(name="Cars", slug="cars")
    aurora = ProductFactory(name="Aurora 100", sku="AUR-100", category=cars)
    unpriced = ProductFactory(name="Prototype", sku="PRO-1", category=cars)
    custom = ProductFactory(name="Custom Aurora", sku="AUR-C", category=cars, is_configurable=True)
    PriceFactory(product=aurora, amount=D("1000.00"))
    # A price in another currency must not be taken for a EUR deal.
    PriceFactory(product=unpriced, amount=D("77.00"), price_list__currency="USD")
    config = ConfigurationFactory(
        product=custom, total=D("2500.00"), currency="EUR", sku_code="AUR-C-RED-LTH", token=TOKEN
    )
    return Catalog(aurora, unpriced, custom, config)


@pytest.fixture
def deal(pipeline_deal):
    return pipeline_deal("Fleet renewal", amount=500)


def amount_changes(opportunity) -> list[StageChange]:
    history = StageChange.objects.filter(opportunity=opportunity).order_by("at", "id")
    return [change for change in history if "amount" in change.changes]


# --- Services --------------------------------------------------------------------------------------


def test_a_product_line_takes_the_price_list_price_and_the_amount_follows(org, catalog, deal):
    line = opportunity_line_add(opportunity=deal, actor=org.rep, product=catalog.aurora, quantity=2)
    assert (line.product, line.configuration, line.quantity, line.unit_price) == (
        catalog.aurora,
        None,
        D("2"),
        D("1000.00"),
    )
    assert line.description == "Aurora 100" and line.position == 1
    deal.refresh_from_db()
    assert deal.amount == D("2000.00")
    change = amount_changes(deal)[-1]
    assert change.changes["amount"] == ["500.00", "2000.00"]
    assert (change.by, change.via) == (org.rep, "form")
    assert AuditEvent.objects.filter(
        action=AuditAction.CREATE, object_id=str(line.pk), content_type__model="opportunityline", actor=org.rep
    ).exists()


def test_an_explicit_price_wins_and_lines_add_up(org, catalog, deal):
    opportunity_line_add(opportunity=deal, actor=org.rep, product=catalog.aurora, quantity=1)
    second = opportunity_line_add(
        opportunity=deal, actor=org.rep, product=catalog.unpriced, quantity=3, unit_price="12.50", description="Demo"
    )
    assert (second.unit_price, second.description, second.position) == (D("12.50"), "Demo", 2)
    deal.refresh_from_db()
    assert deal.amount == D("1037.50")


def test_a_product_without_a_price_in_the_deals_currency_is_refused(org, catalog, deal):
    with pytest.raises(ValidationError, match="Prototype: no EUR price") as exc:
        opportunity_line_add(opportunity=deal, actor=org.rep, product=catalog.unpriced)
    assert "unit_price" in exc.value.message_dict
    assert not deal.lines.exists()
    deal.refresh_from_db()
    assert deal.amount == D("500.00")


def test_a_configuration_line_carries_its_frozen_total_and_sku_code(org, catalog, deal):
    line = opportunity_line_add(opportunity=deal, actor=org.rep, configuration=catalog.config, quantity=2)
    assert (line.product, line.configuration, line.unit_price) == (catalog.custom, catalog.config, D("2500.00"))
    assert line.description == "Custom Aurora (AUR-C-RED-LTH)"
    deal.refresh_from_db()
    assert deal.amount == D("5000.00")


def test_a_configuration_of_another_currency_or_product_is_refused(org, catalog, pipeline_deal):
    usd = pipeline_deal("Export", currency="USD")
    with pytest.raises(ValidationError, match="priced in EUR, the opportunity in USD"):
        opportunity_line_add(opportunity=usd, actor=org.rep, configuration=catalog.config)
    eur = pipeline_deal("Home")
    with pytest.raises(ValidationError, match="is not of Aurora 100"):
        opportunity_line_add(opportunity=eur, actor=org.rep, product=catalog.aurora, configuration=catalog.config)
    with pytest.raises(ValidationError, match="sold as a saved configuration"):
        opportunity_line_add(opportunity=eur, actor=org.rep, product=catalog.custom)
    with pytest.raises(ValidationError, match="choose a product or a saved configuration"):
        opportunity_line_add(opportunity=eur, actor=org.rep)


@pytest.mark.parametrize("quantity", [0, "1.5", "-2", "many"])
def test_quantities_are_whole_units(org, catalog, deal, quantity):
    with pytest.raises(ValidationError) as exc:
        opportunity_line_add(opportunity=deal, actor=org.rep, product=catalog.aurora, quantity=quantity)
    assert "quantity" in exc.value.message_dict


def test_removing_a_line_sets_the_amount_to_the_remaining_lines(org, catalog, deal):
    keep = opportunity_line_add(opportunity=deal, actor=org.rep, product=catalog.aurora, quantity=1)
    gone = opportunity_line_add(opportunity=deal, actor=org.manager, configuration=catalog.config)
    deal.refresh_from_db()
    assert deal.amount == D("3500.00")
    gone_id = gone.pk
    opportunity_line_remove(line=gone, actor=org.manager)
    assert list(deal.lines.all()) == [keep]
    deal.refresh_from_db()
    assert deal.amount == D("1000.00")
    change = amount_changes(deal)[-1]
    assert change.changes["amount"] == ["3500.00", "1000.00"] and change.by == org.manager
    assert AuditEvent.objects.filter(
        action=AuditAction.DELETE, object_id=str(gone_id), content_type__model="opportunityline", actor=org.manager
    ).exists()


def test_a_colleague_may_not_change_the_lines_of_a_rep(org, catalog, deal):
    line = opportunity_line_add(opportunity=deal, actor=org.rep, product=catalog.aurora)
    with pytest.raises(PermissionDenied):
        opportunity_line_add(opportunity=deal, actor=org.rep_b, product=catalog.aurora)
    with pytest.raises(PermissionDenied):
        opportunity_line_remove(line=line, actor=org.rep_b)
    assert list(deal.lines.all()) == [line]


def test_an_order_from_the_won_deal_carries_the_configuration(org, catalog, deal, pipeline_stages):
    from orders.services import order_from_opportunity

    opportunity_line_add(opportunity=deal, actor=org.rep, configuration=catalog.config, quantity=2)
    opportunity_line_add(opportunity=deal, actor=org.rep, product=catalog.aurora)
    opportunity_move(opportunity=deal, stage=pipeline_stages["Closed won"], actor=org.rep)
    order = order_from_opportunity(opportunity=deal, actor=org.rep)
    configured, plain = list(order.lines.order_by("position", "id"))
    assert (configured.configuration, configured.product, configured.quantity) == (catalog.config, catalog.custom, 2)
    assert (configured.unit_price, configured.sku) == (D("2500.00"), "AUR-C-RED-LTH")
    assert (plain.configuration, plain.product, plain.unit_price) == (None, catalog.aurora, D("1000.00"))


# --- HTML ------------------------------------------------------------------------------------------


def test_the_deal_page_adds_and_removes_lines(org, catalog, deal, login):
    client = login(org.rep)
    page = client.get(reverse("leads:opportunity-detail", args=[deal.pk]))
    assert page.status_code == 200 and "Add a line" in page.content.decode()
    url = reverse("leads:opportunity-line-add", args=[deal.pk])
    answer = client.post(url, {"product": catalog.aurora.pk, "quantity": 2})
    assert answer.status_code == 302 and answer.url.endswith("#lines")
    link = f"https://crm.example/configure/custom-aurora/c/{TOKEN}/?utm=mail"
    assert client.post(url, {"configuration": link, "quantity": 1}).status_code == 302
    product_line, config_line = deal.lines.all()
    assert (product_line.unit_price, config_line.configuration) == (D("1000.00"), catalog.config)
    deal.refresh_from_db()
    assert deal.amount == D("4500.00")
    html = client.get(reverse("leads:opportunity-detail", args=[deal.pk])).content.decode()
    assert "Configuration AUR-C-RED-LTH" in html and format_money(D("4500.00"), "EUR") in html
    remove = reverse("leads:opportunity-line-remove", args=[deal.pk, product_line.pk])
    assert client.post(remove).status_code == 302
    assert list(deal.lines.all()) == [config_line]
    deal.refresh_from_db()
    assert deal.amount == D("2500.00")
    assert amount_changes(deal)[-1].via == "form"


def test_the_deal_page_shows_why_a_line_was_refused(org, catalog, deal, login):
    client = login(org.rep)
    url = reverse("leads:opportunity-line-add", args=[deal.pk])
    missing_price = client.post(url, {"product": catalog.unpriced.pk, "quantity": 1})
    assert missing_price.status_code == 400 and "no EUR price" in missing_price.content.decode()
    unknown = client.post(url, {"configuration": "no-such-token", "quantity": 1})
    assert unknown.status_code == 400 and "No saved configuration" in unknown.content.decode()
    nothing = client.post(url, {"quantity": 1})
    assert nothing.status_code == 400 and "Choose a product" in nothing.content.decode()
    assert not deal.lines.exists()


def test_a_colleague_gets_a_404_on_a_reps_deal(org, catalog, deal, login):
    line = opportunity_line_add(opportunity=deal, actor=org.rep, product=catalog.aurora)
    client = login(org.rep_b)
    add = client.post(reverse("leads:opportunity-line-add", args=[deal.pk]), {"product": catalog.aurora.pk})
    remove = client.post(reverse("leads:opportunity-line-remove", args=[deal.pk, line.pk]))
    assert (add.status_code, remove.status_code) == (404, 404)
    assert list(deal.lines.all()) == [line]


def test_a_line_of_another_deal_cannot_be_removed_through_this_one(org, catalog, pipeline_deal, login):
    first, second = pipeline_deal("First"), pipeline_deal("Second")
    other = opportunity_line_add(opportunity=second, actor=org.rep, product=catalog.aurora)
    answer = login(org.rep).post(reverse("leads:opportunity-line-remove", args=[first.pk, other.pk]))
    assert answer.status_code == 404 and OpportunityLine.objects.filter(pk=other.pk).exists()


# --- API -------------------------------------------------------------------------------------------


def test_the_api_adds_and_removes_lines(org, catalog, deal, api):
    client = api(org.rep)
    url = f"/api/opportunities/{deal.pk}/lines/"
    added = client.post(url, {"product": catalog.aurora.pk, "quantity": 3}, format="json")
    assert added.status_code == 201, added.json()
    body = added.json()
    assert D(body["amount"]) == D("3000.00") and len(body["lines"]) == 1
    configured = client.post(url, {"configuration_token": TOKEN}, format="json")
    assert configured.status_code == 201, configured.json()
    lines = configured.json()["lines"]
    assert lines[1]["configuration"] == catalog.config.pk and D(lines[1]["unit_price"]) == D("2500.00")
    assert amount_changes(deal)[-1].via == "api"

    removed = client.delete(f"{url}{lines[0]['id']}/")
    assert removed.status_code == 204
    deal.refresh_from_db()
    assert deal.amount == D("2500.00") and deal.lines.count() == 1
    assert client.delete(f"{url}{lines[0]['id']}/").status_code == 404


def test_the_api_says_what_is_wrong(org, catalog, deal, api):
    client = api(org.rep)
    url = f"/api/opportunities/{deal.pk}/lines/"
    no_price = client.post(url, {"product": catalog.unpriced.pk}, format="json")
    assert no_price.status_code == 400 and "no EUR price" in no_price.json()["unit_price"][0]
    nothing = client.post(url, {"quantity": 1}, format="json")
    assert nothing.status_code == 400 and "product" in nothing.json()
    bad_token = client.post(url, {"configuration_token": "nope"}, format="json")
    assert bad_token.status_code == 400 and "configuration_token" in bad_token.json()
    assert not deal.lines.exists()


def test_the_api_hides_a_reps_deal_from_a_colleague(org, catalog, deal, api):
    line = opportunity_line_add(opportunity=deal, actor=org.rep, product=catalog.aurora)
    client = api(org.rep_b)
    url = f"/api/opportunities/{deal.pk}/lines/"
    assert client.post(url, {"product": catalog.aurora.pk}, format="json").status_code == 404
    assert client.delete(f"{url}{line.pk}/").status_code == 404
    # The rep's manager may change the deal.
    assert api(org.manager).post(url, {"product": catalog.aurora.pk}, format="json").status_code == 201


def test_the_schema_documents_the_line_actions(org, api):
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.validation import validate_schema

    schema = SchemaGenerator().get_schema(request=None, public=True)
    validate_schema(schema)
    paths = schema["paths"]
    assert "post" in paths["/api/opportunities/{id}/lines/"]
    assert "delete" in paths["/api/opportunities/{id}/lines/{line_id}/"]
    assert "delete" not in paths["/api/opportunities/{id}/"]
    assert "OpportunityLineCreateRequest" in schema["components"]["schemas"]
