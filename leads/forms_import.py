"""Forms of the list-import wizard: HTML input cleaning only; leads.imports decides the rest. The mapping and
encoding forms are the wizards' shared ones (sfa.import_wizard)."""

from __future__ import annotations

from django import forms

from leads.imports import limits_text
from leads.models import LeadImport
from sfa.import_wizard import UploadForm


class ImportUploadForm(UploadForm):
    file_label = "List file"
    limits = staticmethod(limits_text)
    field_order = ["vendor", "list_name", "cost", "currency", "file", "encoding"]

    vendor = forms.CharField(
        max_length=120,
        help_text="Who sold you the list: their last column mapping is offered again.",
        widget=forms.TextInput(attrs={"list": "vendors", "autocomplete": "off"}),
    )
    list_name = forms.CharField(max_length=200, label="List name", help_text="Becomes the leads' source detail.")
    cost = forms.DecimalField(
        min_value=0, max_digits=12, decimal_places=2, required=False, initial=0, label="What the list cost"
    )
    currency = forms.CharField(max_length=3, min_length=3, initial="EUR")


class OnMatchForm(forms.Form):
    on_match = forms.ChoiceField(
        choices=LeadImport.OnMatch.choices, widget=forms.RadioSelect, label="Rows that match a known person"
    )
