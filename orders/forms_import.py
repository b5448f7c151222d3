"""Forms of the order-history import wizard: HTML input cleaning only; orders.imports decides the rest."""

from __future__ import annotations

from django import forms

from orders.imports import ENCODING_CHOICES, FIELD_CHOICES, IGNORE, limits_text


class OrderImportUploadForm(forms.Form):
    file = forms.FileField(
        label="File of past orders", widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.tsv,.xlsx"})
    )
    encoding = forms.ChoiceField(
        choices=ENCODING_CHOICES,
        required=False,
        label="Text encoding",
        help_text="Leave on Detect unless names come out garbled (CSV only).",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = limits_text()


class OrderMappingForm(forms.Form):
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
        return [(column, self[f"col_{index}"]) for index, column in enumerate(self.header)]


class EncodingForm(forms.Form):
    encoding = forms.ChoiceField(choices=[c for c in ENCODING_CHOICES if c[0]], label="Read the file as")
