"""Leads: creation through the matching engine, assignment rules, scoring, status, conversion, rights."""

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from contacts.models import Account, Contact, Touch
from contacts.services import account_create, touch_log
from leads import scoring
from leads.models import AssignmentRule, Lead, ScoringModel
from leads.services import lead_assign, lead_convert, lead_create, lead_update, scoring_retrain
from sfa.permissions import can, scoped

PERSON = {
    "first_name": "Eva",
    "last_name": "Klein",
    "email": "eva.klein@kleinbau.example",
    "phone": "0151 23456789",
    "city": "Berlin",
    "country": "DE",
}


def test_a_new_person_becomes_a_prospect_contact_with_a_lead(org):
    lead = lead_create(
        actor=org.manager,
        person=PERSON,
        company="Kleinbau GmbH",
        source="event",
        source_detail="Expo",
        interests=["Fleet", " leasing "],
    )
    contact = lead.contact
    assert contact.is_prospect and contact.phones.get().e164 == "+4915123456789"
    assert lead.interests == ["fleet", "leasing"] and lead.status == "new"
    assert 0 <= lead.score <= 100 and lead.score_reasons and lead.score_model == "rules"


def test_a_known_person_gets_the_lead_on_their_existing_record(org, anna):
    lead = lead_create(
        actor=org.manager, person={"first_name": "Anna", "last_name": "Schmidt", "phone": "+49 30 1234567"}
    )
    assert lead.contact == anna and not anna.is_prospect
    assert Contact.objects.count() == 1


def test_touches_on_a_lead_share_the_timeline_and_the_guard(org, purposes):
    lead = lead_create(actor=org.manager, person=PERSON, owner=org.rep)
    touch_log(actor=org.rep, contact=lead.contact, purpose=purposes["cross_sell"], channel="call")
    from contacts.services import GuardWarning

    with pytest.raises(GuardWarning):
        touch_log(actor=org.marketing, contact=lead.contact, purpose=purposes["cross_sell"], channel="email")
    assert Touch.objects.filter(contact=lead.contact).count() == 1


def test_assignment_rules_by_territory_and_round_robin(org):
    north = org.rep.team
    AssignmentRule.objects.create(name="DE", order=1, country="DE", team=north)
    owners = [
        lead_create(
            actor=org.manager, person={**PERSON, "email": f"x{i}@e.example", "phone": "", "last_name": f"Klein{i}"}
        ).owner
        for i in range(4)
    ]
    assert owners == [org.rep, org.rep_b, org.rep, org.rep_b]
    elsewhere = lead_create(actor=org.manager, person={"last_name": "Dupont", "country": "FR"})
    assert elsewhere.owner is None  # the unassigned queue


def test_least_loaded_assignment(org):
    AssignmentRule.objects.create(name="All", team=org.rep.team, method="least_loaded")
    lead_create(actor=org.manager, person={"last_name": "A1"}, owner=org.rep)
    lead_create(actor=org.manager, person={"last_name": "A2"}, owner=org.rep)
    assert lead_create(actor=org.manager, person={"last_name": "B"}).owner == org.rep_b


def test_the_unassigned_queue_is_for_those_who_assign(org):
    lead = lead_create(actor=org.manager, person={"last_name": "Nobody"})
    assert lead.owner is None
    assert scoped(org.manager, Lead.objects.all()).filter(pk=lead.pk).exists()
    assert not scoped(org.rep, Lead.objects.all()).filter(pk=lead.pk).exists()
    with pytest.raises(PermissionDenied):
        lead_assign(lead=lead, actor=org.rep, owner=org.rep)
    lead_assign(lead=lead, actor=org.manager, owner=org.rep)
    assert can(org.rep, "change", lead) and not can(org.rep_b, "view", lead)


def test_status_rules(org):
    lead = lead_create(actor=org.manager, person=PERSON, owner=org.rep)
    lead_update(lead=lead, actor=org.rep, data={"status": "working"})
    with pytest.raises(ValidationError, match="why"):
        lead_update(lead=lead, actor=org.rep, data={"status": "disqualified"})
    with pytest.raises(ValidationError):
        lead_update(lead=lead, actor=org.rep, data={"status": "converted"})
    with pytest.raises(PermissionDenied):
        lead_update(lead=lead, actor=org.rep_b, data={"status": "qualified"})


