"""A rep reviews a pair from the queue, merges it taking one field from the other record, then undoes it."""

from datetime import timedelta

from django.utils import timezone
from playwright.sync_api import expect

from contacts.duplicates import contacts_scan
from contacts.models import Contact
from contacts.services import contact_create, purpose_save, touch_log


def test_review_merge_with_a_field_from_the_other_record_then_undo(live_server, org, page, sign_in):
    onboarding = purpose_save(actor=None, name="Onboarding")
    anna = contact_create(
        actor=org.rep,
        first_name="Anna",
        last_name="Schmidt",
        title="Buyer",
        phones=["030 1234567"],
        city="Berlin",
        country="DE",
    )
    twin = contact_create(
        actor=org.rep,
        first_name="Anna",
        last_name="Schmitt",
        title="Head of purchasing",
        phones=["+49 30 1234567"],
        city="Berlin",
        country="DE",
        allow_duplicate=True,
    )
    touch_log(
        actor=org.rep,
        contact=anna,
        purpose=onboarding,
        channel="call",
        notes="First call",
        at=timezone.now() - timedelta(days=5),
    )
    touch_log(
        actor=org.rep,
        contact=twin,
        purpose=onboarding,
        channel="email",
        notes="Welcome pack",
        at=timezone.now() - timedelta(days=2),
    )
    contacts_scan()

    sign_in(page, org.rep)
    page.goto(f"{live_server.url}/duplicates/")
    row = page.locator("#results tbody tr").filter(has_text="Schmitt")
    expect(row).to_contain_text("phone")
    row.get_by_role("link", name="Review").click()
    expect(page.get_by_role("heading", name="Are these the same contact?")).to_be_visible()

    page.get_by_label("Head of purchasing").check()  # the title of the other record wins
    page.get_by_role("button", name="Merge 2 records").click()

    expect(page.get_by_role("heading", name="Anna Schmidt", level=1)).to_be_visible()
    expect(page.get_by_text("Head of purchasing").first).to_be_visible()
    timeline = page.locator("#timeline")
    expect(timeline).to_contain_text("First call")
    expect(timeline).to_contain_text("Welcome pack")
    expect(page.locator(".merges")).to_contain_text("merged 1 record")

    page.get_by_role("button", name="Undo merge").click()
    expect(page.get_by_text("The merge was undone")).to_be_visible()
    expect(page.locator("#timeline")).not_to_contain_text("Welcome pack")
    twin.refresh_from_db()
    anna.refresh_from_db()
    assert twin.merged_into_id is None and anna.title == "Buyer"
    assert Contact.objects.filter(merged_into__isnull=True).count() == 2
