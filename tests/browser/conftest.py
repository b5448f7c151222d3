"""Browser tests: Playwright's sync API driving Debian's chromium against pytest-django's live server.

Every test in this folder is marked ``browser``. Without a chromium binary the tests skip, except in
CI (``CI`` set to anything non-empty), where a skipped browser suite would hide a broken pipeline.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

# Playwright's sync API runs an asyncio event loop in this thread; Django refuses ORM calls from a
# thread with a running loop unless told that this is deliberate (live_server and factories need it).
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(item.path).parents:
            item.add_marker(pytest.mark.browser)


def _chromium_path() -> str | None:
    if Path("/usr/bin/chromium").exists():
        return "/usr/bin/chromium"
    return shutil.which("chromium")


@pytest.fixture(scope="session")
def browser():
    executable = _chromium_path()
    if executable is None:
        reason = "chromium is not installed (expected /usr/bin/chromium or chromium on PATH)"
        if os.environ.get("CI"):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
    try:
        yield browser
    finally:
        browser.close()
        playwright.stop()


@pytest.fixture
def new_page(browser):
    """``new_page(viewport)`` -> a page in a fresh browser context (own cookies), closed after the test."""
    contexts = []

    def _new_page(viewport: dict[str, int] = DESKTOP):
        context = browser.new_context(viewport=viewport, accept_downloads=True)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield _new_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    """A desktop-sized page (1366x900) in its own browser context."""
    return new_page(DESKTOP)


@pytest.fixture
def sign_in(live_server):
    """``sign_in(page, user)``: sign in through the real login form and wait for the dashboard."""
    from tests.factories import TEST_PASSWORD

    def _sign_in(page, user, password: str = TEST_PASSWORD) -> None:
        page.goto(f"{live_server.url}/login/")
        page.get_by_label("Username").fill(user.username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()

    return _sign_in
