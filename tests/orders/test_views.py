"""The staff pages of orders: quotes (list, editor, detail, steps, print), orders (list, detail, steps),
stock, the fulfilment dashboard, the order settings, and the panels on the customer, deal and product
pages. Every page goes through the policies: a second rep can neither open nor move the first rep's
quote or order."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from orders import services, states
from orders.models import DeliveryStat, Holiday, Order, OrderSettings, Quote, Shipment
from tests.orders.factories import OrderFactory, QuoteFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def quote_of(org, acme, shop):
    """``quote_of(actor=org.rep, lines=[(product, qty, discount)], discount=0)`` -> a quote made by the service."""

    def _quote(actor=None, lines=None, discount=Decimal("0"), **kwargs):
        lines = lines or [(shop.aurora, 2, Decimal("0"))]
        return services.quote_create(
            actor=actor or org.rep,
            account=kwargs.pop("account", acme),
            country="DE",
            discount_percent=discount,
            lines=[{"product": p, "quantity": q, "discount_percent": d} for p, q, d in lines],
            **kwargs,
        )

    return _quote


def editor_post(client, url, **fields):
    """POST the quote editor with its header fields and parallel line lists."""
    data = {
        "currency": "EUR",
        "country": "DE",
        "discount_percent": "0",
        "valid_until": (timezone.localdate() + timedelta(days=30)).isoformat(),
        "notes": "",
        "line_product": [],
        "line_configuration": [],
        "line_quantity": [],
        "line_discount": [],
    }
    headers = {k: fields.pop(k) for k in list(fields) if k.startswith("HTTP_")}
    data.update(fields)
    return client.post(url, data, **headers)


# --- Quotes ---------------------------------------------------------------------------------------


def test_the_quote_list_shows_the_reps_own_quotes_only(org, login, quote_of):
    mine = quote_of()
    theirs = quote_of(actor=org.rep_b)
    page = login(org.rep).get(reverse("orders:quote-list")).content.decode()
    assert mine.number in page
    assert theirs.number not in page
    page = login(org.manager).get(reverse("orders:quote-list")).content.decode()
    assert mine.number in page and theirs.number in page


def test_a_manager_finds_the_quotes_waiting_for_approval(org, login, quote_of, shop):
    waiting = quote_of(lines=[(shop.aurora, 1, Decimal("25"))])
    services.quote_request_approval(quote=waiting, actor=org.rep)
    other = quote_of()
    client = login(org.manager)
    page = client.get(reverse("orders:quote-list"), {"needs_my_approval": "true"}).content.decode()
    assert waiting.number in page
    assert other.number not in page
    # A rep has no approval inbox: the filter finds nothing for them, not even their own waiting quote.
    page = login(org.rep).get(reverse("orders:quote-list"), {"needs_my_approval": "true"}).content.decode()
    assert waiting.number not in page


def test_the_editor_adds_a_product_and_shows_live_totals(org, login, acme, shop):
    client = login(org.rep)
    url = reverse("orders:quote-create")
    response = editor_post(client, url, account=acme.pk, op=f"add:{shop.aurora.pk}", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="quote-editor"' in html and "<html" not in html  # the editor partial only
    assert "Aurora 100" in html
    assert "€1,000" in html  # price list price
    assert "€1,190" in html  # with 19 % tax in DE
    # Change the quantity and the discount: the totals follow (2 × 1000 − 10 % = 1800 net, 2142 with tax).
    response = editor_post(
        client,
        url,
        account=acme.pk,
        line_product=[shop.aurora.pk],
        line_configuration=[""],
        line_quantity=["2"],
        line_discount=["10"],
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert "€1,800" in html and "€2,142" in html
    assert Quote.objects.count() == 0  # nothing is saved before "Save"


def test_the_editor_saves_through_the_service_and_flags_a_discount_needing_approval(org, login, acme, shop):
    client = login(org.rep)
    response = editor_post(
        client,
        reverse("orders:quote-create"),
        account=acme.pk,
        line_product=[shop.aurora.pk, shop.manual.pk],
        line_configuration=["", ""],
        line_quantity=["1", "3"],
        line_discount=["20", "0"],
        op="save",
    )
    quote = Quote.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("orders:quote-detail", args=[quote.pk])
    assert quote.owner == org.rep and quote.account == acme and quote.status == Quote.Status.DRAFT
    assert [(li.product, li.quantity, li.discount_percent) for li in quote.lines.all()] == [
        (shop.aurora, 1, Decimal("20.00")),
        (shop.manual, 3, Decimal("0.00")),
    ]
    page = client.get(response["Location"]).content.decode()
    assert "Ask for approval" in page
    assert "Mark as sent" not in page


def test_the_editor_adds_a_saved_configuration(org, login, acme, shop):
    client = login(org.rep)
    html = editor_post(
        client, reverse("orders:quote-create"), account=acme.pk, op=f"config:{shop.config.pk}", HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "AUR-C-RED-LTH" in html and "€2,500" in html


def test_the_editor_without_a_customer_or_lines_says_what_is_missing(org, login, acme, shop):
    client = login(org.rep)
    response = editor_post(client, reverse("orders:quote-create"), op="save")
    assert response.status_code == 400
    assert "Choose the customer" in response.content.decode()
    response = editor_post(client, reverse("orders:quote-create"), account=acme.pk, op="save")
    assert "Add at least one line." in response.content.decode()
    assert not Quote.objects.exists()


def test_a_stale_edit_is_refused_with_a_clear_message(org, login, quote_of, shop, acme):
    quote = quote_of()
    client = login(org.rep)
    edited_version = quote.version
    services.quote_update(quote=quote, actor=org.rep, data={"notes": "changed meanwhile"})
    response = editor_post(
        client,
        reverse("orders:quote-edit", args=[quote.pk]),
        account=acme.pk,
        version=edited_version,
        line_product=[shop.aurora.pk],
        line_configuration=[""],
        line_quantity=["5"],
        line_discount=["0"],
        op="save",
    )
    assert response.status_code == 400
    assert "changed by someone else" in response.content.decode()
    quote.refresh_from_db()
    assert quote.lines.get().quantity == 2


def test_an_edit_with_the_current_version_is_saved(org, login, quote_of, shop, acme):
    quote = quote_of()
    response = editor_post(
        login(org.rep),
        reverse("orders:quote-edit", args=[quote.pk]),
        account=acme.pk,
        version=quote.version,
        line_product=[shop.aurora.pk],
        line_configuration=[""],
        line_quantity=["5"],
        line_discount=["0"],
        op="save",
    )
    assert response.status_code == 302
    quote.refresh_from_db()
    assert quote.lines.get().quantity == 5 and quote.version == 2


def test_approval_then_accept_makes_the_order(org, login, quote_of, shop):
    quote = quote_of(lines=[(shop.aurora, 1, Decimal("25"))])
    rep, manager = login(org.rep), None
    response = rep.post(reverse("orders:quote-action", args=[quote.pk, "request_approval"]))
    assert response.status_code == 302
    quote.refresh_from_db()
    assert quote.status == Quote.Status.PENDING_APPROVAL
    # The rep cannot approve their own quote: no button, and the step is refused with the service's reason.
    page = rep.get(reverse("orders:quote-detail", args=[quote.pk])).content.decode()
    assert ">Approve<" not in page
    manager = login(org.manager)
    page = manager.get(reverse("orders:quote-detail", args=[quote.pk])).content.decode()
    assert ">Approve<" in page
    quote.refresh_from_db()
    reviewed = quote.version
    # Meanwhile the rep changes the quote and asks again: the page the manager read is out of date.
    services.quote_update(quote=quote, actor=org.rep, data={"discount_percent": 30}, version=reviewed)
    services.quote_request_approval(quote=quote, actor=org.rep)
    stale = manager.post(
        reverse("orders:quote-action", args=[quote.pk, "approve"]), {"note": "ok", "version": reviewed}, follow=True
    )
    assert "changed by someone else" in stale.content.decode()
    quote.refresh_from_db()
    assert quote.status == Quote.Status.PENDING_APPROVAL
    manager.post(
        reverse("orders:quote-action", args=[quote.pk, "approve"]),
        {"note": "ok for the fleet", "version": quote.version},
    )
    quote.refresh_from_db()
    assert quote.status == Quote.Status.APPROVED and quote.approved_by == org.manager
    response = login(org.rep).post(reverse("orders:quote-action", args=[quote.pk, "accept"]))
    order = Order.objects.get(quote=quote)
    assert response["Location"] == reverse("orders:order-detail", args=[order.pk])
    assert order.status == Order.Status.DRAFT


def test_a_refused_quote_step_shows_the_services_message(org, login, quote_of, shop, client):
    quote = quote_of(lines=[(shop.aurora, 1, Decimal("25"))])  # needs approval: cannot be sent as it is
    response = login(org.rep).post(reverse("orders:quote-action", args=[quote.pk, "send"]), follow=True)
    quote.refresh_from_db()
    assert quote.status == Quote.Status.DRAFT
    text = response.content.decode()
    assert quote.number in text and "message-error" in text


def test_decline_needs_a_reason(org, login, quote_of, shop):
    quote = quote_of(lines=[(shop.aurora, 1, Decimal("25"))])
    services.quote_request_approval(quote=quote, actor=org.rep)
    manager = login(org.manager)
    response = manager.post(
        reverse("orders:quote-action", args=[quote.pk, "decline"]),
        {"reason": "", "version": quote.version},
        follow=True,
    )
    assert "needs a reason" in response.content.decode()
    quote.refresh_from_db()
    assert quote.status == Quote.Status.PENDING_APPROVAL
    manager.post(
        reverse("orders:quote-action", args=[quote.pk, "decline"]), {"reason": "20 % at most", "version": quote.version}
    )
    quote.refresh_from_db()
    assert quote.status == Quote.Status.DRAFT and quote.approval_note == "20 % at most"


def test_the_print_view_has_the_document_parts(org, login, quote_of, shop):
    quote = quote_of(lines=[(shop.aurora, 1, Decimal("0")), (shop.manual, 2, Decimal("0"))])
    html = login(org.rep).get(reverse("orders:quote-print", args=[quote.pk])).content.decode()
    assert "Print / Save as PDF" in html
    assert quote.number in html and "Acme GmbH" in html
    assert "Tax 7 % on €40.00" in html and "Tax 19 % on €1,000.00" in html
    assert "€1,232.80" in html  # 1040 net + 2.80 + 190 tax
    assert quote.valid_until.strftime("%-d %B %Y") in html


def test_another_rep_can_neither_open_nor_move_the_reps_quote(org, login, quote_of, shop, acme):
    quote = quote_of()
    client = login(org.rep_b)
    for name in ("orders:quote-detail", "orders:quote-edit", "orders:quote-print"):
        assert client.get(reverse(name, args=[quote.pk])).status_code == 404
    for action in ("request_approval", "send", "accept", "reject"):
        assert client.post(reverse("orders:quote-action", args=[quote.pk, action]), {"reason": "x"}).status_code == 404
    response = editor_post(
        client,
        reverse("orders:quote-edit", args=[quote.pk]),
        account=acme.pk,
        line_product=[shop.aurora.pk],
        line_quantity=["9"],
        op="save",
    )
    assert response.status_code == 404
    quote.refresh_from_db()
    assert quote.status == Quote.Status.DRAFT and quote.lines.get().quantity == 2


# --- Orders ---------------------------------------------------------------------------------------


def test_the_order_list_filters_and_pages_by_keyset(org, login, acme):
    today = timezone.localdate()
    orders = [
        OrderFactory(owner=org.rep, account=acme, ordered_on=today - timedelta(days=i), status=Order.Status.CONFIRMED)
        for i in range(5)
    ]
    orders[1].risk = "Not allocated 3 working days before the promise"
    orders[1].save()
    OrderFactory(owner=org.rep, account=acme, ordered_on=today, status=Order.Status.DELIVERED)
    hidden = OrderFactory(owner=org.rep_b, ordered_on=today)
    client = login(org.rep)
    page = client.get(reverse("orders:order-list"), {"page_size": 2})
    html = page.content.decode()
    assert hidden.number not in html
    assert 'rel="next"' in html
    at_risk = client.get(reverse("orders:order-list"), {"at_risk": "true"}).content.decode()
    assert orders[1].number in at_risk and orders[0].number not in at_risk
    delivered = client.get(reverse("orders:order-list"), {"status": "delivered"}).content.decode()
    assert orders[0].number not in delivered
    ranged = client.get(
        reverse("orders:order-list"),
        {
            "ordered_after": (today - timedelta(days=3)).isoformat(),
            "ordered_before": (today - timedelta(days=2)).isoformat(),
        },
    ).content.decode()
    assert orders[2].number in ranged and orders[3].number in ranged and orders[0].number not in ranged
    assert client.get(reverse("orders:order-list"), {"status": "nonsense"}).status_code == 400


def test_the_order_list_partial_answers_htmx(org, login, acme):
    OrderFactory(owner=org.rep, account=acme)
    response = login(org.rep).get(reverse("orders:order-list"), HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert 'id="results"' in html and "<html" not in html


def test_the_order_list_query_count_does_not_grow_with_the_rows(org, login, acme, django_assert_max_num_queries):
    for _ in range(30):
        OrderFactory(owner=org.rep, account=acme)
    client = login(org.rep)
    client.get(reverse("orders:order-list"))  # warm the session and the caches
    with django_assert_max_num_queries(12):
        client.get(reverse("orders:order-list"))


def test_an_order_walks_its_steps_from_the_page_with_a_partial_shipment(org, login, make_order, shop):
    order = make_order([(shop.aurora, 3), (shop.manual, 2)])
    client = login(org.rep)
    page = client.get(reverse("orders:order-detail", args=[order.pk])).content.decode()
    assert "Confirm the order" in page
    client.post(reverse("orders:order-action", args=[order.pk, "confirm"]))
    order.refresh_from_db()
    assert order.status == Order.Status.CONFIRMED and order.promised_date
    # Shipping before allocation: the state machine's own error, shown on the page.
    response = client.post(reverse("orders:order-action", args=[order.pk, "ship"]), {"everything": "1"}, follow=True)
    assert order.number in response.content.decode() and "message-error" in response.content.decode()
    client.post(reverse("orders:order-action", args=[order.pk, "allocate"]))
    aurora, manual = order.lines.order_by("position")
    client.post(
        reverse("orders:order-action", args=[order.pk, "ship"]),
        {f"ship-{aurora.pk}": "2", f"ship-{manual.pk}": "", "carrier": "DHL", "tracking": "JD0001"},
    )
    order.refresh_from_db()
    assert order.status == Order.Status.PARTIALLY_SHIPPED
    page = client.get(reverse("orders:order-detail", args=[order.pk])).content.decode()
    assert "JD0001" in page and "Shipment 1 delivered" in page
    client.post(
        reverse("orders:order-action", args=[order.pk, "ship"]), {f"ship-{aurora.pk}": "1", f"ship-{manual.pk}": "2"}
    )
    order.refresh_from_db()
    assert order.status == Order.Status.SHIPPED
    for shipment in Shipment.objects.filter(order=order).order_by("number"):
        client.post(reverse("orders:order-action", args=[order.pk, "deliver"]), {"shipment": shipment.pk})
    order.refresh_from_db()
    assert order.status == Order.Status.DELIVERED
    page = client.get(reverse("orders:order-detail", args=[order.pk])).content.decode()
    for step in ("Confirmed", "Allocated", "Partially shipped", "Shipped", "Delivered"):
        assert f"<strong>{step}</strong>" in page
    assert org.rep.get_full_name() in page


def test_ship_without_units_and_cancel_without_reason_are_refused(org, login, confirmed, shop):
    order = confirmed([(shop.aurora, 1)])
    states.order_allocate(order=order, actor=org.rep)
    client = login(org.rep)
    line = order.lines.get()
    response = client.post(
        reverse("orders:order-action", args=[order.pk, "ship"]), {f"ship-{line.pk}": "0"}, follow=True
    )
    assert "enter the units to ship" in response.content.decode()
    response = client.post(reverse("orders:order-action", args=[order.pk, "cancel"]), {"reason": ""}, follow=True)
    assert "needs a reason" in response.content.decode()
    order.refresh_from_db()
    assert order.status == Order.Status.ALLOCATED
    client.post(reverse("orders:order-action", args=[order.pk, "cancel"]), {"reason": "Customer changed their mind"})
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED


def test_another_rep_can_neither_open_nor_move_the_reps_order(org, login, make_order, shop):
    order = make_order([(shop.aurora, 1)])
    client = login(org.rep_b)
    assert client.get(reverse("orders:order-detail", args=[order.pk])).status_code == 404
    for action in ("confirm", "cancel"):
        response = client.post(reverse("orders:order-action", args=[order.pk, action]), {"reason": "x"})
        assert response.status_code == 404
    order.refresh_from_db()
    assert order.status == Order.Status.DRAFT
    # Their manager can open it.
    assert login(org.manager).get(reverse("orders:order-detail", args=[order.pk])).status_code == 200


def test_a_won_opportunity_becomes_an_order_from_its_page(org, login, acme, shop):
    from leads.models import OpportunityLine
    from leads.services import opportunity_create, opportunity_move, pipeline_default

    stages = {s.name: s for s in pipeline_default().stages.all()}
    deal = opportunity_create(
        actor=org.rep,
        name="Fleet",
        account=acme,
        stage=stages["Prospecting"],
        amount=2000,
        expected_close=timezone.localdate() + timedelta(days=30),
    )
    OpportunityLine.objects.create(
        opportunity=deal, product=shop.aurora, description="Aurora", quantity=2, unit_price=1000
    )
    client = login(org.rep)
    page = client.get(reverse("leads:opportunity-detail", args=[deal.pk])).content.decode()
    assert "New quote" in page and "Create order" not in page
    opportunity_move(opportunity=deal, stage=stages["Closed won"], actor=org.rep, via="form")
    page = client.get(reverse("leads:opportunity-detail", args=[deal.pk])).content.decode()
    assert "Create order" in page
    response = client.post(reverse("orders:order-from-opportunity", args=[deal.pk]))
    order = Order.objects.get(opportunity=deal)
    assert response["Location"] == reverse("orders:order-detail", args=[order.pk])
    page = client.get(reverse("leads:opportunity-detail", args=[deal.pk])).content.decode()
    assert order.number in page and "Create order" not in page
    assert login(org.rep_b).post(reverse("orders:order-from-opportunity", args=[deal.pk])).status_code == 404


# --- Stock, fulfilment, settings ---------------------------------------------------------------------


def test_stock_shows_available_units_and_only_admins_adjust(org, login, shop):
    level = shop.level(shop.aurora, shop.main)
    page = login(org.rep).get(reverse("orders:stock")).content.decode()
    assert "Aurora 100" in page and "Receive" not in page
    assert (
        login(org.rep)
        .post(reverse("orders:stock-adjust", args=[level.pk]), {"mode": "receive", "quantity": 5})
        .status_code
        == 403
    )
    admin = login(org.admin)
    admin.post(reverse("orders:stock-adjust", args=[level.pk]), {"mode": "receive", "quantity": 5})
    level.refresh_from_db()
    assert level.on_hand == 8
    admin.post(reverse("orders:stock-adjust", args=[level.pk]), {"mode": "set", "quantity": 4})
    level.refresh_from_db()
    assert level.on_hand == 4
    admin.post(reverse("orders:stock-add"), {"add-product": "GAD-1", "add-warehouse": shop.backup.pk, "add-on_hand": 7})
    assert shop.level(shop.gadget, shop.backup).on_hand == 7


def test_the_fulfilment_dashboard_shows_risk_rates_and_backlog(org, login, acme, shop):
    today = timezone.localdate()
    risky = OrderFactory(
        owner=org.rep,
        account=acme,
        status=Order.Status.CONFIRMED,
        promised_date=today + timedelta(days=2),
        total=Decimal("500.00"),
        risk="Not allocated 3 working days before the promise",
    )
    OrderFactory(owner=org.rep_b, status=Order.Status.ALLOCATED, promised_date=today, total=Decimal("900.00"))
    DeliveryStat.objects.create(
        month=today.replace(day=1), product=shop.aurora, deliveries=10, on_time=9, days_total=120
    )
    admin_page = login(org.admin).get(reverse("orders:fulfilment")).content.decode()
    assert risky.number in admin_page
    assert "90%" in admin_page  # 9 of 10 on time, from DeliveryStat
    assert "Aurora 100" in admin_page  # days by product
    assert "<svg" in admin_page
    rep_page = login(org.rep).get(reverse("orders:fulfilment")).content.decode()
    assert risky.number in rep_page
    assert "your orders" in rep_page and "90%" in rep_page  # the company's rate beside the rep's own
    assert "€900" not in rep_page  # rep_b's backlog is not the rep's


def test_admins_change_the_order_settings_and_reps_only_read_them(org, login):
    rep = login(org.rep)
    assert rep.get(reverse("orders:settings")).status_code == 200
    assert rep.post(reverse("orders:settings"), {"table": "settings"}).status_code == 403
    admin = login(org.admin)
    current = services.order_settings()
    data = {
        "table": "settings",
        "settings-approval_discount_percent": "10",
        "settings-quote_validity_days": "21",
        "settings-processing_days": str(current.processing_days),
        "settings-shipping_days": str(current.shipping_days),
        "settings-allocation_warning_days": str(current.allocation_warning_days),
        "settings-working_weekdays": "1,2,3,4,5,6",
        "settings-base_currency": "eur",
    }
    assert admin.post(reverse("orders:settings"), data).status_code == 302
    settings = OrderSettings.objects.get()
    assert settings.approval_discount_percent == Decimal("10") and settings.working_weekdays == "123456"
    response = admin.post(
        reverse("orders:settings"), {"table": "holiday", "holiday-date": "2031-12-25", "holiday-name": "Christmas"}
    )
    assert response.status_code == 302
    holiday = Holiday.objects.get(date=date(2031, 12, 25))
    admin.post(reverse("orders:settings-delete", args=["holiday", holiday.pk]))
    assert not Holiday.objects.exists()
    bad = admin.post(reverse("orders:settings"), {"table": "settings", "settings-working_weekdays": "89"})
    assert bad.status_code == 400 and "ISO weekdays" in bad.content.decode()


# --- Panels on the pages of other apps ------------------------------------------------------------------


def test_the_account_and_contact_pages_show_the_customers_quotes_and_orders(org, login, acme, anna, quote_of):
    quote = quote_of()
    order = OrderFactory(owner=org.rep, account=acme, contact=anna)
    other = OrderFactory(owner=org.rep_b, account=acme)
    page = login(org.rep).get(reverse("contacts:account-detail", args=[acme.pk])).content.decode()
    assert quote.number in page and order.number in page
    assert other.number not in page  # a colleague's order stays private
    page = login(org.rep).get(reverse("contacts:contact-detail", args=[anna.pk])).content.decode()
    assert order.number in page and quote.number not in page  # the quote is the account's, not Anna's


def test_the_product_page_shows_what_sells_with_it_and_who_bought_it(org, login, make_order, shop, acme):
    for _ in range(2):
        order = make_order([(shop.aurora, 1), (shop.manual, 2)])
        states.order_confirm(order=order, actor=org.rep)
    page = login(org.rep).get(reverse("catalog:product-detail", args=[shop.aurora.slug])).content.decode()
    assert "What sells with it and who bought it" in page
    assert "Owner&#x27;s manual" in page and "100%" in page
    assert "Acme GmbH" in page
    # rep_b sees the company-wide companions but no account from orders they may not see.
    page = login(org.rep_b).get(reverse("catalog:product-detail", args=[shop.aurora.slug])).content.decode()
    assert "Owner&#x27;s manual" in page and "None in the orders you can see" in page


def test_the_dashboard_widget_lists_my_orders_at_risk_and_approvals(org, login, acme, quote_of, shop):
    OrderFactory(
        owner=org.rep, account=acme, status=Order.Status.CONFIRMED, risk="Late: not shipped", number="SO-RISK1"
    )
    waiting = quote_of(lines=[(shop.aurora, 1, Decimal("25"))])
    services.quote_request_approval(quote=waiting, actor=org.rep)
    page = login(org.manager).get(reverse("home")).content.decode()
    assert "SO-RISK1" in page and waiting.number in page
    page = login(org.rep_b).get(reverse("home")).content.decode()
    assert "SO-RISK1" not in page


def test_pages_of_quotes_written_by_factories_render(org, login):
    quote = QuoteFactory(owner=org.rep)
    assert login(org.rep).get(reverse("orders:quote-detail", args=[quote.pk])).status_code == 200


def test_a_delivered_order_takes_a_partial_return_from_its_page(org, login, confirmed, shop):
    order = confirmed([(shop.aurora, 2)])
    states.order_allocate(order=order, actor=org.rep)
    states.order_ship(order=order, actor=org.rep)
    states.order_deliver(order=order, actor=org.rep)
    client = login(org.rep)
    line = order.lines.get()
    page = client.get(reverse("orders:order-detail", args=[order.pk])).content.decode()
    assert "Record a return" in page
    response = client.post(
        reverse("orders:order-action", args=[order.pk, "return"]), {f"return-{line.pk}": "1", "reason": ""}, follow=True
    )
    assert "needs a reason" in response.content.decode()
    client.post(
        reverse("orders:order-action", args=[order.pk, "return"]), {f"return-{line.pk}": "1", "reason": "Dented"}
    )
    line.refresh_from_db()
    assert line.quantity_returned == 1


def test_a_sent_quote_is_rejected_with_a_reason(org, login, quote_of):
    quote = quote_of()
    services.quote_send(quote=quote, actor=org.rep)
    client = login(org.rep)
    page = client.get(reverse("orders:quote-detail", args=[quote.pk])).content.decode()
    assert "Customer said no" in page and "Customer accepted: make the order" in page
    client.post(reverse("orders:quote-action", args=[quote.pk, "reject"]), {"reason": "Too expensive"})
    quote.refresh_from_db()
    assert quote.status == Quote.Status.REJECTED
