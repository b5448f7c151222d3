"""Display of money, numbers and delivery times on catalog pages (formatting only: catalog.formatting)."""

from django import template

from catalog import formatting

register = template.Library()
register.filter("money", formatting.money)
register.filter("extra", formatting.extra)
register.filter("delivery", formatting.delivery)
register.filter("num", formatting.number)
