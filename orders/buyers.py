"""Buyers of products, read from the sales ledger, for leads' related-product rules (``leads.buyers``).

Importing this module (``OrdersConfig.ready`` does) registers ``buyers_of`` with
``leads.buyers.buyers_provider_register``: leads sits above orders and may not import it, so orders plugs
its answer in.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from django.db.models import Max, Q, Sum

from leads.buyers import buyers_provider_register
from orders.models import SalesEntry

BOOKING, BOOKED = SalesEntry.Basis.BOOKING, SalesEntry.Kind.BOOKED


def buyers_of(
    *, bought_product_ids: Iterable[int], since: date, not_bought_product_ids: Iterable[int]
) -> list[tuple[int | None, int | None, date]]:
    """(account id, contact id, last bought on) of the customers who bought one of ``bought_product_ids``
    on or after ``since`` and never one of ``not_bought_product_ids``.

    Bought means: an order line booked on or after ``since`` whose booking-basis ledger rows still sum to
    more than zero units, so a cancelled order or a line returned in full is not a purchase (a partial
    return still is). Who bought B is excluded whenever they bought it, not only inside the window: an
    accessory, upgrade or successor is bought once, and a customer who owns it needs no lead to buy it.
    The exclusion is by account when the order had one, and by person: a person who bought B, or whose
    account did, is not offered B again. Customers are the order's account and contact as they are now
    (a merge moves orders to the surviving record).
    """
    bought = list(bought_product_ids)
    if not bought:
        return []
    lines = (
        SalesEntry.objects.filter(basis=BOOKING, product_id__in=bought, on__gte=since)
        .values("line_id", "order__account_id", "order__contact_id")
        .annotate(net=Sum("units"), booked_on=Max("on", filter=Q(kind=BOOKED)))
        .filter(net__gt=0, booked_on__isnull=False)
        .values_list("order__account_id", "order__contact_id", "booked_on")
    )
    latest: dict[tuple[int | None, int | None], date] = {}
    for account_id, contact_id, booked_on in lines:
        key = (account_id, contact_id)
        if key not in latest or booked_on > latest[key]:
            latest[key] = booked_on
    if not latest:
        return []

    not_bought = list(not_bought_product_ids)
    owner_accounts: set[int] = set()
    owner_contacts: set[int] = set()
    if not_bought:
        owned = (
            SalesEntry.objects.filter(basis=BOOKING, product_id__in=not_bought)
            .values("line_id", "order__account_id", "order__contact_id")
            .annotate(net=Sum("units"))
            .filter(net__gt=0)
            .values_list("order__account_id", "order__contact_id")
        )
        for account_id, contact_id in owned:
            if account_id:
                owner_accounts.add(account_id)
            if contact_id:
                owner_contacts.add(contact_id)
    return [
        (account_id, contact_id, on)
        for (account_id, contact_id), on in latest.items()
        if account_id not in owner_accounts and contact_id not in owner_contacts
    ]


buyers_provider_register(buyers_of)
