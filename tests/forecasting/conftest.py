"""Fixtures of the forecasting tests. Each part adds its own below, with names that say whose they are."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest

# --- pipeline forecast and quotas (tests/forecasting/test_pipeline_*.py, test_quotas*.py) ----------------------


@dataclass
class PipelineSales:
    """The org's second quarter of 2026 (calendar fiscal year): deals, quotas and booked sales.

    North (managed by org.manager): rep has commit 10,000 (80 %), best case 5,000 (60 %), pipeline 2,000
    (10 %), 3,000 won in May, and deals that do not count (omitted, lost, closing in July); rep_b a commit of
    4,000 USD (0.9 EUR each: 3,600) and 500 CHF without a rate. South (org.manager_b): rep_other commit
    20,000. The manager owns a pipeline deal of 1,000. Quotas for Q2: rep 30,000, rep_other 25,000, team
    North 50,000. Booked: rep 15,000 (April, May), rep_b 5,000, rep_other 20,000.
    """

    org: object
    period: object


@pytest.fixture
def pipeline_sales(org) -> PipelineSales:
    from forecasting.models import Quota
    from forecasting.pipeline_periods import period_parse
    from orders.models import ExchangeRate
    from sfa.models import Team
    from tests.forecasting.factories import pipeline_deal, pipeline_fact

    names = {
        org.rep: ("Rita", "Northrep"),
        org.rep_b: ("Tomas", "Secondrep"),
        org.rep_other: ("Lena", "Southrep"),
        org.manager: ("Marc", "Northboss"),
        org.manager_b: ("Sofia", "Southboss"),
        org.director: ("Diane", "Director"),
    }
    for user, (first, last) in names.items():
        user.first_name, user.last_name = first, last
        user.save(update_fields=["first_name", "last_name"])
    ExchangeRate.objects.create(currency="USD", rate=Decimal("0.9"), valid_from=date(2020, 1, 1))
    q2 = date(2026, 4, 1), date(2026, 6, 30)
    pipeline_deal(org.rep, category="commit", amount=10000, close=date(2026, 5, 10))
    pipeline_deal(org.rep, category="best_case", amount=5000, close=date(2026, 6, 1), probability=60)
    pipeline_deal(org.rep, category="pipeline", amount=2000, close=date(2026, 4, 2))
    pipeline_deal(org.rep, category="closed_won", amount=3000, close=date(2026, 5, 20))
    pipeline_deal(org.rep, category="omitted", amount=7777, close=date(2026, 5, 10))
    pipeline_deal(org.rep, category="closed_lost", amount=6666, close=date(2026, 5, 10), lost_reason="Price")
    pipeline_deal(org.rep, category="commit", amount=9999, close=date(2026, 7, 1))
    pipeline_deal(org.rep_b, category="commit", amount=4000, currency="USD", close=date(2026, 6, 30))
    pipeline_deal(org.rep_b, category="commit", amount=500, currency="CHF", close=date(2026, 6, 30))
    pipeline_deal(org.rep_other, category="commit", amount=20000, close=date(2026, 4, 15))
    pipeline_deal(org.manager, category="pipeline", amount=1000, close=date(2026, 5, 5))
    north = Team.objects.get(name="North")
    Quota.objects.create(user=org.rep, period_start=q2[0], period_end=q2[1], amount=Decimal(30000))
    Quota.objects.create(user=org.rep_other, period_start=q2[0], period_end=q2[1], amount=Decimal(25000))
    Quota.objects.create(team=north, period_start=q2[0], period_end=q2[1], amount=Decimal(50000))
    pipeline_fact(org.rep, date(2026, 4, 1), 6000)
    pipeline_fact(org.rep, date(2026, 5, 1), 9000)
    pipeline_fact(org.rep, date(2026, 7, 1), 99999)
    pipeline_fact(org.rep_b, date(2026, 5, 1), 5000)
    pipeline_fact(org.rep_other, date(2026, 6, 1), 20000)
    return PipelineSales(org=org, period=period_parse("FY2026-Q2", start_month=1))
