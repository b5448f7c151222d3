"""Sales facts: booking-basis revenue (base currency) and units per period, product, region, rep and segment.

``facts_apply`` keeps them current: ``orders.ledger`` calls it with the rows it has just written, inside
the same transaction (forecasting registers it in ``ForecastingConfig.ready``, so orders never imports
forecasting). ``facts_rebuild`` makes them again from the whole ledger, in two aggregate queries.
Each ledger row counts once in its month (first day) and once in its ISO week (Monday).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db import IntegrityError, transaction
from django.db.models import F, Max, Sum
from django.db.models.functions import TruncMonth, TruncWeek

from forecasting.models import SalesFact
from orders.models import SalesEntry

BATCH = 2000
CENT = Decimal("0.01")


def month_of(day: date) -> date:
    return day.replace(day=1)


def week_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


PERIODS = ((SalesFact.Grain.MONTH, month_of), (SalesFact.Grain.WEEK, week_of))


def facts_apply(entries: Iterable[SalesEntry]) -> int:
    """Add the booking-basis ``entries`` to their facts (made when missing). Returns the cells touched."""
    cells: dict[tuple, list] = defaultdict(lambda: [None, Decimal("0"), 0])
    for entry in entries:
        if entry.basis != SalesEntry.Basis.BOOKING:
            continue
        for grain, period_of in PERIODS:
            key = (grain, period_of(entry.on), entry.product_id, entry.region, entry.rep_id, entry.segment)
            cell = cells[key]
            cell[0] = entry.category_id
            cell[1] += entry.amount_base
            cell[2] += entry.units
    for (grain, period, product_id, region, rep_id, segment), (category_id, revenue, units) in cells.items():
        where = {
            "grain": grain,
            "period": period,
            "product_id": product_id,
            "region": region,
            "rep_id": rep_id,
            "segment": segment,
        }
        bump = {"revenue": F("revenue") + revenue, "units": F("units") + units}
        if SalesFact.objects.filter(**where).update(**bump):
            continue
        try:
            with transaction.atomic():
                SalesFact.objects.create(**where, category_id=category_id, revenue=revenue, units=units)
        except IntegrityError:  # another transaction made the cell meanwhile
            SalesFact.objects.filter(**where).update(**bump)
    return len(cells)


FACT_FIELDS = ("grain", "period", "product", "category", "region", "rep", "segment", "revenue", "units")


@transaction.atomic
def facts_rebuild() -> int:
    """Every fact again from the ledger's booking basis: the database sums, plain rows go back in."""
    from orders.ledger import bulk_insert

    SalesFact.objects.all().delete()
    booking = SalesEntry.objects.filter(basis=SalesEntry.Basis.BOOKING)
    made = 0
    for grain, trunc in ((SalesFact.Grain.MONTH, TruncMonth), (SalesFact.Grain.WEEK, TruncWeek)):
        rows = (
            booking.annotate(period=trunc("on"))
            .values("period", "product_id", "region", "rep_id", "segment")
            .annotate(revenue=Sum("amount_base"), total_units=Sum("units"), category=Max("category_id"))
            .order_by()
            .values_list("period", "product_id", "category", "region", "rep_id", "segment", "revenue", "total_units")
        )
        facts = [
            (
                grain.value,
                period.date() if hasattr(period, "date") else period,
                product_id,
                category_id,
                region,
                rep_id,
                segment,
                Decimal(revenue).quantize(CENT, rounding=ROUND_HALF_UP),  # SQLite sums decimals as floats
                units,
            )
            for period, product_id, category_id, region, rep_id, segment, revenue, units in rows
        ]
        made += bulk_insert(SalesFact, FACT_FIELDS, facts)
    return made
