"""Rows of the forecasting app owned by a given user, for the permission matrix test."""

from datetime import date
from decimal import Decimal


def make_owned(model, owner):
    from forecasting import models as m

    rows = {
        # A quota is unique per rep and period: the matrix asks for the same owner's row more than once.
        m.Quota: lambda: m.Quota.objects.get_or_create(
            user=owner, period_start=date(2026, 1, 1), period_end=date(2026, 12, 31), defaults={"amount": Decimal(1000)}
        )[0],
        m.Adjustment: lambda: m.Adjustment.objects.create(
            user=owner,
            period_start=date(2026, 1, 1),
            period_end=date(2026, 3, 31),
            amount=Decimal(900),
            raw_amount=Decimal(1000),
            note="Matrix",
            created_by=owner,
        ),
        m.PipelineSnapshot: lambda: m.PipelineSnapshot.objects.create(
            taken_on=date(2026, 3, 2),
            owner=owner,
            period=date(2026, 3, 1),
            category="commit",
            count=1,
            amount=1,
            weighted=1,
        ),
        # Forecast runs: a run started by the owner; a rep series is owned by its rep (its key).
        m.ForecastRun: lambda: _forecast_run(created_by=owner),
        m.ForecastSeries: lambda: m.ForecastSeries.objects.create(
            run=_forecast_run(), level="rep", key=str(owner.pk), label=owner.username
        ),
        m.FiscalYear: lambda: m.FiscalYear.objects.get_or_create(pk=1, defaults={"start_month": 1})[0],
    }
    return rows[model]()


def _forecast_run(created_by=None):
    from forecasting import models as m

    return m.ForecastRun.objects.create(
        created_by=created_by,
        history_start=date(2024, 1, 1),
        history_end=date(2025, 12, 1),
        horizon=12,
        fiscal_year=2026,
    )
