"""Reads of the catalog, scoped through the policies; and the public configurator's two reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from catalog.filters import ProductFilter
from catalog.models import Category, Configuration, Price, Product, RelatedProduct
from sfa.filters import apply_filters
from sfa.models import User
from sfa.permissions import get_object_for, scoped


def category_tree(*, actor: User) -> list[tuple[Category, int]]:
    """Every category the actor may view, depth-first, with its depth (0 at the top)."""
    rows = list(scoped(actor, Category.objects.all()))
    children: dict[int | None, list[Category]] = {}
    for category in rows:
        children.setdefault(category.parent_id, []).append(category)
    out: list[tuple[Category, int]] = []

    def walk(parent_id: int | None, depth: int) -> None:
        for category in children.get(parent_id, []):
            out.append((category, depth))
            walk(category.pk, depth + 1)

    walk(None, 0)
    return out


def product_list(*, actor: User, filters: Any = None) -> QuerySet[Product]:
    qs = scoped(actor, Product.objects.select_related("category"))
    return apply_filters(ProductFilter, filters, qs)


def product_get(*, actor: User, slug: str, action: str = "view") -> Product:
    """One product by slug, authorised for ``action`` (404 when unknown or not visible, 403 when not allowed)."""
    pk = Product.objects.filter(slug=slug).values_list("pk", flat=True).first()
    qs = Product.objects.select_related("category", "category__parent").prefetch_related("images", "documents", "faqs")
    return get_object_for(actor, qs, pk, action)


def _valid_on(on: date) -> Q:
    return Q(price_list__is_active=True, price_list__valid_from__lte=on) & (
        Q(price_list__valid_to__isnull=True) | Q(price_list__valid_to__gte=on)
    )


def current_price(*, product: Product, currency: str, on: date | None = None) -> Decimal | None:
    """The price of ``product`` in ``currency`` on the day ``on`` (today).

    It comes from an active price list in that currency whose period contains the day; when several
    do, the one that started last wins (a new list overrides an open-ended older one).
    """
    on = on or timezone.localdate()
    row = (
        Price.objects.filter(_valid_on(on), product=product, price_list__currency=currency)
        .order_by("-price_list__valid_from", "-price_list_id")
        .values_list("amount", flat=True)
        .first()
    )
    return row


def current_prices(*, product_ids: list[int], on: date | None = None) -> dict[int, dict[str, Decimal]]:
    """{product id: {currency: amount}} for many products in one query (the same rule as ``current_price``)."""
    on = on or timezone.localdate()
    rows = (
        Price.objects.filter(_valid_on(on), product_id__in=product_ids)
        .order_by("product_id", "price_list__currency", "price_list__valid_from", "price_list_id")
        .values_list("product_id", "price_list__currency", "amount")
    )
    out: dict[int, dict[str, Decimal]] = {}
    for product_id, currency, amount in rows:  # ascending: the last one written is the latest list
        out.setdefault(product_id, {})[currency] = amount
    return out


@dataclass
class PriceRow:
    price: Price
    is_current: bool
    is_future: bool


def price_rows(*, actor: User, product: Product, on: date | None = None) -> list[PriceRow]:
    """Every price of the product in every list, marking the current one per currency."""
    on = on or timezone.localdate()
    ordered = (
        Price.objects.filter(_valid_on(on), product=product)
        .order_by("price_list__currency", "-price_list__valid_from", "-price_list_id")
        .values_list("price_list__currency", "price_list_id")
    )
    winners: dict[str, int] = {}
    for currency, list_id in ordered:
        winners.setdefault(currency, list_id)
    rows = scoped(actor, Price.objects.select_related("price_list")).filter(product=product)
    return [
        PriceRow(
            price=p,
            is_current=winners.get(p.price_list.currency) == p.price_list_id,
            is_future=p.price_list.valid_from > on,
        )
        for p in rows.order_by("price_list__currency", "-price_list__valid_from", "price_list_id")
    ]


RELATED_HEADINGS = {
    RelatedProduct.Kind.ACCESSORY: "Accessories",
    RelatedProduct.Kind.UPGRADE: "Upgrades",
    RelatedProduct.Kind.SUCCESSOR: "Successors",
    RelatedProduct.Kind.CONSUMABLE: "Consumables",
}


def related_products(*, actor: User, product: Product) -> dict[str, list[RelatedProduct]]:
    """Accessories, upgrades, successors and consumables of ``product``, in that order, under their heading."""
    rows = scoped(actor, RelatedProduct.objects.select_related("related")).filter(
        product=product, related__is_active=True
    )
    by_kind: dict[str, list[RelatedProduct]] = {}
    for row in rows.order_by("position", "id"):
        by_kind.setdefault(row.kind, []).append(row)
    return {heading: by_kind[kind] for kind, heading in RELATED_HEADINGS.items() if kind in by_kind}


def configuration_list(*, actor: User, product: Product | None = None) -> QuerySet[Configuration]:
    qs = scoped(actor, Configuration.objects.select_related("product", "created_by"))
    return qs.filter(product=product) if product is not None else qs


# --- The public configurator -------------------------------------------------------------------------


def public_products() -> QuerySet[Product]:
    """The published configurable products: active and configurable. Anonymous visitors see nothing else."""
    return Product.objects.filter(is_active=True, is_configurable=True)


def public_product_get(*, slug: str) -> Product:
    """The published product at ``slug``: read on every request of the public configurator (404 when none).

    Its SQL is compiled once per database (``_public_product_sql``): building that statement through the
    ORM took about three times as long as running it, on the configurator's most frequent request.
    """
    manager = Product.objects
    sql, params = _public_product_sql(manager.db)
    rows = manager.raw(sql, [slug if p is _SLUG else p for p in params])
    product = next(iter(rows), None)
    if product is None:
        raise Http404("There is no product to configure at this address.")
    return product


_SLUG = object()  # where the slug goes in the compiled statement's parameters


@cache
def _public_product_sql(alias: str) -> tuple[str, tuple[Any, ...]]:
    """``public_products().filter(slug=…).first()`` as SQL for the database ``alias``, slug left as ``_SLUG``."""
    marker = "\x00slug"
    query = public_products().filter(slug=marker).order_by("pk")[:1].query
    sql, params = query.get_compiler(alias).as_sql()
    if [p for p in params if p == marker] != [marker]:
        raise ImproperlyConfigured(f"Could not place the slug in the public product query: {sql}")
    return sql, tuple(_SLUG if p == marker else p for p in params)


def configuration_by_token(*, product: Product, token: str) -> Configuration:
    """A saved configuration of ``product`` by its share token: the token is the only key to it."""
    found = Configuration.objects.filter(product=product, token=token).first() if len(token) <= 43 else None
    if found is None:
        raise Http404("This configuration link is not known (check that you copied all of it).")
    return found


def public_products_with_prices(*, on: date | None = None) -> list[tuple[Product, dict[str, Decimal]]]:
    products = list(public_products().select_related("category").order_by("name_key", "id"))
    prices = current_prices(product_ids=[p.pk for p in products], on=on)
    return [(p, prices.get(p.pk, {})) for p in products]


def products_with_prices(products: list[Product], *, on: date | None = None) -> list[Product]:
    """Attach ``current_prices`` ({currency: amount}) to each product of a page (one query)."""
    prices = current_prices(product_ids=[p.pk for p in products], on=on)
    for product in products:
        product.current_prices = dict(sorted(prices.get(product.pk, {}).items()))
    return products
