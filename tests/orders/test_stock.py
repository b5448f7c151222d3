"""Stock: reservations by warehouse priority, counts and receipts, and the race for the last unit."""

from __future__ import annotations

import threading

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from orders.models import Order, Reservation, StockLevel
from orders.stock import stock_available, stock_receive, stock_release, stock_reserve, stock_set
from sfa.models import AuditEvent
from tests.orders.factories import StockLevelFactory, WarehouseFactory


def test_reserve_takes_from_the_first_warehouse_first_and_skips_inactive_ones(make_order, shop):
    closed = WarehouseFactory(code="closed", name="Closed", priority=0, is_active=False)
    StockLevelFactory(product=shop.aurora, warehouse=closed, on_hand=100)
    order = make_order([(shop.aurora, 2), (shop.aurora, 2)])  # two lines of one product share the stock
    assert stock_reserve(order) == {}
    assert stock_available(shop.aurora) == 1
    rows = sorted(Reservation.objects.values_list("line__position", "warehouse__code", "quantity"))
    assert rows == [(1, "main", 2), (2, "backup", 1), (2, "main", 1)]
    assert shop.level(shop.aurora, shop.main).reserved == 3
    assert shop.level(shop.aurora, shop.backup).reserved == 1
    assert StockLevel.objects.get(warehouse=closed).reserved == 0


def test_short_stock_names_every_short_line_and_reserves_nothing(make_order, shop):
    order = make_order([(shop.aurora, 6), (shop.manual, 51)])
    with pytest.raises(ValidationError) as caught:
        stock_reserve(order)
    message = caught.value.messages[0]
    assert "Only 5 units of Aurora 100 are available (6 ordered)" in message
    assert "Only 50 units of Owner's manual are available (51 ordered)" in message
    assert order.number in message


def test_one_unit_left_reads_well(make_order, shop):
    StockLevel.objects.filter(product=shop.aurora).update(on_hand=0)
    StockLevel.objects.filter(product=shop.aurora, warehouse=shop.main).update(on_hand=1)
    with pytest.raises(ValidationError, match=r"Only 1 unit of Aurora 100 is available \(2 ordered\)"):
        stock_reserve(make_order([(shop.aurora, 2)]))


def test_a_backorder_keeps_what_it_could_reserve(make_order, shop):
    order = make_order([(shop.aurora, 7)], allow_backorder=True)
    line = order.lines.get()
    assert stock_reserve(order) == {line.pk: 2}
    line.refresh_from_db()
    assert line.quantity_reserved == 5 and stock_available(shop.aurora) == 0


def test_made_to_order_products_reserve_nothing(make_order, shop):
    order = make_order([(shop.gadget, 3)])
    assert stock_reserve(order) == {}
    assert not Reservation.objects.exists() and order.lines.get().quantity_reserved == 0


def test_release_gives_everything_back(make_order, shop):
    order = make_order([(shop.aurora, 4), (shop.manual, 5)])
    stock_reserve(order)
    assert stock_release(order) == 9
    assert set(StockLevel.objects.values_list("reserved", flat=True)) == {0}
    assert not Reservation.objects.exists()


def test_receive_and_count_are_for_admins_and_audited(org, shop):
    with pytest.raises(PermissionDenied):
        stock_receive(product=shop.gadget, warehouse=shop.main, quantity=5, actor=org.rep)
    with pytest.raises(PermissionDenied):
        stock_set(product=shop.aurora, warehouse=shop.main, on_hand=9, actor=org.manager)
    level = stock_receive(product=shop.gadget, warehouse=shop.main, quantity=5, actor=org.admin)
    assert level.on_hand == 5 and stock_available(shop.gadget) == 5  # no longer made to order
    level = stock_set(product=shop.aurora, warehouse=shop.main, on_hand=9, actor=org.admin)
    assert level.on_hand == 9
    verbs = set(AuditEvent.objects.filter(content_type__model="stocklevel").values_list("verb", flat=True))
    assert verbs == {"stock received", "stock counted"}
    with pytest.raises(ValidationError, match="at least 1 unit"):
        stock_receive(product=shop.gadget, warehouse=shop.main, quantity=0, actor=org.admin)


