"""The matching engine on every entry path, the review queue, merge and undo, the scan, the command."""

import csv
from datetime import date, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from contacts.duplicates import DuplicateBlocked, DuplicateWarning, candidate_dismiss, contacts_scan
from contacts.matching.engine import contact_keys_refresh
from contacts.matching.quality import measure
from contacts.matching.synthetic import generate
from contacts.merge import merge_undo, records_merge
from contacts.models import (
    ChannelConsent,
    Contact,
    ContactEmail,
    ContactPhone,
    FollowUp,
    GuardLog,
    MatchCandidate,
    MatchingSettings,
    Merge,
    Touch,
)
from contacts.services import (
    account_create,
    consent_set,
    contact_create,
    contact_update,
    followup_create,
    touch_log,
)
from sfa.models import AuditEvent

# --- the engine --------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [11, 12])
def test_quality_on_data_the_thresholds_were_not_tuned_on(seed):
    quality, _ = measure(generate(1500, seed=seed))
    assert quality.precision >= 0.99, quality
    assert quality.recall >= 0.95, quality


# --- entry paths -------------------------------------------------------------------------------


def test_creating_the_same_person_again_warns_then_queues_the_pair(org, anna):
    with pytest.raises(DuplicateWarning) as warned:
        contact_create(
            actor=org.marketing, first_name="anna", last_name="SCHMIDT", emails=["anna.schmidt@acme.example"]
        )
    assert warned.value.candidates[0].id == anna.pk and warned.value.candidates[0].verdict == "same"
    assert Contact.objects.count() == 1  # nothing was created
    twin = contact_create(
        actor=org.marketing,
        first_name="Anna",
        last_name="Schmidt",
        emails=["anna.schmidt@acme.example"],
        allow_duplicate=True,
    )
    pair = MatchCandidate.objects.get()
    assert (pair.a_id, pair.b_id, pair.source) == (anna.pk, twin.pk, "create")


def test_block_mode_refuses_a_sure_duplicate_even_when_allowed(org, anna):
    MatchingSettings.objects.create(contact_mode="block")
    with pytest.raises(DuplicateBlocked):
        contact_create(
            actor=org.rep, first_name="Anna", last_name="Schmidt", phones=["+49 30 1234567"], allow_duplicate=True
        )


def test_different_people_pass_without_a_warning(org, anna):
    contact_create(actor=org.rep, first_name="Hans", last_name="Schmidt", account=anna.account)  # a colleague
    contact_create(
        actor=org.rep, first_name="Anna", last_name="Schmidt", city="Hamburg", emails=["a.schmidt@hamburg.example"]
    )  # a namesake elsewhere
    assert not MatchCandidate.objects.exists()


def test_an_edit_that_reveals_a_duplicate_queues_it(org, anna):
    other = contact_create(actor=org.rep, first_name="Anna", last_name="Schmitt", city="Bonn")
    contact_update(contact=other, actor=org.rep, data={"city": "Berlin"}, phones=["030 1234567"])
    pair = MatchCandidate.objects.get()
    assert pair.source == "edit" and {pair.a_id, pair.b_id} == {anna.pk, other.pk}


def test_the_api_answers_409_with_the_candidates_unless_allowed(org, api, anna):
    body = {"first_name": "Anna", "last_name": "Schmidt", "phone": "+49 (30) 123-4567"}
    refused = api(org.rep_b).post("/api/contacts/", body, format="json")
    assert refused.status_code == 409
    assert refused.json()["candidates"][0]["id"] == anna.pk and refused.json()["blocked"] is False
    created = api(org.rep_b).post("/api/contacts/", {**body, "allow_duplicate": True}, format="json")
    assert created.status_code == 201


def test_the_html_form_asks_is_it_one_of_these(org, login, anna):
    client = login(org.rep)
    form = {"first_name": "Anna", "last_name": "Schmidt", "owner": org.rep.pk, "emails": "anna.schmidt@acme.example"}
    check = client.post("/contacts/check-duplicates/", form, headers={"HX-Request": "true"})
    assert b"Is it one of these?" in check.content and str(anna.pk).encode() in check.content
    refused = client.post("/contacts/new/", form)
    assert refused.status_code == 409 and b"None of these" in refused.content
    assert client.post("/contacts/new/", {**form, "allow_duplicate": "on"}).status_code == 302


# --- merge and undo ----------------------------------------------------------------------------


