"""HTML input cleaning for the orders pages: the services decide, these forms only read what was typed."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from orders.models import ExchangeRate, Holiday, OrderSettings, TaxRate, Warehouse

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
PERCENT_FIELD = {"max_digits": 5, "decimal_places": 2, "min_value": Decimal("0"), "max_value": Decimal("100")}


class QuoteHeaderForm(forms.Form):
    """The quote's own fields; the customer and the lines are read by the editor (``LineRows``)."""

    currency = forms.CharField(max_length=3, min_length=3, initial="EUR", help_text="ISO code, e.g. EUR")
    country = forms.CharField(
        max_length=2, min_length=2, required=False, help_text="Where it ships (ISO code, e.g. DE): decides the taxes"
    )
    discount_percent = forms.DecimalField(label="Order discount (%)", initial=Decimal("0"), **PERCENT_FIELD)
    valid_until = forms.DateField(widget=DATE, label="Valid until")
    notes = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), help_text="Shown to the customer on the quote"
    )

    def clean_currency(self) -> str:
        return self.cleaned_data["currency"].upper()

    def clean_country(self) -> str:
        return self.cleaned_data["country"].upper()


@dataclass
class LineRow:
    """One line of the editor as typed: ids and numbers, checked before they reach the service."""

    product: int
    configuration: int | None
    quantity: int
    discount_percent: Decimal
    errors: list[str]

    def service_line(self) -> dict[str, Any]:
        line: dict[str, Any] = {
            "product": self.product,
            "quantity": self.quantity,
            "discount_percent": self.discount_percent,
        }
        if self.configuration:
            line["configuration"] = self.configuration
        return line


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def line_rows(data: Any) -> list[LineRow]:
    """The editor's lines from the parallel lists ``line_product``, ``line_configuration``,
    ``line_quantity`` and ``line_discount`` of a POST, each with what is wrong with it."""
    products = data.getlist("line_product")
    configurations = data.getlist("line_configuration")
    quantities = data.getlist("line_quantity")
    discounts = data.getlist("line_discount")
    rows = []
    for index, product in enumerate(products):
        errors = []
        product_id = _int(product)
        if product_id is None:
            continue
        raw_qty = quantities[index] if index < len(quantities) else "1"
        quantity = _int(raw_qty)
        if quantity is None or quantity < 1:
            errors.append(f"Line {index + 1}: the quantity must be a whole number of at least 1 (not {raw_qty!r}).")
            quantity = 1
        raw_discount = (discounts[index] if index < len(discounts) else "") or "0"
        try:
            discount = Decimal(raw_discount.replace(",", "."))
        except InvalidOperation:
            discount = Decimal("0")
            errors.append(f"Line {index + 1}: the discount must be a number (not {raw_discount!r}).")
        if not Decimal("0") <= discount <= Decimal("100"):
            errors.append(f"Line {index + 1}: the discount must be between 0 and 100 %.")
            discount = min(max(discount, Decimal("0")), Decimal("100"))
        configuration = _int(configurations[index]) if index < len(configurations) else None
        rows.append(LineRow(product_id, configuration, quantity, discount, errors))
    return rows


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=300, widget=forms.TextInput(attrs={"placeholder": "Why?"}))


class NoteForm(forms.Form):
    note = forms.CharField(max_length=300, required=False)


# --- Stock and settings (admins) ----------------------------------------------------------------------


class StockAdjustForm(forms.Form):
    MODES = [("receive", "Receive (add to on hand)"), ("set", "Count (set on hand)")]

    mode = forms.ChoiceField(choices=MODES, initial="receive")
    quantity = forms.IntegerField(min_value=0, help_text="Units received, or the counted units on hand")


class StockAddForm(forms.Form):
    product = forms.CharField(max_length=40, label="Product SKU")
    warehouse = forms.ModelChoiceField(queryset=Warehouse.objects.filter(is_active=True), empty_label=None)
    on_hand = forms.IntegerField(min_value=0, label="Units on hand")


class OrderSettingsForm(forms.ModelForm):
    working_weekdays = forms.CharField(
        max_length=20, help_text="ISO weekdays we ship on: 1 = Monday … 7 = Sunday, e.g. 12345"
    )

    class Meta:
        model = OrderSettings
        fields = [
            "approval_discount_percent",
            "quote_validity_days",
            "processing_days",
            "shipping_days",
            "allocation_warning_days",
            "working_weekdays",
            "base_currency",
        ]
        labels = {
            "approval_discount_percent": "Discount needing approval above (%)",
            "quote_validity_days": "Quotes valid for (days)",
            "processing_days": "Processing (working days)",
            "shipping_days": "Shipping (working days)",
            "allocation_warning_days": "At risk when not allocated (working days before the promise)",
        }

    def clean_working_weekdays(self) -> str:
        value = "".join(sorted(set(self.cleaned_data["working_weekdays"].replace(",", "").replace(" ", ""))))
        if not value or any(c not in "1234567" for c in value):
            raise ValidationError("Give ISO weekdays as digits 1 (Monday) to 7 (Sunday), e.g. 12345.")
        return value

    def clean_base_currency(self) -> str:
        return self.cleaned_data["base_currency"].upper()


class HolidayForm(forms.ModelForm):
    class Meta:
        model = Holiday
        fields = ["date", "name"]
        widgets = {"date": DATE}


class TaxRateForm(forms.ModelForm):
    class Meta:
        model = TaxRate
        fields = ["country", "category", "rate"]
        labels = {"rate": "Rate (%)", "category": "Category (empty: the country's default)"}

    def clean_country(self) -> str:
        return self.cleaned_data["country"].upper()


class WarehouseForm(forms.ModelForm):
    class Meta:
        model = Warehouse
        fields = ["code", "name", "country", "priority", "is_active"]

    def clean_country(self) -> str:
        return self.cleaned_data["country"].upper()


class ExchangeRateForm(forms.ModelForm):
    class Meta:
        model = ExchangeRate
        fields = ["currency", "rate", "valid_from"]
        widgets = {"valid_from": DATE}
        labels = {"rate": "Rate (units of the base currency for 1 unit)"}

    def clean_currency(self) -> str:
        return self.cleaned_data["currency"].upper()


class PaymentForm(forms.Form):
    """A payment as typed on the order page; ``orders.payments.order_payment_record`` checks the rest."""

    amount = forms.DecimalField(max_digits=14, decimal_places=2, min_value=Decimal("0.01"))
    received_on = forms.DateField(widget=DATE, label="Received on")
    reference = forms.CharField(max_length=100, required=False)
