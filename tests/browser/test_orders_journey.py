"""From quote to delivery as the people use it: a rep builds a quote whose discount needs approval, the
manager approves it, the rep records the customer's yes and confirms the order, the warehouse ships it in
two parts and it is delivered; the customer's timeline shows each step."""

from decimal import Decimal

from playwright.sync_api import expect

from contacts.services import account_create, contact_create
from orders.models import Order, Quote
from tests.browser.quote_editor import search_products, settled
from tests.catalog.factories import CategoryFactory, PriceFactory, ProductFactory
from tests.orders.factories import StockLevelFactory, TaxRateFactory, WarehouseFactory


def test_a_discounted_quote_is_approved_accepted_shipped_in_two_parts_and_delivered(
    live_server, org, new_page, sign_in
):
    bikes = CategoryFactory(name="E-bikes", slug="e-bikes")
    trek = ProductFactory(name="Volt Trek", sku="VT-1", category=bikes, base_lead_time_days=10)
    PriceFactory(product=trek, amount=Decimal("2000.00"))
    StockLevelFactory(product=trek, warehouse=WarehouseFactory(code="berlin", name="Berlin"), on_hand=10)
    TaxRateFactory(country="DE", category=None, rate=Decimal("19.00"))
    acme = account_create(actor=org.rep, name="Velo Logistik GmbH", city="Hamburg", country="DE")
    jana = contact_create(
        actor=org.rep, first_name="Jana", last_name="Kranz", account=acme, emails=["jana@velo.example"]
    )

    # The rep builds the quote: the account, a product found by search, 3 units at 20 % off.
    rep = new_page()
    sign_in(rep, org.rep)
    rep.goto(f"{live_server.url}/quotes/new/")
    rep.get_by_label("Account", exact=True).select_option(label="Velo Logistik GmbH · Hamburg")
    expect(rep.get_by_label("Person")).to_contain_text("Jana Kranz")
    rep.get_by_label("Person").select_option(label="Jana Kranz")
    settled(rep)
    search_products(rep, "volt")
    rep.locator("#product-results").get_by_role("button", name="Add").click()
    line_qty = rep.get_by_label("Quantity of Volt Trek")
    expect(line_qty).to_have_value("1")
    line_qty.fill("3")
    line_qty.press("Tab")
    settled(rep)
    expect(rep.locator(".quote-totals")).to_contain_text("€6,000")
    rep.get_by_label("Discount on Volt Trek (%)").fill("20")
    rep.get_by_label("Discount on Volt Trek (%)").press("Tab")
    settled(rep)
    totals = rep.locator(".quote-totals")
    expect(totals).to_contain_text("€4,800")  # 3 × 2000 − 20 %
    expect(totals).to_contain_text("€5,712")  # with 19 % tax
    expect(totals).to_contain_text("needs a manager's approval")
    rep.get_by_role("button", name="Save quote").click()
    expect(rep.get_by_role("heading", level=1)).to_contain_text("Draft")
    quote = Quote.objects.get()
    assert quote.contact == jana and quote.total == Decimal("5712.00")
    expect(rep.get_by_role("button", name="Mark as sent")).to_have_count(0)
    rep.get_by_role("button", name="Ask for approval").click()
    expect(rep.get_by_role("heading", level=1)).to_contain_text("Waiting for approval")

    # The manager finds it in the approval inbox and approves it.
    manager = new_page()
    sign_in(manager, org.manager)
    manager.goto(f"{live_server.url}/quotes/")
    manager.get_by_role("link", name="Waiting for my approval").click()
    manager.get_by_role("link", name=quote.number).click()
    manager.get_by_label("Note (optional)").fill("Fine for a fleet of three")
    manager.get_by_role("button", name="Approve").click()
    expect(manager.get_by_role("heading", level=1)).to_contain_text("Approved")

    # The rep records the customer's yes: the order is drafted; the rep confirms and allocates it.
    rep.reload()
    expect(rep.get_by_role("heading", level=1)).to_contain_text("Approved")
    rep.get_by_role("button", name="Customer accepted: make the order").click()
    expect(rep.get_by_role("heading", level=1)).to_contain_text("Draft")
    order = Order.objects.get(quote=quote)
    rep.get_by_role("button", name="Confirm the order").click()
    expect(rep.locator("#messages")).to_contain_text(f"Order {order.number} is confirmed")
    rep.get_by_role("button", name="Allocate (ready to ship)").click()
    expect(rep.get_by_role("heading", level=1)).to_contain_text("Allocated")

    # Two shipments: 2 units now, the last one later.
    ship_qty = rep.get_by_label("Units of Volt Trek to ship")
    ship_qty.fill("2")
    rep.get_by_label("Carrier").fill("DHL")
    rep.get_by_label("Tracking number").fill("JD014600006")
    rep.get_by_role("button", name="Record the shipment").click()
    expect(rep.get_by_role("heading", level=1)).to_contain_text("Partially shipped")
    expect(rep.get_by_label("Units of Volt Trek to ship")).to_have_value("1")
    rep.get_by_role("button", name="Record the shipment").click()
    expect(rep.get_by_role("heading", level=1)).to_contain_text("Shipped")
    rep.get_by_role("button", name="Shipment 1 delivered").click()
    expect(rep.locator("#messages")).to_contain_text("delivery recorded")
    rep.get_by_role("button", name="Shipment 2 delivered").click()
    expect(rep.get_by_role("heading", level=1)).to_contain_text("Delivered")
    history = rep.locator("table.order-events tbody tr")
    expect(history).to_have_count(6)  # draft, confirmed, allocated, partially shipped, shipped, delivered
    expect(history.last).to_contain_text("Shipped → Delivered")

    # Jana's timeline: the confirmation, both shipments and the delivery.
    rep.get_by_role("link", name="Jana Kranz").click()
    timeline = rep.locator(".timeline")
    expect(timeline).to_contain_text(f"Order {order.number} confirmed")
    expect(timeline).to_contain_text(f"Order {order.number}: shipment 1 with 2 units is on its way")
    expect(timeline).to_contain_text(f"Order {order.number}: shipment 2 with 1 unit is on its way")
    expect(timeline).to_contain_text(f"Order {order.number} delivered.")
    # And the contact's panel lists the order as delivered.
    expect(rep.locator(".customer-panel")).to_contain_text(order.number)
    expect(rep.locator(".customer-panel")).to_contain_text("Delivered")
