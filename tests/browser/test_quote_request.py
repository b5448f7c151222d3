"""A customer asks for a quote on the demo car from a phone: "Request a quote" saves the configuration and
opens the form beside it, a mistyped e-mail is explained inline (and the keyboard lands on what to fix),
the corrected request shows its number and share link, and sending it again shows the same quote."""

import re

from django.core import mail
from playwright.sync_api import expect

from catalog.demo import demo_catalog
from catalog.models import Configuration
from leads.models import Lead
from orders.models import Quote
from sfa.demo import DemoContext
from sfa.models import Role
from tests.browser.conftest import PHONE
from tests.factories import UserFactory


def test_a_customer_requests_a_quote_for_the_car_on_a_phone(live_server, new_page, db):
    demo_catalog(DemoContext(password="unused", log=lambda line: None))
    UserFactory(username="boss", role=Role.ADMIN)  # owns what nobody else is assigned
    page = new_page(PHONE)
    page.goto(f"{live_server.url}/configure/aurora/")
    expect(page.locator("#cfg-announce")).to_contain_text("€32,900")

    page.get_by_role("button", name="Request a quote").click()
    saved = Configuration.objects.get()
    expect(page).to_have_url(re.compile(rf"/configure/aurora/c/{saved.token}/quote/$"))
    expect(page.get_by_role("heading", name="Your Aurora", level=1)).to_be_visible()
    expect(page.locator("#qr-total")).to_have_text("€32,900")

    # A mistyped address: the problems are listed first, focused, and said again beside the field.
    page.get_by_label("Your name").fill("Clara Weber")
    email = page.get_by_role("textbox", name="E-mail")
    email.fill("clara(at)example.org")
    page.get_by_role("button", name="Request my quote").click()
    problems = page.locator("#qr-problems")
    expect(problems).to_be_focused()
    expect(problems).to_contain_text("is not an e-mail address we can write to")
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#id_email_error")).to_contain_text("check it (name@example.com)")
    expect(page.get_by_label("Your name")).to_have_value("Clara Weber")  # nothing typed is lost
    assert not Quote.objects.exists()

    # Corrected with the keyboard: the link in the list goes to the field, Space ticks the consent box,
    # Enter sends.
    problems.get_by_role("link", name=re.compile("E-mail")).click()
    expect(email).to_be_focused()
    email.fill("clara.weber@example.org")
    consent = page.get_by_label("Yes, you may also send me news and offers by e-mail")
    consent.focus()
    page.keyboard.press("Space")
    expect(consent).to_be_checked()
    email.press("Enter")

    expect(page.get_by_role("heading", name="Thank you: we are preparing your quote")).to_be_visible()
    quote = Quote.objects.get()
    expect(page.locator("#qr-number")).to_have_text(quote.number)
    expect(page.get_by_label("Link to this configuration")).to_have_value(
        f"{live_server.url}/configure/aurora/c/{saved.token}/"
    )
    assert quote.source == "configurator" and quote.subtotal == saved.total
    assert len(mail.outbox) == 1 and quote.number in mail.outbox[0].subject

    # Back, and the same request again: the same quote, not a second one.
    page.go_back()
    page.get_by_label("Your name").fill("Clara Weber")
    page.get_by_role("textbox", name="E-mail").fill("clara.weber@example.org")
    page.get_by_role("button", name="Request my quote").click()
    expect(page.locator("#qr-number")).to_have_text(quote.number)
    assert Quote.objects.count() == 1 and Lead.objects.count() == 1 and len(mail.outbox) == 1
