"""Quotes and orders through orders.services: prices, discounts, taxes, approval, versions, numbers."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from orders import services
from orders.models import Order, Quote, TaxRate
from orders.services import (
    order_create,
    order_from_opportunity,
    quote_accept,
    quote_approve,
    quote_create,
    quote_decline,
    quote_needs_approval,
    quote_reject,
    quote_request_approval,
    quote_send,
    quote_update,
    quotes_expire,
    tax_rate_for,
    unit_price_for,
)
from sfa.models import AuditEvent
from tests.catalog.factories import ProductFactory
from tests.contacts.factories import ContactFactory
from tests.orders.factories import QuoteFactory, TaxRateFactory

D = Decimal


def make_quote(org, acme, shop, *, actor=None, lines=None, **kwargs):
    lines = lines or [{"product": shop.aurora, "quantity": 2, "discount_percent": 10}]
    return quote_create(actor=actor or org.rep, account=acme, lines=lines, **kwargs)


# --- Taxes and prices ----------------------------------------------------------------------------------


def test_tax_rate_walks_up_the_category_tree_then_the_country_default_then_zero(shop):
    assert tax_rate_for(category=shop.cars, country="DE") == D("19.00")  # DE default
    TaxRateFactory(country="DE", category=shop.vehicles, rate=D("16.00"))
    assert tax_rate_for(category=shop.cars, country="DE") == D("16.00")  # the parent's rate
    TaxRateFactory(country="DE", category=shop.cars, rate=D("5.00"))
    assert tax_rate_for(category=shop.cars, country="DE") == D("5.00")  # its own wins
    assert tax_rate_for(category=shop.books, country="DE") == D("7.00")
    TaxRateFactory(country="FR", category=None, rate=D("20.00"))
    assert tax_rate_for(category=shop.books, country="FR") == D("20.00")
    assert tax_rate_for(category=shop.books, country="AT") == D("0")


def test_unit_price_comes_from_the_price_list_and_a_missing_one_is_named(shop):
    assert unit_price_for(product=shop.aurora, currency="EUR") == D("1000.00")
    with pytest.raises(ValidationError, match="Aurora 100 has no USD price"):
        unit_price_for(product=shop.aurora, currency="USD")


# --- Totals ----------------------------------------------------------------------------------------------


def test_order_totals_line_and_order_discounts_and_tax_per_line(org, acme, shop):
    order = order_create(
        actor=org.rep,
        account=acme,
        discount_percent="5",
        lines=[
            {"product": shop.aurora, "quantity": 2, "discount_percent": "10"},
            {"product": shop.manual.pk, "quantity": 3},
        ],
    )
    aurora, manual = order.lines.order_by("position")
    assert (aurora.unit_price, aurora.tax_rate, aurora.net_amount, aurora.tax_amount) == (
        D("1000.00"),
        D("19.00"),
        D("1710.00"),  # 2 × 1000 − 10 % = 1800, − 5 % order discount
        D("324.90"),
    )
    assert (manual.tax_rate, manual.net_amount, manual.tax_amount) == (D("7.00"), D("57.00"), D("3.99"))
    assert aurora.category == shop.cars
    assert (order.subtotal, order.discount_total, order.tax_total, order.total) == (
        D("1860.00"),
        D("93.00"),
        D("328.89"),
        D("2095.89"),
    )
    assert order.country == "DE" and order.currency == "EUR"


def test_amounts_round_half_up_to_cents(org, acme, shop):
    order = order_create(
        actor=org.rep,
        account=acme,
        lines=[{"product": shop.gadget, "quantity": 1, "unit_price": "0.05", "discount_percent": "50"}],
    )
    line = order.lines.get()
    assert line.net_amount == D("0.03")  # 0.025 → 0.03 (banker's rounding would give 0.02)
    assert line.tax_amount == D("0.01")  # 0.0057
    assert order.total == D("0.04")


def test_the_order_discount_is_spread_so_the_lines_add_up_to_the_order(org, acme, shop):
    order = order_create(
        actor=org.rep,
        account=acme,
        country="AT",  # no tax
        discount_percent="33.33",
        lines=[{"product": shop.gadget, "quantity": 1, "unit_price": "10.00"} for _ in range(3)],
    )
    nets = sorted(order.lines.values_list("net_amount", flat=True))
    assert order.subtotal == D("30.00") and order.discount_total == D("10.00")
    assert sum(nets) == D("20.00") == order.total
    assert nets == [D("6.66"), D("6.67"), D("6.67")]


def test_a_configuration_line_uses_its_frozen_total_sku_and_lead_time(org, acme, shop):
    order = order_create(actor=org.rep, account=acme, lines=[{"configuration": shop.config, "quantity": 2}])
    line = order.lines.get()
    assert (line.product, line.unit_price, line.sku, line.lead_time_days) == (
        shop.custom,
        D("2500.00"),
        "AUR-C-RED-LTH",
        25,
    )
    assert line.net_amount == D("5000.00")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ({"quantity": 1}, "choose a product"),
        ({"product": "aurora", "quantity": 0}, "whole units"),
        ({"product": "aurora", "quantity": "1.5"}, "whole units"),
        ({"product": "aurora", "quantity": 1, "discount_percent": 120}, "more than 100"),
        ({"product": "aurora", "quantity": 1, "unit_price": "-3"}, "cannot be negative"),
        ({"product": "custom", "quantity": 1}, "sold as a saved configuration"),
    ],
)
def test_bad_lines_are_refused_naming_the_line(org, acme, shop, line, message):
    if "product" in line:
        line = {**line, "product": getattr(shop, line["product"])}
    with pytest.raises(ValidationError, match=message):
        order_create(actor=org.rep, account=acme, lines=[line])
    assert not Order.objects.exists()


def test_an_order_needs_a_customer_and_lines(org, shop):
    with pytest.raises(ValidationError, match="account or a contact"):
        order_create(actor=org.rep, lines=[{"product": shop.aurora, "quantity": 1}])


def test_region_and_segment_are_frozen_from_the_account(org, shop, acme):
    acme.region, acme.segment = "Nord", "smb"
    acme.save()
    order = order_create(actor=org.rep, account=acme, lines=[{"product": shop.aurora, "quantity": 1}])
    acme.region = "Süd"
    acme.save()
    order.refresh_from_db()
    assert (order.region, order.segment) == ("Nord", "smb")


def test_order_and_quote_numbers_follow_their_series(org, acme, shop):
    first = make_quote(org, acme, shop)
    second = make_quote(org, acme, shop)
    assert first.number == "Q-000001" and second.number == "Q-000002"
    order = order_create(actor=org.rep, account=acme, lines=[{"product": shop.aurora, "quantity": 1}])
    assert order.number == "SO-000001"
    assert services.order_numbers_next(3) == ["SO-000002", "SO-000003", "SO-000004"]


def test_numbering_starts_after_numbers_already_written(org, shop):
    from tests.orders.factories import OrderFactory

    OrderFactory(number="SO-000041", owner=org.rep)
    assert services.order_numbers_next()[0] == "SO-000042"


def test_creating_an_order_is_audited(org, acme, shop):
    order = order_create(actor=org.rep, account=acme, lines=[{"product": shop.aurora, "quantity": 1}])
    event = AuditEvent.objects.get(object_id=str(order.pk), content_type__model="order")
    assert event.actor == org.rep and event.action == "create"
    assert event.changes["number"] == [None, order.number]


# --- Quotes --------------------------------------------------------------------------------------------------


def test_quote_defaults_validity_from_the_settings_and_prices_its_lines(org, acme, shop):
    settings = services.order_settings()
    settings.quote_validity_days = 10
    settings.save()
    quote = make_quote(org, acme, shop)
    assert quote.valid_until == timezone.localdate() + timedelta(days=10)
    assert quote.status == Quote.Status.DRAFT and quote.version == 1 and quote.owner == org.rep
    line = quote.lines.get()
    assert (line.net_amount, line.tax_rate) == (D("1800.00"), D("19.00"))
    assert (quote.subtotal, quote.tax_total, quote.total) == (D("1800.00"), D("342.00"), D("2142.00"))


@pytest.mark.parametrize(
    ("line_discount", "order_discount", "needs"),
    [(0, 0, False), (15, 0, False), (15.01, 0, True), (0, 16, True), (20, 20, True)],
)
def test_approval_is_needed_above_the_threshold(org, acme, shop, line_discount, order_discount, needs):
    quote = make_quote(
        org,
        acme,
        shop,
        discount_percent=order_discount,
        lines=[{"product": shop.aurora, "quantity": 1, "discount_percent": line_discount}],
    )
    assert quote_needs_approval(quote) is needs


@pytest.mark.parametrize(
    ("unit_price", "line_discount", "needs"),
    [("850.00", 0, False), ("849.00", 0, True), ("900.00", 10, True), ("1100.00", 10, False), (None, 0, False)],
)
def test_a_price_typed_below_the_list_counts_as_a_discount(org, acme, shop, unit_price, line_discount, needs):
    """Aurora lists at 1,000: 849 is a 15.1 % discount whether written as a price or a discount."""
    line = {"product": shop.aurora, "quantity": 1, "discount_percent": line_discount}
    if unit_price is not None:
        line["unit_price"] = unit_price
    quote = make_quote(org, acme, shop, lines=[line])
    assert quote_needs_approval(quote) is needs


def test_a_typed_price_without_a_list_price_needs_approval(org, acme, shop):
    unpriced = ProductFactory(name="Prototype", sku="PRO-1", category=shop.cars)
    quote = make_quote(org, acme, shop, lines=[{"product": unpriced, "quantity": 1, "unit_price": "10.00"}])
    assert quote_needs_approval(quote)


def test_a_new_country_reprices_the_lines_tax_and_the_order_follows(org, acme, shop):
    TaxRateFactory(country="FR", category=None, rate=D("20.00"))
    quote = make_quote(org, acme, shop, country="DE")
    quote = services.quote_update(quote=quote, actor=org.rep, data={"country": "FR"}, version=quote.version)
    line = quote.lines.get()
    assert line.tax_rate == D("20.00")
    assert quote.tax_total == (line.net_amount * D("0.20")).quantize(D("0.01"))
    order = services.quote_accept(quote=quote, actor=org.rep)
    assert order.lines.get().tax_rate == D("20.00") and order.tax_total == quote.tax_total


def test_the_threshold_is_a_setting(org, acme, shop):
    quote = make_quote(org, acme, shop)  # 10 % line discount
    assert not quote_needs_approval(quote)
    settings = services.order_settings()
    settings.approval_discount_percent = D("5")
    settings.save()
    assert quote_needs_approval(quote)


def test_a_big_discount_cannot_be_sent_or_accepted_before_a_manager_approves(org, acme, shop):
    quote = make_quote(org, acme, shop, discount_percent=20)
    with pytest.raises(ValidationError, match="manager must approve"):
        quote_send(quote=quote, actor=org.rep)
    with pytest.raises(ValidationError, match="manager must approve"):
        quote_accept(quote=quote, actor=org.rep)
    quote = quote_request_approval(quote=quote, actor=org.rep)
    assert quote.status == Quote.Status.PENDING_APPROVAL and quote.approval_requested_at
    quote = quote_approve(quote=quote, actor=org.manager, note="Strategic customer")
    assert (quote.status, quote.approved_by, quote.approval_note) == (
        Quote.Status.APPROVED,
        org.manager,
        "Strategic customer",
    )
    quote = quote_send(quote=quote, actor=org.rep)
    assert quote.status == Quote.Status.SENT
    order = quote_accept(quote=quote, actor=org.rep)
    quote.refresh_from_db()
    assert quote.status == Quote.Status.ACCEPTED and quote.accepted_at
    assert order.quote == quote and order.source == Order.Source.QUOTE and order.status == Order.Status.DRAFT
    assert order.total == quote.total and order.discount_percent == D("20.00")


def test_who_may_approve_a_discount(org, acme, shop):
    quote = quote_request_approval(quote=make_quote(org, acme, shop, discount_percent=20), actor=org.rep)
    with pytest.raises(PermissionDenied):
        quote_approve(quote=quote, actor=org.rep)  # reps never approve
    with pytest.raises(PermissionDenied):
        quote_approve(quote=quote, actor=org.rep_b)
    with pytest.raises(PermissionDenied):
        quote_approve(quote=quote, actor=org.manager_b)  # another team's manager
    own = quote_request_approval(
        quote=make_quote(org, acme, shop, actor=org.manager, discount_percent=20), actor=org.manager
    )
    with pytest.raises(PermissionDenied, match="someone else must approve"):
        quote_approve(quote=own, actor=org.manager)
    quote.refresh_from_db()
    assert quote.status == Quote.Status.PENDING_APPROVAL
    assert quote_approve(quote=quote, actor=org.admin).status == Quote.Status.APPROVED


def test_declining_sends_the_quote_back_to_draft_with_the_note(org, acme, shop):
    quote = quote_request_approval(quote=make_quote(org, acme, shop, discount_percent=20), actor=org.rep)
    with pytest.raises(ValidationError, match="say why"):
        quote_decline(quote=quote, actor=org.manager, note=" ")
    quote = quote_decline(quote=quote, actor=org.manager, note="10 % at most")
    assert quote.status == Quote.Status.DRAFT and quote.approval_note == "10 % at most"


def test_a_quote_without_a_big_discount_needs_no_approval(org, acme, shop):
    quote = make_quote(org, acme, shop)
    with pytest.raises(ValidationError, match="needs no approval"):
        quote_request_approval(quote=quote, actor=org.rep)
    order = quote_accept(quote=quote, actor=org.rep)
    assert order.lines.get().net_amount == D("1800.00")


def test_a_change_after_approval_sends_the_quote_back_to_draft(org, acme, shop):
    quote = quote_request_approval(quote=make_quote(org, acme, shop, discount_percent=20), actor=org.rep)
    quote = quote_approve(quote=quote, actor=org.manager)
    quote = quote_update(quote=quote, actor=org.rep, data={"discount_percent": 25}, version=quote.version)
    assert quote.status == Quote.Status.DRAFT and quote.approved_by is None
    assert quote.discount_total == D("450.00")
    with pytest.raises(ValidationError, match="manager must approve"):
        quote_send(quote=quote, actor=org.rep)


def test_a_stale_version_is_refused(org, acme, shop):
    quote = make_quote(org, acme, shop)
    seen_by_a = seen_by_b = quote.version
    quote_update(quote=quote, actor=org.rep, data={"notes": "Delivery to gate 2"}, version=seen_by_a)
    with pytest.raises(ValidationError, match="changed by someone else meanwhile"):
        quote_update(quote=quote, actor=org.manager, data={"notes": "Gate 5"}, version=seen_by_b)
    quote.refresh_from_db()
    assert quote.notes == "Delivery to gate 2" and quote.version == 2


def test_update_replaces_lines_and_reprices(org, acme, shop):
    quote = make_quote(org, acme, shop)
    quote = quote_update(
        quote=quote,
        actor=org.rep,
        data={"country": "AT"},
        lines=[{"product": shop.manual, "quantity": 5}],
        version=1,
    )
    line = quote.lines.get()
    assert (line.product, line.net_amount, line.tax_rate) == (shop.manual, D("100.00"), D("0"))
    assert quote.total == D("100.00") and quote.version == 2
    assert AuditEvent.objects.filter(object_id=str(quote.pk), content_type__model="quote", action="update").exists()


def test_only_the_owner_side_may_change_a_quote(org, acme, shop):
    quote = make_quote(org, acme, shop)
    with pytest.raises(PermissionDenied):
        quote_update(quote=quote, actor=org.rep_b, data={"notes": "mine now"})
    with pytest.raises(PermissionDenied):
        quote_send(quote=quote, actor=org.rep_other)
    assert quote_update(quote=quote, actor=org.manager, data={"notes": "ok"}).notes == "ok"


def test_sent_quotes_are_accepted_or_rejected_and_then_closed_for_changes(org, acme, shop):
    quote = quote_send(quote=make_quote(org, acme, shop), actor=org.rep)
    with pytest.raises(ValidationError, match="cannot be changed"):
        quote_update(quote=quote, actor=org.rep, data={"notes": "x"})
    quote = quote_reject(quote=quote, actor=org.rep, reason="Too expensive")
    assert quote.status == Quote.Status.REJECTED
    with pytest.raises(ValidationError, match="rejected: it cannot be accepted"):
        quote_accept(quote=quote, actor=org.rep)


def test_an_accepted_quote_makes_one_order_only(org, acme, shop):
    quote = make_quote(org, acme, shop)
    quote_accept(quote=quote, actor=org.rep)
    with pytest.raises(ValidationError):
        quote_accept(quote=quote, actor=org.rep)
    with pytest.raises(ValidationError, match="already has its order"):
        services.order_from_quote(quote=quote, actor=org.rep)
    assert Order.objects.filter(quote=quote).count() == 1


def test_quotes_expire_after_their_validity(org, acme, shop):
    today = timezone.localdate()
    old = make_quote(org, acme, shop)
    Quote.objects.filter(pk=old.pk).update(valid_until=today - timedelta(days=1))
    fresh = make_quote(org, acme, shop)
    accepted = QuoteFactory(owner=org.rep, status=Quote.Status.ACCEPTED, valid_until=today - timedelta(days=3))
    assert quotes_expire(today=today) == 1
    assert quotes_expire(today=today) == 0  # safe to run twice
    old.refresh_from_db()
    fresh.refresh_from_db()
    accepted.refresh_from_db()
    assert (old.status, fresh.status, accepted.status) == ("expired", "draft", "accepted")


def test_an_expired_quote_cannot_be_sent(org, acme, shop):
    quote = make_quote(org, acme, shop)
    Quote.objects.filter(pk=quote.pk).update(valid_until=timezone.localdate() - timedelta(days=1))
    with pytest.raises(ValidationError, match="was valid until"):
        quote_send(quote=quote, actor=org.rep)


def test_a_system_quote_belongs_to_the_given_owner(org, anna, shop):
    quote = quote_create(
        actor=None,
        contact=anna,
        owner=org.rep_b,
        source="configurator",
        lines=[{"configuration": shop.config, "quantity": 1}],
    )
    assert quote.owner == org.rep_b and quote.account == anna.account and quote.source == "configurator"


def test_a_rep_cannot_sell_on_behalf_of_a_colleague(org, acme, shop):
    with pytest.raises(PermissionDenied):
        make_quote(org, acme, shop, owner=org.rep_b)
    assert make_quote(org, acme, shop, actor=org.manager, owner=org.rep_b).owner == org.rep_b


# --- Orders from won opportunities --------------------------------------------------------------------------


@pytest.fixture
def won_deal(org, acme, shop, pipeline_stages):
    from leads.models import OpportunityLine
    from leads.services import opportunity_create

    def _deal(stage="Closed won", lines=True):
        opp = opportunity_create(
            actor=org.rep,
            name="Fleet renewal",
            account=acme,
            stage=pipeline_stages[stage],
            amount=5000,
            expected_close=timezone.localdate(),
        )
        if lines:
            OpportunityLine.objects.create(
                opportunity=opp, product=shop.aurora, description="Aurora", quantity=2, unit_price=D("950.00")
            )
            OpportunityLine.objects.create(opportunity=opp, description="Consulting day", unit_price=D("800.00"))
        return opp

    return _deal


@pytest.fixture
def pipeline_stages(db):
    from leads.services import pipeline_default

    return {stage.name: stage for stage in pipeline_default().stages.order_by("order")}


def test_a_won_opportunity_becomes_a_draft_order_once(org, won_deal):
    opp = won_deal()
    order = order_from_opportunity(opportunity=opp, actor=org.rep)
    assert order.opportunity == opp and order.source == Order.Source.OPPORTUNITY and order.owner == org.rep
    line = order.lines.get()  # the line without a product is not an order line
    assert (line.quantity, line.unit_price) == (2, D("950.00"))
    with pytest.raises(ValidationError, match="already has its order"):
        order_from_opportunity(opportunity=opp, actor=org.rep)


def test_an_open_or_lost_opportunity_makes_no_order(org, won_deal, pipeline_stages):
    with pytest.raises(ValidationError, match="still open"):
        order_from_opportunity(opportunity=won_deal("Prospecting"), actor=org.rep)
    lost = won_deal("Prospecting")
    lost.stage = pipeline_stages["Closed lost"]
    lost.forecast_category = "closed_lost"
    lost.save()
    with pytest.raises(ValidationError, match="is lost"):
        order_from_opportunity(opportunity=lost, actor=org.rep)
    with pytest.raises(ValidationError, match="no line with a product"):
        order_from_opportunity(opportunity=won_deal(lines=False), actor=org.rep)


def test_a_colleague_cannot_make_the_order_of_a_deal_they_cannot_see(org, won_deal):
    with pytest.raises(PermissionDenied):
        order_from_opportunity(opportunity=won_deal(), actor=org.rep_b)


def test_tax_rates_are_unique_per_category_and_country(shop):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        TaxRate.objects.create(country="DE", category=None, rate=D("5"))


def test_products_without_price_need_a_unit_price(org, acme):
    product = ProductFactory(name="Prototype")
    with pytest.raises(ValidationError, match="Prototype has no EUR price"):
        order_create(actor=org.rep, account=acme, lines=[{"product": product, "quantity": 1}])
    order = order_create(actor=org.rep, account=acme, lines=[{"product": product, "quantity": 1, "unit_price": "12.5"}])
    assert order.lines.get().unit_price == D("12.50")


def test_an_opportunity_or_lead_of_another_customer_is_refused(org, acme, shop):
    from contacts.services import account_create
    from leads.models import Lead
    from leads.services import opportunity_create

    other = account_create(actor=org.rep, name="Other Ltd", city="Leeds", allow_duplicate=True)
    deal = opportunity_create(actor=org.rep, name="Fleet", expected_close=timezone.localdate(), account=other)
    with pytest.raises(ValidationError, match="Other Ltd, not this customer"):
        make_quote(org, acme, shop, opportunity=deal)
    with pytest.raises(ValidationError, match="Other Ltd, not this customer"):
        services.order_create(actor=org.rep, account=acme, lines=[{"product": shop.aurora}], opportunity=deal)
    lead = Lead.objects.create(contact=ContactFactory(owner=org.rep), owner=org.rep)
    with pytest.raises(ValidationError, match="not this customer"):
        make_quote(org, acme, shop, lead=lead)
    assert make_quote(org, other, shop, opportunity=deal).opportunity == deal
