"""A customer configures the demo car on a phone: runs into a rule, resolves it (with the keyboard), sees
the price and the delivery estimate follow, saves, and reopens the shared link in another browser."""

import re

from playwright.sync_api import expect

from catalog.demo import demo_catalog
from catalog.models import Configuration
from sfa.demo import DemoContext
from tests.browser.conftest import PHONE


def test_a_customer_configures_the_car_on_a_phone_and_shares_it(live_server, new_page, db):
    demo_catalog(DemoContext(password="unused", log=lambda line: None))
    page = new_page(PHONE)
    page.goto(f"{live_server.url}/configure/aurora/")
    expect(page.get_by_role("heading", name="Aurora", level=1)).to_be_visible()
    live = page.locator("#cfg-announce")  # the aria-live bar at the bottom of the phone screen
    expect(live).to_contain_text("€32,900")
    expect(live).to_contain_text("about 6 weeks")

    # Leather on the compact line: the engine says why it is not possible yet.
    expect(page.get_by_text("Leather needs the Comfort package or the Long-wheelbase model.")).to_be_visible()
    page.get_by_label("Leather").check()
    problems = page.locator(".cfg-problems")
    expect(problems).to_contain_text("Leather needs the Comfort package or the Long-wheelbase model.")
    expect(page.get_by_role("button", name="Save and share this configuration")).to_be_disabled()
    expect(live).to_contain_text("1 point to resolve")
    # Impossible options are shown disabled, with their reason.
    expect(page.get_by_label("Towbar")).to_be_disabled()
    expect(page.get_by_text("The towbar is not available on the Compact line.")).to_be_visible()

    # Resolved with the keyboard: the comfort package, ticked with the space bar.
    comfort = page.get_by_label("Comfort package")
    comfort.focus()
    page.keyboard.press("Space")
    expect(problems).to_have_count(0)
    expect(comfort).to_be_checked()
    expect(comfort).to_be_focused()  # the swap keeps the keyboard where it was
    # 32,900 + 2,400 leather + 450 heated front seats (chosen with leather) + 1,800 comfort
    expect(live).to_contain_text("€37,550")
    expect(live).to_contain_text("about 7 weeks")  # leather adds a week
    expect(page.locator("#cfg-summary")).to_contain_text("Heated front seats")

    page.get_by_role("button", name="Save and share this configuration").click()
    expect(page).to_have_url(re.compile(r"/configure/aurora/c/[\w-]{43}/$"))
    expect(page.get_by_role("heading", name="Saved configuration")).to_be_visible()
    share_url = page.get_by_label("Link to this configuration").input_value()
    assert share_url == page.url
    saved = Configuration.objects.get()
    assert saved.total == 37550 and saved.choices["interior"] == "LTH" and saved.lead_time_days == 49

    # Someone else opens the link: the same car, the same price.
    other = new_page(PHONE)
    other.goto(share_url)
    expect(other.get_by_label("Leather")).to_be_checked()
    expect(other.get_by_label("Comfort package")).to_be_checked()
    expect(other.locator("#cfg-total")).to_have_text("€37,550")
    expect(other.locator(".cfg-saved")).to_contain_text("€37,550")
