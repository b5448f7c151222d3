"""Forecast periods: months, fiscal quarters and fiscal years by key, with a fiscal year starting in April."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from forecasting.pipeline_periods import (
    bounds_label,
    period_choices,
    period_for_bounds,
    period_of,
    period_parse,
)


def test_keys_name_months_fiscal_quarters_and_years():
    q1 = period_parse("FY2027-Q1", start_month=4)
    assert (q1.start, q1.end, q1.kind) == (date(2026, 4, 1), date(2026, 6, 30), "quarter")
    assert q1.months == (date(2026, 4, 1), date(2026, 5, 1), date(2026, 6, 1))
    q4 = period_parse("fy2027-q4", start_month=4)
    assert (q4.start, q4.end) == (date(2027, 1, 1), date(2027, 3, 31))
    year = period_parse("FY2027", start_month=4)
    assert (year.start, year.end, len(year.months)) == (date(2026, 4, 1), date(2027, 3, 31), 12)
    february = period_parse("2028-02", start_month=4)
    assert (february.end, february.fiscal_year) == (date(2028, 2, 29), 2028)
    assert period_parse("2026-12", start_month=1).label == "December 2026"
    assert period_parse("FY2026-Q2", start_month=1).label == "Q2 FY2026 (Apr – Jun 2026)"


@pytest.mark.parametrize("key", ["", "2026-13", "FY2027-Q5", "Q1", "2026", "FY27", "1999-01"])
def test_a_bad_key_says_what_to_write(key):
    with pytest.raises(ValidationError, match="fiscal quarter"):
        period_parse(key, start_month=4)


def test_the_period_of_a_day_and_its_neighbours():
    day = date(2026, 3, 15)
    assert period_of("quarter", day, start_month=4).key == "FY2026-Q4"
    assert period_of("year", day, start_month=4).key == "FY2026"
    assert period_of("quarter", day, start_month=4).shifted(1, start_month=4).key == "FY2027-Q1"
    assert period_of("month", day, start_month=4).shifted(-3, start_month=4).key == "2025-12"
    assert period_of("year", day, start_month=4).shifted(1, start_month=4).start == date(2026, 4, 1)


def test_bounds_are_named_when_they_are_a_period():
    assert period_for_bounds(date(2026, 4, 1), date(2026, 6, 30), start_month=4).key == "FY2027-Q1"
    assert bounds_label(date(2026, 4, 1), date(2027, 3, 31), start_month=4) == "FY2027"
    assert bounds_label(date(2026, 4, 1), date(2026, 5, 31), start_month=4) == "1 Apr 2026 – 31 May 2026"


def test_the_picker_offers_three_fiscal_years_with_quarters_and_months():
    groups = period_choices(date(2026, 5, 1), start_month=4)
    assert [name for name, _ in groups] == ["FY2026", "FY2027", "FY2028"]
    assert len(groups[1][1]) == 1 + 4 + 12 and groups[1][1][0].key == "FY2027"


def test_elapsed_share():
    q = period_parse("FY2026-Q2", start_month=1)
    assert q.elapsed_share(date(2026, 3, 1)) == 0 and q.elapsed_share(date(2026, 7, 1)) == 1
    assert q.elapsed_share(date(2026, 4, 1)) == pytest.approx(1 / 91)
