"""A manager opens the forecast dashboard, starts a run, watches its progress bar to the end, drills
from a category into one of its products, then adjusts a rep's number with a note on the pipeline page."""

from playwright.sync_api import expect

from tests.forecasting.factories import run_sales


def test_a_manager_starts_a_forecast_drills_down_and_adjusts_a_reps_number(live_server, org, page, sign_in):
    run_sales(org, months=24)
    sign_in(page, org.manager)
    page.goto(f"{live_server.url}/forecasting/")
    expect(page.get_by_role("heading", name="No forecast yet")).to_be_visible()

    page.get_by_role("button", name="Start forecast run").first.click()
    bar = page.get_by_role("progressbar")
    expect(bar).to_have_attribute("aria-valuenow", "100", timeout=30_000)
    expect(page.locator(".fc-run-progress .badge")).to_have_text("Done")
    page.get_by_role("link", name="View the forecast").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("Sales forecast FY")
    chart = page.locator('[data-forecast-chart="fan"]')
    expect(chart.locator(".main-svg").first).to_be_attached()  # plotly drew the fan chart
    expect(page.get_by_role("table").filter(has_text="FY").first).to_be_visible()

    page.get_by_role("link", name="E-bikes", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("E-bikes")
    expect(page.get_by_role("heading", name="Products in E-bikes")).to_be_visible()
    page.get_by_role("link", name="E-bikes 1", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("E-bikes 1")
    expect(page.locator(".crumbs")).to_contain_text("E-bikes")
    expect(page.get_by_text("Backtest MASE")).to_be_visible()

    page.get_by_role("link", name="Pipeline & quotas").first.click()
    row = page.locator(f"#pl-row-user-{org.rep.pk}")
    row.locator("a.pl-adjust-btn").click()
    form = page.locator(f"#adjust-form-user-{org.rep.pk}")
    form.locator('[name="amount"]').fill("12345")
    form.locator('[name="note"]').fill("Signed letter of intent from Nordwind, closes next week")
    form.get_by_role("button", name="Save adjustment").click()
    expect(page.locator("#pipeline-rollup")).to_contain_text("adjusted for")
    expect(page.locator(f"#pl-row-user-{org.rep.pk}")).to_contain_text("12,345")
