"""The pipeline board as a rep uses it: drag a deal to the next stage, drop one on Closed lost with a
reason, and find both moves in the deal's history."""

from datetime import timedelta

from django.utils import timezone
from playwright.sync_api import expect

from contacts.services import account_create
from leads.models import Opportunity
from leads.services import opportunity_create, pipeline_default


def test_a_rep_drags_deals_across_the_board_and_the_history_shows_it(live_server, org, page, sign_in):
    stages = {s.name: s for s in pipeline_default().stages.all()}
    account = account_create(actor=org.rep, name="Velo Logistik GmbH", city="Hamburg")
    close = timezone.localdate() + timedelta(days=45)

    def deal(name, stage, amount, owner=org.rep):
        return opportunity_create(
            actor=owner, name=name, account=account, stage=stages[stage], amount=amount, expected_close=close
        )

    fleet = deal("Fleet of 12 Volt Trek", "Prospecting", 10_000)
    deal("Office desks", "Prospecting", 5_000)
    deal("Wallboxes", "Qualification", 2_000)
    deal("Tom's chairs", "Prospecting", 7_000, owner=org.rep_b)

    sign_in(page, org.rep)
    page.goto(f"{live_server.url}/pipeline/")
    prospecting = page.locator(f"#col-{stages['Prospecting'].pk}")
    qualification = page.locator(f"#col-{stages['Qualification'].pk}")
    lost = page.locator(f"#col-{stages['Closed lost'].pk}")
    expect(prospecting.locator(".board-count")).to_have_text("2")
    expect(prospecting.locator(".board-amount")).to_have_text("€15,000")
    expect(qualification.locator(".board-amount")).to_have_text("€2,000")
    expect(page.get_by_text("Tom's chairs")).to_have_count(0)  # a colleague's deal is not on my board

    # Drag the fleet to the next stage: both columns and their totals follow.
    prospecting.locator(".opp-card", has_text="Fleet of 12 Volt Trek").drag_to(qualification)
    expect(page.locator("#board-status")).to_contain_text("Moved “Fleet of 12 Volt Trek” to Qualification.")
    expect(qualification.locator(".board-count")).to_have_text("2")
    expect(qualification.locator(".board-amount")).to_have_text("€12,000")
    expect(qualification.locator(".board-weighted")).to_have_text("€2,400")
    expect(prospecting.locator(".board-count")).to_have_text("1")
    expect(prospecting.locator(".board-amount")).to_have_text("€5,000")
    expect(qualification.get_by_role("link", name="Fleet of 12 Volt Trek")).to_be_visible()

    # Drop it on Closed lost: the board asks why; the card waits in its column until the reason is given.
    qualification.locator(".opp-card", has_text="Fleet of 12 Volt Trek").drag_to(lost)
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(qualification.get_by_role("link", name="Fleet of 12 Volt Trek")).to_be_visible()
    dialog.get_by_label("Lost reason").fill("Chose a competitor (lower price)")
    dialog.get_by_role("button", name="Mark as lost").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(lost.get_by_role("link", name="Fleet of 12 Volt Trek")).to_be_visible()
    expect(lost.locator(".board-count")).to_have_text("1")
    expect(qualification.locator(".board-amount")).to_have_text("€2,000")
    fleet.refresh_from_db()
    assert fleet.stage == stages["Closed lost"]

    # The deal's page: both moves in the history, by the rep, from the board.
    lost.get_by_role("link", name="Fleet of 12 Volt Trek").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Fleet of 12 Volt Trek")
    expect(page.get_by_text("Chose a competitor (lower price)").first).to_be_visible()
    rows = page.locator("table.stage-history tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("Qualification → Closed lost")
    expect(rows.nth(0)).to_contain_text("via board")
    expect(rows.nth(1)).to_contain_text("Prospecting → Qualification")
    expect(rows.nth(1)).to_contain_text("via board")
    expect(rows.nth(2)).to_contain_text("Created in Prospecting")
    assert [c.via for c in Opportunity.objects.get(pk=fleet.pk).history.order_by("at", "id")] == [
        "form",
        "board",
        "board",
    ]
