"""Serializers of the catalog API. Output only, except the configurator's input (chosen values, never a price)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog.configurator import Result
from catalog.models import Category, Product


class CategorySerializer(serializers.ModelSerializer):
    class Meta:
        model = Category
        fields = ["id", "name", "slug", "parent", "position"]
        read_only_fields = fields


class SpecRowSerializer(serializers.Serializer):
    name = serializers.CharField()
    value = serializers.CharField()


class RelatedSerializer(serializers.Serializer):
    relation = serializers.CharField(source="kind", help_text="accessory, upgrade, successor or consumable")
    id = serializers.IntegerField(source="related.id")
    sku = serializers.CharField(source="related.sku")
    name = serializers.CharField(source="related.name")
    note = serializers.CharField()


class FaqSerializer(serializers.Serializer):
    question = serializers.CharField()
    answer = serializers.CharField()


class FileSerializer(serializers.Serializer):
    url = serializers.SerializerMethodField()
    title = serializers.SerializerMethodField()
    content_type = serializers.CharField()
    size = serializers.IntegerField()

    def get_url(self, row) -> str:
        kind = "image" if hasattr(row, "alt") else "document"
        path = reverse("catalog:product-file", args=[kind, row.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path

    def get_title(self, row) -> str:
        return getattr(row, "alt", None) or getattr(row, "title", "")


class ProductSerializer(serializers.ModelSerializer):
    """A product as reps know it. ``prices`` are today's, per currency; ``competitor_notes`` are internal."""

    category_name = serializers.CharField(source="category.name", read_only=True)
    specs = SpecRowSerializer(many=True, read_only=True)
    prices = serializers.SerializerMethodField(help_text='Today\'s price per currency, e.g. {"EUR": "32900.00"}')
    related = RelatedSerializer(source="relations", many=True, read_only=True)
    faq = FaqSerializer(source="faqs", many=True, read_only=True)
    images = FileSerializer(many=True, read_only=True)
    documents = FileSerializer(many=True, read_only=True)
    configurator_url = serializers.SerializerMethodField()

    class Meta:
        model = Product
        fields = [
            "id",
            "slug",
            "sku",
            "name",
            "category",
            "category_name",
            "summary",
            "description",
            "specs",
            "prices",
            "is_active",
            "is_configurable",
            "currency",
            "base_lead_time_days",
            "related",
            "faq",
            "images",
            "documents",
            "competitor_notes",
            "configurator_url",
        ]
        read_only_fields = fields

    @extend_schema_field({"type": "object", "additionalProperties": {"type": "string"}})
    def get_prices(self, product: Product) -> dict[str, str]:
        return {currency: str(amount) for currency, amount in getattr(product, "current_prices", {}).items()}

    def get_configurator_url(self, product: Product) -> str | None:
        if not (product.is_configurable and product.is_active):
            return None
        path = reverse("catalog:configure", args=[product.slug])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path


# --- The configurator ------------------------------------------------------------------------------------


class ConfiguratorInputSerializer(serializers.Serializer):
    choices = serializers.DictField(
        child=serializers.JSONField(),
        help_text='Chosen values by attribute code: {"line": "LWB", "packages": ["COMF", "TECH"], "width": 160}. '
        "Attributes left out take their defaults.",
    )


class FieldErrorSerializer(serializers.Serializer):
    field = serializers.CharField(help_text="Attribute code, or empty for the configuration as a whole")
    message = serializers.CharField()


class PriceLineSerializer(serializers.Serializer):
    label = serializers.CharField()
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    line = serializers.CharField(help_text="base, option, number or rule")


class PriceSerializer(serializers.Serializer):
    currency = serializers.CharField()
    lines = PriceLineSerializer(many=True)
    total = serializers.DecimalField(max_digits=12, decimal_places=2)


class ReasonSerializer(serializers.Serializer):
    rule = serializers.IntegerField(allow_null=True, help_text="Id of the rule")
    message = serializers.CharField()


class OptionStateSerializer(serializers.Serializer):
    attribute = serializers.CharField()
    value = serializers.CharField()
    label = serializers.CharField()
    reasons = ReasonSerializer(many=True)


class ConfiguratorResultSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    errors = FieldErrorSerializer(many=True)
    configuration = serializers.DictField(
        child=serializers.JSONField(), help_text="Chosen values with defaults applied"
    )
    price = PriceSerializer()
    lead_time_days = serializers.IntegerField(help_text="Base lead time + the largest extra of the chosen values")
    sku_code = serializers.CharField()
    disabled = OptionStateSerializer(many=True, help_text="Values that cannot be chosen now, and why")
    needs = OptionStateSerializer(many=True, help_text="Values that can be chosen only with another choice")


def result_data(result: Result) -> dict[str, Any]:
    """The engine's answer as the API sends it (amounts as strings, like every Decimal in this API)."""

    def states(pick) -> list[dict[str, Any]]:
        return [
            {
                "attribute": state.attribute,
                "value": state.code,
                "label": state.label,
                "reasons": [{"rule": r.rule_id, "message": r.message} for r in pick(state)],
            }
            for state in result.options.values()
            if pick(state)
        ]

    return {
        "valid": result.valid,
        "errors": [{"field": e.field, "message": e.message} for e in result.errors],
        "configuration": result.configuration,
        "price": {
            "currency": result.currency,
            "lines": [{"label": line.label, "amount": str(line.amount), "line": line.kind} for line in result.lines],
            "total": str(result.total),
        },
        "lead_time_days": result.lead_time_days,
        "sku_code": result.sku_code,
        "disabled": states(lambda s: s.reasons),
        "needs": states(lambda s: s.needs),
    }
