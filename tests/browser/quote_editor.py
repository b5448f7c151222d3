"""Steps in the quote editor that several browser journeys share."""

from playwright.sync_api import expect


def settled(page) -> None:
    """Wait until the quote editor has its answer (htmx marks the form while a request runs)."""
    page.wait_for_timeout(50)
    expect(page.locator("#quote-form.htmx-request")).to_have_count(0)


def search_products(page, text: str, button: str = "Add") -> None:
    """Type into the editor's product search until its results show: a change elsewhere in the form may
    re-render the editor (and the box) just as the text goes in, and that search is then never sent."""
    box = page.get_by_label("Add a product or a saved configuration")
    results = page.locator("#product-results").get_by_role("button", name=button)
    for _ in range(3):
        settled(page)
        box.fill(text)
        try:
            expect(results.first).to_be_visible(timeout=4000)
            return
        except AssertionError:
            box.fill("")
    expect(results.first).to_be_visible()
