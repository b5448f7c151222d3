"""Serializers of the orders API: input serializers validate a request, output serializers show a row.

Writes never go through a serializer's ``save()``: the views hand ``validated_data`` to orders.services,
orders.states and orders.stock, which check the policy, compute prices and totals, and audit.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog.models import Configuration, Product
from contacts.api.serializers import ScopedPrimaryKeyRelatedField
from contacts.models import Account, Contact
from leads.models import Lead, Opportunity
from orders.models import (
    MONEY,
    Order,
    OrderEvent,
    OrderLine,
    Payment,
    Quote,
    QuoteLine,
    Shipment,
    ShipmentLine,
    StockLevel,
    Warehouse,
)
from sfa.models import User

PERCENT_FIELD = {"max_digits": 5, "decimal_places": 2, "min_value": 0, "max_value": 100}


# --- Shared --------------------------------------------------------------------------------------


class LineInputSerializer(serializers.Serializer):
    """One quote or order line; prices and taxes are computed and frozen by the service."""

    product = serializers.PrimaryKeyRelatedField(queryset=Product.objects.filter(is_active=True))
    quantity = serializers.IntegerField(min_value=1)
    configuration = ScopedPrimaryKeyRelatedField(
        queryset=Configuration.objects.all(),
        required=False,
        allow_null=True,
        help_text="A saved configuration of the product: its frozen total is the unit price",
    )
    unit_price = serializers.DecimalField(
        **MONEY, min_value=0, required=False, allow_null=True, help_text="Default: the price list (or configuration)"
    )
    discount_percent = serializers.DecimalField(**PERCENT_FIELD, required=False)
    description = serializers.CharField(max_length=300, required=False, allow_blank=True)

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        configuration = data.get("configuration")
        if configuration is not None and configuration.product_id != data["product"].pk:
            raise serializers.ValidationError(
                {"configuration": f"Configuration {configuration.pk} is of another product than {data['product']}."}
            )
        if data.get("unit_price") is None:
            data.pop("unit_price", None)
        if not data.get("configuration"):
            data.pop("configuration", None)
        return data


class _CustomerInputMixin(serializers.Serializer):
    """The customer of a quote or order: an account, a person, or both (the person must work there)."""

    customer_required = True

    account = ScopedPrimaryKeyRelatedField(
        queryset=Account.objects.filter(merged_into__isnull=True), required=False, allow_null=True
    )
    contact = ScopedPrimaryKeyRelatedField(
        queryset=Contact.objects.filter(merged_into__isnull=True), required=False, allow_null=True
    )

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        account, contact = data.get("account"), data.get("contact")
        if self.customer_required and account is None and contact is None:
            raise serializers.ValidationError({"account": "Give an account or a contact (the customer)."})
        if account and contact and contact.account_id != account.pk:
            raise serializers.ValidationError({"contact": f"{contact} is not a person at {account}."})
        if "currency" in data:
            data["currency"] = data["currency"].upper()
        if "owner" in data and data["owner"] is None:
            data.pop("owner")
        if data.get("country"):
            data["country"] = data["country"].upper()
        return data


CURRENCY = {"regex": r"^[A-Za-z]{3}$", "help_text": "ISO 4217 code, e.g. EUR"}
COUNTRY = {"regex": r"^([A-Za-z]{2})?$", "help_text": "ISO 3166 code where it ships, e.g. DE: decides the tax"}


# --- Quotes --------------------------------------------------------------------------------------


class QuoteLineSerializer(serializers.ModelSerializer):
    product_name = serializers.CharField(source="product.name", read_only=True)

    class Meta:
        model = QuoteLine
        fields = [
            "id",
            "position",
            "product",
            "product_name",
            "configuration",
            "description",
            "sku",
            "quantity",
            "unit_price",
            "discount_percent",
            "tax_rate",
            "net_amount",
            "lead_time_days",
        ]
        read_only_fields = fields


class QuoteSerializer(serializers.ModelSerializer):
    owner_name = serializers.CharField(source="owner.get_full_name", read_only=True)
    customer_name = serializers.SerializerMethodField()
    order = serializers.SerializerMethodField(help_text="The order made when the quote was accepted")
    lines = QuoteLineSerializer(many=True, read_only=True)

    class Meta:
        model = Quote
        fields = [
            "id",
            "number",
            "status",
            "source",
            "account",
            "contact",
            "customer_name",
            "opportunity",
            "lead",
            "owner",
            "owner_name",
            "currency",
            "country",
            "discount_percent",
            "valid_until",
            "notes",
            "subtotal",
            "discount_total",
            "tax_total",
            "total",
            "approval_requested_at",
            "approved_by",
            "approved_at",
            "approval_note",
            "accepted_at",
            "order",
            "version",
            "lines",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_customer_name(self, quote: Quote) -> str:
        return str(quote.account or quote.contact or "")

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_order(self, quote: Quote) -> int | None:
        try:
            return quote.order.pk
        except Order.DoesNotExist:
            return None


class QuoteInputSerializer(_CustomerInputMixin):
    opportunity = ScopedPrimaryKeyRelatedField(queryset=Opportunity.objects.all(), required=False, allow_null=True)
    lead = ScopedPrimaryKeyRelatedField(queryset=Lead.objects.all(), required=False, allow_null=True)
    currency = serializers.RegexField(**CURRENCY, default="EUR")
    country = serializers.RegexField(**COUNTRY, required=False, allow_blank=True, default="")
    discount_percent = serializers.DecimalField(**PERCENT_FIELD, default=0)
    valid_until = serializers.DateField(required=False, allow_null=True, help_text="Default: today + validity days")
    notes = serializers.CharField(required=False, allow_blank=True, default="")
    owner = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True),
        required=False,
        allow_null=True,
        help_text="Whose sale it is. Default: you; a manager may choose a member of their teams.",
    )
    lines = LineInputSerializer(many=True, allow_empty=False)


class QuoteUpdateSerializer(_CustomerInputMixin):
    """A PATCH of a draft, waiting or approved quote (a change after approval sends it back to draft).

    ``version`` is the version the client read: when someone changed the quote since, the answer is 409.
    ``lines``, when given, replace all lines. Every field but ``version`` may be left out.
    """

    customer_required = False

    version = serializers.IntegerField(min_value=1, help_text="The quote's version as you read it")
    currency = serializers.RegexField(**CURRENCY, required=False)
    country = serializers.RegexField(**COUNTRY, required=False, allow_blank=True)
    discount_percent = serializers.DecimalField(**PERCENT_FIELD, required=False)
    valid_until = serializers.DateField(required=False)
    notes = serializers.CharField(required=False, allow_blank=True)
    lines = LineInputSerializer(many=True, required=False, allow_empty=False)

    def service_kwargs(self) -> dict[str, Any]:
        data = dict(self.validated_data)
        return {"version": data.pop("version"), "lines": data.pop("lines", None), "data": data}


class NoteInputSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class RequiredNoteInputSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=300, help_text="Why: the rep sees it on the quote")


_REVIEWED = "The quote's version the manager reviewed: a quote changed since is refused (409)"


class ApprovalInputSerializer(NoteInputSerializer):
    version = serializers.IntegerField(min_value=1, required=False, help_text=_REVIEWED)


class DeclineInputSerializer(RequiredNoteInputSerializer):
    version = serializers.IntegerField(min_value=1, required=False, help_text=_REVIEWED)


class ReasonInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300)


# --- Orders --------------------------------------------------------------------------------------


class OrderLineSerializer(serializers.ModelSerializer):
    product_name = serializers.CharField(source="product.name", read_only=True)

    class Meta:
        model = OrderLine
        fields = [
            "id",
            "position",
            "product",
            "product_name",
            "category",
            "configuration",
            "description",
            "sku",
            "quantity",
            "unit_price",
            "discount_percent",
            "tax_rate",
            "net_amount",
            "tax_amount",
            "lead_time_days",
            "quantity_reserved",
            "quantity_shipped",
            "quantity_returned",
        ]
        read_only_fields = fields


class ShipmentLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = ShipmentLine
        fields = ["id", "line", "warehouse", "quantity"]
        read_only_fields = fields


class ShipmentSerializer(serializers.ModelSerializer):
    lines = ShipmentLineSerializer(many=True, read_only=True)

    class Meta:
        model = Shipment
        fields = ["id", "number", "shipped_at", "carrier", "tracking", "delivered_at", "by", "lines"]
        read_only_fields = fields


class OrderEventSerializer(serializers.ModelSerializer):
    by_name = serializers.CharField(source="by.get_full_name", read_only=True, default=None)

    class Meta:
        model = OrderEvent
        fields = ["id", "at", "by", "by_name", "from_status", "to_status", "note", "data"]
        read_only_fields = fields


ORDER_FIELDS = [
    "id",
    "number",
    "status",
    "source",
    "quote",
    "opportunity",
    "account",
    "contact",
    "customer_name",
    "owner",
    "owner_name",
    "currency",
    "country",
    "region",
    "segment",
    "discount_percent",
    "subtotal",
    "discount_total",
    "tax_total",
    "total",
    "allow_backorder",
    "ordered_on",
    "promised_date",
    "confirmed_at",
    "allocated_at",
    "shipped_at",
    "delivered_at",
    "closed_at",
    "cancelled_at",
    "returned_at",
    "risk",
    "risk_flagged_at",
    "external_ref",
    "notes",
    "version",
    "created_at",
    "updated_at",
]


class OrderSerializer(serializers.ModelSerializer):
    """An order's header, as listed."""

    owner_name = serializers.CharField(source="owner.get_full_name", read_only=True)
    customer_name = serializers.SerializerMethodField()

    class Meta:
        model = Order
        fields = ORDER_FIELDS
        read_only_fields = fields

    def get_customer_name(self, order: Order) -> str:
        return str(order.customer or "")