def related_state(ids):
    """Everything about these contacts that a merge touches, for before/after comparisons."""
    ids = list(ids)
    return {
        "contacts": sorted(
            (
                c.pk,
                c.first_name,
                c.last_name,
                c.title,
                c.account_id,
                c.owner_id,
                c.city,
                c.birth_date,
                c.do_not_contact,
                tuple(c.tags),
                c.merged_into_id,
            )
            for c in Contact.objects.filter(pk__in=ids)
        ),
        "emails": sorted(
            ContactEmail.objects.filter(contact_id__in=ids).values_list("pk", "contact_id", "email", "is_primary")
        ),
        "phones": sorted(
            ContactPhone.objects.filter(contact_id__in=ids).values_list("pk", "contact_id", "e164", "is_primary")
        ),
        "consents": sorted(
            ChannelConsent.objects.filter(contact_id__in=ids).values_list("pk", "contact_id", "channel", "status")
        ),
        "touches": sorted(Touch.objects.filter(contact_id__in=ids).values_list("pk", "contact_id")),
        "followups": sorted(FollowUp.objects.filter(contact_id__in=ids).values_list("pk", "contact_id")),
        "guardlogs": sorted(GuardLog.objects.filter(contact_id__in=ids).values_list("pk", "contact_id")),
        "audit": sorted(
            AuditEvent.objects.filter(object_id__in=[str(i) for i in ids], content_type__model="contact").values_list(
                "pk", "object_id"
            )
        ),
        "pairs": sorted(MatchCandidate.objects.values_list("pk", "status")),
    }


@pytest.fixture
def twins(org, anna, purposes):
    """Anna twice more (three records of one person), each with a history of its own."""
    b = contact_create(
        actor=org.rep,
        first_name="A.",
        last_name="Schmidt",
        title="Buyer",
        emails=["anna@home.example"],
        phones=["030 1234567"],
        birth_date=date(1980, 5, 1),
        tags=["golf"],
        allow_duplicate=True,
    )
    c = contact_create(
        actor=org.rep,
        first_name="Anna",
        last_name="Schmidt",
        emails=["ANNA.SCHMIDT@acme.example"],
        phones=["+49 151 99999999"],
        tags=["wine"],
        allow_duplicate=True,
    )
    touch_log(
        actor=org.rep, contact=b, purpose=purposes["onboarding"], channel="call", at=timezone.now() - timedelta(days=9)
    )
    touch_log(
        actor=org.marketing,
        contact=c,
        purpose=purposes["cross_sell"],
        channel="email",
        at=timezone.now() - timedelta(days=40),
    )
    followup_create(actor=org.rep, contact=b, due=timezone.localdate(), note="Call back")
    consent_set(contact=b, actor=org.rep, channel="email", status="do_not_contact", source="letter")
    consent_set(contact=anna, actor=org.rep, channel="email", status="granted", source="web form")
    return b, c


def test_a_three_way_merge_keeps_everything_and_undo_restores_it_exactly(org, anna, twins):
    b, c = twins
    ids = [anna.pk, b.pk, c.pk]
    before = related_state(ids)
    merge = records_merge(survivor=anna, others=[b, c], actor=org.rep, choices={"title": b.pk})

    anna.refresh_from_db()
    assert anna.title == "Buyer" and anna.birth_date == date(1980, 5, 1)  # chosen; a blank never overwrites
    assert anna.tags == ["golf", "wine"]
    assert set(anna.emails.values_list("email_key", flat=True)) == {"anna.schmidt@acme.example", "anna@home.example"}
    assert set(anna.phones.values_list("e164", flat=True)) == {"+49301234567", "+4915199999999"}
    assert anna.consents.get(channel="email").status == "do_not_contact"  # the strictest wins
    assert Touch.objects.filter(contact=anna).count() == 2 and FollowUp.objects.filter(contact=anna).count() == 1
    assert set(Contact.objects.filter(pk__in=[b.pk, c.pk]).values_list("merged_into", flat=True)) == {anna.pk}
    assert not AuditEvent.objects.filter(object_id__in=[str(b.pk), str(c.pk)], content_type__model="contact").exists()

    merge_undo(merge=merge, actor=org.rep)
    after = related_state(ids)
    # The undo itself and the merge are recorded on the survivor: compare the events that existed before.
    after["audit"] = [e for e in after["audit"] if e in before["audit"]]
    assert after == before


def test_merged_records_lead_to_the_survivor_and_leave_lists_and_search(org, login, anna, twins):
    b, _ = twins
    records_merge(survivor=anna, others=[b], actor=org.rep)
    client = login(org.rep)
    response = client.get(f"/contacts/{b.pk}/")
    assert response.status_code == 302 and response.url == f"/contacts/{anna.pk}/"
    page = client.get(f"/contacts/{anna.pk}/").content.decode()
    assert "merged 1 record" in page and "Undo merge" in page
    assert b.pk not in [c["id"] for c in client.get("/api/contacts/?search=schmidt").json()["results"]]


def test_only_someone_who_may_change_every_record_merges_them(org, anna, bernd):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        records_merge(survivor=anna, others=[bernd], actor=org.rep)  # Bernd is rep_b's
    assert records_merge(survivor=anna, others=[bernd], actor=org.manager).merged_ids == [bernd.pk]