def test_a_count_cannot_drop_below_what_is_reserved(make_order, org, shop):
    stock_reserve(make_order([(shop.aurora, 3)]))
    with pytest.raises(ValidationError, match="3 units are reserved for confirmed orders"):
        stock_set(product=shop.aurora, warehouse=shop.main, on_hand=2, actor=org.admin)
    assert shop.level(shop.aurora, shop.main).on_hand == 3


# --- The race for the last unit, with real concurrent transactions ----------------------------------------

needs_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL: SQLite lets one writer at a time into the database file, so two transactions "
    "cannot race for the same row there; run with DATABASE_URL=postgres://…",
)


def run_together(*calls, timeout: float = 20):
    """Run ``calls`` in threads (each with its own database connection); returns their results or errors."""
    results: list = [None] * len(calls)

    def run(index, call):
        try:
            results[index] = call()
        except Exception as exc:  # the test inspects what each thread met
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(t.is_alive() for t in threads), "a thread hung: a deadlock?"
    return results


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_two_confirmations_racing_for_the_last_unit(org, shop, make_order, monkeypatch):
    from orders import stock
    from orders.services import order_settings
    from orders.states import order_confirm, order_update_purpose

    order_settings(), order_update_purpose()  # made once in real life; here each test starts empty
    StockLevel.objects.filter(product=shop.aurora).update(on_hand=0)
    StockLevel.objects.filter(product=shop.aurora, warehouse=shop.main).update(on_hand=1)
    first, second = make_order([(shop.aurora, 1), (shop.manual, 1)]), make_order([(shop.manual, 1), (shop.aurora, 1)])
    barrier = threading.Barrier(2, timeout=10)
    locked_levels = stock._locked_levels

    def collide(product_ids):
        barrier.wait()  # both transactions hold their order and now reach for the stock rows together
        return locked_levels(product_ids)

    monkeypatch.setattr(stock, "_locked_levels", collide)

    def confirm(order_id):
        return lambda: order_confirm(order=Order.objects.get(pk=order_id), actor=org.rep).status

    results = run_together(confirm(first.pk), confirm(second.pk))
    winners = [r for r in results if r == Order.Status.CONFIRMED]
    losers = [r for r in results if isinstance(r, ValidationError)]
    assert len(winners) == 1 and len(losers) == 1, results
    assert "Only 0 units of Aurora 100 are available (1 ordered)" in losers[0].messages[0]
    main = shop.level(shop.aurora, shop.main)
    assert (main.on_hand, main.reserved) == (1, 1)
    assert shop.level(shop.manual, shop.main).reserved == 1  # the loser's other line was rolled back too
    statuses = sorted(Order.objects.filter(pk__in=[first.pk, second.pk]).values_list("status", flat=True))
    assert statuses == ["confirmed", "draft"]


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_numbers_stay_unique_when_orders_are_made_at_the_same_moment(org, acme, shop):
    from orders.services import order_create

    barrier = threading.Barrier(4, timeout=10)

    def create():
        barrier.wait()
        return order_create(actor=org.rep, account=acme, lines=[{"product": shop.manual, "quantity": 1}]).number

    results = run_together(*[create for _ in range(4)])
    assert sorted(results) == ["SO-000001", "SO-000002", "SO-000003", "SO-000004"], results


def test_a_release_that_finds_the_stock_figures_changed_around_it_fails_and_keeps_the_reservation(make_order, shop):
    order = make_order([(shop.aurora, 2)])
    stock_reserve(order)
    StockLevel.objects.filter(product=shop.aurora).update(reserved=0)  # changed behind the services' back
    with pytest.raises(ValidationError, match="count that stock again"):
        stock_release(order)
    assert Reservation.objects.filter(line__order=order).exists()
