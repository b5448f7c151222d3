"""Importing purchased lists: reading files, mapping, the check, the run as a job, the report, undo,
resuming after a killed worker, and who may do what; over the services, the pages and the API."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from contacts.matching.engine import contact_keys_refresh
from contacts.models import ChannelConsent, Contact, ContactEmail, ContactPhone, MatchKey
from contacts.services import consent_set, contact_create, touch_log
from leads import imports
from leads.imports import (
    lead_import_check,
    lead_import_configure,
    lead_import_rejects,
    lead_import_start,
    lead_import_task,
    lead_import_undo,
    mapping_guess,
)
from leads.models import AssignmentRule, ImportRow, Lead, LeadImport, LeadSource, VendorMapping
from leads.services import lead_create, lead_score
from sfa.models import AuditEvent, Job, JobStatus

HEADER = ["Vorname", "Nachname", "E-Mail", "Telefon", "Firma", "PLZ", "Ort", "Land"]


def csv_text(rows: list[list[str]], header: list[str] = HEADER, delimiter: str = ";") -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def person(i: int, **kwargs) -> list[str]:
    """A valid, distinct row: 'Vorname', 'Nachname', 'E-Mail', 'Telefon', 'Firma', 'PLZ', 'Ort', 'Land'."""
    values = {
        "first": f"Vera{i}",
        "last": f"Neumann{i}",
        "email": f"vera{i}.neumann@list{i}.example",
        "phone": f"0151 {20000000 + i * 7}",
        "company": f"Firma {i} GmbH",
        "postcode": "10115",
        "city": "Berlin",
        "country": "DE",
    }
    values.update(kwargs)
    return [values[k] for k in ("first", "last", "email", "phone", "company", "postcode", "city", "country")]


def run_import(lead_import: LeadImport, actor, capture, on_match: str | None = None) -> LeadImport:
    if on_match:
        lead_import_configure(lead_import=lead_import, actor=actor, on_match=on_match)
    with capture(execute=True):
        lead_import_start(lead_import=lead_import, actor=actor)
    lead_import.refresh_from_db()
    return lead_import


@pytest.fixture
def capture(django_capture_on_commit_callbacks):
    return django_capture_on_commit_callbacks


# --- reading files ---------------------------------------------------------------------------------


def test_utf8_with_bom_and_semicolons(org, import_list):
    text = csv_text([person(1, last="Öztürk"), person(2)])
    imp = import_list(text, charset="utf-8-sig")
    assert imp.encoding == "utf-8-sig" and imp.delimiter == ";" and imp.row_count == 2
    assert imp.header == HEADER  # no byte-order mark stuck to the first column's name
    assert imports.sample_rows(imp, 1)[0][1] == "Öztürk"
    assert imp.mapping == {
        "Vorname": "first_name",
        "Nachname": "last_name",
        "E-Mail": "email",
        "Telefon": "phone",
        "Firma": "company",
        "PLZ": "postcode",
        "Ort": "city",
        "Land": "country",
    }


def test_cp1252_umlauts_are_detected(org, import_list):
    text = csv_text([person(1, first="Jürgen", last="Müller", city="Köln"), person(2, last="Weiß")])
    imp = import_list(text, charset="cp1252")
    assert imp.encoding == "cp1252"
    rows = imports.sample_rows(imp, 2)
    assert rows[0][:2] == ["Jürgen", "Müller"] and rows[0][6] == "Köln" and rows[1][1] == "Weiß"


def test_latin1_french_accents_are_read(org, import_list):
    header = ["Prénom", "Nom", "Courriel", "Société", "Code postal", "Ville", "Pays"]
    text = csv_text(
        [["François", "Lefèvre", "f.lefevre@exemple.fr", "Crédit Agricole", "75001", "Paris", "France"]], header
    )
    imp = import_list(text, charset="latin-1")
    assert imp.encoding in ("cp1252", "latin_1", "iso8859_15")
    assert imports.sample_rows(imp, 1)[0][:2] == ["François", "Lefèvre"]
    assert imp.mapping == {
        "Prénom": "first_name",
        "Nom": "last_name",
        "Courriel": "email",
        "Société": "company",
        "Code postal": "postcode",
        "Ville": "city",
        "Pays": "country",
    }


def test_utf16_with_tabs(org, import_list):
    imp = import_list(csv_text([person(1, last="Groß")], delimiter="\t"), charset="utf-16")
    assert imp.encoding == "utf-16" and imp.delimiter == "\t"
    assert imports.sample_rows(imp, 1)[0][1] == "Groß"


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiters_are_sniffed(org, import_list, delimiter):
    rows = [person(1, company="Müller, Meier & Co"), person(2)]
    imp = import_list(csv_text(rows, delimiter=delimiter))
    assert imp.delimiter == delimiter and imp.row_count == 2
    assert imports.sample_rows(imp, 1)[0][4] == "Müller, Meier & Co"


def test_an_xlsx_workbook_is_read(org, import_list):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["First name", "Last name", "Email", "Phone", "Zip", "City", "Country"])
    sheet.append(["Anne", "Fischer", "anne@fischer.example", "+49 151 23456780", 10115, "Berlin", "Germany"])
    sheet.append([None, None, None, None, None, None, None])
    sheet.append(["Paul", "Weber", "paul@weber.example", None, 80331, "München", "DE"])
    data = io.BytesIO()
    book.save(data)
    imp = import_list(data.getvalue(), name="list.xlsx")
    assert imp.encoding == "xlsx" and imp.row_count == 2
    assert imports.sample_rows(imp, 2) == [
        ["Anne", "Fischer", "anne@fischer.example", "+49 151 23456780", "10115", "Berlin", "Germany"],
        ["Paul", "Weber", "paul@weber.example", "", "80331", "München", "DE"],
    ]
    assert imp.mapping["Zip"] == "postcode" and imp.mapping["Email"] == "email"


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"", "list.csv", "The file is empty."),
        (b"  \r\n\r\n", "list.csv", "The file is empty."),
        (b"Vorname;Nachname\r\n", "list.csv", "header line but no rows"),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "list.csv", "is an image"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(300), "list.xls", "old Excel file"),
        (bytes(range(256)) * 40, "list.csv", "not a text file"),
        (b"PK\x03\x04 not really a zip", "list.xlsx", "not a readable Excel workbook"),
        (b"Anna;Schmidt;anna@example.com\r\nBernd;Meier;b@example.com\r\n", "list.csv", "looks like data"),
    ],
    ids=["empty", "blank", "header-only", "image", "xls", "binary", "broken-xlsx", "headerless"],
)
def test_files_that_cannot_be_lists_are_refused_and_nothing_is_stored(
    org, import_list, tmp_path, content, name, message
):
    with pytest.raises(ValidationError) as caught:
        import_list(content, name=name)
    assert message in " ".join(caught.value.messages)
    assert LeadImport.objects.count() == 0
    assert not (tmp_path / "media").exists() or not any((tmp_path / "media").rglob("*.*"))


def test_a_wrongly_encoded_file_says_which_line(org, import_list):
    good = csv_text([person(1, last="Müller")] + [person(i) for i in range(2, 3000)])
    bad = csv_text([person(3000, last="Weiß")]).split("\r\n", 1)[1]
    content = good.encode("utf-8") + bad.encode("cp1252")  # UTF-8 that turns into Windows-1252 on the last line
    with pytest.raises(ValidationError) as caught:
        import_list(content)
    assert "not readable as UTF-8" in caught.value.messages[0] and "line 3,001" in caught.value.messages[0]
    assert LeadImport.objects.count() == 0


def test_an_encoding_chosen_by_the_user_is_checked(org, import_list):
    content = csv_text([person(1, last="Müller")])
    with pytest.raises(ValidationError, match="not readable as UTF-8"):
        import_list(content, charset="cp1252", encoding="utf-8")
    assert import_list(content, charset="cp1252", encoding="latin_1").encoding == "latin_1"


def test_limits_of_size_and_rows_are_enforced(org, import_list, settings):
    settings.LEAD_IMPORT_MAX_BYTES = 200
    with pytest.raises(ValidationError, match="at most 0 KB can be imported"):
        import_list(csv_text([person(i) for i in range(1, 10)]))
    settings.LEAD_IMPORT_MAX_BYTES = 10_000
    settings.LEAD_IMPORT_MAX_ROWS = 3
    with pytest.raises(ValidationError, match="more than 3 rows"):
        import_list(csv_text([person(i) for i in range(1, 5)]))
    assert import_list(csv_text([person(i) for i in range(1, 4)])).row_count == 3
    assert "3 rows" in imports.limits_text()


def test_a_rep_may_not_import(org, import_list):
    with pytest.raises(PermissionDenied):
        import_list(csv_text([person(1)]), actor=org.rep)


# --- mapping -----------------------------------------------------------------------------------------


def test_the_mapping_is_guessed_from_english_german_and_french_names():
    header = [
        "Anrede",
        "Prénom",
        "Familienname",
        "E-Mail-Adresse",
        "Handy",
        "Straße",
        "Postleitzahl",
        "Stadt",
        "Bemerkung",
        "Titel",
    ]
    assert mapping_guess(header) == {
        "Anrede": "ignore",
        "Prénom": "first_name",
        "Familienname": "last_name",
        "E-Mail-Adresse": "email",
        "Handy": "phone",
        "Straße": "street",
        "Postleitzahl": "postcode",
        "Stadt": "city",
        "Bemerkung": "notes",
        "Titel": "title",
    }
    assert mapping_guess(["Name", "Vorname", "Email 2"]) == {
        "Name": "last_name",
        "Vorname": "first_name",
        "Email 2": "email",
    }
    assert mapping_guess(["Telefon", "Mobil"])["Mobil"] == "ignore"  # one column per field


def test_the_mapping_is_remembered_per_vendor(org, import_list):
    header = ["Vorname", "Nachname", "Erreichbar unter", "Ort"]
    first = import_list(csv_text([["Eva", "Roth", "030 1234567", "Berlin"]], header), vendor="Adress-Profi")
    assert first.mapping["Erreichbar unter"] == "ignore"
    lead_import_configure(lead_import=first, actor=org.manager, mapping={"Erreichbar unter": "phone", "Ort": "ignore"})
    assert VendorMapping.objects.get(vendor="Adress-Profi").mapping["Erreichbar unter"] == "phone"
    again = import_list(csv_text([["Max", "Roth", "030 7654321", "Bonn"]], header), vendor="adress-profi ")
    assert again.mapping == {
        "Vorname": "first_name",
        "Nachname": "last_name",
        "Erreichbar unter": "phone",
        "Ort": "ignore",
    }
    other = import_list(csv_text([["Max", "Roth", "030 7654321", "Bonn"]], header), vendor="Someone else")
    assert other.mapping["Erreichbar unter"] == "ignore" and other.mapping["Ort"] == "city"
    assert VendorMapping.objects.count() == 1


def test_a_mapping_must_name_the_last_name_once(org, import_list):
    imp = import_list(csv_text([person(1)]))
    with pytest.raises(ValidationError) as caught:
        lead_import_configure(lead_import=imp, actor=org.manager, mapping={"Nachname": "ignore", "Firma": "email"})
    text = " ".join(caught.value.messages)
    assert "last name" in text and "E-mail is chosen for 2 columns" in text
    imp.refresh_from_db()
    assert imp.mapping["Nachname"] == "last_name"


# --- the check -------------------------------------------------------------------------------------


@pytest.fixture
def known_people(org, anna):
    """anna (a customer), a prospect with an open lead, and a customer another team owns."""
    lead = lead_create(
        actor=org.manager,
        person={"first_name": "Lena", "last_name": "Vogel", "email": "lena.vogel@vogel.example"},
        source=LeadSource.WEB_FORM,
    )
    other = contact_create(
        actor=org.rep_other,
        first_name="Otto",
        last_name="Sommer",
        emails=["otto.sommer@sommer.example"],
        city="Hamburg",
    )
    return {"anna": anna, "lena": lead.contact, "lena_lead": lead, "otto": other}


def mixed_rows() -> list[list[str]]:
    return [
        person(1),  # line 2: new
        ["Anna", "Schmidt", "anna.schmidt@acme.example", "", "Acme GmbH", "", "Berlin", "DE"],  # 3: customer
        ["Lena", "Vogel", "LENA.VOGEL@vogel.example", "", "", "", "", ""],  # 4: a prospect with an open lead
        person(5, phone="12"),  # 5: bad phone
        person(6, email="vera6@"),  # 6: bad e-mail
        person(7, last=""),  # 7: no last name
        person(8, company="X" * 201),  # 8: too long
        person(1, phone=""),  # 9: the same person as line 2
        person(10, country="Atlantis"),  # 10: not a country
    ]


def test_the_check_gives_each_row_its_verdict_without_writing(org, known_people, import_list):
    imp = import_list(csv_text(mixed_rows()))
    before = (Contact.objects.count(), Lead.objects.count())
    imp = lead_import_check(lead_import=imp, actor=org.manager)
    assert imp.status == LeadImport.Status.PREVIEWED
    assert (Contact.objects.count(), Lead.objects.count()) == before
    tally = imp.preview["tally"]
    assert tally["verdict:new"] == 1 and tally["verdict:contact"] == 1 and tally["verdict:lead"] == 1
    assert tally["verdict:in_file"] == 1 and tally["verdict:invalid"] == 5
    samples = imp.preview["samples"]
    reasons = {row["number"]: row["errors"] for row in samples["invalid"]}
    assert "not a valid phone number" in reasons[5][0]
    assert "not an e-mail address" in reasons[6][0]
    assert reasons[7] == ["The last name is missing."]
    assert reasons[8] == ["Company is too long (201 characters, at most 200)."]
    assert "not a country" in reasons[10][0]
    assert samples["in_file"][0]["duplicate_of"] == 2
    contact = samples["contact"][0]
    assert contact["match"]["id"] == known_people["anna"].pk and contact["match"]["kind"] == "customer"
    assert "same e-mail" in contact["reasons"]
    assert samples["lead"][0]["match"]["lead_id"] == known_people["lena_lead"].pk


def test_duplicates_across_chunks_are_found_by_the_check_and_the_run(org, import_list, capture, monkeypatch):
    monkeypatch.setattr(imports, "CHUNK", 3)
    rows = [person(i) for i in range(1, 8)] + [person(2, phone="", company="")]  # line 9 repeats line 3
    imp = lead_import_check(lead_import=import_list(csv_text(rows)), actor=org.manager)
    assert imp.preview["tally"]["verdict:in_file"] == 1
    assert imp.preview["samples"]["in_file"][0]["duplicate_of"] == 3
    imp = run_import(imp, org.manager, capture)
    row = ImportRow.objects.get(lead_import=imp, number=9)
    assert row.verdict == ImportRow.Verdict.IN_FILE and row.duplicate_of == 3 and row.result == "skipped"
    assert Lead.objects.filter(lead_import=imp).count() == 7


def test_a_big_list_is_checked_by_a_job(org, import_list, capture, monkeypatch):
    monkeypatch.setattr(imports, "SYNC_CHECK_ROWS", 2)
    imp = import_list(csv_text([person(i) for i in range(1, 6)]))
    with capture(execute=True):
        imp = lead_import_check(lead_import=imp, actor=org.manager)
        assert imp.status == LeadImport.Status.CHECKING
    imp.refresh_from_db()
    assert imp.status == LeadImport.Status.PREVIEWED and imp.preview["tally"]["verdict:new"] == 5
    assert imp.job.kind == "lead_import_check" and imp.job.status == JobStatus.SUCCEEDED


# --- the run and what happens to matches ----------------------------------------------------------


def test_new_rows_become_prospects_with_leads_keys_and_scores(org, import_list, capture):
    rows = [person(1, first="Jürgen", last="Müller"), person(2, email=""), ["", "Ohnevorname", "", "", "", "", "", ""]]
    imp = run_import(import_list(csv_text(rows), cost="300"), org.manager, capture)
    assert imp.status == LeadImport.Status.DONE
    leads = Lead.objects.filter(lead_import=imp).select_related("contact").order_by("id")
    assert leads.count() == 3
    lead = leads[0]
    contact = lead.contact
    assert contact.is_prospect and contact.first_key == "jurgen" and contact.last_key == "muller"
    assert contact.owner == org.manager and lead.owner is None  # no rule: the unassigned queue
    assert (lead.source, lead.source_detail, lead.company) == ("purchased_list", "Messe 2026", "Firma 1 GmbH")
    assert list(contact.emails.values_list("email", "is_primary")) == [("vera1.neumann@list1.example", True)]
    assert list(contact.phones.values_list("e164", flat=True)) == ["+4915120000007"]
    assert set(MatchKey.objects.filter(subject="contact", object_id=contact.pk).values_list("key", flat=True)) == {
        k.key for k in _refreshed_keys(contact)
    }
    for lead in leads:  # the bulk scores are the ones lead_score gives
        stored = (lead.score, lead.score_reasons, lead.score_model)
        lead_score(lead=lead)
        assert stored == (lead.score, lead.score_reasons, lead.score_model)
    assert imp.counts["leads"] == 3 and imp.counts["cost_per_lead"] == "100.00"
    assert AuditEvent.objects.filter(object_id=str(imp.pk), verb="imported").exists()


def test_a_rows_keys_are_the_engines_lookup_keys():
    from contacts.matching.keys import person_lookup_keys
    from contacts.matching.synthetic import generate

    columns = list(enumerate(["first_name", "last_name", "email", "phone", "company", "street", "postcode", "city"]))
    for person in generate(people=300, seed=5):
        cells = [person.first_name, person.last_name, person.email, person.phone, person.company, person.street]
        row = imports.clean_row(2, [*cells, person.postcode, person.city], columns, 8)
        if row.record is not None:
            assert imports._lookup_keys(row) == {k[:200] for k in person_lookup_keys(row.record)}


def _refreshed_keys(contact: Contact) -> list[MatchKey]:
    contact_keys_refresh([contact.pk])
    return list(MatchKey.objects.filter(subject="contact", object_id=contact.pk))


def test_assignment_rules_give_the_new_leads_owners(org, import_list, capture):
    from sfa.models import Team

    north = Team.objects.get(name="North")
    AssignmentRule.objects.create(name="Germany", country="DE", team=north)
    rows = [person(1), person(2), person(3), person(4, country="FR", phone="")]
    imp = run_import(import_list(csv_text(rows)), org.manager, capture)
    owners = list(Lead.objects.filter(lead_import=imp).order_by("id").values_list("owner__username", flat=True))
    assert owners == ["rep", "rep_b", "rep", None]
    lead = Lead.objects.filter(lead_import=imp).order_by("id").first()
    assert lead.contact.owner == org.rep and lead.team == north and lead.assigned_at
    assert AssignmentRule.objects.get().last_assigned == org.rep


def test_skip_leaves_known_people_alone(org, known_people, import_list, capture):
    imp = run_import(import_list(csv_text(mixed_rows())), org.manager, capture, on_match="skip")
    anna = known_people["anna"]
    assert not Lead.objects.filter(contact=anna).exists()
    assert ImportRow.objects.get(lead_import=imp, number=3).result == "skipped"
    assert imp.counts["results"] == {"created": 1, "skipped": 3, "rejected": 5}


def test_attach_puts_a_lead_on_the_known_person(org, known_people, import_list, capture, purposes):
    anna, lena = known_people["anna"], known_people["lena"]
    for channel, direction in (("call", "in"), ("web", "in"), ("email", "out")):
        touch_log(actor=org.rep, contact=anna, purpose=purposes["onboarding"], channel=channel, direction=direction)
    imp = run_import(import_list(csv_text(mixed_rows())), org.manager, capture, on_match="attach")
    lead = Lead.objects.get(lead_import=imp, contact=anna)
    assert lead.source == "purchased_list" and lead.score is not None
    for attached in Lead.objects.filter(lead_import=imp):  # scored in bulk as lead_score scores one
        stored = (attached.score, attached.score_reasons, attached.score_model)
        lead_score(lead=attached)
        assert stored == (attached.score, attached.score_reasons, attached.score_model)
    assert "+ contacted us" in lead.score_reasons or "+ built a product online" in lead.score_reasons
    assert Lead.objects.filter(contact=lena).count() == 2
    assert Contact.objects.filter(last_name="Schmidt").count() == 1  # no second Anna
    assert imp.counts["results"] == {"created": 1, "attached": 2, "skipped": 1, "rejected": 5}
    assert imp.counts["cost_per_lead"] == "0.00"


def test_update_fills_blanks_only_audits_and_respects_ownership(org, known_people, import_list, capture):
    anna, otto = known_people["anna"], known_people["otto"]
    rows = [
        ["Anna", "Schmidt", "anna.schmidt@acme.example", "030 7654321", "Acme GmbH", "10115", "Berlin", "DE"],
        ["Otto", "Sommer", "otto.sommer@sommer.example", "040 1234567", "", "20095", "Hamburg", "DE"],
    ]
    header = [*HEADER[:2], "E-Mail", "Telefon", "Firma", "PLZ", "Ort", "Land"]
    imp = import_list(csv_text(rows, header))
    imp = run_import(imp, org.manager, capture, on_match="update")
    anna.refresh_from_db()
    assert anna.postcode == "" and anna.city == "Berlin"  # an address is filled only as a whole
    assert list(anna.phones.values_list("e164", flat=True)) == ["+49301234567"]  # had one: kept
    row = ImportRow.objects.get(lead_import=imp, number=2)
    assert row.result == "skipped" and row.notes[-1]["kind"] == "nothing_new"
    otto_row = ImportRow.objects.get(lead_import=imp, number=3)
    assert otto_row.result == "skipped" and any(n["kind"] == "not_allowed" for n in otto_row.notes)
    otto.refresh_from_db()
    assert not otto.phones.exists()
    # the admin may change anyone: Otto's blanks are filled, audited, and no lead is made
    imp2 = run_import(import_list(csv_text(rows[1:], header), actor=org.admin), org.admin, capture, on_match="update")
    otto.refresh_from_db()
    assert otto.country == "DE" and list(otto.phones.values_list("e164", flat=True)) == ["+49401234567"]
    assert otto.postcode == ""  # he has a city: the list's address is not mixed into his
    assert not Lead.objects.filter(lead_import=imp2).exists()
    event = AuditEvent.objects.filter(object_id=str(otto.pk), action="update").latest("at")
    assert event.changes == {"country": ["", "DE"], "phones": [[], ["+49401234567"]]}
    assert "list import" in event.note


def test_do_not_contact_is_respected_and_consent_never_written(org, known_people, import_list, capture):
    anna, lena = known_people["anna"], known_people["lena"]
    Contact.objects.filter(pk=anna.pk).update(do_not_contact=True, do_not_contact_source="letter 2026-01-12")
    consent_set(contact=lena, actor=org.manager, channel="email", status=ChannelConsent.Status.DO_NOT_CONTACT)
    imp = import_list(csv_text(mixed_rows()))
    imp = lead_import_check(lead_import=imp, actor=org.manager)
    assert imports.plan(imp.preview, "attach")["do_not_contact"] == 1
    imp = run_import(imp, org.manager, capture, on_match="attach")
    assert not Lead.objects.filter(contact=anna).exists()
    anna_row = ImportRow.objects.get(lead_import=imp, number=3)
    assert anna_row.result == "skipped" and any(n["kind"] == "do_not_contact" for n in anna_row.notes)
    lena_lead = Lead.objects.get(lead_import=imp, contact=lena)
    assert "E-mail: do not contact" in lena_lead.notes
    assert any(n["kind"] == "restricted" for n in ImportRow.objects.get(lead_import=imp, number=4).notes)
    assert imp.counts["notes"]["do_not_contact"] == 1 and imp.counts["notes"]["restricted"] == 1
    assert list(lena.consents.values_list("channel", "status")) == [("email", "do_not_contact")]
    assert ChannelConsent.objects.count() == 1
    anna.refresh_from_db()
    assert anna.do_not_contact


def test_possible_matches_go_to_the_review_queue(org, anna, import_list, capture):
    from contacts.models import MatchCandidate

    rows = [["Anna", "Schmidt", "", "", "", "", "Berlin", "DE"]]  # same name and city, nothing else: review
    imp = run_import(import_list(csv_text(rows)), org.manager, capture)
    row = ImportRow.objects.get(lead_import=imp)
    assert row.verdict == "new" and row.notes[0]["kind"] == "review"
    pair = MatchCandidate.objects.get()
    assert {pair.a_id, pair.b_id} == {anna.pk, row.contact_id_created} and pair.source == "import"


# --- report, rejects, undo -------------------------------------------------------------------------


def test_the_rejects_csv_has_the_reasons_and_the_files_own_columns(org, known_people, import_list, capture):
    imp = run_import(import_list(csv_text(mixed_rows())), org.manager, capture)
    text = "".join(lead_import_rejects(lead_import=imp, actor=org.manager))
    assert text.startswith("\ufeff")
    lines = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    assert lines[0] == ["line", "reasons", *HEADER]
    assert [line[0] for line in lines[1:]] == ["5", "6", "7", "8", "10"]
    assert lines[3][1] == "The last name is missing." and lines[3][2:] == person(7, last="")
    with pytest.raises(PermissionDenied):
        list(lead_import_rejects(lead_import=imp, actor=org.manager_b))


def test_undo_removes_leads_and_prospects_and_reverts_updates(org, known_people, import_list, capture, purposes):
    bernd = contact_create(actor=org.rep, first_name="Bernd", last_name="Kraus", city="Bonn", phones=["0228 123456"])
    rows = [*mixed_rows(), ["Bernd", "Kraus", "bernd@kraus.example", "0228 123456", "", "", "Bonn", "DE"], person(20)]
    imp = run_import(import_list(csv_text(rows)), org.manager, capture, on_match="update")
    assert imp.counts["results"]["updated"] == 1
    assert list(bernd.emails.values_list("email", flat=True)) == ["bernd@kraus.example"]
    created = list(
        ImportRow.objects.filter(lead_import=imp)
        .exclude(contact_id_created=None)
        .values_list("contact_id_created", flat=True)
    )
    assert len(created) == 2
    touched = Contact.objects.get(pk=created[1])  # someone called this new prospect meanwhile: it must stay
    touch_log(actor=org.rep, contact=touched, purpose=purposes["onboarding"], channel="call")
    summary = lead_import_undo(lead_import=imp, actor=org.manager)
    assert summary == {
        "leads_removed": 2,
        "leads_kept": 0,
        "prospects_removed": 1,
        "prospects_kept": 1,
        "kept_because": {"touches": 1},
        "updates_reverted": 1,
        "updates_kept": 0,
    }
    assert not Lead.objects.filter(lead_import=imp).exists()
    assert not Contact.objects.filter(pk=created[0]).exists() and Contact.objects.filter(pk=created[1]).exists()
    assert not ContactEmail.objects.filter(contact_id=created[0]).exists()
    assert not ContactPhone.objects.filter(contact_id=created[0]).exists()
    assert not MatchKey.objects.filter(subject="contact", object_id=created[0]).exists()
    assert not bernd.emails.exists()
    assert MatchKey.objects.filter(subject="contact", object_id=bernd.pk, key__startswith="e:").count() == 0
    imp.refresh_from_db()
    assert imp.status == LeadImport.Status.UNDONE and imp.counts["undo"] == summary
    assert Lead.objects.filter(pk=known_people["lena_lead"].pk).exists()  # not the import's: untouched
    with pytest.raises(ValidationError, match="undone already"):
        lead_import_undo(lead_import=imp, actor=org.manager)


def test_undo_keeps_a_field_someone_changed_since(org, import_list, capture):
    kurt = contact_create(actor=org.manager, first_name="", last_name="Lang", emails=["kurt@lang.example"], city="Ulm")
    rows = [["Kurt", "Lang", "kurt@lang.example", "", "", "", "Ulm", "DE"]]
    imp = run_import(import_list(csv_text(rows)), org.manager, capture, on_match="update")
    kurt.refresh_from_db()
    assert kurt.first_name == "Kurt" and kurt.first_key == "kurt" and kurt.country == "DE"
    Contact.objects.filter(pk=kurt.pk).update(first_name="Kurt-Werner")
    summary = lead_import_undo(lead_import=imp, actor=org.manager)
    kurt.refresh_from_db()
    assert kurt.first_name == "Kurt-Werner" and kurt.country == ""
    assert summary["updates_reverted"] == 1 and summary["updates_kept"] == 1


# --- a worker killed mid-import ---------------------------------------------------------------------


class WorkerKilled(BaseException):
    """Stands in for SIGKILL (as in tests/test_jobs.py): not an Exception, so nothing can record it."""


def test_a_killed_worker_resumes_after_the_last_committed_chunk(org, anna, import_list, capture, monkeypatch):
    monkeypatch.setattr(imports, "CHUNK", 4)
    rows = [person(i) for i in range(1, 11)]
    rows[6] = ["Anna", "Schmidt", "anna.schmidt@acme.example", "", "", "", "Berlin", "DE"]  # line 8: a match
    rows.append(person(3, phone=""))  # line 12: the same person as line 4, in another chunk
    imp = import_list(csv_text(rows))
    lead_import_configure(lead_import=imp, actor=org.manager, on_match="attach")
    original, calls = imports._Writer.write, []

    def dying_write(self, chunk, pairs):
        calls.append(chunk[0].number)
        original(self, chunk, pairs)  # the second chunk's rows are written …
        if len(calls) == 2:
            raise WorkerKilled  # … and the worker dies before the transaction commits

    monkeypatch.setattr(imports._Writer, "write", dying_write)
    with pytest.raises(WorkerKilled), capture(execute=True):
        lead_import_start(lead_import=imp, actor=org.manager)
    job = Job.objects.get(kind="lead_import")
    assert job.status == JobStatus.RUNNING and job.state["last_row"] == 5
    assert list(ImportRow.objects.filter(lead_import=imp).values_list("number", flat=True)) == [2, 3, 4, 5]
    assert Lead.objects.filter(lead_import=imp).count() == 4
    assert Contact.objects.filter(is_prospect=True).count() == 4  # nothing of the dead chunk remains

    monkeypatch.setattr(imports._Writer, "write", original)
    lead_import_task.delay(str(job.pk))  # the broker redelivers the unacknowledged task
    job.refresh_from_db()
    imp.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.attempts == 2
    assert imp.status == LeadImport.Status.DONE
    numbers = list(ImportRow.objects.filter(lead_import=imp).order_by("number").values_list("number", flat=True))
    assert numbers == list(range(2, 13))
    assert ImportRow.objects.get(lead_import=imp, number=12).duplicate_of == 4  # found across the restart
    assert Lead.objects.filter(lead_import=imp).count() == 10  # 9 new + 1 on Anna, none twice
    assert Contact.objects.filter(is_prospect=True).count() == 9
    assert ContactEmail.objects.filter(email_key="vera3.neumann@list3.example").count() == 1
    assert imp.counts["rows"] == 11 and imp.counts["results"] == {"created": 9, "attached": 1, "skipped": 1}


def test_a_failing_run_can_be_started_again_and_goes_on(org, import_list, capture, monkeypatch):
    monkeypatch.setattr(imports, "CHUNK", 2)
    imp = import_list(csv_text([person(i) for i in range(1, 6)]))
    original, calls = imports._Writer.write, []

    def failing_write(self, chunk, pairs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        original(self, chunk, pairs)

    monkeypatch.setattr(imports._Writer, "write", failing_write)
    imp = run_import(imp, org.manager, capture)
    assert imp.status == LeadImport.Status.FAILED and "disk full" in imp.message
    assert imp.job.status == JobStatus.FAILED
    monkeypatch.setattr(imports._Writer, "write", original)
    imp = run_import(imp, org.manager, capture)
    assert imp.status == LeadImport.Status.DONE and Lead.objects.filter(lead_import=imp).count() == 5
    assert Job.objects.filter(kind="lead_import").count() == 2


# --- who may do what ----------------------------------------------------------------------------------


def test_only_the_importer_and_admins_see_an_import(org, import_list, login):
    imp = import_list(csv_text([person(1)]))
    assert login(org.rep).get(reverse("leads:import-list")).status_code == 403
    assert login(org.rep).get(reverse("leads:import-upload")).status_code == 403
    assert login(org.manager_b).get(reverse("leads:import-detail", args=[imp.pk])).status_code == 404
    page = login(org.manager_b).get(reverse("leads:import-list"))
    assert page.status_code == 200 and imp.list_name not in page.content.decode()
    assert login(org.admin).get(reverse("leads:import-mapping", args=[imp.pk])).status_code == 200
    with pytest.raises(PermissionDenied):
        lead_import_undo(lead_import=imp, actor=org.rep)


# --- the wizard over HTTP -----------------------------------------------------------------------------


def test_the_wizard_from_upload_to_undo(org, known_people, login, import_upload, capture, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    client = login(org.manager)
    header = ["Vorname", "Nachname", "Mail", "Erreichbar unter", "Ort"]
    rows = [
        ["Vera", "Neu", "vera@neu.example", "0151 23456789", "Köln"],
        ["Anna", "Schmidt", "anna.schmidt@acme.example", "", "Berlin"],
        ["Kai", "", "kai@x.example", "", ""],
    ]
    upload = import_upload(csv_text(rows, header), charset="cp1252")
    page = client.get(reverse("leads:import-upload"))
    assert page.status_code == 200 and "500,000 rows" in page.content.decode()
    response = client.post(
        reverse("leads:import-upload"),
        {"vendor": "Messe-Daten", "list_name": "Köln 2026", "cost": "90", "currency": "EUR", "file": upload},
    )
    imp = LeadImport.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("leads:import-mapping", args=[imp.pk])
    page = client.get(response["Location"]).content.decode()
    assert "Erreichbar unter" in page and "Köln" in page and "Windows-1252" in page

    fields = {f"col_{i}": imp.mapping[c] for i, c in enumerate(header)}
    partial = client.post(
        reverse("leads:import-mapping", args=[imp.pk]),
        {**fields, "col_0": "last_name", "validate": "1"},
        headers={"HX-Request": "true"},
    )
    assert partial.status_code == 200 and "Last name is chosen for 2 columns" in partial.content.decode()
    assert "<html" not in partial.content.decode()

    response = client.post(reverse("leads:import-mapping", args=[imp.pk]), {**fields, "col_3": "phone"})
    assert response["Location"] == reverse("leads:import-preview", args=[imp.pk])
    imp.refresh_from_db()
    assert imp.status == LeadImport.Status.PREVIEWED and imp.mapping["Erreichbar unter"] == "phone"
    page = client.get(response["Location"]).content.decode()
    assert "Matches a contact" in page and "The last name is missing." in page

    plan = client.post(
        reverse("leads:import-on-match", args=[imp.pk]), {"on_match": "attach"}, headers={"HX-Request": "true"}
    )
    assert "add <strong>1</strong> lead" in plan.content.decode()

    with capture(execute=True):
        response = client.post(reverse("leads:import-run", args=[imp.pk]), {"on_match": "attach"})
    assert response["Location"] == reverse("leads:import-detail", args=[imp.pk])
    report = client.get(response["Location"]).content.decode()
    assert "cost per lead" in report and "45.00" in report and "Download the 1 rejected row" in report

    status = client.get(reverse("leads:import-status", args=[imp.pk]), headers={"HX-Request": "true"})
    assert status["HX-Redirect"] == reverse("leads:import-detail", args=[imp.pk])

    rejects = client.get(reverse("leads:import-rejects", args=[imp.pk]))
    assert rejects["Content-Type"].startswith("text/csv") and "koln-2026-rejected.csv" in rejects["Content-Disposition"]
    body = b"".join(rejects.streaming_content).decode()
    assert "The last name is missing." in body and "kai@x.example" in body

    assert "Yes, undo the import" in client.get(reverse("leads:import-undo", args=[imp.pk])).content.decode()
    client.post(reverse("leads:import-undo", args=[imp.pk]))
    imp.refresh_from_db()
    assert imp.status == LeadImport.Status.UNDONE and not Lead.objects.filter(lead_import=imp).exists()
    assert "This import was undone" in client.get(reverse("leads:import-detail", args=[imp.pk])).content.decode()


def test_the_upload_page_explains_a_refused_file(org, login, import_upload, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    response = login(org.manager).post(
        reverse("leads:import-upload"),
        {"vendor": "V", "list_name": "L", "currency": "EUR", "file": import_upload(b"\x00\x01\x02" * 500)},
    )
    assert response.status_code == 400 and "not a text file" in response.content.decode()
    assert LeadImport.objects.count() == 0


# --- the API ------------------------------------------------------------------------------------------


def test_the_api_from_upload_to_undo(org, known_people, api, import_upload, capture, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    client = api(org.manager)
    upload = import_upload(csv_text(mixed_rows(), delimiter=","), name="fair.csv")
    response = client.post(
        "/api/lead-imports/",
        {"file": upload, "vendor": "Data AG", "list_name": "Fair", "cost": "70.00", "currency": "eur"},
        format="multipart",
    )
    assert response.status_code == 201, response.data
    data = response.data
    assert data["header"] == HEADER and data["mapping"]["E-Mail"] == "email" and data["delimiter"] == ","
    assert data["status"] == "uploaded" and data["currency"] == "EUR" and data["cost"] == "70.00"
    pk = data["id"]

    bad = client.patch(f"/api/lead-imports/{pk}/", {"mapping": {"Nachname": "ignore"}}, format="json")
    assert bad.status_code == 400 and "last name" in str(bad.data["mapping"])
    ok = client.post(
        f"/api/lead-imports/{pk}/mapping/", {"mapping": {"Firma": "ignore"}, "on_match": "attach"}, format="json"
    )
    assert ok.status_code == 200 and ok.data["mapping"]["Firma"] == "ignore" and ok.data["on_match"] == "attach"

    checked = client.post(f"/api/lead-imports/{pk}/preview/")
    assert checked.status_code == 200 and checked.data["status"] == "previewed"
    # the company no longer counts, so the row with a company too long is a new person now
    assert checked.data["preview"]["tally"]["verdict:invalid"] == 4 and checked.data["plan"]["attached"] == 2

    with capture(execute=True):
        started = client.post(f"/api/lead-imports/{pk}/run/")
    assert started.status_code == 202 and started.data["job"]["kind"] == "lead_import"
    status = client.get(f"/api/lead-imports/{pk}/")
    assert status.data["status"] == "done" and status.data["job"]["status"] == "succeeded"
    assert status.data["counts"]["results"] == {"created": 2, "attached": 2, "skipped": 1, "rejected": 4}
    assert status.data["counts"]["cost_per_lead"] == "17.50"

    rejects = client.get(status.data["rejects_url"])
    assert rejects.status_code == 200 and rejects["Content-Type"].startswith("text/csv")
    assert b"The last name is missing." in b"".join(rejects.streaming_content)

    assert client.post(f"/api/lead-imports/{pk}/run/").status_code == 400
    undone = client.post(f"/api/lead-imports/{pk}/undo/")
    assert undone.status_code == 200 and undone.data["leads_removed"] == 4 and undone.data["prospects_removed"] == 2
    assert [i["id"] for i in client.get("/api/lead-imports/").data["results"]] == [pk]


def test_the_api_is_scoped_by_the_import_policy(org, import_list, api, import_upload):
    imp = import_list(csv_text([person(1)]))
    assert api(org.rep).get("/api/lead-imports/").status_code == 403
    response = api(org.rep).post(
        "/api/lead-imports/",
        {"file": import_upload(csv_text([person(1)])), "vendor": "V", "list_name": "L"},
        format="multipart",
    )
    assert response.status_code == 403
    other = api(org.manager_b)
    assert other.get("/api/lead-imports/").data["results"] == []
    assert other.get(f"/api/lead-imports/{imp.pk}/").status_code == 404
    assert other.post(f"/api/lead-imports/{imp.pk}/undo/").status_code == 404
    assert other.get(f"/api/lead-imports/{imp.pk}/rejects.csv/").status_code == 404
    assert api(org.admin).get(f"/api/lead-imports/{imp.pk}/").status_code == 200
    refused = api(org.manager).post(
        "/api/lead-imports/", {"file": import_upload(b""), "vendor": "V", "list_name": "L"}, format="multipart"
    )
    assert refused.status_code == 400


def test_cost_must_be_an_amount(org, import_list):
    with pytest.raises(ValidationError, match="negative"):
        import_list(csv_text([person(1)]), cost=Decimal("-1"))
