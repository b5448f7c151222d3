"""The contacts API over HTTP: scoping by role, phone normalisation, the outreach guard, idempotent creates,
CSV and vCard."""

import csv
import io
from datetime import date, timedelta

import pytest
from django.db import OperationalError
from django.utils import timezone

from contacts.api import serializers
from contacts.api.views import vcard_fold
from contacts.models import Account, ChannelConsent, Contact, FollowUp, GuardLog, GuardRule, Purpose, Touch
from contacts.normalize import PhoneError, phone_e164
from contacts.services import consent_set
from sfa.models import IdempotencyKey
from tests.contacts.factories import (
    AccountFactory,
    ContactFactory,
    FollowUpFactory,
    PurposeFactory,
    TouchFactory,
)


@pytest.fixture
def purpose(db) -> Purpose:
    """Renewal: warns when someone else touched the contact for it within 14 days."""
    return PurposeFactory(name="Renewal")


@pytest.fixture
def blocking(db) -> Purpose:
    return PurposeFactory(name="Cross-sell", rule__mode=GuardRule.Mode.BLOCK)


def _phone_error(raw: str) -> str:
    with pytest.raises(PhoneError) as exc:
        phone_e164(raw)
    return str(exc.value)


# --- Authentication --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/api/accounts/"),
        ("post", "/api/accounts/"),
        ("get", "/api/accounts/1/"),
        ("patch", "/api/accounts/1/"),
        ("delete", "/api/accounts/1/"),
        ("get", "/api/contacts/"),
        ("get", "/api/contacts/?search=anna"),
        ("post", "/api/contacts/"),
        ("get", "/api/contacts/1/"),
        ("patch", "/api/contacts/1/"),
        ("delete", "/api/contacts/1/"),
        ("get", "/api/contacts/export.csv"),
        ("get", "/api/contacts/export/"),
        ("get", "/api/contacts/1/vcard/"),
        ("get", "/api/touches/"),
        ("post", "/api/touches/"),
        ("get", "/api/touches/1/"),
        ("patch", "/api/touches/1/"),
        ("delete", "/api/touches/1/"),
        ("get", "/api/purposes/"),
        ("post", "/api/purposes/"),
        ("get", "/api/purposes/1/"),
        ("patch", "/api/purposes/1/"),
        ("get", "/api/followups/"),
        ("post", "/api/followups/"),
        ("get", "/api/followups/1/"),
        ("post", "/api/followups/1/close/"),
    ],
)
def test_anonymous_requests_get_401(org, api, method, url):
    response = getattr(api(None), method)(url, {}, format="json") if method != "get" else api(None).get(url)
    assert response.status_code == 401


# --- Contacts ----------------------------------------------------------------------------------------


