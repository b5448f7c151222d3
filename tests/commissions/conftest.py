"""Fixtures of the commissions tests: the orders tests' shop and order helpers, plus plans and quotas."""

from datetime import date
from decimal import Decimal

import pytest

from tests.orders.conftest import confirmed, ledger_sum, make_order, shop  # noqa: F401  (shared fixtures)


@pytest.fixture
def quota(monkeypatch):
    """``quota({user: amount})`` -> every month's quota of those users is ``amount`` (others: None).

    Forecasting owns quotas (``forecasting.selectors.quota_amount``); the statements only read that function.
    """
    table: dict[int, Decimal] = {}

    def fake(*, user, start: date, end: date):
        return table.get(user.pk)

    monkeypatch.setattr("forecasting.selectors.quota_amount", fake)

    def _set(amounts: dict) -> None:
        table.update({user.pk: Decimal(str(amount)) for user, amount in amounts.items()})

    return _set
