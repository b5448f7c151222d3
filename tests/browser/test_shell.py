"""The web shell in a real browser: signing in, navigation by role, a job's progress, phones, 403."""

import csv
import re

from playwright.sync_api import expect

from tests.browser.conftest import PHONE


def test_rep_signs_in_and_sees_the_dashboard(live_server, org, page, sign_in):
    sign_in(page, org.rep)

    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()
    expect(page.locator(".usermenu summary")).to_contain_text(org.rep.get_full_name())
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Contacts")).to_be_visible()
    expect(nav.get_by_role("link", name="Jobs")).to_be_hidden()  # past the first entries: under "More"
    nav.get_by_text("More").click()
    expect(nav.get_by_role("link", name="Jobs")).to_be_visible()

    page.locator(".usermenu summary").click()
    menu = page.locator(".usermenu-panel")
    expect(menu.get_by_role("link", name="My profile")).to_be_visible()
    expect(menu.get_by_role("link", name="People")).to_be_visible()
    expect(menu.get_by_role("button", name="Sign out")).to_be_visible()
    expect(page.get_by_role("link", name="Audit log")).to_have_count(0)


def test_wrong_password_shows_an_error_and_stays_on_the_login_page(live_server, org, page, sign_in):
    sign_in(page, org.rep, password="not-the-password")

    expect(page.get_by_role("alert")).to_contain_text("enter a correct username and password")
    expect(page).to_have_url(re.compile(r"/login/"))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_label("Username")).to_have_value(org.rep.username)
    expect(page.locator(".topbar")).to_have_count(0)


def test_admin_exports_the_audit_log_and_watches_the_job_succeed(live_server, org, page, sign_in):
    sign_in(page, org.admin)
    page.locator(".usermenu summary").click()
    page.locator(".usermenu-panel").get_by_role("link", name="Audit log").click()
    expect(page.get_by_role("heading", name="Audit log", level=1)).to_be_visible()

    page.get_by_role("button", name="Export these events as CSV").click()

    expect(page).to_have_url(re.compile(r"/jobs/[0-9a-f-]{36}/$"))
    expect(page.get_by_role("heading", name="Audit log export", level=1)).to_be_visible()
    progress = page.locator(".job-progress")
    expect(progress.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "100")
    expect(progress.locator(".badge")).to_have_text("Succeeded")
    download_link = progress.get_by_role("link", name="Download the result")
    expect(download_link).to_be_visible()

    with page.expect_download() as download_info:
        download_link.click()
    download = download_info.value
    assert download.suggested_filename.endswith(".csv")
    with open(download.path(), encoding="utf-8") as handle:
        assert handle.readline().startswith("id,at,actor")


def test_job_page_follows_a_job_to_its_end_and_drops_the_cancel_button(live_server, org, page, sign_in):
    from django.utils import timezone

    from sfa.models import Job
    from tests.factories import JobFactory

    job = JobFactory(started_by=org.admin, title="Slow export")
    sign_in(page, org.admin)
    page.goto(f"{live_server.url}/jobs/{job.pk}/")
    expect(page.locator(".job-progress .badge")).to_have_text("Queued")
    expect(page.get_by_role("button", name="Cancel job")).to_be_visible()

    Job.objects.filter(pk=job.pk).update(
        status="failed", message="Failed", error="The file went away", finished_at=timezone.now()
    )

    expect(page.locator(".job-progress .badge")).to_have_text("Failed")  # the progress partial polls every second
    expect(page.get_by_role("alert")).to_contain_text("The file went away")
    expect(page.get_by_role("button", name="Cancel job")).to_have_count(0)
    expect(page.get_by_role("button", name="Retry")).to_be_visible()


def test_audit_export_follows_the_filters_applied_in_place(live_server, org, page, sign_in):
    """The filters change #results through HTMX; the export button must send those, not the page's first ones."""
    from sfa.audit import audit_record

    audit_record(actor=org.admin, instance=org.rep, action="create", changes={"username": [None, "rep"]})
    audit_record(actor=org.admin, instance=org.rep, action="update", changes={"first_name": ["A", "B"]})
    sign_in(page, org.admin)
    page.goto(f"{live_server.url}/audit/")

    page.get_by_label("Action").select_option(label="Created")  # HTMX swaps #results and pushes the URL
    expect(page).to_have_url(re.compile(r"action=create"))
    expect(page.locator("input[form=audit-export-form][name=action]")).to_have_value("create")
    page.get_by_role("button", name="Export these events as CSV").click()

    link = page.get_by_role("link", name="Download the result")
    with page.expect_download() as download_info:
        link.click()
    with open(download_info.value.path(), encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows, "the export should hold the created events"
    assert {row["action"] for row in rows} == {"create"}


def test_phone_collapses_the_nav_and_scrolls_the_people_table_inside_its_card(live_server, org, new_page, sign_in):
    page = new_page(PHONE)
    sign_in(page, org.admin)
    page.goto(f"{live_server.url}/people/")
    expect(page.get_by_role("heading", name="People", level=1)).to_be_visible()

    nav = page.get_by_role("navigation", name="Main")
    expect(nav).to_be_hidden()
    page.locator("label[for=nav-toggle]").click()
    expect(nav).to_be_visible()
    expect(nav.get_by_role("link", name="Jobs")).to_be_visible()

    wrap = page.locator("#results .table-wrap")
    assert wrap.evaluate("el => getComputedStyle(el).overflowX") == "auto"
    assert wrap.evaluate("el => el.scrollWidth > el.clientWidth"), "the table should scroll inside its card"
    page_width = page.evaluate("document.documentElement.scrollWidth")
    assert page_width <= PHONE["width"] + 1, f"the page itself scrolls sideways ({page_width}px wide)"


def test_rep_opening_the_audit_log_gets_the_403_page(live_server, org, page, sign_in):
    sign_in(page, org.rep)
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()

    response = page.goto(f"{live_server.url}/audit/")

    assert response.status == 403
    expect(page.get_by_role("heading", name="You may not do that", level=1)).to_be_visible()
    expect(page.get_by_role("link", name="Back to the dashboard")).to_be_visible()


def test_signed_in_user_opening_an_unknown_address_gets_the_404_page(live_server, org, page, sign_in, settings):
    settings.DEBUG = False
    sign_in(page, org.rep)
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()

    response = page.goto(f"{live_server.url}/no-such-page/")

    assert response.status == 404
    expect(page.get_by_role("heading", name="Not found", level=1)).to_be_visible()
