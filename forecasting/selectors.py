"""Reads of forecasting records that other apps use (commissions reads quotas here)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from forecasting.models import Quota


def quota_amount(*, user, start: date, end: date) -> Decimal | None:
    """The user's own quota for the period ``start``..``end`` (base currency), or None when none is set.

    Quotas overlapping the period count pro rata by days, so a yearly quota gives a month its share.
    """
    rows = list(
        Quota.objects.filter(user=user, period_start__lte=end, period_end__gte=start).values(
            "period_start", "period_end", "amount"
        )
    )
    if not rows:
        return None
    total = Decimal("0")
    for row in rows:
        days = (row["period_end"] - row["period_start"]).days + 1
        overlap = (min(end, row["period_end"]) - max(start, row["period_start"])).days + 1
        total += row["amount"] * Decimal(overlap) / Decimal(days)
    return total.quantize(Decimal("0.01"))
