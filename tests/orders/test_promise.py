"""The working-day calendar and the promised date."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from orders.calendar import is_working_day, working_days_add, working_days_between
from orders.models import Holiday
from orders.promise import promise_date
from orders.services import order_settings
from orders.states import order_confirm

MONDAY = date(2027, 3, 1)
GOOD_FRIDAY = date(2027, 3, 26)
EASTER_MONDAY = date(2027, 3, 29)


@pytest.fixture
def easter(db):
    Holiday.objects.create(date=GOOD_FRIDAY, name="Good Friday")
    Holiday.objects.create(date=EASTER_MONDAY, name="Easter Monday")


def test_weekends_and_holidays_are_not_working_days(easter):
    assert is_working_day(MONDAY)
    assert not is_working_day(MONDAY + timedelta(days=5))  # Saturday
    assert not is_working_day(GOOD_FRIDAY) and not is_working_day(EASTER_MONDAY)
    assert is_working_day(GOOD_FRIDAY - timedelta(days=1))


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        (MONDAY, 0, MONDAY),
        (MONDAY, 1, date(2027, 3, 2)),
        (MONDAY, 4, date(2027, 3, 5)),  # Friday
        (MONDAY, 5, date(2027, 3, 8)),  # over the weekend
        (date(2027, 3, 6), 0, date(2027, 3, 8)),  # a Saturday rolls to Monday
        (date(2027, 3, 25), 1, date(2027, 3, 30)),  # Thursday + 1 skips Easter: Tuesday
        (date(2027, 3, 30), -1, date(2027, 3, 25)),
        (MONDAY, -1, date(2027, 2, 26)),
    ],
)
def test_working_days_add(easter, start, days, expected):
    assert working_days_add(start, days) == expected


def test_between_counts_what_add_adds(easter):
    checked = 0
    for offset in range(40):
        start = MONDAY + timedelta(days=offset)
        if not is_working_day(start):
            continue
        for n in (-5, -1, 0, 1, 3, 7, 15):
            assert working_days_between(start, working_days_add(start, n)) == n, (start, n)
            checked += 1
    assert checked > 100
    assert working_days_between(date(2027, 3, 25), date(2027, 3, 30)) == 1
    assert working_days_between(date(2027, 3, 30), date(2027, 3, 25)) == -1
    assert working_days_between(MONDAY, MONDAY) == 0


def test_the_shipping_weekdays_are_a_setting(db):
    settings = order_settings()
    settings.working_weekdays = "123456"
    settings.save()
    assert is_working_day(MONDAY + timedelta(days=5))
    assert working_days_add(date(2027, 3, 5), 1) == date(2027, 3, 6)


def test_in_stock_lines_take_processing_and_shipping(shop):
    # 1 day processing + 2 shipping (the defaults), from Monday: Thursday.
    assert promise_date(lines=[{"product": shop.aurora, "quantity": 5}], start=MONDAY) == date(2027, 3, 4)


def test_missing_stock_takes_the_lead_time(shop):
    # 6 > 5 in stock: 15 working days lead + 2 shipping = 17 working days.
    assert promise_date(lines=[{"product": shop.aurora, "quantity": 6}], start=MONDAY) == date(2027, 3, 24)


def test_the_promise_is_the_latest_line_and_respects_holidays(shop, easter):
    lines = [
        {"product": shop.manual, "quantity": 1},
        {"product": shop.gadget, "quantity": 1},  # made to order: 10 + 2 working days
    ]
    # 12 working days from Monday 15 March: Good Friday and Easter Monday are skipped.
    assert promise_date(lines=lines, start=date(2027, 3, 15)) == date(2027, 4, 2)
    Holiday.objects.filter(date=EASTER_MONDAY).delete()
    assert promise_date(lines=lines, start=date(2027, 3, 15)) == date(2027, 4, 1)


def test_configured_options_lengthen_the_lead_time(shop):
    # The configuration's lead time (base + slowest option) is 25 working days, + 2 shipping.
    line = {"product": shop.custom, "configuration": shop.config, "quantity": 1}
    assert promise_date(lines=[line], start=MONDAY) == working_days_add(MONDAY, 27)
    assert promise_date(lines=[{**line, "lead_time_days": 3}], start=MONDAY) == working_days_add(MONDAY, 5)


def test_lines_share_the_free_stock(shop):
    one = {"product": shop.aurora, "quantity": 3}
    assert promise_date(lines=[one], start=MONDAY) == date(2027, 3, 4)
    assert promise_date(lines=[one, one], start=MONDAY) == working_days_add(MONDAY, 17)


def test_the_settings_decide_processing_and_shipping(shop):
    settings = order_settings()
    settings.processing_days, settings.shipping_days = 0, 5
    settings.save()
    assert promise_date(lines=[{"product": shop.manual, "quantity": 1}], start=MONDAY) == date(2027, 3, 8)


def test_confirm_promises_from_the_reservation(org, make_order, shop):
    in_stock = order_confirm(order=make_order([(shop.aurora, 5)]), actor=org.rep)
    assert in_stock.promised_date == working_days_add(in_stock.ordered_on, 3)
    # The stock is now reserved, so the next order of Aurora waits for its lead time.
    backorder = order_confirm(order=make_order([(shop.aurora, 1)], allow_backorder=True), actor=org.rep)
    assert backorder.promised_date == working_days_add(backorder.ordered_on, 17)
