"""Rows of the catalog app for the permission matrix test (tests/test_permissions_matrix.py).

Only saved configurations have an owner (``created_by``); the catalog's other records are company-wide.
"""


def make_owned(model, owner):
    from catalog import models as m
    from tests.catalog.factories import (
        AttributeFactory,
        AttributeValueFactory,
        CategoryFactory,
        ConfigurationFactory,
        PriceFactory,
        PriceListFactory,
        ProductFactory,
    )

    def related():
        return m.RelatedProduct.objects.create(product=ProductFactory(), related=ProductFactory(), kind="accessory")

    def rule():
        return m.ConfigRule.objects.create(product=ProductFactory(is_configurable=True), kind="excludes")

    makers = {
        m.Category: CategoryFactory,
        m.Product: ProductFactory,
        m.ProductImage: lambda: m.ProductImage.objects.create(
            product=ProductFactory(), file="catalog/images/x.png", content_type="image/png", size=1, alt="x"
        ),
        m.ProductDocument: lambda: m.ProductDocument.objects.create(
            product=ProductFactory(), file="catalog/documents/x.pdf", content_type="application/pdf", size=1, title="x"
        ),
        m.ProductFaq: lambda: m.ProductFaq.objects.create(product=ProductFactory(), question="q", answer="a"),
        m.PriceList: PriceListFactory,
        m.Price: PriceFactory,
        m.RelatedProduct: related,
        m.Attribute: AttributeFactory,
        m.AttributeValue: AttributeValueFactory,
        m.ConfigRule: rule,
        m.Configuration: lambda: ConfigurationFactory(created_by=owner),
    }
    return makers[model]()
