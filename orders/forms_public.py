"""The public quote request form: HTML input cleaning only (the rules live in orders.requests)."""

from django import forms

from orders.requests import NAME_MAX


class QuoteRequestForm(forms.Form):
    name = forms.CharField(
        label="Your name",
        max_length=NAME_MAX,
        error_messages={
            "required": "Enter your name, so that we know whom to address the quote to.",
            "max_length": f"Your name can have at most {NAME_MAX} characters.",
        },
        widget=forms.TextInput(attrs={"autocomplete": "name", "spellcheck": "false"}),
    )
    email = forms.CharField(
        label="E-mail",
        max_length=254,
        help_text="We send the quote and a confirmation of this request there.",
        error_messages={"required": "Enter your e-mail address, such as name@example.com: we send the quote there."},
        widget=forms.EmailInput(attrs={"autocomplete": "email", "spellcheck": "false"}),
    )
    phone = forms.CharField(
        label="Phone",
        required=False,
        max_length=40,
        help_text="Optional: if you would like us to call you back about the quote.",
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )
    consent = forms.BooleanField(
        label="Yes, you may also send me news and offers by e-mail. I can withdraw this at any time.",
        required=False,
    )
