"""Related-product rules: who the sales ledger says bought A and not B (net of cancellations and returns),
the verdict on each customer (guard window, do-not-contact, served before), the run as a job that makes
leads or opportunities once, the pages, and who may manage rules.

Purchases are written as ledger rows directly (orders and lines from tests/orders/factories.py), so these
tests do not depend on the order services and state machine."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from catalog.models import RelatedProduct
from leads import buyers as lead_buyers
from leads.models import Lead, LeadSource, Opportunity, RelatedProductOffer, RelatedProductRule
from leads.services import lead_disqualify
from leads.services_related import (
    months_before,
    rule_create,
    rule_delete,
    rule_preview,
    rule_run,
    rule_run_start,
    rule_update,
)
from orders.buyers import buyers_of
from orders.models import SalesEntry
from sfa.models import AuditEvent, JobStatus
from tests.catalog.factories import PriceFactory, ProductFactory
from tests.contacts.factories import AccountFactory, ContactFactory, TouchFactory
from tests.orders.factories import OrderFactory, OrderLineFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
MAKE_ONLY = {"already_open": 0, "already_done": 0, "worked": 0, "do_not_contact": 0}


def ago(days: int) -> date:
    return timezone.localdate() - timedelta(days=days)


def ledger(line, kind: str, units: int, on: date, basis: str = SalesEntry.Basis.BOOKING) -> SalesEntry:
    amount = line.unit_price * units
    return SalesEntry.objects.create(
        line=line,
        order=line.order,
        kind=kind,
        basis=basis,
        on=on,
        product=line.product,
        category=line.category,
        rep=line.order.owner,
        account=line.order.account,
        units=units,
        amount=amount,
        currency="EUR",
        amount_base=amount,
    )


@pytest.fixture
def buy(org):
    """``buy(product, account=…, contact=…, days_ago=60, units=1)`` -> the order line, booked in the ledger."""

    def _buy(product, *, account=None, contact=None, days_ago: int = 60, units: int = 1):
        on = ago(days_ago)
        order = OrderFactory(owner=org.rep, account=account, contact=contact, ordered_on=on, status="confirmed")
        line = OrderLineFactory(order=order, product=product, quantity=units)
        ledger(line, SalesEntry.Kind.BOOKED, units, on)
        return line

    return _buy


@pytest.fixture
def products(db):
    """A (a car), B (its roof box, an accessory in the catalog, 649 EUR) and C (unrelated)."""
    car, box, desk = ProductFactory(name="Aurora"), ProductFactory(name="Roof box 420 l"), ProductFactory(name="Desk")
    RelatedProduct.objects.create(product=car, related=box, kind=RelatedProduct.Kind.ACCESSORY)
    PriceFactory(product=box, amount=Decimal("649.00"))
    return {"A": car, "B": box, "C": desk}


@pytest.fixture
def lead_rule(org, products, purposes):
    """Customers of every product the roof box is an accessory of, within 12 months: a lead each."""
    return rule_create(
        actor=org.manager,
        data={
            "name": "Roof box for Aurora drivers",
            "offer_product": products["B"],
            "relation_kinds": ["accessory"],
            "within_months": 12,
            "purpose": purposes["cross_sell"],
            "action": RelatedProductRule.Action.LEAD,
        },
    )


@pytest.fixture
def opportunity_rule(org, products, purposes):
    return rule_create(
        actor=org.manager,
        data={
            "name": "Roof box deals on Aurora accounts",
            "offer_product": products["B"],
            "bought_products": [products["A"]],
            "within_months": 6,
            "purpose": purposes["cross_sell"],
            "action": RelatedProductRule.Action.OPPORTUNITY,
        },
    )


def person(org, **kwargs):
    kwargs.setdefault("owner", org.rep)
    return ContactFactory(**kwargs)


def run_job(rule, actor, capture):
    with capture(execute=True):
        job = rule_run_start(rule=rule, actor=actor)
    job.refresh_from_db()
    rule.refresh_from_db()
    return job


@pytest.fixture
def capture(django_capture_on_commit_callbacks):
    return django_capture_on_commit_callbacks


# --- The purchase history: orders.buyers through leads.buyers ----------------------------------------


def test_orders_plugs_its_ledger_into_leads():
    assert buyers_of in lead_buyers._providers


def test_a_buyer_is_net_of_cancellations_and_returns(org, products, buy):
    a, b = products["A"], products["B"]
    kept = person(org)
    buy(a, contact=kept)
    returned = person(org)  # bought, delivered, and sent back in full: not a buyer
    line = buy(a, contact=returned, days_ago=50)
    ledger(line, SalesEntry.Kind.DELIVERED, 1, ago(45), basis=SalesEntry.Basis.DELIVERY)
    ledger(line, SalesEntry.Kind.RETURNED, -1, ago(30))
    ledger(line, SalesEntry.Kind.RETURNED, -1, ago(30), basis=SalesEntry.Basis.DELIVERY)
    cancelled = person(org)
    ledger(buy(a, contact=cancelled, days_ago=20), SalesEntry.Kind.CANCELLED, -1, ago(19))
    partly = person(org)  # two bought, one returned: still a buyer
    ledger(buy(a, contact=partly, units=2, days_ago=10), SalesEntry.Kind.RETURNED, -1, ago(5))
    too_old = person(org)
    buy(a, contact=too_old, days_ago=400)
    other_product = person(org)
    buy(products["C"], contact=other_product)

    found = buyers_of(bought_product_ids=[a.pk], since=ago(365), not_bought_product_ids=[b.pk])

    assert sorted(found, key=lambda r: r[1]) == sorted(
        [(None, kept.pk, ago(60)), (None, partly.pk, ago(10))], key=lambda r: r[1]
    )


def test_who_bought_b_at_any_time_is_not_a_buyer_by_account_or_by_person(org, products, buy):
    a, b = products["A"], products["B"]
    acme, velo = AccountFactory(owner=org.rep), AccountFactory(owner=org.rep)
    anna, jana, max_ = person(org, account=acme), person(org, account=velo), person(org)
    buy(a, account=acme, contact=anna)
    buy(b, account=acme, days_ago=900)  # the account has the roof box for years: nobody there is offered it
    buy(a, account=velo, contact=jana)
    buy(a, contact=max_)
    line = buy(b, contact=max_, days_ago=700)  # bought B as a consumer and returned it: still no owner of B
    ledger(line, SalesEntry.Kind.RETURNED, -1, ago(690))

    found = buyers_of(bought_product_ids=[a.pk], since=ago(365), not_bought_product_ids=[b.pk])

    assert {(acc, c) for acc, c, _ in found} == {(velo.pk, jana.pk), (None, max_.pk)}


def test_months_before_keeps_the_day_or_takes_the_last_of_a_shorter_month():
    assert months_before(date(2026, 5, 31), 3) == date(2026, 2, 28)
    assert months_before(date(2026, 1, 15), 12) == date(2025, 1, 15)
    assert months_before(date(2026, 3, 31), 1) == date(2026, 2, 28)


# --- The preview: one verdict per customer -----------------------------------------------------------


def test_the_preview_counts_customers_by_verdict(org, products, purposes, lead_rule, buy):
    a, b, cross_sell = products["A"], products["B"], purposes["cross_sell"]
    fresh = person(org)
    buy(a, contact=fresh)
    dnc = person(org, do_not_contact=True)
    buy(a, contact=dnc)
    worked = person(org)  # a colleague called them for a cross-sell 3 days ago (the window is 14 days)
    buy(a, contact=worked)
    TouchFactory(contact=worked, purpose=cross_sell, user=org.rep_b, at=timezone.now() - timedelta(days=3))
    long_ago = person(org)  # called 20 days ago: outside the window
    buy(a, contact=long_ago)
    TouchFactory(contact=long_ago, purpose=cross_sell, user=org.rep_b, at=timezone.now() - timedelta(days=20))
    other_purpose = person(org)  # planned for a renewal, not a cross-sell
    buy(a, contact=other_purpose)
    TouchFactory(contact=other_purpose, purpose=purposes["onboarding"], user=org.rep_b, status="planned")
    planned = person(org)  # a cross-sell call planned for next week counts as worked
    buy(a, contact=planned)
    next_week = timezone.now() + timedelta(days=7)
    TouchFactory(contact=planned, purpose=cross_sell, user=org.rep_b, status="planned", at=next_week)
    velo = AccountFactory(owner=org.rep)  # an order naming only the account: its person gets the lead
    jana = person(org, account=velo)
    buy(a, account=velo)
    empty = AccountFactory(owner=org.rep)  # nobody there to address
    buy(a, account=empty)
    owns_b = person(org)
    buy(a, contact=owns_b)
    buy(b, contact=owns_b, days_ago=1000)
    buy(a, contact=person(org), days_ago=400)  # outside the 12 months

    counts = rule_preview(rule=lead_rule, actor=org.manager)

    assert counts["found"] == 8
    assert (counts["make"], counts["worked"], counts["do_not_contact"], counts["no_contact"]) == (4, 2, 1, 1)
    assert counts["window_days"] == 14 and counts["since"] == months_before(timezone.localdate(), 12).isoformat()
    assert not Lead.objects.exists() and not RelatedProductOffer.objects.exists()  # a preview writes nothing
    rule_run(rule=lead_rule, actor=org.manager)
    assert set(Lead.objects.values_list("contact_id", flat=True)) == {fresh.pk, long_ago.pk, other_purpose.pk, jana.pk}


def test_an_account_wide_guard_rule_holds_back_the_colleagues(org, products, purposes, lead_rule, buy):
    rule_update(rule=lead_rule, actor=org.manager, data={"purpose": purposes["renewal"]})  # 30 days, whole account
    acme = AccountFactory(owner=org.rep)
    anna, bernd = person(org, account=acme), person(org, account=acme)
    buy(products["A"], account=acme, contact=anna)
    TouchFactory(contact=bernd, purpose=purposes["renewal"], user=org.rep_b, at=timezone.now() - timedelta(days=25))

    counts = rule_preview(rule=lead_rule, actor=org.manager)

    assert (counts["found"], counts["worked"], counts["make"]) == (1, 1, 0)


def test_a_rule_needs_a_product_bought(org, products, purposes):
    data = {"name": "Nothing", "offer_product": products["B"], "purpose": purposes["cross_sell"]}
    with pytest.raises(ValidationError, match="products bought"):
        rule_create(actor=org.manager, data=data)
    with pytest.raises(ValidationError, match="cannot also be a product bought"):
        rule_create(actor=org.manager, data={**data, "bought_products": [products["B"]]})
    upgrades = rule_create(actor=org.manager, data={**data, "relation_kinds": ["upgrade"]})  # nothing upgrades to B
    with pytest.raises(ValidationError, match="has no product bought"):
        rule_preview(rule=upgrades, actor=org.manager)


# --- Running: leads, opportunities, once -------------------------------------------------------------


def test_the_run_is_a_job_that_makes_leads_for_the_owner_and_a_second_run_makes_nothing(
    org, products, lead_rule, buy, capture
):
    acme = AccountFactory(owner=org.rep_b)
    anna = person(org, account=acme, owner=org.rep)  # the account's owner works the lead
    max_ = person(org, owner=org.rep_other)  # a consumer: their own owner does
    buy(products["A"], account=acme, contact=anna)
    buy(products["A"], contact=max_)

    job = run_job(lead_rule, org.manager, capture)

    assert job.status == JobStatus.SUCCEEDED and job.progress == 100 and job.message == "2 leads made"
    assert job.result["made"] == 2 and lead_rule.last_run_counts["made"] == 2 and lead_rule.last_run_at
    leads = {lead.contact_id: lead for lead in Lead.objects.all()}
    assert leads[anna.pk].owner == org.rep_b and leads[max_.pk].owner == org.rep_other
    lead = leads[anna.pk]
    assert (lead.source, lead.source_detail) == (LeadSource.RELATED_PRODUCT, "Rule: Roof box for Aurora drivers")
    assert lead.interests == ["roof box 420 l"] and "Aurora" in lead.buying_patterns and lead.score is not None
    assert RelatedProductOffer.objects.filter(rule=lead_rule, lead__isnull=False).count() == 2
    assert AuditEvent.objects.filter(object_id=str(lead_rule.pk), verb="run").exists()

    again = run_job(lead_rule, org.manager, capture)

    assert again.status == JobStatus.SUCCEEDED and again.result["made"] == 0 and again.result["already_open"] == 2
    assert Lead.objects.count() == 2


def test_a_closed_lead_stands_until_the_customer_buys_again(org, products, lead_rule, buy):
    max_ = person(org)
    buy(products["A"], contact=max_, days_ago=90)
    assert rule_run(rule=lead_rule, actor=org.manager)["made"] == 1
    lead_disqualify(lead=Lead.objects.get(), actor=org.manager, reason="Not interested")

    assert rule_run(rule=lead_rule, actor=org.manager)["already_done"] == 1

    buy(products["A"], contact=max_, days_ago=0)
    assert rule_run(rule=lead_rule, actor=org.manager)["made"] == 1
    assert Lead.objects.filter(contact=max_).count() == 2


def test_an_opportunity_rule_gives_the_account_owner_a_deal_with_a_line_of_b(
    org, products, opportunity_rule, buy, purposes
):
    north = AccountFactory(owner=org.rep, name="Velo Logistik")
    jana = person(org, account=north)
    buy(products["A"], account=north, contact=jana)
    south = AccountFactory(owner=org.rep_other)  # another manager's team
    buy(products["A"], account=south, contact=person(org, account=south))
    buy(products["A"], contact=person(org))  # a consumer: no account for an opportunity
    quiet = AccountFactory(owner=org.rep)
    buy(products["A"], account=quiet, contact=person(org, account=quiet, do_not_contact=True))
    worked = AccountFactory(owner=org.rep)  # someone of the account was called for a cross-sell
    buy(products["A"], account=worked)
    TouchFactory(contact=person(org, account=worked), purpose=purposes["cross_sell"], user=org.rep_b)

    counts = rule_run(rule=opportunity_rule, actor=org.manager)

    assert (counts["found"], counts["made"], counts["other_owner"], counts["no_account"]) == (5, 1, 1, 1)
    assert (counts["do_not_contact"], counts["worked"]) == (1, 1)
    deal = Opportunity.objects.get()
    assert (deal.owner, deal.account, deal.contact) == (org.rep, north, jana)
    assert deal.amount == Decimal("649.00") and deal.currency == "EUR"
    assert deal.name == "Roof box 420 l for Velo Logistik" and deal.next_step == "Cross-sell: offer Roof box 420 l"
    (line,) = deal.lines.all()
    assert (line.product, line.quantity, line.unit_price) == (products["B"], 1, Decimal("649.00"))
    assert deal.history.get().via == "rule"

    by_admin = rule_run(rule=opportunity_rule, actor=org.admin)  # an admin may give deals to anyone

    assert (by_admin["made"], by_admin["already_open"]) == (1, 1)
    assert Opportunity.objects.filter(account=south, owner=org.rep_other).exists()


def test_a_run_is_refused_while_one_is_going_or_when_the_rule_is_off(org, lead_rule):
    rule_run_start(rule=lead_rule, actor=org.manager)  # not committed in the test: the job stays queued
    with pytest.raises(ValidationError, match="running already"):
        rule_run_start(rule=lead_rule, actor=org.admin)
    rule_update(rule=lead_rule, actor=org.manager, data={"is_active": False})
    with pytest.raises(ValidationError, match="switched off"):
        rule_run(rule=lead_rule, actor=org.manager)


# --- Who may manage rules ----------------------------------------------------------------------------


def test_a_rep_cannot_manage_or_run_rules(org, products, purposes, lead_rule, login):
    with pytest.raises(PermissionDenied):
        rule_create(
            actor=org.rep,
            data={"name": "Mine", "offer_product": products["B"], "bought_products": [products["A"]],
                  "purpose": purposes["cross_sell"]},
        )  # fmt: skip
    for call in (rule_preview, rule_run, rule_run_start, rule_delete):
        with pytest.raises(PermissionDenied):
            call(rule=lead_rule, actor=org.rep)
    client = login(org.rep)
    assert client.get(reverse("leads:related-rule-list")).status_code == 403
    assert client.get(reverse("leads:related-rule-detail", args=[lead_rule.pk])).status_code == 404
    assert client.post(reverse("leads:related-rule-run", args=[lead_rule.pk])).status_code == 404
    assert "Related-product rules" not in client.get(reverse("leads:lead-list")).content.decode()


def test_a_manager_deletes_only_the_rules_they_made(org, lead_rule):
    with pytest.raises(PermissionDenied):
        rule_delete(rule=lead_rule, actor=org.manager_b)
    rule_update(rule=lead_rule, actor=org.manager_b, data={"within_months": 6})  # but may change any
    rule_delete(rule=lead_rule, actor=org.manager)
    assert not RelatedProductRule.objects.exists()


# --- The pages ---------------------------------------------------------------------------------------


def test_a_manager_writes_previews_and_runs_a_rule_on_the_pages(org, products, purposes, buy, login, capture):
    buy(products["A"], contact=person(org))
    client = login(org.manager)
    assert "Related-product rules" in client.get(reverse("leads:lead-list")).content.decode()
    form = client.get(reverse("leads:related-rule-create"))
    assert form.status_code == 200 and "Roof box 420 l" in form.content.decode()

    bad = client.post(reverse("leads:related-rule-create"), {"name": "No A", "offer_product": products["B"].pk,
                      "within_months": 12, "purpose": purposes["cross_sell"].pk, "action": "lead"})  # fmt: skip
    assert bad.status_code == 400 and "Choose the products bought" in bad.content.decode()
    created = client.post(
        reverse("leads:related-rule-create"),
        {
            "name": "Boxes",
            "offer_product": products["B"].pk,
            "relation_kinds": ["accessory"],
            "within_months": 12,
            "purpose": purposes["cross_sell"].pk,
            "action": "lead",
            "is_active": "on",
        },
    )
    rule = RelatedProductRule.objects.get(name="Boxes")
    assert created.status_code == 302 and created.url == reverse("leads:related-rule-detail", args=[rule.pk])
    assert rule.created_by == org.manager and rule.relation_kinds == ["accessory"]

    detail = reverse("leads:related-rule-detail", args=[rule.pk])
    preview = client.get(detail + "?preview=1", **HTMX)
    text = preview.content.decode()
    assert preview.status_code == 200 and 'id="rule-preview"' in text and "<html" not in text
    assert "<strong>1</strong> would get a lead" in text
    assert "would get a lead" in client.get(detail + "?preview=1").content.decode()  # without JavaScript

    with capture(execute=True):
        ran = client.post(reverse("leads:related-rule-run", args=[rule.pk]))
    assert ran.status_code == 302 and Lead.objects.count() == 1
    status = client.get(reverse("leads:related-rule-status", args=[rule.pk]), **HTMX)
    assert status.headers["HX-Redirect"] == detail
    page = client.get(detail).content.decode()
    assert "Last run" in page and "1</strong> made of 1 customer" in page
    assert "the products Roof box 420 l is an accessory of" in page

    edited = client.post(
        reverse("leads:related-rule-edit", args=[rule.pk]),
        {"name": "Boxes", "offer_product": products["B"].pk, "relation_kinds": ["accessory"], "within_months": 3,
         "purpose": purposes["cross_sell"].pk, "action": "opportunity", "is_active": "on"},
    )  # fmt: skip
    rule.refresh_from_db()
    assert edited.status_code == 302 and (rule.within_months, rule.action) == (3, "opportunity")
    assert "Boxes" in client.get(reverse("leads:related-rule-list")).content.decode()


def test_the_status_answers_204_while_the_run_goes(org, lead_rule, login):
    rule_run_start(rule=lead_rule, actor=org.manager)  # queued: not committed in the test
    client = login(org.manager)
    assert client.get(reverse("leads:related-rule-status", args=[lead_rule.pk]), **HTMX).status_code == 204
    page = client.get(reverse("leads:related-rule-detail", args=[lead_rule.pk])).content.decode()
    assert "job-progress" in page


def test_the_demo_writes_its_two_rules_once_without_running_them(org, purposes):
    from leads.demo_related import demo_related_rules
    from sfa.demo import DemoContext

    box, desk = ProductFactory(slug="roof-box-420"), ProductFactory(slug="flexdesk-basic-2")
    ctx = DemoContext(password="-", users={"manager": org.manager}, log=lambda message: None)
    demo_related_rules(ctx)
    demo_related_rules(ctx)
    rules = {rule.offer_product: rule for rule in RelatedProductRule.objects.all()}
    assert set(rules) == {box, desk}
    assert (rules[desk].action, rules[desk].relation_kinds) == ("opportunity", ["successor"])
    assert all(rule.created_by == org.manager and rule.last_run_at is None for rule in rules.values())