def test_not_a_duplicate_is_remembered_by_the_scan(org, anna, twins):
    contact_keys_refresh(Contact.objects.values_list("pk", flat=True))
    MatchCandidate.objects.all().delete()
    contacts_scan()
    pairs = list(MatchCandidate.objects.filter(status="open"))
    assert pairs
    for pair in pairs:
        candidate_dismiss(candidate=pair, actor=org.rep)
    assert contacts_scan()["queued"] == 0
    assert MatchCandidate.objects.filter(status="open").count() == 0


def test_the_review_page_merges_with_a_field_from_the_other_record(org, login, anna, twins):
    b, _ = twins
    client = login(org.rep)
    pair = MatchCandidate.objects.filter(a_id=anna.pk, b_id=b.pk).first() or MatchCandidate.objects.create(
        subject="contact", a_id=anna.pk, b_id=b.pk, score=0.8, source="scan"
    )
    page = client.get(client.get(f"/duplicates/{pair.pk}/").url).content.decode()
    assert "Are these the same contact?" in page and "differs" in page
    response = client.post(
        "/duplicates/merge/",
        {"subject": "contact", "ids": f"{anna.pk},{b.pk}", "survivor": anna.pk, "field_title": b.pk},
    )
    assert response.status_code == 302
    anna.refresh_from_db()
    assert anna.title == "Buyer"
    pair.refresh_from_db()
    assert pair.status == "merged"


# --- scan job and command ----------------------------------------------------------------------


def test_the_scan_job_fills_the_queue_and_reports_progress(org, anna, twins, django_capture_on_commit_callbacks):
    from contacts.duplicates import duplicates_scan_start
    from sfa.models import Job

    MatchCandidate.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        job = duplicates_scan_start(actor=org.admin, rebuild_keys=True)
    job = Job.objects.get(pk=job.pk)
    assert job.status == "succeeded", job.error
    assert job.result["open"] >= 2 and job.progress == 100


def test_find_duplicates_writes_the_pairs_of_a_csv_file(tmp_path):
    rows = generate(300, seed=5)
    source = tmp_path / "people.csv"
    with source.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "id",
                "Vorname",
                "last_name",
                "email",
                "phone",
                "company",
                "street",
                "city",
                "postcode",
                "country",
                "birth_date",
                "ignored",
            ]
        )
        for r in rows:
            writer.writerow(
                [
                    r.id,
                    r.first_name,
                    r.last_name,
                    r.email,
                    r.phone,
                    r.company,
                    r.street,
                    r.city,
                    r.postcode,
                    r.country,
                    r.birth_date or "",
                    "x",
                ]
            )
    out = tmp_path / "pairs.csv"
    call_command("find_duplicates", str(source), "--output", str(out), "--map", "Vorname=first_name")
    pairs = list(csv.DictReader(out.open()))
    assert pairs and set(pairs[0]) == {"id_a", "id_b", "score"}
    clusters = {r.id: r.cluster for r in rows}
    correct = sum(clusters[int(p["id_a"])] == clusters[int(p["id_b"])] for p in pairs)
    assert correct / len(pairs) >= 0.99 and all(0 <= float(p["score"]) <= 1 for p in pairs)


def test_find_duplicates_links_two_files_and_reports_bad_files(tmp_path):
    from django.core.management import CommandError

    left, right = tmp_path / "a.csv", tmp_path / "b.csv"
    left.write_text("id,first_name,last_name,email\n1,Anna,Schmidt,anna@x.example\n2,Hans,Meier,h@y.example\n")
    right.write_text("id,first_name,last_name,email\n9,ANNA,Schmidt,Anna@X.example\n")
    out = tmp_path / "pairs.csv"
    call_command("find_duplicates", str(left), "--link", str(right), "--output", str(out))
    assert [(p["id_a"], p["id_b"]) for p in csv.DictReader(out.open())] == [("1", "9")]
    (tmp_path / "bad.csv").write_text("name\nx\n")
    with pytest.raises(CommandError, match="no 'id' column"):
        call_command("find_duplicates", str(tmp_path / "bad.csv"), "--output", str(out))
    (tmp_path / "latin.csv").write_bytes("id,last_name\n1,M\xfcller\n".encode("latin-1"))
    with pytest.raises(CommandError, match="UTF-8"):
        call_command("find_duplicates", str(tmp_path / "latin.csv"), "--output", str(out))


