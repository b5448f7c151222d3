"""Forms of the list-import wizard: HTML input cleaning only; leads.imports decides the rest."""

from __future__ import annotations

from django import forms

from leads.imports import ENCODING_CHOICES, FIELD_CHOICES, IGNORE, limits_text
from leads.models import LeadImport


class ImportUploadForm(forms.Form):
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
    file = forms.FileField(label="List file", widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.tsv,.xlsx"}))
    encoding = forms.ChoiceField(
        choices=ENCODING_CHOICES,
        required=False,
        label="Text encoding",
        help_text="Leave on Detect unless names come out garbled (CSV only).",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = limits_text()


class MappingForm(forms.Form):
    """One choice of field per column of the file, named ``col_<index>`` (header names can be anything)."""

    def __init__(self, *args, header: list[str], mapping: dict[str, str], **kwargs):
        super().__init__(*args, **kwargs)
        self.header = header
        for index, column in enumerate(header):
            self.fields[f"col_{index}"] = forms.ChoiceField(
                choices=FIELD_CHOICES, initial=mapping.get(column, IGNORE), label=column
            )

    def mapping(self) -> dict[str, str]:
        return {column: self.cleaned_data[f"col_{index}"] for index, column in enumerate(self.header)}

    def columns(self):
        """(column name, bound field) pairs for the template."""
        return [(column, self[f"col_{index}"]) for index, column in enumerate(self.header)]


class OnMatchForm(forms.Form):
    on_match = forms.ChoiceField(
        choices=LeadImport.OnMatch.choices, widget=forms.RadioSelect, label="Rows that match a known person"
    )


class EncodingForm(forms.Form):
    encoding = forms.ChoiceField(choices=[c for c in ENCODING_CHOICES if c[0]], label="Read the file as")
