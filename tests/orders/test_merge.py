"""A merge of two people (or companies) moves their quotes and orders to the survivor; undo puts them back.

contacts.merge finds these through Django's relation metadata (it never imports orders), so this test is
what proves that the orders app's records are covered.
"""

from contacts.merge import merge_undo, records_merge
from contacts.services import account_create, contact_create
from orders.models import Order, Quote
from tests.orders.factories import OrderFactory, OrderLineFactory, QuoteFactory


def _where(model, ids):
    return sorted(model.objects.filter(pk__in=ids).values_list("pk", "contact_id", "account_id"))


def test_merging_two_people_moves_their_quotes_and_orders_and_undo_restores_them(org, anna):
    twin = contact_create(
        actor=org.rep, first_name="Anna", last_name="Schmidt", emails=["anna@home.example"], allow_duplicate=True
    )
    mine = OrderFactory(owner=org.rep, account=None, contact=anna)
    theirs = OrderFactory(owner=org.rep, account=None, contact=twin)
    OrderLineFactory(order=theirs)
    quote = QuoteFactory(owner=org.rep, account=None, contact=twin)
    orders, quotes = [mine.pk, theirs.pk], [quote.pk]
    before = (_where(Order, orders), _where(Quote, quotes))

    merge = records_merge(survivor=anna, others=[twin], actor=org.rep)
    assert set(Order.objects.filter(pk__in=orders).values_list("contact_id", flat=True)) == {anna.pk}
    assert Quote.objects.get(pk=quote.pk).contact_id == anna.pk
    assert theirs.lines.count() == 1

    merge_undo(merge=merge, actor=org.rep)
    assert (_where(Order, orders), _where(Quote, quotes)) == before


def test_merging_two_companies_moves_their_orders(org, acme):
    twin = account_create(actor=org.rep, name="ACME Gmbh.", city="Berlin", allow_duplicate=True)
    order = OrderFactory(owner=org.rep, account=twin)
    merge = records_merge(survivor=acme, others=[twin], actor=org.rep)
    order.refresh_from_db()
    assert order.account_id == acme.pk
    merge_undo(merge=merge, actor=org.rep)
    order.refresh_from_db()
    assert order.account_id == twin.pk
