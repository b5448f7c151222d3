"""HTML input of the pipeline page and the quota pages: the services decide, these forms only read what was typed."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError

from forecasting.pipeline_periods import Period, period_parse
from forecasting.selectors_pipeline import ADJUSTABLE, CATEGORY_LABELS

AMOUNT = {"max_digits": 16, "decimal_places": 2, "min_value": Decimal("0")}


def _period(value: str) -> Period:
    try:
        return period_parse(value)
    except ValidationError as exc:
        raise forms.ValidationError(exc.messages) from None


class AdjustForm(forms.Form):
    """A manager's number for one rep (``user``) or team (``team``): the category, the amount and why."""

    user = forms.IntegerField(required=False, widget=forms.HiddenInput)
    team = forms.IntegerField(required=False, widget=forms.HiddenInput)
    period = forms.CharField(widget=forms.HiddenInput)
    category = forms.ChoiceField(choices=[(c, CATEGORY_LABELS[c]) for c in ADJUSTABLE], initial="commit")
    amount = forms.DecimalField(label="Adjusted amount", **AMOUNT)
    note = forms.CharField(
        label="Note",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why the number differs from the roll-up (kept in the history).",
    )

    def clean_period(self) -> Period:
        return _period(self.cleaned_data["period"])

    def clean_note(self) -> str:
        note = self.cleaned_data["note"].strip()
        if not note:
            raise forms.ValidationError("Say why: an adjustment needs a note.")
        return note


class QuotaForm(forms.Form):
    """A new quota: for whom (``target``: ``user-<id>`` or ``team-<id>``), which period, how much."""

    target = forms.ChoiceField(label="Rep or team")
    period = forms.ChoiceField(label="Period")
    amount = forms.DecimalField(label="Quota", **AMOUNT, help_text="In the base currency.")
    note = forms.CharField(label="Note", max_length=200, required=False)

    def __init__(self, *args, users=(), teams=(), periods=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["target"].choices = [
            ("", "—"),
            ("Teams", [(f"team-{t.pk}", str(t)) for t in teams]),
            ("Reps", [(f"user-{u.pk}", u.get_full_name() or u.username) for u in users]),
        ]
        self.fields["period"].choices = [(label, [(p.key, p.label) for p in group]) for label, group in periods]

    def clean_period(self) -> Period:
        return _period(self.cleaned_data["period"])

    def target_ids(self) -> tuple[int | None, int | None]:
        kind, _, pk = self.cleaned_data["target"].partition("-")
        return (int(pk), None) if kind == "user" else (None, int(pk))


class QuotaEditForm(forms.Form):
    amount = forms.DecimalField(label="Quota", **AMOUNT, help_text="In the base currency.")
    note = forms.CharField(label="Note", max_length=200, required=False)
