"""The working-day calendar: the weekdays we ship on (``OrderSettings.working_weekdays``) minus ``Holiday`` rows.

Promised dates, lead times and the at-risk check all count working days through here, so a holiday
entered by an admin moves every promise made after it. ``working_calendar()`` loads the settings and the
holidays once, for loops that ask many questions (the daily at-risk job).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

# A guard against a calendar without any working day (a mis-set weekday string plus holidays).
MAX_SCAN_DAYS = 3 * 366


@dataclass(frozen=True)
class WorkingCalendar:
    weekdays: frozenset[int]  # ISO weekdays, 1 = Monday
    holidays: frozenset[date]

    def is_working_day(self, day: date) -> bool:
        return day.isoweekday() in self.weekdays and day not in self.holidays

    def add(self, start: date, days: int) -> date:
        """The date ``days`` working days after ``start`` (before it when negative).

        ``days == 0`` gives ``start`` itself when it is a working day, else the next working day: work
        that takes no time is still done on a working day.
        """
        if not self.weekdays:
            raise ValueError("The calendar has no working weekday: set OrderSettings.working_weekdays.")
        step = 1 if days >= 0 else -1
        day, left, scanned = start, abs(days), 0
        if days == 0:
            while not self.is_working_day(day):
                day, scanned = day + timedelta(days=1), scanned + 1
                self._guard(scanned, start)
            return day
        while left:
            day, scanned = day + timedelta(days=step), scanned + 1
            self._guard(scanned, start)
            if self.is_working_day(day):
                left -= 1
        return day

    def between(self, start: date, end: date) -> int:
        """Working days after ``start`` up to and including ``end`` (negative when ``end`` is earlier).

        ``between(d, add(d, n)) == n`` for a working day ``d``.
        """
        if end < start:
            return -self.between(end, start)
        full_weeks, rest = divmod((end - start).days, 7)
        count = full_weeks * len(self.weekdays)
        day = start + timedelta(days=full_weeks * 7)
        for _ in range(rest):
            day += timedelta(days=1)
            if day.isoweekday() in self.weekdays:
                count += 1
        count -= sum(1 for h in self.holidays if start < h <= end and h.isoweekday() in self.weekdays)
        return count

    def _guard(self, scanned: int, start: date) -> None:
        if scanned > MAX_SCAN_DAYS:
            raise ValueError(f"No working day within {MAX_SCAN_DAYS} days of {start}: check the holidays.")


def working_calendar() -> WorkingCalendar:
    """The calendar as configured now (two small queries)."""
    from orders.models import Holiday
    from orders.services import order_settings

    weekdays = frozenset(int(c) for c in order_settings().working_weekdays if c in "1234567")
    return WorkingCalendar(weekdays=weekdays, holidays=frozenset(Holiday.objects.values_list("date", flat=True)))


def is_working_day(day: date) -> bool:
    return working_calendar().is_working_day(day)


def working_days_add(start: date, days: int) -> date:
    """The date ``days`` working days after ``start`` (see ``WorkingCalendar.add``)."""
    return working_calendar().add(start, days)


def working_days_between(start: date, end: date) -> int:
    """Working days after ``start`` up to and including ``end``."""
    return working_calendar().between(start, end)