class OrderDetailSerializer(OrderSerializer):
    """An order with its lines, shipments, history and the transitions the requesting user may make now."""

    lines = OrderLineSerializer(many=True, read_only=True)
    shipments = ShipmentSerializer(many=True, read_only=True)
    events = OrderEventSerializer(many=True, read_only=True)
    available_actions = serializers.SerializerMethodField(
        help_text="Transitions you may make now: POST /api/orders/{id}/<action>/"
    )

    class Meta(OrderSerializer.Meta):
        fields = [*ORDER_FIELDS, "lines", "shipments", "events", "available_actions"]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_available_actions(self, order: Order) -> list[str]:
        from orders.states import available_actions

        request = self.context.get("request")
        return list(available_actions(order, getattr(request, "user", None)))


class OrderInputSerializer(_CustomerInputMixin):
    opportunity = ScopedPrimaryKeyRelatedField(queryset=Opportunity.objects.all(), required=False, allow_null=True)
    currency = serializers.RegexField(**CURRENCY, default="EUR")
    country = serializers.RegexField(**COUNTRY, required=False, allow_blank=True, default="")
    discount_percent = serializers.DecimalField(**PERCENT_FIELD, default=0)
    notes = serializers.CharField(required=False, allow_blank=True, default="")
    allow_backorder = serializers.BooleanField(
        required=False, default=False, help_text="Confirm even when stock is short"
    )
    owner = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True),
        required=False,
        allow_null=True,
        help_text="Whose sale it is. Default: you; a manager may choose a member of their teams.",
    )
    lines = LineInputSerializer(many=True, allow_empty=False)


