"""Rows of the orders app owned by a given user, for the permission matrix test."""

from django.core.files.base import ContentFile


def make_owned(model, owner):
    from orders import models as m
    from orders.services import order_settings
    from tests.orders import factories as f

    rows = {
        m.Quote: lambda: f.QuoteFactory(owner=owner),
        m.Order: lambda: f.OrderFactory(owner=owner),
        m.OrderImport: lambda: m.OrderImport.objects.create(
            filename="history.csv",
            created_by=owner,
            file=ContentFile(b"order_number,order_date,customer,sku,quantity,unit_price\n", name="history.csv"),
        ),
        m.StockLevel: lambda: f.StockLevelFactory(),
        m.Warehouse: lambda: f.WarehouseFactory(),
        m.TaxRate: lambda: m.TaxRate.objects.get_or_create(country="DE", category=None, defaults={"rate": 19})[0],
        m.Holiday: lambda: m.Holiday.objects.get_or_create(date="2027-01-01", defaults={"name": "New Year"})[0],
        m.ExchangeRate: lambda: m.ExchangeRate.objects.get_or_create(
            currency="USD", valid_from="2020-01-01", defaults={"rate": "0.9"}
        )[0],
        m.OrderSettings: order_settings,
        m.Payment: lambda: m.Payment.objects.create(
            order=f.OrderFactory(owner=owner), amount="10.00", currency="EUR", received_on="2026-01-05"
        ),
    }
    return rows[model]()