def test_conversion_finds_the_existing_account_and_makes_an_opportunity(org):
    acme = account_create(actor=org.rep, name="Kleinbau GmbH", city="Berlin")
    lead = lead_create(actor=org.manager, person=PERSON, company="KLEINBAU", owner=org.rep)
    lead_convert(
        lead=lead,
        actor=org.rep,
        opportunity={"name": "Fleet", "amount": "12500.50", "expected_close": date(2027, 3, 31)},
    )
    lead.refresh_from_db()
    contact = lead.contact
    assert lead.status == "converted" and lead.converted_account == acme and contact.account == acme
    assert not contact.is_prospect
    opp = lead.converted_opportunity
    assert opp.amount == 12500.50 and opp.owner == org.rep and opp.history.count() == 1
    with pytest.raises(ValidationError, match="already"):
        lead_convert(lead=lead, actor=org.rep)


def test_conversion_makes_a_new_account_when_none_matches(org):
    lead = lead_create(actor=org.manager, person=PERSON, company="Brand New AG", owner=org.rep)
    lead_convert(lead=lead, actor=org.rep)
    lead.refresh_from_db()
    assert lead.converted_account.name == "Brand New AG" and Account.objects.count() == 1


def test_a_rep_cannot_convert_a_colleagues_lead(org):
    lead = lead_create(actor=org.manager, person=PERSON, owner=org.rep_b)
    with pytest.raises(PermissionDenied):
        lead_convert(lead=lead, actor=org.rep)


def test_the_scoring_model_learns_from_conversions(org):
    # Inbound leads with phones convert, purchased ones without do not: the model must rank them so.
    for i in range(40):
        good = lead_create(
            actor=org.manager,
            person={"last_name": f"G{i}", "phone": f"+49151000{i:05d}"},
            source="web_form",
            interests=["fleet"],
        )
        bad = lead_create(actor=org.manager, person={"last_name": f"B{i}"}, source="purchased_list")
        Lead.objects.filter(pk=good.pk).update(status="converted")
        Lead.objects.filter(pk=bad.pk).update(status="disqualified", disqualify_reason="no")
    model = scoring_retrain()
    assert model is not None and ScoringModel.objects.get(is_active=True) == model
    fresh_good = lead_create(
        actor=org.manager,
        person={"last_name": "NewG", "phone": "+4915199900001"},
        source="web_form",
        interests=["fleet"],
    )
    fresh_bad = lead_create(actor=org.manager, person={"last_name": "NewB"}, source="purchased_list")
    assert fresh_good.score > 70 > 30 > fresh_bad.score
    assert fresh_good.score_model == model.version


def test_rules_fallback_when_history_is_short():
    assert scoring.train([(dict.fromkeys(scoring.FEATURES, 1.0), 1)] * 5) is None
    result = scoring.score_with_rules(dict.fromkeys(scoring.FEATURES, 0.0))
    assert result.model == "rules" and 0 <= result.value <= 100


def test_lead_pages_and_api(org, login, api):
    lead = lead_create(actor=org.manager, person=PERSON, owner=org.rep, company="Kleinbau")
    client = login(org.rep)
    assert b"Kleinbau" in client.get("/leads/").content
    assert client.get(f"/leads/{lead.pk}/").status_code == 200
    assert login(org.rep_b).get(f"/leads/{lead.pk}/").status_code == 404
    assert api(org.rep).get("/api/leads/").json()["results"][0]["id"] == lead.pk
    assert api(org.rep_b).get("/api/leads/").json()["results"] == []
    created = api(org.rep).post("/api/leads/", {"last_name": "Neu", "phone": "not a phone"}, format="json")
    assert created.status_code == 201  # an unusable phone is dropped, the lead is kept
    response = api(org.rep).post(
        f"/api/leads/{lead.pk}/convert/",
        {
            "new_account_name": "Kleinbau",
            "opportunity": {"name": "Deal", "amount": "100", "expected_close": "2027-01-31"},
        },
        format="json",
    )
    assert response.status_code == 200 and response.json()["status"] == "converted"
    assert api(org.rep).post("/api/leads/", {"first_name": "x"}, format="json").status_code == 400