def _line_quantities(order: Order, value: dict[str, int]) -> dict[int, int]:
    """``{"<line id>": units}`` → ``{line id: units}``, each id a line of ``order``."""
    line_ids = {line.pk for line in order.lines.all()}
    quantities: dict[int, int] = {}
    for raw_id, units in value.items():
        try:
            line_id = int(raw_id)
        except (TypeError, ValueError):
            raise serializers.ValidationError(f"{raw_id!r} is not an order line id.") from None
        if line_id not in line_ids:
            raise serializers.ValidationError(f"Order {order} has no line {line_id}.")
        if units < 1:
            raise serializers.ValidationError(f"Line {line_id}: give at least 1 unit ({units} sent).")
        quantities[line_id] = units
    return quantities


class _LineQuantitiesMixin:
    """``lines`` maps order line ids to units; the order is ``context["order"]``."""

    def validate_lines(self, value: dict[str, int] | None) -> dict[int, int] | None:
        if value is None:
            return None
        if not value:
            raise serializers.ValidationError("Give at least one line, or leave lines out for everything left.")
        return _line_quantities(self.context["order"], value)


class ConfirmInputSerializer(NoteInputSerializer):
    pass


class ShipInputSerializer(_LineQuantitiesMixin, serializers.Serializer):
    lines = serializers.DictField(
        child=serializers.IntegerField(),
        required=False,
        allow_null=True,
        help_text='{"<order line id>": units}; leave out to ship everything left',
    )
    carrier = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")
    tracking = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")


