"""Commission statements in a real browser: a rep opens their statement from the menu, reads its lines and
follows one to its order; a colleague's statement answers "not found", and the list never shows it."""

from decimal import Decimal

from django.utils import timezone
from playwright.sync_api import expect

from commissions import calculator, services
from orders.states import order_confirm
from tests.catalog.factories import CategoryFactory, PriceFactory, ProductFactory
from tests.orders.factories import StockLevelFactory, TaxRateFactory, WarehouseFactory


def test_a_rep_sees_their_statement_and_cannot_open_a_colleagues(live_server, org, page, sign_in):
    from contacts.services import account_create
    from orders.services import order_create

    bikes = CategoryFactory(name="E-bikes", slug="e-bikes")
    trek = ProductFactory(name="Volt Trek", sku="VT-1", category=bikes)
    PriceFactory(product=trek, amount=Decimal("2000.00"))
    StockLevelFactory(product=trek, warehouse=WarehouseFactory(code="berlin", name="Berlin"), on_hand=10)
    TaxRateFactory(country="DE", category=None, rate=Decimal("19.00"))
    today = calculator.month_start(timezone.localdate())
    services.plan_save(
        actor=org.admin,
        data={"name": "North 2026", "basis": "booking", "effective_from": today, "base_rate": Decimal("4")},
        users=[org.rep, org.rep_b],
    )
    mine_account = account_create(actor=org.rep, name="Velo Logistik GmbH", city="Hamburg", country="DE")
    theirs_account = account_create(actor=org.rep_b, name="Rad & Tat KG", city="Bremen", country="DE")
    mine = order_confirm(
        order=order_create(actor=org.rep, account=mine_account, lines=[{"product": trek, "quantity": 3}]),
        actor=org.rep,
    )
    order_confirm(
        order=order_create(actor=org.rep_b, account=theirs_account, lines=[{"product": trek, "quantity": 5}]),
        actor=org.rep_b,
    )
    statement = services.statement_compute(rep=org.rep, period=today)
    colleague = services.statement_compute(rep=org.rep_b, period=today)

    sign_in(page, org.rep)
    nav = page.get_by_role("navigation", name="Main")
    nav.get_by_text("More").click()
    nav.get_by_role("link", name="Commissions").click()
    expect(page.get_by_role("heading", name="Commission statements", level=1)).to_be_visible()
    rows = page.locator("table.cm-statements tbody tr")
    expect(rows).to_have_count(1)
    expect(page.get_by_text("Your months")).to_be_visible()  # a rep's list: their own statements only
    expect(rows.first).to_contain_text("€240.00")  # 3 × 2000 at 4 %
    expect(page.get_by_text(org.rep_b.get_full_name())).to_have_count(0)

    rows.first.get_by_role("link").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(org.rep.get_full_name())
    expect(page.locator(".cm-stat-total")).to_contain_text("€240.00")
    line = page.locator("table.cm-lines tbody tr")
    expect(line).to_have_count(1)
    expect(line).to_contain_text("Volt Trek")
    expect(line).to_contain_text("Base rate")
    expect(page.get_by_role("button", name="Approve and lock")).to_have_count(0)
    line.get_by_role("link", name=mine.number).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(mine.number)
    expect(page.get_by_role("region", name="Commission")).to_contain_text("credited in full")

    response = page.goto(f"{live_server.url}/commissions/statements/{colleague.pk}/")
    assert response.status == 404
    expect(page.get_by_text(org.rep_b.get_full_name())).to_have_count(0)
    assert statement.pk != colleague.pk
