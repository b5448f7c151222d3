"""Filter sets of the catalog, shared by the product list page and the API."""

import django_filters
from django.db.models import Q, QuerySet

from catalog.models import Category, Product
from catalog.normalize import name_key, sku_key


def category_and_descendant_ids(category_id: int) -> set[int]:
    """The category and every category below it (one query for the whole tree)."""
    children: dict[int | None, list[int]] = {}
    for pk, parent_id in Category.objects.values_list("id", "parent_id"):
        children.setdefault(parent_id, []).append(pk)
    found, stack = set(), [category_id]
    while stack:
        pk = stack.pop()
        if pk not in found:
            found.add(pk)
            stack.extend(children.get(pk, []))
    return found


class ProductFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label="Name or SKU starts with")
    category = django_filters.ModelChoiceFilter(
        queryset=Category.objects.all(), method="filter_category", label="Category (and the ones below it)"
    )
    configurable = django_filters.BooleanFilter(field_name="is_configurable")
    active = django_filters.BooleanFilter(field_name="is_active")

    class Meta:
        model = Product
        fields = ["q", "category", "configurable", "active"]

    def filter_q(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        key = name_key(value)[:100]
        if not key:
            return queryset
        # A prefix of the name, of any word in it ("trek" finds "Volt Trek"), or of the SKU.
        return queryset.filter(
            Q(name_key__startswith=key) | Q(name_key__contains=f" {key}") | Q(sku__startswith=sku_key(value)[:40])
        )

    def filter_category(self, queryset: QuerySet, name: str, value: Category) -> QuerySet:
        return queryset.filter(category_id__in=category_and_descendant_ids(value.pk))
