"""The order state machine: every illegal step refused, every legal one guarded, recorded and audited."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from contacts.models import Touch
from orders.models import Order, OrderEvent, Reservation, SalesEntry, Shipment
from orders.states import (
    ACTIONS,
    TRANSITIONS,
    TransitionError,
    available_actions,
    order_allocate,
    order_cancel,
    order_close,
    order_confirm,
    order_deliver,
    order_return,
    order_ship,
    order_transition,
)
from sfa.models import AuditEvent
from tests.contacts.factories import AccountFactory
from tests.orders.factories import OrderFactory, OrderLineFactory

S = Order.Status
PARAMS = {"cancel": {"reason": "Customer changed their mind"}, "return": {"reason": "Damaged"}}
ILLEGAL = [(status, action) for status in S.values for action in ACTIONS if status not in ACTIONS[action]]


def test_the_matrix_is_complete_and_consistent():
    assert set(TRANSITIONS) == set(S.values)
    assert len(ILLEGAL) == len(S.values) * len(ACTIONS) - sum(len(v) for v in ACTIONS.values())
    for targets in TRANSITIONS.values():
        assert targets <= set(S.values)
    assert TRANSITIONS[S.CANCELLED] == TRANSITIONS[S.RETURNED] == set()


@pytest.mark.parametrize(("status", "action"), ILLEGAL, ids=[f"{s}-{a}" for s, a in ILLEGAL])
def test_every_illegal_step_is_refused_and_changes_nothing(org, shop, status, action):
    order = OrderFactory(owner=org.rep, status=status)
    OrderLineFactory(order=order, product=shop.aurora, quantity=1)
    with pytest.raises(TransitionError) as caught:
        order_transition(order=order, actor=org.rep, action=action, **PARAMS.get(action, {}))
    message = caught.value.messages[0]
    assert message.startswith(f"Order {order.number} is {S(status).label.lower()}: it cannot be ")
    order.refresh_from_db()
    assert order.status == status and order.version == 1
    assert not OrderEvent.objects.filter(order=order).exists()
    assert not SalesEntry.objects.filter(order=order).exists()


def test_an_illegal_step_says_what_is_missing(org, shop):
    order = OrderFactory(owner=org.rep, status=S.CONFIRMED)
    with pytest.raises(TransitionError, match=r"is confirmed: it cannot be shipped before it is allocated\."):
        order_ship(order=order, actor=org.rep)
    with pytest.raises(TransitionError, match="Unknown order action 'teleport'"):
        order_transition(order=order, actor=org.rep, action="teleport")


def event_of(order, action):
    return OrderEvent.objects.filter(order=order, data__action=action).latest("id")


def test_confirm_reserves_promises_books_and_records(org, make_order, shop, anna):
    order = make_order([(shop.aurora, 4)])
    result = order_confirm(order=order, actor=org.rep, note="Phoned in")
    assert result.status == order.status == S.CONFIRMED  # the caller's instance is refreshed too
    assert order.confirmed_at and order.ordered_on == timezone.localdate() and order.promised_date
    line = order.lines.get()
    assert line.quantity_reserved == 4
    assert dict(Reservation.objects.filter(line=line).values_list("warehouse__code", "quantity")) == {
        "main": 3,
        "backup": 1,
    }
    event = event_of(order, "confirm")
    assert (event.by, event.from_status, event.to_status, event.note) == (org.rep, "draft", "confirmed", "Phoned in")
    assert event.data["promised_date"] == order.promised_date.isoformat()
    touch = Touch.objects.get(pk=event.data["touch"])
    assert (touch.contact, touch.purpose.code, touch.channel, touch.direction, touch.user) == (
        anna,
        "order-update",
        "email",
        "out",
        org.rep,
    )
    assert touch.department == org.rep.department and order.number in touch.notes
    assert AuditEvent.objects.filter(
        object_id=str(order.pk), content_type__model="order", verb="order confirmed", actor=org.rep
    ).exists()
    assert AuditEvent.objects.filter(object_id=str(touch.pk), content_type__model="touch").exists()
    booked = SalesEntry.objects.get(order=order)
    assert (booked.kind, booked.units, booked.amount, booked.rep) == ("booked", 4, Decimal("4000.00"), org.rep)
    assert order.version == 2


def test_confirm_without_any_contact_skips_the_touch_and_says_so(org, make_order, shop):
    lonely = AccountFactory(name="Nobody GmbH", owner=org.rep)
    order = order_confirm(order=make_order(account=lonely), actor=org.rep)
    event = event_of(order, "confirm")
    assert event.data["touch"] is None and "Nobody GmbH has no contact person" in event.data["touch_skipped"]
    assert not Touch.objects.exists()


def test_confirm_is_refused_when_stock_is_short_and_nothing_is_held(org, make_order, shop):
    order = make_order([(shop.aurora, 6), (shop.manual, 1)])
    with pytest.raises(ValidationError, match=r"Only 5 units of Aurora 100 are available \(6 ordered\)"):
        order_confirm(order=order, actor=org.rep)
    order.refresh_from_db()
    assert order.status == S.DRAFT
    assert not Reservation.objects.exists() and shop.level(shop.manual, shop.main).reserved == 0
    assert not SalesEntry.objects.exists() and not OrderEvent.objects.exists()


def test_confirm_needs_an_exchange_rate_for_a_foreign_currency(org, make_order, shop):
    from orders.models import ExchangeRate

    order = make_order([{"product": shop.aurora, "quantity": 1, "unit_price": "1100"}], currency="USD")
    with pytest.raises(TransitionError, match="No exchange rate from USD to EUR"):
        order_confirm(order=order, actor=org.rep)
    assert shop.level(shop.aurora, shop.main).reserved == 0
    ExchangeRate.objects.create(currency="USD", rate=Decimal("0.9"), valid_from="2020-01-01")
    order_confirm(order=order, actor=org.rep)
    assert SalesEntry.objects.get(order=order).amount_base == Decimal("990.00")


def test_a_backorder_confirms_short_and_allocates_once_stock_comes_in(org, make_order, shop):
    from orders.stock import stock_receive

    order = order_confirm(order=make_order([(shop.aurora, 7)], allow_backorder=True), actor=org.rep)
    assert order.lines.get().quantity_reserved == 5
    assert event_of(order, "confirm").data["backorder"] == {str(order.lines.get().pk): 2}
    with pytest.raises(TransitionError, match="2 units of Aurora 100 are not in stock"):
        order_allocate(order=order, actor=org.rep)
    stock_receive(product=shop.aurora, warehouse=shop.backup, quantity=2, actor=org.admin)
    order_allocate(order=order, actor=org.rep)
    assert order.status == S.ALLOCATED and order.lines.get().quantity_reserved == 7


def test_allocate_reports_made_to_order_lines_produced(org, make_order, shop):
    order = order_confirm(order=make_order([(shop.gadget, 2), (shop.aurora, 1)]), actor=org.rep)
    gadget = order.lines.get(product=shop.gadget)
    assert gadget.quantity_reserved == 0
    order_allocate(order=order, actor=org.rep, note="Built")
    gadget.refresh_from_db()
    assert gadget.quantity_reserved == 2 and order.allocated_at
    event = event_of(order, "allocate")
    assert event.data["made_to_order_done"] == [gadget.pk] and event.to_status == "allocated"


def test_partial_shipments_then_delivery(org, confirmed, shop, ledger_sum):
    order = confirmed([(shop.aurora, 4), (shop.manual, 2)])
    order_allocate(order=order, actor=org.rep)
    aurora = order.lines.get(product=shop.aurora)
    manual = order.lines.get(product=shop.manual)

    first = order_ship(order=order, actor=org.rep, quantities={aurora.pk: 3}, carrier="DHL", tracking="123")
    assert order.status == S.PARTIALLY_SHIPPED and order.shipped_at is None
    assert first.number == 1 and list(first.lines.values_list("warehouse__code", "quantity")) == [("main", 3)]
    main = shop.level(shop.aurora, shop.main)
    assert (main.on_hand, main.reserved) == (0, 0)
    with pytest.raises(TransitionError, match="only 1 is left to be shipped"):
        order_ship(order=order, actor=org.rep, quantities={aurora.pk: 2})

    order_deliver(order=order, actor=org.rep, shipment=first)  # the first parcel arrives early
    assert order.status == S.PARTIALLY_SHIPPED
    assert ledger_sum(order, "delivery") == (3, Decimal("3000.00"), Decimal("3000.00"))

    second = order_ship(order=order, actor=org.rep)  # everything left
    assert second.number == 2 and order.status == S.SHIPPED and order.shipped_at
    assert {(r.line_id, r.quantity) for r in second.lines.all()} == {(aurora.pk, 1), (manual.pk, 2)}
    backup = shop.level(shop.aurora, shop.backup)
    assert (backup.on_hand, backup.reserved) == (1, 0)
    assert available_actions(order, org.rep) == ["deliver"]  # nothing comes back before it arrives

    order_deliver(order=order, actor=org.rep)
    assert order.status == S.DELIVERED and order.delivered_at
    assert ledger_sum(order, "delivery") == ledger_sum(order, "booking")
    with pytest.raises(TransitionError):
        order_deliver(order=order, actor=org.rep)
    events = list(order.events.values_list("data__action", "from_status", "to_status"))
    assert events == [
        ("confirm", "draft", "confirmed"),
        ("allocate", "confirmed", "allocated"),
        ("ship", "allocated", "partially_shipped"),
        ("deliver", "partially_shipped", "partially_shipped"),
        ("ship", "partially_shipped", "shipped"),
        ("deliver", "shipped", "delivered"),
    ]
    assert Touch.objects.filter(purpose__code="order-update").count() == 4  # confirm, 2 shipments, delivered
    order_close(order=order, actor=org.rep)
    assert order.status == S.CLOSED and order.closed_at


def test_cancel_releases_the_stock_and_reverses_the_ledger(org, confirmed, shop, ledger_sum):
    order = confirmed([(shop.aurora, 4), (shop.manual, 3)])
    order_allocate(order=order, actor=org.rep)
    assert ledger_sum(order) == (7, Decimal("4060.00"), Decimal("4060.00"))
    with pytest.raises(TransitionError, match="say why"):
        order_cancel(order=order, actor=org.rep, reason="")
    order_cancel(order=order, actor=org.rep, reason="Customer went bankrupt")
    assert order.status == S.CANCELLED and order.cancelled_at
    assert ledger_sum(order) == (0, Decimal("0"), Decimal("0"))
    assert set(SalesEntry.objects.filter(order=order).values_list("kind", flat=True)) == {"booked", "cancelled"}
    assert not Reservation.objects.exists()
    assert {lv.reserved for lv in (shop.level(shop.aurora, shop.main), shop.level(shop.aurora, shop.backup))} == {0}
    assert order.lines.filter(quantity_reserved__gt=0).count() == 0
    event = event_of(order, "cancel")
    assert (event.note, event.data["released_units"]) == ("Customer went bankrupt", 7)


def test_cancelling_a_draft_writes_no_ledger(org, make_order):
    order = make_order()
    order_cancel(order=order, actor=org.rep, reason="Typo")
    assert order.status == S.CANCELLED and not SalesEntry.objects.exists()


def ship_everything(order, actor):
    order_allocate(order=order, actor=actor)
    order_ship(order=order, actor=actor)
    order_deliver(order=order, actor=actor)


def test_a_full_return_puts_the_stock_back_and_nets_the_ledger_to_zero(org, confirmed, shop, ledger_sum):
    order = confirmed([(shop.aurora, 4), (shop.manual, 3)])
    ship_everything(order, org.rep)
    assert shop.level(shop.aurora, shop.main).on_hand == 0
    order_return(order=order, actor=org.rep, reason="Wrong model")
    assert order.status == S.RETURNED and order.returned_at
    assert ledger_sum(order) == (0, Decimal("0"), Decimal("0"))
    assert ledger_sum(order, "booking") == ledger_sum(order, "delivery") == (0, Decimal("0"), Decimal("0"))
    assert (shop.level(shop.aurora, shop.main).on_hand, shop.level(shop.aurora, shop.backup).on_hand) == (3, 2)
    assert shop.level(shop.manual, shop.main).on_hand == 50


def test_a_partial_return_keeps_the_status_and_reverses_only_those_units(org, confirmed, shop, ledger_sum):
    order = confirmed([{"product": shop.aurora, "quantity": 3, "unit_price": "100.00", "discount_percent": "33.33"}])
    ship_everything(order, org.rep)
    line = order.lines.get()
    assert line.net_amount == Decimal("200.01")
    order_return(order=order, actor=org.rep, quantities={line.pk: 1}, reason="One scratched")
    assert order.status == S.DELIVERED
    line.refresh_from_db()
    assert line.quantity_returned == 1
    assert ledger_sum(order, "booking") == (2, Decimal("133.34"), Decimal("133.34"))
    assert shop.level(shop.aurora, shop.main).on_hand == 1
    with pytest.raises(TransitionError, match="only 2 are left to be returned"):
        order_return(order=order, actor=org.rep, quantities={line.pk: 3}, reason="x")
    order_return(order=order, actor=org.rep, quantities={str(line.pk): 2}, reason="All of them after all")
    assert order.status == S.RETURNED
    assert ledger_sum(order) == (0, Decimal("0"), Decimal("0"))


def test_a_colleague_cannot_move_someone_elses_order(org, make_order):
    order = make_order()
    assert available_actions(order, org.rep_b) == []
    with pytest.raises(PermissionDenied):
        order_confirm(order=order, actor=org.rep_b)
    with pytest.raises(PermissionDenied):
        order_cancel(order=order, actor=org.rep_other, reason="x")
    order.refresh_from_db()
    assert order.status == S.DRAFT
    order_confirm(order=order, actor=org.manager)  # the rep's manager may
    assert event_of(order, "confirm").by == org.manager


def test_available_actions_follow_the_status(org, make_order):
    order = make_order()
    assert available_actions(order, org.rep) == ["confirm", "cancel"]
    order_confirm(order=order, actor=org.rep)
    assert available_actions(order, org.rep) == ["allocate", "cancel"]


def test_the_system_may_move_an_order(make_order, shop):
    order = order_confirm(order=make_order(), actor=None)
    event = event_of(order, "confirm")
    assert event.by is None
    assert Touch.objects.get(pk=event.data["touch"]).user == order.owner


def test_shipment_numbers_are_per_order(org, confirmed, shop):
    a = confirmed([(shop.manual, 2)])
    b = confirmed([(shop.manual, 2)])
    for order in (a, b):
        order_allocate(order=order, actor=org.rep)
    line = a.lines.get()
    order_ship(order=a, actor=org.rep, quantities={line.pk: 1})
    order_ship(order=a, actor=org.rep)
    order_ship(order=b, actor=org.rep)
    assert list(Shipment.objects.filter(order=a).values_list("number", flat=True)) == [1, 2]
    assert list(Shipment.objects.filter(order=b).values_list("number", flat=True)) == [1]