def test_a_rep_creates_a_contact_with_the_phone_in_e164_and_owns_it(org, api):
    account = AccountFactory(name="ACME GmbH", owner=org.rep_b)
    response = api(org.rep).post(
        "/api/contacts/",
        {
            "first_name": "Anna",
            "last_name": "Müller",
            "email": "Anna.Mueller@Example.com",
            "phone": "030 1234567",
            "account": account.pk,
            "tags": ["Golf", "eco"],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["phone"] == "+49301234567"
    assert body["phones"] == [{"e164": "+49301234567", "display": "+49 30 1234567", "label": "", "is_primary": True}]
    assert body["email"] == "Anna.Mueller@Example.com"  # shown as entered
    assert body["emails"] == [{"email": "Anna.Mueller@Example.com", "label": "", "is_primary": True}]
    assert body["owner"] == org.rep.pk and body["account"] == account.pk
    assert body["tags"] == ["eco", "golf"] and body["consents"] == [] and body["created_at"]
    contact = Contact.objects.get(pk=body["id"])
    assert (contact.first_key, contact.last_key) == ("anna", "muller")


def test_emails_and_phones_lists_and_a_new_primary_phone(org, api):
    client = api(org.rep)
    created = client.post(
        "/api/contacts/",
        {
            "last_name": "Okafor",
            "country": "de",
            "emails": [{"email": "work@okafor.example", "label": "work"}, {"email": "home@okafor.example"}],
            "phones": [
                {"number": "+44 20 7946 0958", "label": "office"},
                {"number": "0151 23456789", "label": "mobile"},
            ],
        },
        format="json",
    ).json()
    assert created["country"] == "DE"
    assert created["email"] == "work@okafor.example" and created["phone"] == "+442079460958"
    assert [(p["e164"], p["label"], p["is_primary"]) for p in created["phones"]] == [
        ("+442079460958", "office", True),
        ("+4915123456789", "mobile", False),
    ]
    # A single ``phone`` replaces the primary one and keeps the others.
    updated = client.patch(f"/api/contacts/{created['id']}/", {"phone": "030 1234567"}, format="json")
    assert updated.status_code == 200, updated.json()
    assert [(p["e164"], p["is_primary"]) for p in updated.json()["phones"]] == [
        ("+49301234567", True),
        ("+4915123456789", False),
    ]
    assert len(updated.json()["emails"]) == 2  # untouched


@pytest.mark.parametrize(
    ("payload", "field", "raw"),
    [
        ({"phone": "not a phone"}, "phone", "not a phone"),
        ({"phones": [{"number": "030 1234567"}, {"number": "12"}]}, "phones", "12"),
    ],
)
def test_a_bad_phone_answers_400_naming_the_field_and_saves_nothing(org, api, payload, field, raw):
    response = api(org.rep).post("/api/contacts/", {"last_name": "Doe", **payload}, format="json")
    assert response.status_code == 400
    assert response.json()[field] == [_phone_error(raw)]
    assert not Contact.objects.exists()


def test_a_bad_phone_on_update_changes_nothing(org, api):
    contact = ContactFactory(owner=org.rep, last_name="Doe", phones=["030 1234567"])
    response = api(org.rep).patch(f"/api/contacts/{contact.pk}/", {"last_name": "Roe", "phone": "xyz"}, format="json")
    assert response.status_code == 400 and "phone" in response.json()
    contact.refresh_from_db()
    assert contact.last_name == "Doe"
    assert list(contact.phones.values_list("e164", flat=True)) == ["+49301234567"]


def test_an_unknown_account_answers_400(org, api):
    response = api(org.rep).post("/api/contacts/", {"last_name": "Doe", "account": 999999}, format="json")
    assert response.status_code == 400 and "account" in response.json()
    assert not Contact.objects.exists()


def test_contacts_are_changed_by_their_owner_and_the_owners_managers(org, api):
    mine = ContactFactory(owner=org.rep)
    rep_bs = ContactFactory(owner=org.rep_b)

    assert api(org.rep).patch(f"/api/contacts/{mine.pk}/", {"title": "CEO"}, format="json").status_code == 200
    assert api(org.rep).get(f"/api/contacts/{rep_bs.pk}/").status_code == 200  # visible ...
    assert api(org.rep).patch(f"/api/contacts/{rep_bs.pk}/", {"title": "X"}, format="json").status_code == 403
    assert api(org.manager).patch(f"/api/contacts/{rep_bs.pk}/", {"title": "CFO"}, format="json").status_code == 200
    assert api(org.manager_b).get(f"/api/contacts/{mine.pk}/").status_code == 200
    assert api(org.manager_b).patch(f"/api/contacts/{mine.pk}/", {"title": "X"}, format="json").status_code == 403
    mine.refresh_from_db()
    rep_bs.refresh_from_db()
    assert (mine.title, rep_bs.title) == ("CEO", "CFO")


def test_only_admins_delete_contacts_and_not_while_touches_point_to_them(org, api):
    contact = ContactFactory(owner=org.rep)
    touched = ContactFactory(owner=org.rep)
    TouchFactory(contact=touched, user=org.rep)
    assert api(org.rep).delete(f"/api/contacts/{contact.pk}/").status_code == 403
    assert api(org.manager).delete(f"/api/contacts/{contact.pk}/").status_code == 403
    assert api(org.admin).delete(f"/api/contacts/{contact.pk}/").status_code == 204
    assert api(org.admin).delete(f"/api/contacts/{touched.pk}/").status_code == 409
    assert list(Contact.objects.all()) == [touched]


def test_contact_lists_are_cursor_paginated_filtered_and_searchable(org, api):
    # Fixed names: a random surname such as "Schultz" would be a fair answer to the searches below.
    for i in range(3):
        ContactFactory(owner=org.rep, city="Berlin", first_name="Eva", last_name=f"Berger{i}")
    ContactFactory(owner=org.rep_other, city="Hamburg", first_name="Max", last_name="Hansen")
    schulz = ContactFactory(owner=org.rep_other, last_name="Schulz", first_name="Jan", phones=["030 5550001"])
    client = api(org.rep)

    page = client.get("/api/contacts/", {"city": "berlin", "page_size": 2}).json()
    assert set(page) == {"next", "previous", "results"} and len(page["results"]) == 2
    seen = [c["id"] for c in page["results"]]
    while page["next"]:
        page = client.get(page["next"]).json()
        seen += [c["id"] for c in page["results"]]
    assert sorted(seen) == sorted(Contact.objects.filter(city="Berlin").values_list("id", flat=True))
    assert len(client.get("/api/contacts/", {"owner": org.rep_other.pk}).json()["results"]) == 2
    assert client.get("/api/contacts/", {"owner": "nobody"}).status_code == 400

    for query in ("030 555", "+49305550001", "schul", "jan schulz"):
        found = client.get("/api/contacts/", {"search": query}).json()
        assert set(found) == {"next", "previous", "results"}
        assert [c["id"] for c in found["results"]] == [schulz.pk], query
    assert client.get("/api/contacts/", {"search": "schul", "city": "Berlin"}).json()["results"] == []


def test_lists_take_the_same_number_of_queries_for_more_rows(org, api):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = api(org.rep)

    def queries(url: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    def add_rows() -> None:
        for _ in range(3):
            contact = ContactFactory(account=AccountFactory(), emails=["a@example.com"], phones=["030 1234567"])
            consent_set(contact=contact, actor=None, channel="email", status=ChannelConsent.Status.GRANTED)
            TouchFactory(contact=contact)
            FollowUpFactory(contact=contact)

    add_rows()
    urls = ["/api/contacts/", "/api/accounts/", "/api/touches/", "/api/followups/", "/api/purposes/"]
    before = {url: queries(url) for url in urls}
    add_rows()
    assert {url: queries(url) for url in urls} == before


# --- Accounts ----------------------------------------------------------------------------------------


def test_accounts_derive_the_domain_count_contacts_and_follow_the_policy(org, api):
    response = api(org.rep).post(
        "/api/accounts/", {"name": "ACME GmbH", "website": "https://www.ACME.de/about", "country": "de"}, format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["domain"], body["country"], body["owner"], body["contact_count"]) == ("acme.de", "DE", org.rep.pk, 0)
    ContactFactory.create_batch(2, account=Account.objects.get(pk=body["id"]), owner=org.rep_b)

    assert api(org.rep_other).get(f"/api/accounts/{body['id']}/").json()["contact_count"] == 2
    assert api(org.rep_b).patch(f"/api/accounts/{body['id']}/", {"industry": "x"}, format="json").status_code == 403
    updated = api(org.manager).patch(f"/api/accounts/{body['id']}/", {"industry": "Machinery"}, format="json")
    assert updated.status_code == 200 and updated.json()["industry"] == "Machinery"
    assert api(org.rep).post("/api/accounts/", {"name": "  "}, format="json").status_code == 400
    assert [a["name"] for a in api(org.rep).get("/api/accounts/", {"q": "acm"}).json()["results"]] == ["ACME GmbH"]


# --- Touches and the outreach guard ------------------------------------------------------------------


def _touch(contact, purpose, **extra):
    return {"contact": contact.pk, "purpose": purpose.pk, "channel": "call", **extra}


@pytest.mark.parametrize("field", ["purpose", "contact"])
def test_an_unknown_purpose_or_contact_answers_400_and_saves_nothing(org, api, purpose, field):
    contact = ContactFactory(owner=org.rep)
    response = api(org.rep).post("/api/touches/", {**_touch(contact, purpose), field: 999999}, format="json")
    assert response.status_code == 400 and field in response.json()
    assert not Touch.objects.exists() and not GuardLog.objects.exists()


def test_the_guard_answers_409_with_the_conflict_then_201_with_a_reason(org, api, purpose):
    contact = ContactFactory(owner=org.rep)
    earlier = TouchFactory(contact=contact, purpose=purpose, user=org.rep_b)
    client = api(org.rep)

    refused = client.post("/api/touches/", _touch(contact, purpose), format="json")
    assert refused.status_code == 409
    guard = refused.json()["guard"]
    assert guard["level"] == "warn" and guard["hard"] is False
    assert [(c["kind"], c["touch_id"]) for c in guard["conflicts"]] == [("purpose", earlier.pk)]
    assert refused.json()["detail"]
    assert Touch.objects.count() == 1

    reason = "The customer asked me to call about the renewal."
    accepted = client.post("/api/touches/", _touch(contact, purpose, override_reason=reason), format="json")
    assert accepted.status_code == 201, accepted.json()
    touch = Touch.objects.get(pk=accepted.json()["id"])
    assert touch.override_reason == reason and touch.user == org.rep
    assert accepted.json()["override_reason"] == reason
    assert [c["touch_id"] for c in accepted.json()["guard_conflicts"]] == [earlier.pk]
    log = GuardLog.objects.get(touch=touch)
    assert (log.verdict, log.reason, log.via, log.user) == (GuardLog.Verdict.OVERRIDDEN, reason, "api", org.rep)


def test_my_own_earlier_touch_is_no_conflict(org, api, purpose):
    contact = ContactFactory(owner=org.rep)
    TouchFactory(contact=contact, purpose=purpose, user=org.rep)
    assert api(org.rep).post("/api/touches/", _touch(contact, purpose), format="json").status_code == 201


def test_a_block_refuses_a_rep_and_asks_a_manager_for_a_reason(org, api, blocking):
    contact = ContactFactory(owner=org.rep)
    TouchFactory(contact=contact, purpose=blocking, user=org.rep_b)

    rep = api(org.rep).post("/api/touches/", _touch(contact, blocking, override_reason="Please"), format="json")
    assert rep.status_code == 403
    assert rep.json()["guard"]["level"] == "block" and rep.json()["guard"]["conflicts"]
    assert GuardLog.objects.get().verdict == GuardLog.Verdict.BLOCKED

    manager = api(org.manager)
    assert manager.post("/api/touches/", _touch(contact, blocking), format="json").status_code == 409
    reason = "Agreed with the account owner."
    accepted = manager.post("/api/touches/", _touch(contact, blocking, override_reason=reason), format="json")
    assert accepted.status_code == 201, accepted.json()
    log = GuardLog.objects.get(touch_id=accepted.json()["id"])
    assert (log.verdict, log.reason, log.user) == (GuardLog.Verdict.BLOCK_OVERRIDDEN, reason, org.manager)
    assert Touch.objects.count() == 2


def test_do_not_contact_on_the_channel_refuses_even_a_manager_with_a_reason(org, api):
    contact = ContactFactory(owner=org.rep)
    any_purpose = PurposeFactory(rule=None)
    consent_set(contact=contact, actor=org.rep, channel="call", status=ChannelConsent.Status.DO_NOT_CONTACT)
    client = api(org.manager)

    refused = client.post("/api/touches/", _touch(contact, any_purpose, override_reason="Urgent"), format="json")
    assert refused.status_code == 403
    assert refused.json()["guard"]["hard"] is True
    assert refused.json()["guard"]["conflicts"][0]["kind"] == "do_not_contact"
    assert not Touch.objects.exists()
    # Only that channel: a letter is fine.
    assert (
        client.post("/api/touches/", _touch(contact, any_purpose, channel="letter"), format="json").status_code == 201
    )
    consents = client.get(f"/api/contacts/{contact.pk}/").json()["consents"]
    assert [(c["channel"], c["status"]) for c in consents] == [("call", "do_not_contact")]


def test_inbound_touches_are_never_held_back(org, api, blocking):
    contact = ContactFactory(owner=org.rep, do_not_contact=True)
    TouchFactory(contact=contact, purpose=blocking, user=org.rep_b)
    response = api(org.rep).post("/api/touches/", _touch(contact, blocking, direction="in"), format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["direction"] == "in" and response.json()["guard_conflicts"] == []


def test_a_touch_with_a_follow_up_and_later_changes_by_its_author(org, api, purpose):
    contact = ContactFactory(owner=org.rep_other)
    due = timezone.localdate() + timedelta(days=7)
    created = api(org.rep).post(
        "/api/touches/",
        _touch(contact, purpose, status="planned", at=(timezone.now() + timedelta(days=1)).isoformat())
        | {"followup_due": due.isoformat(), "followup_note": "Send the offer"},
        format="json",
    )
    assert created.status_code == 201, created.json()
    touch_id = created.json()["id"]
    followup = FollowUp.objects.get(touch_id=touch_id)
    assert (followup.assignee, followup.due, followup.note) == (org.rep, due, "Send the offer")

    url = f"/api/touches/{touch_id}/"
    assert api(org.rep_b).patch(url, {"notes": "mine now"}, format="json").status_code == 403
    assert api(org.manager_b).patch(url, {"notes": "x"}, format="json").status_code == 403
    done = api(org.rep).patch(url, {"status": "done", "outcome": "reached", "notes": "Went well"}, format="json")
    assert done.status_code == 200, done.json()
    assert (done.json()["status"], done.json()["outcome"], done.json()["notes"]) == ("done", "reached", "Went well")
    assert api(org.manager).patch(url, {"status": "planned"}, format="json").status_code == 400
    assert [t["id"] for t in api(org.rep_b).get("/api/touches/", {"contact": contact.pk}).json()["results"]] == [
        touch_id
    ]


def test_only_admins_delete_touches(org, api):
    touch = TouchFactory(user=org.rep)
    assert api(org.rep).delete(f"/api/touches/{touch.pk}/").status_code == 403
    assert api(org.admin).delete(f"/api/touches/{touch.pk}/").status_code == 204
    assert not Touch.objects.exists()


# --- Idempotent creates (Idempotency-Key) ------------------------------------------------------------


def test_a_touch_retried_with_its_key_is_stored_once_and_the_answer_replayed(org, api):
    contact = ContactFactory(owner=org.rep)
    body = _touch(contact, PurposeFactory(rule=None), notes="Asked for the brochure")
    client = api(org.rep)
    first = client.post("/api/touches/", body, format="json", headers={"Idempotency-Key": "touch-1"})
    retry = client.post("/api/touches/", body, format="json", headers={"Idempotency-Key": "touch-1"})

    assert first.status_code == retry.status_code == 201, (first.json(), retry.json())
    assert retry.json() == first.json()
    assert retry.headers.get("Idempotent-Replayed") == "true" and "Idempotent-Replayed" not in first.headers
    assert list(Touch.objects.values_list("pk", flat=True)) == [first.json()["id"]]
    stored = IdempotencyKey.objects.get()
    assert (stored.user, stored.endpoint, stored.key, stored.status_code) == (
        org.rep,
        "POST /api/touches/",
        "touch-1",
        201,
    )


def test_a_touch_key_reused_with_another_body_is_422_and_stores_nothing_more(org, api):
    contact = ContactFactory(owner=org.rep)
    purpose = PurposeFactory(rule=None)
    client = api(org.rep)
    headers = {"Idempotency-Key": "touch-2"}
    assert client.post("/api/touches/", _touch(contact, purpose), format="json", headers=headers).status_code == 201

    changed = client.post("/api/touches/", _touch(contact, purpose, notes="Other"), format="json", headers=headers)
    assert changed.status_code == 422, changed.json()
    assert "touch-2" in changed.json()["detail"] and "different request body" in changed.json()["detail"]
    assert Touch.objects.count() == 1


def test_another_user_with_the_same_key_makes_their_own_touch(org, api):
    contact = ContactFactory(owner=org.rep)
    body = _touch(contact, PurposeFactory(rule=None))
    headers = {"Idempotency-Key": "touch-3"}
    mine = api(org.rep).post("/api/touches/", body, format="json", headers=headers)
    theirs = api(org.rep_b).post("/api/touches/", body, format="json", headers=headers)

    assert mine.status_code == theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs.headers and theirs.json()["id"] != mine.json()["id"]
    assert sorted(Touch.objects.values_list("user__username", flat=True)) == ["rep", "rep_b"]
    assert IdempotencyKey.objects.count() == 2


@pytest.fixture
def answer_fails_once(monkeypatch):
    """The touch's answer (read back after the touch was saved) loses the database once, as in a restart."""
    real = serializers.TouchSerializer.to_representation
    failures = []

    def to_representation(self, instance):
        if not failures:
            failures.append(instance.pk)
            assert Touch.objects.filter(pk=instance.pk).exists()  # the touch was written before the answer
            raise OperationalError("server closed the connection unexpectedly")
        return real(self, instance)

    monkeypatch.setattr(serializers.TouchSerializer, "to_representation", to_representation)
    return failures


def test_a_touch_whose_answer_loses_the_database_is_503_and_stored_once_on_retry(org, api, answer_fails_once):
    contact = ContactFactory(owner=org.rep)
    body = _touch(contact, PurposeFactory(rule=None))
    client = api(org.rep)
    headers = {"Idempotency-Key": "touch-4"}

    lost = client.post("/api/touches/", body, format="json", headers=headers)
    assert lost.status_code == 503 and lost["Retry-After"] == "5", lost.content[:300]
    assert len(answer_fails_once) == 1, "the answer never failed: the test proves nothing"
    # The touch and the key were written in one transaction that rolled back: nothing is stored.
    assert not Touch.objects.exists() and not IdempotencyKey.objects.exists()

    retry = client.post("/api/touches/", body, format="json", headers=headers)
    assert retry.status_code == 201 and "Idempotent-Replayed" not in retry.headers, retry.content[:300]
    again = client.post("/api/touches/", body, format="json", headers=headers)
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.json() == retry.json()
    assert list(Touch.objects.values_list("pk", flat=True)) == [retry.json()["id"]]


def test_without_a_key_the_lost_answer_leaves_the_touch_stored(org, api, answer_fails_once):
    """The gap the key closes: the touch commits before its answer, so a blind retry would store it twice."""
    contact = ContactFactory(owner=org.rep)
    lost = api(org.rep).post("/api/touches/", _touch(contact, PurposeFactory(rule=None)), format="json")
    assert lost.status_code == 503
    assert Touch.objects.filter(pk=answer_fails_once[0]).exists()


@pytest.mark.parametrize(
    ("url", "model", "body"),
    [
        ("/api/accounts/", Account, lambda contact: {"name": "Idempotent Ltd"}),
        ("/api/contacts/", Contact, lambda contact: {"first_name": "Ida", "last_name": "Empotent"}),
        (
            "/api/followups/",
            FollowUp,
            lambda contact: {"contact": contact.pk, "due": date.today().isoformat(), "note": "Call back"},
        ),
    ],
    ids=["accounts", "contacts", "followups"],
)
def test_the_other_creates_are_idempotent_too(org, api, url, model, body):
    contact = ContactFactory(owner=org.rep)
    before = model.objects.count()
    client = api(org.rep)
    first = client.post(url, body(contact), format="json", headers={"Idempotency-Key": "k"})
    retry = client.post(url, body(contact), format="json", headers={"Idempotency-Key": "k"})

    assert first.status_code == retry.status_code == 201, first.json()
    assert retry.json() == first.json() and retry.headers.get("Idempotent-Replayed") == "true"
    assert model.objects.count() == before + 1


def test_the_schema_documents_the_idempotency_key_on_the_creates(org, api):
    paths = api(org.rep).get("/api/schema/", {"format": "json"}).json()["paths"]
    for path in ("/api/touches/", "/api/accounts/", "/api/contacts/", "/api/followups/"):
        create = paths[path]["post"]
        assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in create["parameters"]), path
        assert "422" in create["responses"], path


# --- CSV export and vCard ----------------------------------------------------------------------------

EXPORT_HEADER = [
    "id",
    "first_name",
    "last_name",
    "title",
    "email",
    "phone",
    "account",
    "street",
    "city",
    "postcode",
    "region",
    "country",
    "birth_date",
    "do_not_contact",
]


def _csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8"))))


def test_the_csv_export_streams_the_filtered_contacts_in_one_query(org, api, django_assert_num_queries):
    account = AccountFactory(name="ACME GmbH")
    anna = ContactFactory(
        first_name="Anna",
        last_name="Albers",
        city="Berlin",
        account=account,
        title="=HYPERLINK()",
        birth_date=date(1980, 2, 29),
        emails=["anna@acme.example", "anna.private@example.com"],
        phones=["030 1234567", "0151 23456789"],
    )
    for n in range(5):
        ContactFactory(last_name=f"Berliner {n}", city="Berlin", emails=[f"b{n}@example.com"], phones=["030 5550001"])
    ContactFactory(city="Hamburg")

    response = api(org.rep).get("/api/contacts/export.csv", {"city": "berlin"})
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    with django_assert_num_queries(1):  # subqueries for the primary e-mail and phone: no query per contact
        rows = _csv(response)
    assert rows[0] == EXPORT_HEADER
    assert len(rows) - 1 == 6
    first = dict(zip(EXPORT_HEADER, rows[1], strict=True))
    assert first == {
        "id": str(anna.pk),
        "first_name": "Anna",
        "last_name": "Albers",
        "title": "'=HYPERLINK()",  # not run as a formula by a spreadsheet
        "email": "anna@acme.example",
        "phone": "+49301234567",
        "account": "ACME GmbH",
        "street": "",
        "city": "Berlin",
        "postcode": "",
        "region": "",
        "country": "",
        "birth_date": "1980-02-29",
        "do_not_contact": "no",
    }


def test_the_csv_export_ignores_the_accept_header_and_answers_400_on_bad_filters(org, api):
    ContactFactory()
    client = api(org.rep)
    response = client.get("/api/contacts/export/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200 and len(_csv(response)) == 2
    assert client.get("/api/contacts/export.csv", {"owner": "nobody"}).status_code == 400


def test_the_vcard_escapes_and_holds_the_contact(org, api):
    contact = ContactFactory(
        first_name="Anna",
        last_name="Müller",
        title="Head of Sales, EMEA; Berlin",
        account=AccountFactory(name="ACME, Inc."),
        street="Hauptstr. 1\nHinterhaus",
        city="Berlin",
        postcode="10115",
        country="DE",
        birth_date=date(1980, 2, 29),
        emails=["anna@acme.example", "anna@home.example"],
        phones=["030 1234567"],
    )
    response = api(org.rep_other).get(f"/api/contacts/{contact.pk}/vcard/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/vcard")
    text = response.content.decode("utf-8")
    assert text.endswith("\r\n")
    lines = text.split("\r\n")[:-1]
    assert lines[:4] == ["BEGIN:VCARD", "VERSION:3.0", "N:Müller;Anna;;;", "FN:Anna Müller"]
    assert lines[-1] == "END:VCARD"
    for line in (
        "ORG:ACME\\, Inc.",
        "TITLE:Head of Sales\\, EMEA\\; Berlin",
        "EMAIL;TYPE=INTERNET,PREF:anna@acme.example",
        "EMAIL;TYPE=INTERNET:anna@home.example",
        "TEL;TYPE=VOICE,PREF:+49301234567",
        "ADR;TYPE=WORK:;;Hauptstr. 1\\nHinterhaus;Berlin;;10115;DE",
        "BDAY:1980-02-29",
    ):
        assert line in lines
    assert api(org.rep).get("/api/contacts/999999/vcard/").status_code == 404


def test_long_vcard_lines_are_folded_at_75_octets():
    line = "NOTE:" + "ä" * 100
    folded = vcard_fold(line)
    assert all(len(part.encode("utf-8")) <= 75 for part in folded.split("\r\n"))
    assert folded.replace("\r\n ", "") == line


# --- Purposes ----------------------------------------------------------------------------------------


def test_purposes_are_read_by_everyone_and_written_by_admins(org, api):
    PurposeFactory(name="Service call", rule=None)
    listed = api(org.rep).get("/api/purposes/").json()["results"]
    assert [(p["name"], p["rule"]) for p in listed] == [("Service call", None)]
    payload = {"name": "Renewal", "window_days": 30, "mode": "block", "scope": "account"}
    assert api(org.rep).post("/api/purposes/", payload, format="json").status_code == 403
    assert api(org.manager).post("/api/purposes/", payload, format="json").status_code == 403

    created = api(org.admin).post("/api/purposes/", payload, format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["name"], body["code"], body["is_active"]) == ("Renewal", "renewal", True)
    assert body["rule"] == {"window_days": 30, "mode": "block", "scope": "account"}

    url = f"/api/purposes/{body['id']}/"
    assert api(org.manager).patch(url, {"window_days": 7}, format="json").status_code == 403
    relaxed = api(org.admin).patch(url, {"mode": "warn"}, format="json").json()
    assert relaxed["rule"] == {"window_days": 30, "mode": "warn", "scope": "account"}
    no_rule = api(org.admin).patch(url, {"window_days": None, "description": "Contract ends"}, format="json").json()
    assert (no_rule["rule"], no_rule["description"]) == (None, "Contract ends")
    retired = api(org.admin).patch(url, {"is_active": False}, format="json").json()
    assert retired["is_active"] is False
    active = api(org.rep).get("/api/purposes/", {"is_active": "true"}).json()["results"]
    assert [p["name"] for p in active] == ["Service call"]
    assert api(org.admin).post("/api/purposes/", {"name": "Renewal"}, format="json").status_code == 400


# --- Follow-ups --------------------------------------------------------------------------------------


def test_follow_ups_are_created_listed_and_closed(org, api):
    contact = ContactFactory(owner=org.rep_other)
    due = timezone.localdate() + timedelta(days=2)
    created = api(org.rep).post(
        "/api/followups/", {"contact": contact.pk, "due": due.isoformat(), "note": "Call back"}, format="json"
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["assignee"], body["created_by"], body["status"], body["closed_at"]) == (
        org.rep.pk,
        org.rep.pk,
        "open",
        None,
    )
    FollowUpFactory(assignee=org.rep_b)
    mine = api(org.rep).get("/api/followups/", {"assignee": org.rep.pk, "status": "open"}).json()["results"]
    assert [f["id"] for f in mine] == [body["id"]]
    assert api(org.rep).get("/api/followups/", {"due_before": "2000-01-01"}).json()["results"] == []

    close = f"/api/followups/{body['id']}/close/"
    assert api(org.rep_b).post(close, {"status": "done"}, format="json").status_code == 403
    assert api(org.rep).post(close, {"status": "open"}, format="json").status_code == 400
    closed = api(org.rep).post(close, {"status": "done"}, format="json")
    assert closed.status_code == 200 and closed.json()["status"] == "done" and closed.json()["closed_at"]
    assert api(org.rep).post(close, {"status": "cancelled"}, format="json").status_code == 400


def test_a_manager_closes_a_team_members_follow_up(org, api):
    followup = FollowUpFactory(assignee=org.rep)
    close = f"/api/followups/{followup.pk}/close/"
    assert api(org.manager_b).post(close, {"status": "cancelled"}, format="json").status_code == 403
    assert api(org.manager).post(close, {"status": "cancelled"}, format="json").json()["status"] == "cancelled"


def test_a_follow_up_needs_a_note(org, api):
    contact = ContactFactory()
    response = api(org.rep).post(
        "/api/followups/", {"contact": contact.pk, "due": "2030-01-01", "note": "   "}, format="json"
    )
    assert response.status_code == 400 and "note" in response.json()


# --- Schema ------------------------------------------------------------------------------------------


def test_every_contacts_endpoint_is_in_the_schema(org, api):
    schema = api(org.rep).get("/api/schema/").content.decode("utf-8")
    for path in (
        "/api/accounts/",
        "/api/contacts/",
        "/api/contacts/{id}/vcard/",
        "/api/contacts/export/",
        "/api/touches/",
        "/api/purposes/",
        "/api/followups/{id}/close/",
    ):
        assert f"  {path}:" in schema


def test_consent_is_recorded_over_the_api_and_the_guard_obeys_it(org, api, anna, purposes):
    response = api(org.marketing).post(
        f"/api/contacts/{anna.pk}/consents/",
        {"channel": "call", "status": "do_not_contact", "source": "phone call"},
        format="json",
    )
    assert response.status_code == 201 and response.json()["status"] == "do_not_contact"
    assert (
        api(org.rep)
        .post(f"/api/contacts/{anna.pk}/consents/", {"channel": "fax", "status": "granted"}, format="json")
        .status_code
        == 400
    )
    touch = {"contact": anna.pk, "purpose": purposes["onboarding"].pk, "channel": "call", "override_reason": "x"}
    assert api(org.manager).post("/api/touches/", touch, format="json").status_code == 403
    assert api(org.rep).get(f"/api/contacts/{anna.pk}/").json()["consents"][0]["source"] == "phone call"
