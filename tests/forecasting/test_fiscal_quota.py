from datetime import date
from decimal import Decimal

import pytest

from forecasting.fiscal import fiscal_year_bounds, fiscal_year_months, fiscal_year_of
from forecasting.models import FiscalYear, Quota
from forecasting.selectors import quota_amount
from tests.factories import UserFactory


def test_calendar_fiscal_year_is_the_calendar_year():
    assert fiscal_year_of(date(2026, 12, 31), start_month=1) == 2026
    assert fiscal_year_bounds(2027, start_month=1) == (date(2027, 1, 1), date(2027, 12, 31))


def test_fiscal_year_is_named_after_the_year_it_ends_in():
    assert fiscal_year_of(date(2026, 4, 1), start_month=4) == 2027
    assert fiscal_year_of(date(2026, 3, 31), start_month=4) == 2026
    months = fiscal_year_months(2027, start_month=4)
    assert months[0] == date(2026, 4, 1) and months[-1] == date(2027, 3, 1) and len(set(months)) == 12
    assert fiscal_year_bounds(2027, start_month=4) == (date(2026, 4, 1), date(2027, 3, 31))


@pytest.mark.django_db
def test_start_month_comes_from_the_stored_setting():
    FiscalYear.objects.create(start_month=10)
    assert fiscal_year_of(date(2026, 10, 1)) == 2027
    assert fiscal_year_months(2027)[0] == date(2026, 10, 1)


@pytest.mark.django_db
def test_quota_amount_takes_overlapping_quotas_pro_rata():
    rep, other = UserFactory(), UserFactory()
    assert quota_amount(user=rep, start=date(2026, 1, 1), end=date(2026, 1, 31)) is None
    Quota.objects.create(user=rep, period_start=date(2026, 1, 1), period_end=date(2026, 12, 31), amount=Decimal(36500))
    Quota.objects.create(user=other, period_start=date(2026, 1, 1), period_end=date(2026, 1, 31), amount=Decimal(5))
    assert quota_amount(user=rep, start=date(2026, 1, 1), end=date(2026, 1, 31)) == Decimal("3100.00")
    assert quota_amount(user=rep, start=date(2026, 1, 1), end=date(2026, 12, 31)) == Decimal("36500.00")
