"""HTML input cleaning for accounts, contacts, touches and purposes; rules live in contacts.services."""

from django import forms
from django.utils import timezone

from contacts.models import Account, Channel, ChannelConsent, GuardRule, MatchingSettings, Purpose, Touch
from sfa.models import User


def _lines(value: str) -> list[str]:
    return [line.strip() for line in (value or "").replace(",", "\n").splitlines() if line.strip()]


class AccountForm(forms.Form):
    name = forms.CharField(max_length=200)
    website = forms.CharField(max_length=200, required=False)
    industry = forms.CharField(max_length=100, required=False)
    size = forms.ChoiceField(choices=[("", "—"), *Account.Size.choices], required=False)
    segment = forms.ChoiceField(choices=[("", "—"), *Account.Segment.choices], required=False)
    owner = forms.ModelChoiceField(queryset=User.objects.filter(is_active=True))
    street = forms.CharField(max_length=200, required=False)
    postcode = forms.CharField(max_length=20, required=False)
    city = forms.CharField(max_length=100, required=False)
    region = forms.CharField(max_length=100, required=False)
    country = forms.CharField(max_length=2, required=False, help_text="Two-letter code, e.g. DE")


class ContactForm(forms.Form):
    first_name = forms.CharField(max_length=100, required=False)
    last_name = forms.CharField(max_length=100)
    title = forms.CharField(max_length=150, required=False)
    account = forms.ModelChoiceField(
        queryset=Account.objects.all(),
        required=False,
        widget=forms.NumberInput,
        help_text="Account id (leave empty for a consumer)",
    )
    owner = forms.ModelChoiceField(queryset=User.objects.filter(is_active=True))
    emails = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        help_text="One per line; the first is the primary address.",
    )
    phones = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        help_text="One per line, any format (030 1234567, +44 20 …); the first is primary.",
    )
    street = forms.CharField(max_length=200, required=False)
    postcode = forms.CharField(max_length=20, required=False)
    city = forms.CharField(max_length=100, required=False)
    region = forms.CharField(max_length=100, required=False)
    country = forms.CharField(max_length=2, required=False, help_text="Two-letter code, e.g. DE")
    birth_date = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    tags = forms.CharField(required=False, help_text="Tastes and interests, separated by commas")
    preferences = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    do_not_contact = forms.BooleanField(required=False, label="Do not contact (any channel)")
    do_not_contact_source = forms.CharField(max_length=200, required=False, label="Do-not-contact source")
    allow_duplicate = forms.BooleanField(required=False, label="None of these: it is a new person")

    def service_data(self) -> tuple[dict, list[str], list[str]]:
        data = dict(self.cleaned_data)
        data.pop("allow_duplicate", None)
        emails, phones = _lines(data.pop("emails")), _lines(data.pop("phones").replace(",", "\n"))
        data["tags"] = [t.strip() for t in data["tags"].split(",") if t.strip()]
        return data, emails, phones


class TouchForm(forms.Form):
    purpose = forms.ModelChoiceField(queryset=Purpose.objects.filter(is_active=True))
    channel = forms.ChoiceField(choices=Channel.choices)
    direction = forms.ChoiceField(choices=Touch.Direction.choices, initial=Touch.Direction.OUT)
    status = forms.ChoiceField(
        choices=[(Touch.Status.DONE, "Done"), (Touch.Status.PLANNED, "Planned")],
        initial=Touch.Status.DONE,
        label="Done or planned",
    )
    at = forms.DateTimeField(
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"), label="When"
    )
    outcome = forms.ChoiceField(choices=Touch.Outcome.choices, required=False)
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    followup_due = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), label="Follow-up due"
    )
    followup_note = forms.CharField(max_length=300, required=False, label="Follow-up")
    override_reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False, label="Reason to go ahead anyway"
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["at"].initial = timezone.localtime().strftime("%Y-%m-%dT%H:%M")


class ConsentForm(forms.Form):
    channel = forms.ChoiceField(choices=Channel.choices)
    status = forms.ChoiceField(choices=ChannelConsent.Status.choices)
    source = forms.CharField(max_length=200, required=False)


class PurposeForm(forms.Form):
    name = forms.CharField(max_length=80)
    description = forms.CharField(max_length=300, required=False)
    window_days = forms.IntegerField(
        min_value=1, max_value=365, required=False, help_text="Leave empty for no guard rule"
    )
    mode = forms.ChoiceField(choices=GuardRule.Mode.choices)
    scope = forms.ChoiceField(choices=GuardRule.Scope.choices)


class OutreachSettingsForm(forms.Form):
    frequency_cap = forms.IntegerField(min_value=0, max_value=100, help_text="0 turns the cap off")
    frequency_window_days = forms.IntegerField(min_value=1, max_value=90)
    frequency_mode = forms.ChoiceField(choices=GuardRule.Mode.choices)


class MatchingSettingsForm(forms.Form):
    contact_mode = forms.ChoiceField(
        label="New contacts", choices=MatchingSettings.Mode.choices, widget=forms.RadioSelect
    )
    account_mode = forms.ChoiceField(
        label="New accounts", choices=MatchingSettings.Mode.choices, widget=forms.RadioSelect
    )


class CampaignForm(forms.Form):
    name = forms.CharField(max_length=150)
    purpose = forms.ModelChoiceField(queryset=Purpose.objects.filter(is_active=True))
    channel = forms.ChoiceField(choices=Channel.choices)
    planned_for = forms.DateTimeField(widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    override_reason = forms.CharField(
        required=False,
        label="Reason to plan warned contacts anyway",
        help_text="Leave empty to plan only the contacts without a warning",
    )
