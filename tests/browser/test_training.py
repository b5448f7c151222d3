"""A rep opens My training, takes the Aurora quiz and passes it; the quote editor, which refused the configured
Aurora before, now saves the quote."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone
from playwright.sync_api import expect

from contacts.services import account_create
from orders.models import Quote
from tests.browser.quote_editor import search_products, settled
from tests.catalog.factories import CategoryFactory, ConfigurationFactory, ProductFactory
from tests.training.factories import CourseFactory, ResponsibilityFactory, quiz
from training.services import assignment_create


def add_the_configured_aurora(page, url: str) -> None:
    page.goto(f"{url}/quotes/new/")
    page.get_by_label("Account", exact=True).select_option(label="Nordlicht GmbH · Kiel")
    settled(page)
    search_products(page, "aurora", button="Add this configuration")
    page.locator("#product-results").get_by_role("button", name="Add this configuration").click()
    settled(page)


def test_a_rep_passes_the_quiz_and_may_then_quote_the_configured_product(live_server, org, new_page, sign_in):
    cars = CategoryFactory(name="Cars", slug="cars")
    aurora = ProductFactory(name="Aurora", sku="AUR", category=cars, is_configurable=True)
    ConfigurationFactory(product=aurora, total=Decimal("31500.00"), sku_code="AUR-L-EV", token="t-browser")
    account_create(actor=org.rep, name="Nordlicht GmbH", city="Kiel", country="DE")
    course = CourseFactory(
        title="Aurora sales certification",
        pass_mark_percent=100,
        responsibilities=[ResponsibilityFactory(name="Aurora product line", category=cars)],
    )
    quiz(
        course,
        [
            ("Which drive charges at a wallbox?", [("Hybrid only", False), ("Electric", True)]),
            ("Which go on a fleet quote?", [("Service plan", True), ("Wallbox", True), ("A second wheel", False)]),
        ],
    )
    assignment_create(course=course, user=org.rep, due_on=timezone.localdate() + timedelta(days=7), actor=org.manager)

    page = new_page()
    sign_in(page, org.rep)
    add_the_configured_aurora(page, live_server.url)
    expect(page.locator("#quote-form")).to_contain_text("needs a valid certification “Aurora product line”")

    page.goto(f"{live_server.url}/training/")
    page.get_by_role("link", name="Take the quiz").click()
    page.get_by_label("Electric").check()
    page.get_by_label("Service plan").check()
    page.get_by_label("Wallbox").check()
    page.get_by_role("button", name="Submit answers").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("passed")
    expect(page.locator(".training-score")).to_contain_text("Aurora product line")

    add_the_configured_aurora(page, live_server.url)
    expect(page.locator("#quote-form")).not_to_contain_text("needs a valid certification")
    page.get_by_role("button", name="Save quote").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Draft")
    assert Quote.objects.get().lines.get().sku == "AUR-L-EV"
