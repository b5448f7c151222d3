"""Accounts and contacts through their services: normalisation, validation, audit, rights."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from contacts.models import Contact, ContactPhone, FollowUp
from contacts.normalize import domain_of, name_key, phone_e164, phone_search_prefix
from contacts.services import (
    account_update,
    contact_create,
    contact_update,
    followup_close,
    followup_create,
    followup_digest_send,
    touch_log,
)
from sfa.audit import audit_history


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("030 1234567", "+49301234567"),
        ("(030) 123-4567", "+49301234567"),
        ("+49 30 1234567", "+49301234567"),
        ("0049 30 1234567", "+49301234567"),
        ("+44 20 7946 0958", "+442079460958"),
        ("+1 (415) 555-2671", "+14155552671"),
    ],
)
def test_phones_in_any_format_become_e164(raw, e164):
    assert phone_e164(raw) == e164


@pytest.mark.parametrize("raw", ["", "hello", "12", "+49 0000", "030 12345678901234"])
def test_things_that_are_not_phones_are_refused(raw):
    from contacts.normalize import PhoneError

    with pytest.raises(PhoneError):
        phone_e164(raw)


def test_normalisers():
    assert name_key("  O’Brien-Smith ") == "obrien smith"
    assert name_key("Zoë  Lefèvre") == "zoe lefevre"
    assert domain_of("HTTPS://www.Acme.example/contact?x=1") == "acme.example"
    assert domain_of("sales@Acme.example") == "acme.example"
    assert phone_search_prefix("030 12") == "+493012"
    assert phone_search_prefix("+44 20") == "+4420"
    assert phone_search_prefix("anna") is None


def test_a_contact_keeps_what_was_typed_and_stores_keys_for_search(org, anna):
    assert anna.last_key == "schmidt" and anna.first_key == "anna"
    assert [e.email for e in anna.emails.all()] == ["Anna.Schmidt@Acme.example"]
    assert anna.emails.get().email_key == "anna.schmidt@acme.example"
    phone = anna.phones.get()
    assert phone.e164 == "+49301234567" and phone.display == "+49 30 1234567" and phone.is_primary


def test_bad_phone_or_email_saves_nothing_and_names_the_value(org):
    with pytest.raises(ValidationError) as error:
        contact_create(actor=org.rep, last_name="X", phones=["+49 30 1234567", "not a phone"])
    assert "phones" in error.value.message_dict and "not a phone" in error.value.message_dict["phones"][0]
    with pytest.raises(ValidationError) as error:
        contact_create(actor=org.rep, last_name="X", emails=["nope@"])
    assert "emails" in error.value.message_dict
    with pytest.raises(ValidationError):
        contact_create(actor=org.rep, last_name="  ")
    assert not Contact.objects.exists() and not ContactPhone.objects.exists()


def test_contact_update_replaces_channels_and_audits_before_and_after(org, anna):
    changed = contact_update(
        contact=anna,
        actor=org.rep,
        data={"title": "CFO"},
        emails=["new@acme.example", "Anna.Schmidt@Acme.example"],
        phones=[],
    )
    assert set(changed) >= {"title", "emails", "phones"}
    assert [e.email for e in anna.emails.order_by("-is_primary")] == ["new@acme.example", "Anna.Schmidt@Acme.example"]
    assert not anna.phones.exists()
    event = audit_history(actor=org.marketing, instance=anna)[0]
    assert event.changes["phones"] == [["+49301234567"], []] and event.changes["title"] == ["", "CFO"]


def test_reps_change_their_own_customers_managers_their_teams(org, anna):
    with pytest.raises(PermissionDenied):
        contact_update(contact=anna, actor=org.rep_b, data={"title": "x"})
    with pytest.raises(PermissionDenied):
        contact_update(contact=anna, actor=org.manager_b, data={"title": "x"})
    contact_update(contact=anna, actor=org.manager, data={"title": "Head of buying"})
    with pytest.raises(PermissionDenied):
        account_update(account=anna.account, actor=org.marketing, data={"industry": "x"})


def test_every_department_logs_touches_on_any_customer(org, anna):
    from contacts.services import purpose_save

    purpose = purpose_save(actor=None, name="Survey")
    touch = touch_log(actor=org.marketing, contact=anna, purpose=purpose, channel="email")
    assert touch.department.name == "Marketing" and touch.account == anna.account


def test_followups_and_the_daily_digest(org, anna):
    today = timezone.localdate()
    followup_create(actor=org.rep, contact=anna, due=today - timedelta(days=2), note="Send the quote")
    followup_create(actor=org.rep, contact=anna, due=today, note="Call back")
    later = followup_create(actor=org.rep, contact=anna, due=today + timedelta(days=3), note="Visit")
    followup_create(actor=org.rep_b, contact=anna, due=today, note="Not Rita's")
    with pytest.raises(PermissionDenied):
        followup_close(followup=later, actor=org.rep_b, status="done")
    followup_close(followup=later, actor=org.rep, status="done")
    with pytest.raises(ValidationError):
        followup_close(followup=later, actor=org.rep, status="done")
    mail.outbox.clear()
    assert followup_digest_send(today=today) == 2
    rita = next(m for m in mail.outbox if m.to == [org.rep.email])
    assert "OVERDUE" in rita.body and "Send the quote" in rita.body and "Call back" in rita.body
    assert "Visit" not in rita.body and "Not Rita's" not in rita.body
    assert FollowUp.objects.filter(status="done").count() == 1
