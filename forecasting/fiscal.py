"""The fiscal calendar: which months make up a fiscal year, from the one ``FiscalYear`` row.

A fiscal year is named after the calendar year it ends in: with a start month of 4, FY2027 runs from
1 April 2026 to 31 March 2027. With the default start month 1 it is the calendar year.
"""

from __future__ import annotations

from datetime import date

from forecasting.models import FiscalYear


def fiscal_start_month() -> int:
    row = FiscalYear.objects.order_by("pk").first()
    return row.start_month if row else 1


def fiscal_year_of(day: date, *, start_month: int | None = None) -> int:
    """The fiscal year ``day`` falls in."""
    start = start_month or fiscal_start_month()
    if start == 1:
        return day.year
    return day.year + 1 if day.month >= start else day.year


def fiscal_year_months(year: int, *, start_month: int | None = None) -> list[date]:
    """The first days of the twelve months of fiscal year ``year``, in order."""
    start = start_month or fiscal_start_month()
    first_year = year if start == 1 else year - 1
    months = []
    for i in range(12):
        index = start - 1 + i
        months.append(date(first_year + index // 12, index % 12 + 1, 1))
    return months


def fiscal_year_bounds(year: int, *, start_month: int | None = None) -> tuple[date, date]:
    """First and last day of fiscal year ``year``."""
    months = fiscal_year_months(year, start_month=start_month)
    last = months[-1]
    end = date(last.year + 1, 1, 1) if last.month == 12 else date(last.year, last.month + 1, 1)
    return months[0], date.fromordinal(end.toordinal() - 1)