class DeliverInputSerializer(serializers.Serializer):
    shipment = serializers.IntegerField(
        required=False, allow_null=True, help_text="The shipment's id; leave out to mark every shipment delivered"
    )

    def validate_shipment(self, value: int | None) -> Shipment | None:
        if value is None:
            return None
        shipment = Shipment.objects.filter(order=self.context["order"], pk=value).first()
        if shipment is None:
            raise serializers.ValidationError(f"Order {self.context['order']} has no shipment {value}.")
        return shipment


class ReturnInputSerializer(_LineQuantitiesMixin, serializers.Serializer):
    lines = serializers.DictField(
        child=serializers.IntegerField(),
        required=False,
        allow_null=True,
        help_text='{"<order line id>": units}; leave out to return everything shipped',
    )
    reason = serializers.CharField(max_length=300)


# --- Stock and warehouses -----------------------------------------------------------------------------


class WarehouseSerializer(serializers.ModelSerializer):
    class Meta:
        model = Warehouse
        fields = ["id", "code", "name", "country", "priority", "is_active"]
        read_only_fields = fields


class StockLevelSerializer(serializers.ModelSerializer):
    product_name = serializers.CharField(source="product.name", read_only=True)
    sku = serializers.CharField(source="product.sku", read_only=True)
    warehouse_code = serializers.CharField(source="warehouse.code", read_only=True)
    available = serializers.IntegerField(read_only=True)

    class Meta:
        model = StockLevel
        fields = [
            "id",
            "product",
            "product_name",
            "sku",
            "warehouse",
            "warehouse_code",
            "on_hand",
            "reserved",
            "available",
            "updated_at",
        ]
        read_only_fields = fields


class StockSetSerializer(serializers.Serializer):
    """Set the units on hand of a product in a warehouse (a stock count); the row is made when missing."""

    product = serializers.PrimaryKeyRelatedField(queryset=Product.objects.all())
    warehouse = serializers.PrimaryKeyRelatedField(queryset=Warehouse.objects.all())
    on_hand = serializers.IntegerField(min_value=0)


class StockUpdateSerializer(serializers.Serializer):
    on_hand = serializers.IntegerField(min_value=0, help_text="Units counted; at least the units reserved")


def order_detail_queryset(queryset: QuerySet[Order]) -> QuerySet[Order]:
    """What OrderDetailSerializer reads, fetched in a fixed number of queries."""
    return queryset.select_related("owner", "account", "contact").prefetch_related(
        "lines__product", "shipments__lines", "events__by"
    )


# --- Payments ----------------------------------------------------------------------------------------


class PaymentSerializer(serializers.ModelSerializer):
    recorded_by_name = serializers.CharField(source="recorded_by.get_full_name", read_only=True, default=None)

    class Meta:
        model = Payment
        fields = ["id", "order", "amount", "currency", "received_on", "reference", "recorded_by", "recorded_by_name"]
        read_only_fields = fields


class PaymentInputSerializer(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=Decimal("0.01"))
    received_on = serializers.DateField()
    reference = serializers.CharField(max_length=100, required=False, default="", allow_blank=True)
    currency = serializers.CharField(max_length=3, required=False, help_text="The order's currency (the default)")
