"""factory_boy factories of the catalog: they write rows directly (fast set-up); the derived fields the
services compute (name key, sanitised description) are computed here the same way."""

from datetime import date
from decimal import Decimal

import factory

from catalog.models import Attribute, AttributeValue, Category, Configuration, Price, PriceList, Product
from catalog.normalize import name_key


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.Sequence(lambda n: f"category-{n}")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    name = factory.Sequence(lambda n: f"Product {n}")
    name_key = factory.LazyAttribute(lambda o: name_key(o.name))
    slug = factory.Sequence(lambda n: f"product-{n}")
    sku = factory.Sequence(lambda n: f"P-{n:04d}")
    category = factory.SubFactory(CategoryFactory)


class PriceListFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PriceList
        django_get_or_create = ("code",)

    name = factory.LazyAttribute(lambda o: f"Retail {o.currency}")
    code = factory.LazyAttribute(lambda o: f"retail-{o.currency.lower()}")
    currency = "EUR"
    valid_from = date(2020, 1, 1)


class PriceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Price

    price_list = factory.SubFactory(PriceListFactory)
    product = factory.SubFactory(ProductFactory)
    amount = Decimal("100.00")


class AttributeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Attribute

    product = factory.SubFactory(ProductFactory, is_configurable=True)
    code = factory.Sequence(lambda n: f"attr_{n}")
    name = factory.Sequence(lambda n: f"Attribute {n}")
    kind = Attribute.Kind.RADIO


class AttributeValueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AttributeValue

    attribute = factory.SubFactory(AttributeFactory)
    code = factory.Sequence(lambda n: f"V{n}")
    label = factory.Sequence(lambda n: f"Value {n}")


class ConfigurationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Configuration

    product = factory.SubFactory(ProductFactory, is_configurable=True)
    choices = factory.LazyFunction(dict)
    price_breakdown = factory.LazyFunction(list)
    total = Decimal("100.00")
    currency = "EUR"
    lead_time_days = 14
    sku_code = factory.LazyAttribute(lambda o: o.product.sku)
    token = factory.Sequence(lambda n: f"t{n:042d}")  # 43 characters, as secrets.token_urlsafe(32)
