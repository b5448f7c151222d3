"""The outreach guard as a marketing user meets it, and the manager's report."""

from datetime import timedelta

from django.utils import timezone
from playwright.sync_api import expect

from contacts.models import Touch
from contacts.services import account_create, contact_create, purpose_save, touch_log


def test_marketing_is_warned_about_a_reps_cross_sell_email_and_goes_ahead_with_a_reason(
    live_server, org, page, sign_in
):
    cross_sell = purpose_save(actor=None, name="Cross-sell", window_days=14, mode="warn", scope="contact")
    acme = account_create(actor=org.rep, name="Acme GmbH", city="Berlin")
    anna = contact_create(
        actor=org.rep,
        first_name="Anna",
        last_name="Schmidt",
        account=acme,
        emails=["anna@acme.example"],
        phones=["030 1234567"],
    )
    touch_log(
        actor=org.rep,
        contact=anna,
        purpose=cross_sell,
        channel="email",
        at=timezone.now() - timedelta(days=3),
        notes="Sent the new brochure",
    )

    sign_in(page, org.marketing)
    search = page.get_by_placeholder("Search name, e-mail, phone, company")
    search.fill("030 1234")  # the phone in national format
    page.locator("#top-results").get_by_role("link", name="Anna Schmidt").click()
    expect(page.get_by_role("heading", name="Anna Schmidt", level=1)).to_be_visible()

    page.get_by_role("link", name="Log or plan a touch").click()
    page.get_by_label("Purpose").select_option(label="Cross-sell")
    page.get_by_label("Channel").select_option(label="Call")
    warning = page.locator("#guard .guard-warn")  # HTMX asks the guard as soon as the purpose is chosen
    expect(warning).to_contain_text(str(org.rep))
    expect(warning).to_contain_text("Sales")
    expect(warning).to_contain_text("Cross-sell")

    page.get_by_label("Notes").fill("Offered the accessory pack")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#guard .guard-warn")).to_be_visible()  # refused without a reason
    assert Touch.objects.filter(user=org.marketing).count() == 0

    page.get_by_label("Reason to go ahead anyway").fill("Customer asked us to call about the accessories")
    page.get_by_role("button", name="Save anyway").click()
    expect(page.get_by_role("heading", name="Anna Schmidt", level=1)).to_be_visible()
    timeline = page.locator("#timeline")
    expect(timeline).to_contain_text("Sent the new brochure")
    expect(timeline).to_contain_text("Offered the accessory pack")
    expect(timeline).to_contain_text("Customer asked us to call about the accessories")
    expect(timeline.locator(".timeline-item")).to_have_count(2)

    page.context.clear_cookies()
    sign_in(page, org.manager)
    page.goto(f"{live_server.url}/outreach/report/")
    expect(page.locator("table").first).to_contain_text("Marketing")
    expect(page.locator("table").first).to_contain_text("Cross-sell")
    expect(page.get_by_text("Customer asked us to call about the accessories")).to_be_visible()
