"""factory_boy factories of the orders app: they write rows directly (fast set-up, no state machine).

Use the services (orders.services / orders.states) when a test is about behaviour; use these to put rows
in place around it.
"""

from decimal import Decimal

import factory

from orders.models import Order, OrderLine, Quote, QuoteLine, StockLevel, TaxRate, Warehouse
from tests.catalog.factories import ProductFactory
from tests.contacts.factories import AccountFactory
from tests.factories import UserFactory


class WarehouseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Warehouse
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"wh-{n}")
    name = factory.LazyAttribute(lambda o: f"Warehouse {o.code}")
    country = "DE"


class StockLevelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StockLevel

    product = factory.SubFactory(ProductFactory)
    warehouse = factory.SubFactory(WarehouseFactory)
    on_hand = 10
    reserved = 0


class TaxRateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TaxRate

    country = "DE"
    category = None
    rate = Decimal("19.00")


class QuoteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Quote

    number = factory.Sequence(lambda n: f"Q-T{n:05d}")
    owner = factory.SubFactory(UserFactory)
    account = factory.SubFactory(AccountFactory, owner=factory.SelfAttribute("..owner"))
    valid_until = factory.Faker("date_between", start_date="+10d", end_date="+30d")
    country = "DE"


class QuoteLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = QuoteLine

    quote = factory.SubFactory(QuoteFactory)
    product = factory.SubFactory(ProductFactory)
    description = factory.LazyAttribute(lambda o: o.product.name)
    sku = factory.LazyAttribute(lambda o: o.product.sku)
    quantity = 1
    unit_price = Decimal("100.00")
    net_amount = factory.LazyAttribute(lambda o: o.unit_price * o.quantity)


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    number = factory.Sequence(lambda n: f"SO-T{n:06d}")
    owner = factory.SubFactory(UserFactory)
    account = factory.SubFactory(AccountFactory, owner=factory.SelfAttribute("..owner"))
    country = "DE"


class OrderLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderLine

    order = factory.SubFactory(OrderFactory)
    product = factory.SubFactory(ProductFactory)
    category = factory.LazyAttribute(lambda o: o.product.category)
    description = factory.LazyAttribute(lambda o: o.product.name)
    sku = factory.LazyAttribute(lambda o: o.product.sku)
    quantity = 1
    unit_price = Decimal("100.00")
    net_amount = factory.LazyAttribute(lambda o: o.unit_price * o.quantity)
