"""Forecast periods: a month, a fiscal quarter or a fiscal year, named by a short key.

Keys: ``2026-05`` (a month), ``FY2027-Q1`` (the first quarter of fiscal year 2027), ``FY2027`` (the fiscal
year). Quarters follow the fiscal calendar (``forecasting.fiscal``): with a start month of 4, FY2027-Q1 is
April to June 2026. Quotas and adjustments store their bounds (first and last day); ``period_for_bounds``
names bounds again when they are such a period.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from django.core.exceptions import ValidationError

from forecasting.fiscal import fiscal_start_month, fiscal_year_months, fiscal_year_of

MONTH, QUARTER, YEAR = "month", "quarter", "year"
KINDS = (MONTH, QUARTER, YEAR)
_MONTH_KEY = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER_KEY = re.compile(r"^FY(\d{4})-Q([1-4])$")
_YEAR_KEY = re.compile(r"^FY(\d{4})$")


def month_end(first: date) -> date:
    """The last day of the month starting on ``first``."""
    following = date(first.year + 1, 1, 1) if first.month == 12 else date(first.year, first.month + 1, 1)
    return following - timedelta(days=1)


def elapsed_share(start: date, end: date, today: date) -> float:
    """How much of ``start``..``end`` has passed by the end of ``today`` (0 before it, 1 after it)."""
    if today < start:
        return 0.0
    if today >= end:
        return 1.0
    return ((today - start).days + 1) / ((end - start).days + 1)


@dataclass(frozen=True)
class Period:
    kind: str
    key: str
    start: date
    end: date  # the last day
    months: tuple[date, ...]  # first days
    fiscal_year: int

    @property
    def label(self) -> str:
        if self.kind == MONTH:
            return f"{self.start:%B %Y}"
        if self.kind == QUARTER:
            return f"{self.key[-2:]} FY{self.fiscal_year} ({self.start:%b} – {self.end:%b %Y})"
        return f"FY{self.fiscal_year} ({self.start:%b %Y} – {self.end:%b %Y})"

    @property
    def short_label(self) -> str:
        if self.kind == MONTH:
            return f"{self.start:%b %Y}"
        if self.kind == QUARTER:
            return f"{self.key[-2:]} FY{self.fiscal_year}"
        return f"FY{self.fiscal_year}"

    def elapsed_share(self, today: date) -> float:
        return elapsed_share(self.start, self.end, today)

    def shifted(self, steps: int, *, start_month: int | None = None) -> Period:
        """The period of the same kind ``steps`` later (earlier when negative)."""
        size = {MONTH: 1, QUARTER: 3, YEAR: 12}[self.kind]
        index = self.start.year * 12 + self.start.month - 1 + steps * size
        return period_of(self.kind, date(index // 12, index % 12 + 1, 1), start_month=start_month)


def _quarter(year: int, number: int, start_month: int) -> Period:
    months = tuple(fiscal_year_months(year, start_month=start_month)[(number - 1) * 3 : number * 3])
    return Period(QUARTER, f"FY{year}-Q{number}", months[0], month_end(months[-1]), months, year)


def period_of(kind: str, day: date, *, start_month: int | None = None) -> Period:
    """The month, fiscal quarter or fiscal year that ``day`` falls in."""
    start = start_month or fiscal_start_month()
    year = fiscal_year_of(day, start_month=start)
    if kind == MONTH:
        first = day.replace(day=1)
        return Period(MONTH, f"{first:%Y-%m}", first, month_end(first), (first,), year)
    months = fiscal_year_months(year, start_month=start)
    if kind == QUARTER:
        return _quarter(year, months.index(day.replace(day=1)) // 3 + 1, start)
    if kind == YEAR:
        return Period(YEAR, f"FY{year}", months[0], month_end(months[-1]), tuple(months), year)
    raise ValidationError(f"Unknown period kind {kind!r}: month, quarter or year.")


def period_parse(key: str, *, start_month: int | None = None) -> Period:
    """The period named ``key`` (``2026-05``, ``FY2027-Q1``, ``FY2027``); a ValidationError names a bad key."""
    key = (key or "").strip().upper()
    start = start_month or fiscal_start_month()
    if match := _MONTH_KEY.match(key):
        year, month = int(match[1]), int(match[2])
        if 1 <= month <= 12 and 2000 <= year <= 2100:
            return period_of(MONTH, date(year, month, 1), start_month=start)
    elif match := _QUARTER_KEY.match(key):
        if 2000 <= int(match[1]) <= 2100:
            return _quarter(int(match[1]), int(match[2]), start)
    elif (match := _YEAR_KEY.match(key)) and 2000 <= int(match[1]) <= 2100:
        months = fiscal_year_months(int(match[1]), start_month=start)
        return Period(YEAR, key, months[0], month_end(months[-1]), tuple(months), int(match[1]))
    raise ValidationError(
        f"{key or 'An empty period'!r} is not a period: write a month (2026-05), a fiscal quarter (FY2027-Q1) "
        "or a fiscal year (FY2027)."
    )


def period_for_bounds(start: date, end: date, *, start_month: int | None = None) -> Period | None:
    """The month, quarter or fiscal year running exactly from ``start`` to ``end``, if it is one."""
    start_month = start_month or fiscal_start_month()
    for kind in KINDS:
        period = period_of(kind, start, start_month=start_month)
        if period.start == start and period.end == end:
            return period
    return None


def bounds_label(start: date, end: date, *, start_month: int | None = None) -> str:
    period = period_for_bounds(start, end, start_month=start_month)
    if period is not None:
        return period.short_label
    return f"{start:%-d %b %Y} – {end:%-d %b %Y}"


def period_choices(today: date, *, start_month: int | None = None) -> list[tuple[str, list[Period]]]:
    """The periods a picker offers: the previous, current and next fiscal years with their quarters and months."""
    start_month = start_month or fiscal_start_month()
    current = fiscal_year_of(today, start_month=start_month)
    groups = []
    for year in (current - 1, current, current + 1):
        first = fiscal_year_months(year, start_month=start_month)[0]
        fy = period_of(YEAR, first, start_month=start_month)
        quarters = [_quarter(year, n, start_month) for n in range(1, 5)]
        months = [period_of(MONTH, m, start_month=start_month) for m in fy.months]
        groups.append((f"FY{year}", [fy, *quarters, *months]))
    return groups