def test_the_api_lists_pairs_merges_redirects_old_ids_and_undoes(org, api, anna, twins):
    b, c = twins
    client = api(org.rep)
    pairs = client.get("/api/duplicates/").json()["results"]
    assert {p["b_id"] for p in pairs} >= {b.pk}
    response = client.post(
        "/api/merges/", {"survivor": anna.pk, "others": [b.pk, c.pk], "choices": {"title": b.pk}}, format="json"
    )
    assert response.status_code == 201, response.content
    merge_id = response.json()["id"]
    moved = client.get(f"/api/contacts/{b.pk}/")
    assert moved.status_code == 301 and moved["Location"] == f"/api/contacts/{anna.pk}/"
    assert client.post(f"/api/merges/{merge_id}/undo/").json()["undone_at"]
    assert client.get(f"/api/contacts/{b.pk}/").status_code == 200
    assert (
        api(org.rep_b).post("/api/merges/", {"survivor": anna.pk, "others": [b.pk]}, format="json").status_code == 403
    )
    assert client.post("/api/merges/", {"survivor": anna.pk, "others": [999999]}, format="json").status_code == 400


def test_many_records_are_matched_in_chunks_like_one_by_one(org, anna, bernd):
    from contacts.matching.engine import contact_candidates, contact_candidates_many
    from contacts.matching.score import PersonRecord

    records = [
        PersonRecord(id="r1", first_name="Anna", last_name="Schmidt", phones=["+49301234567"]),
        PersonRecord(id="r2", first_name="Bernd", last_name="Mueller", phones=["+4915123456789"]),
        PersonRecord(id="r3", first_name="Zora", last_name="Neu", city="Köln"),
    ]
    many = contact_candidates_many(records, chunk=2)
    for record in records:
        assert [m.id for m in many[record.id]] == [m.id for m in contact_candidates(record)]
    assert many["r1"][0].id == anna.pk and many["r3"] == []


def test_only_managers_and_admins_start_a_full_scan(org, login, django_capture_on_commit_callbacks):
    from django.core.exceptions import PermissionDenied

    from contacts.duplicates import duplicates_scan_start

    with pytest.raises(PermissionDenied):
        duplicates_scan_start(actor=org.rep)
    assert login(org.rep).post("/duplicates/scan/").status_code == 403
    assert b"Scan all contacts now" not in login(org.rep).get("/duplicates/").content
    with django_capture_on_commit_callbacks(execute=True):
        assert login(org.manager).post("/duplicates/scan/").status_code == 302


# --- settings and accounts through the queue ------------------------------------------------------


def test_admins_switch_the_check_on_create_to_block_per_type_and_reps_cannot(org, login, anna):
    assert login(org.rep).get("/duplicates/settings/").status_code == 403
    client = login(org.admin)
    assert "Duplicate check on create" in client.get("/duplicates/settings/").content.decode()
    bad = client.post("/duplicates/settings/", {"contact_mode": "shout", "account_mode": "warn"})
    assert bad.status_code == 400 and not MatchingSettings.objects.exists()
    response = client.post("/duplicates/settings/", {"contact_mode": "block", "account_mode": "warn"})
    assert response.status_code == 302
    assert (MatchingSettings.objects.get().contact_mode, MatchingSettings.objects.get().account_mode) == (
        "block",
        "warn",
    )
    assert AuditEvent.objects.filter(content_type__model="matchingsettings").exists()
    with pytest.raises(DuplicateBlocked):
        contact_create(actor=org.rep, first_name="Anna", last_name="Schmidt", phones=["+49 30 1234567"])
    # Accounts still only warn: allowed on request.
    account_create(actor=org.rep, name=anna.account.name, city=anna.account.city, allow_duplicate=True)


def test_two_accounts_merge_through_the_queue_with_their_contacts_and_undo(org, login, acme):
    twin = account_create(actor=org.rep, name="ACME Gmbh.", city="Berlin", allow_duplicate=True)
    person = contact_create(actor=org.rep, first_name="Jo", last_name="Twin", account=twin, allow_duplicate=True)
    pair = MatchCandidate.objects.get(subject="account")
    assert {pair.a_id, pair.b_id} == {acme.pk, twin.pk}
    client = login(org.rep)
    page = client.get(client.get(f"/duplicates/{pair.pk}/").url).content.decode()
    assert "Are these the same account?" in page
    response = client.post(
        "/duplicates/merge/", {"subject": "account", "ids": f"{acme.pk},{twin.pk}", "survivor": acme.pk}
    )
    assert response.status_code == 302 and response.url.endswith(f"/{acme.pk}/")
    person.refresh_from_db()
    twin.refresh_from_db()
    assert person.account_id == acme.pk and twin.merged_into_id == acme.pk
    pair.refresh_from_db()
    assert pair.status == "merged"
    assert client.get(f"/accounts/{twin.pk}/").status_code == 302  # the old address leads to the survivor
    merge_undo(merge=Merge.objects.order_by("-id").first(), actor=org.rep)
    person.refresh_from_db()
    twin.refresh_from_db()
    assert person.account_id == twin.pk and twin.merged_into_id is None
