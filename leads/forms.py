from django import forms

from contacts.models import Account
from leads.models import Lead, LeadSource
from sfa.models import User


class LeadForm(forms.Form):
    first_name = forms.CharField(max_length=100, required=False)
    last_name = forms.CharField(max_length=100)
    company = forms.CharField(max_length=200, required=False)
    title = forms.CharField(max_length=150, required=False)
    email = forms.EmailField(required=False)
    phone = forms.CharField(max_length=40, required=False, help_text="Any format")
    street = forms.CharField(max_length=200, required=False)
    postcode = forms.CharField(max_length=20, required=False)
    city = forms.CharField(max_length=100, required=False)
    region = forms.CharField(max_length=100, required=False)
    country = forms.CharField(max_length=2, required=False, help_text="Two-letter code, e.g. DE")
    source = forms.ChoiceField(choices=LeadSource.choices, initial=LeadSource.MANUAL)
    source_detail = forms.CharField(
        max_length=200, required=False, label="Source detail", help_text="Event name, referrer …"
    )
    interests = forms.CharField(required=False, help_text="Products or topics, separated by commas")
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    owner = forms.ModelChoiceField(
        queryset=User.objects.filter(is_active=True),
        required=False,
        help_text="Leave empty to let the assignment rules decide",
    )

    PERSON = ("first_name", "last_name", "title", "email", "phone", "street", "postcode", "city", "region", "country")

    def service_kwargs(self) -> dict:
        d = self.cleaned_data
        return {
            "person": {k: d[k] for k in self.PERSON if d.get(k)},
            "company": d["company"],
            "source": d["source"],
            "source_detail": d["source_detail"],
            "interests": [i for i in d["interests"].split(",") if i.strip()],
            "notes": d["notes"],
            "owner": d["owner"],
        }


class ConvertForm(forms.Form):
    account = forms.ModelChoiceField(
        queryset=Account.objects.filter(merged_into__isnull=True),
        required=False,
        widget=forms.NumberInput,
        help_text="An existing account's id, or leave empty",
    )
    new_account_name = forms.CharField(max_length=200, required=False, label="Or a new account named")
    create_opportunity = forms.BooleanField(required=False, initial=True)
    opportunity_name = forms.CharField(max_length=200, required=False)
    amount = forms.DecimalField(max_digits=14, decimal_places=2, required=False, min_value=0)
    currency = forms.CharField(max_length=3, initial="EUR")
    expected_close = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=[(v, label) for v, label in Lead.Status.choices if v != "converted"])
    disqualify_reason = forms.CharField(max_length=200, required=False)
