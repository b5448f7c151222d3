"""A manager imports a purchased list of 1,000 rows (50 of them bad, 100 of people already known), fixes a
column the wizard could not guess, runs it, reads the report, downloads the rejected rows and undoes it."""

from __future__ import annotations

import csv
import io
import re

from playwright.sync_api import expect

from contacts.matching.engine import contact_keys_refresh
from contacts.models import Contact, ContactEmail
from contacts.normalize import email_key, name_key
from leads.models import ImportRow, Lead, LeadImport

HEADER = ["Vorname", "Nachname", "E-Mail", "Erreichbar unter", "Firma", "PLZ", "Ort"]
FIRST = ["Anna", "Bernd", "Clara", "Dieter", "Elke", "Frank", "Gisela", "Holger", "Ines", "Jörg"]


def known_customers(owner, count: int = 100) -> list[Contact]:
    contacts = Contact.objects.bulk_create(
        Contact(
            first_name=FIRST[i % 10],
            last_name=f"Bestand{i}",
            first_key=name_key(FIRST[i % 10]),
            last_key=name_key(f"Bestand{i}"),
            city="Köln",
            owner=owner,
        )
        for i in range(count)
    )
    ContactEmail.objects.bulk_create(
        ContactEmail(contact=c, email=f"bestand{i}@kunde.example", email_key=email_key(f"bestand{i}@kunde.example"))
        for i, c in enumerate(contacts)
    )
    contact_keys_refresh([c.pk for c in contacts])
    return contacts


def purchased_list() -> bytes:
    """1,000 rows: 850 new people, 100 known customers, 20 without last name, 15 bad e-mails, 15 bad phones."""
    rows = []
    for i in range(850):
        rows.append(
            [FIRST[i % 10], f"Neukunde{i}", f"neu{i}@liste.example", f"0151 {20000000 + 7 * i}", "", "50667", "Köln"]
        )
    for i in range(100):
        rows.append([FIRST[i % 10], f"Bestand{i}", f"bestand{i}@kunde.example", "", "", "", "Köln"])
    for i in range(20):
        rows.append([FIRST[i % 10], "", f"ohne{i}@liste.example", "", "", "", "Bonn"])
    for i in range(15):
        rows.append([FIRST[i % 10], f"Kaputt{i}", f"kaputt{i}.liste.example", "", "", "", "Bonn"])
    for i in range(15):
        rows.append([FIRST[i % 10], f"Falsch{i}", f"falsch{i}@liste.example", "12", "", "", "Bonn"])
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(HEADER)
    writer.writerows(rows)
    return out.getvalue().encode("cp1252")  # as Excel on a German Windows writes it


def test_import_a_list_fix_a_column_run_report_rejects_undo(live_server, org, page, sign_in, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    known_customers(org.rep)
    path = tmp_path / "messe-koeln.csv"
    path.write_bytes(purchased_list())

    sign_in(page, org.manager)
    page.goto(f"{live_server.url}/leads/")
    page.get_by_role("link", name="Import a list").click()
    page.get_by_role("link", name="Import a list").click()
    expect(page.get_by_role("heading", name="Import a list")).to_be_visible()
    page.get_by_label("List file").set_input_files(str(path))
    page.get_by_label("Vendor").fill("Messe-Daten GmbH")
    page.get_by_label("List name").fill("Messe Köln 2026")
    page.get_by_label("What the list cost").fill("1900")
    page.get_by_role("button", name="Upload and read the file").click()

    expect(page.get_by_role("heading", name="Which column holds what?")).to_be_visible()
    expect(page.locator(".import-facts")).to_contain_text("1,000 rows")
    expect(page.locator(".import-facts")).to_contain_text("Windows-1252")
    expect(page.get_by_label("Vorname")).to_have_value("first_name")
    phone = page.get_by_label("Erreichbar unter")
    expect(phone).to_have_value("ignore")  # nobody calls a phone column that: the user says what it is
    phone.select_option("phone")
    expect(page.locator("#mapping-status")).to_contain_text("the last name is there")
    page.get_by_role("button", name="Check the rows").click()

    expect(page.locator(".verdict-stat.verdict-new")).to_contain_text("850")
    expect(page.locator(".verdict-stat.verdict-contact")).to_contain_text("100")
    expect(page.locator(".verdict-stat.verdict-invalid")).to_contain_text("50")
    rejected = page.locator("#rows-invalid")
    expect(rejected).to_contain_text("50 rows — the first 10")
    expect(rejected).to_contain_text("The last name is missing.")
    expect(page.locator("#rows-contact")).to_contain_text("same e-mail")
    page.get_by_text("Create a lead on the existing person").click()
    expect(page.locator("#import-plan")).to_contain_text("add 100 leads to people already known")
    page.get_by_role("button", name="Import the list").click()

    stats = page.locator(".report-stats")
    expect(stats).to_contain_text("950")
    expect(stats).to_contain_text("2.00 EUR")  # 1,900 EUR for 950 leads
    expect(page.locator("h1")).to_contain_text("Imported")
    lead_import = LeadImport.objects.get()
    assert Lead.objects.filter(lead_import=lead_import).count() == 950
    assert Lead.objects.filter(lead_import=lead_import, contact__is_prospect=False).count() == 100

    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile(r"Download the 50 rejected rows")).click()
    text = download.value.path().read_text(encoding="utf-8-sig")
    lines = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert lines[0] == ["line", "reasons", *HEADER]
    assert len(lines) == 51
    assert {line[1] for line in lines[1:21]} == {"The last name is missing."}
    assert all("is not an e-mail address" in line[1] for line in lines[21:36])
    assert all("not a valid phone number" in line[1] for line in lines[36:])

    page.get_by_role("link", name="Undo this import").click()
    page.get_by_role("button", name="Yes, undo the import").click()
    expect(page.get_by_text("Import undone: 950 leads and 850 people removed")).to_be_visible()
    expect(page.get_by_role("heading", name="This import was undone")).to_be_visible()
    assert not Lead.objects.filter(lead_import=lead_import).exists()
    assert Contact.objects.count() == 100 and not Contact.objects.filter(is_prospect=True).exists()
    assert ImportRow.objects.filter(lead_import=lead_import).count() == 1000  # the record of what was done stays
