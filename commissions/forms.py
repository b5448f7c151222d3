"""HTML input cleaning for the commission pages; the services decide what is allowed."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django import forms

from catalog.models import Category, Product
from commissions.models import Plan
from sfa.models import Team, User

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
MONTH = forms.DateInput(attrs={"type": "month"}, format="%Y-%m")


class MonthField(forms.DateField):
    """A month typed as ``2026-03`` (an ``<input type=month>``), cleaned to its first day."""

    widget = MONTH
    input_formats = ["%Y-%m", "%Y-%m-%d"]

    def to_python(self, value: Any) -> date | None:
        day = super().to_python(value)
        return day.replace(day=1) if day else None


class PlanForm(forms.ModelForm):
    users = forms.ModelMultipleChoiceField(
        queryset=User.objects.filter(is_active=True, department__is_sales=True).order_by("first_name", "last_name"),
        required=False,
        label="Reps",
        widget=forms.SelectMultiple(attrs={"size": 8}),
    )
    teams = forms.ModelMultipleChoiceField(
        queryset=Team.objects.filter(department__is_sales=True).order_by("name"),
        required=False,
        label="Teams",
        help_text="A team takes in its members and those of the teams below it",
        widget=forms.SelectMultiple(attrs={"size": 8}),
    )

    class Meta:
        model = Plan
        fields = [
            "name",
            "description",
            "basis",
            "effective_from",
            "effective_to",
            "base_rate",
            "cap_amount",
            "clawback_days",
            "is_active",
        ]
        widgets = {
            "effective_from": DATE,
            "effective_to": DATE,
            "description": forms.Textarea(attrs={"rows": 2}),
        }
        labels = {
            "basis": "Earned on",
            "base_rate": "Base rate (%)",
            "cap_amount": "Cap per rep and month",
            "clawback_days": "Clawback window (days)",
            "is_active": "Active",
        }


class TierForm(forms.Form):
    threshold = forms.DecimalField(label="From (% of quota)", min_value=Decimal("0"), max_digits=7, decimal_places=2)
    rate = forms.DecimalField(label="Rate (%)", min_value=Decimal("0"), max_value=Decimal("100"), decimal_places=3)


class CategoryRateForm(forms.Form):
    category = forms.ModelChoiceField(queryset=Category.objects.order_by("name"))
    rate = forms.DecimalField(label="Rate (%)", min_value=Decimal("0"), max_value=Decimal("100"), decimal_places=3)


class SpifForm(forms.Form):
    product = forms.ModelChoiceField(queryset=Product.objects.filter(is_active=True).order_by("name"))
    amount_per_unit = forms.DecimalField(label="Per unit", min_value=Decimal("0.01"), decimal_places=2)
    starts_on = forms.DateField(widget=DATE, label="From")
    ends_on = forms.DateField(widget=DATE, label="Until")


TierFormSet = forms.formset_factory(TierForm, extra=2, can_delete=True)
CategoryRateFormSet = forms.formset_factory(CategoryRateForm, extra=2, can_delete=True)
SpifFormSet = forms.formset_factory(SpifForm, extra=1, can_delete=True)


def filled(formset: forms.BaseFormSet) -> list[dict[str, Any]]:
    """The rows of a valid formset that were filled in and not marked for deletion."""
    return [
        f.cleaned_data
        for f in formset.forms
        if f.cleaned_data
        and not f.cleaned_data.get("DELETE")
        and any(v for k, v in f.cleaned_data.items() if k != "DELETE")
    ]


class ComputeForm(forms.Form):
    first = MonthField(label="From month")
    last = MonthField(label="To month")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("first") and data.get("last") and data["last"] < data["first"]:
            self.add_error("last", "The last month comes after the first.")
        return data


class AdjustForm(forms.Form):
    amount = forms.DecimalField(max_digits=14, decimal_places=2, help_text="Negative to take off")
    note = forms.CharField(max_length=1000, widget=forms.Textarea(attrs={"rows": 2}), help_text="Why (required)")
