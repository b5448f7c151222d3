"""Who bought what: the purchase history that related-product rules read, without leads importing orders.

Orders sit below leads (docs: /work/shared/DESIGN.md), so leads cannot read the sales ledger itself. The
orders app plugs a provider in here from its ``AppConfig.ready`` (``orders.buyers.buyers_of``); leads asks
``buyers(...)`` and never learns where the answer came from. With no provider installed (an installation
without orders) nobody has bought anything.

A provider is ``fn(*, bought_product_ids, since, not_bought_product_ids) -> list[(account_id | None,
contact_id | None, last_bought_on)]``: the customers who bought, net of cancellations and returns, at
least one of ``bought_product_ids`` on or after ``since``, and never (net) any of ``not_bought_product_ids``.
One row per account and person of an order; the person is None when an order names only an account.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import NamedTuple


class Buyer(NamedTuple):
    account_id: int | None
    contact_id: int | None
    last_bought_on: date


BuyersProvider = Callable[..., Iterable[tuple[int | None, int | None, date]]]

_providers: list[BuyersProvider] = []


def buyers_provider_register(fn: BuyersProvider) -> BuyersProvider:
    """Install ``fn`` as a source of purchase history (idempotent: a second registration is ignored)."""
    if fn not in _providers:
        _providers.append(fn)
    return fn


def buyers_providers_installed() -> bool:
    return bool(_providers)


def buyers(*, bought_product_ids: Iterable[int], since: date, not_bought_product_ids: Iterable[int]) -> list[Buyer]:
    """Every provider's buyers, one row per (account, person), with the latest purchase date among them."""
    bought, not_bought = sorted(set(bought_product_ids)), sorted(set(not_bought_product_ids))
    if not bought:
        return []
    latest: dict[tuple[int | None, int | None], date] = {}
    for provider in _providers:
        for account_id, contact_id, last_bought_on in provider(
            bought_product_ids=bought, since=since, not_bought_product_ids=not_bought
        ):
            key = (account_id, contact_id)
            if key not in latest or last_bought_on > latest[key]:
                latest[key] = last_bought_on
    return [Buyer(account_id, contact_id, on) for (account_id, contact_id), on in latest.items()]
