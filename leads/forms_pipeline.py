"""Forms of the pipeline pages: opportunities, their lines, and the reports' period. HTML input cleaning only."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from catalog import selectors as catalog_selectors
from catalog.models import Product
from contacts import selectors as contact_selectors
from contacts.models import Account, Contact
from leads import selectors, services
from leads.models import Opportunity, Stage
from leads.reports import CLOSED
from sfa.models import User

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class OwnerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return obj.get_full_name() or obj.username


class StageChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Stage) -> str:
        return f"{obj.name} ({obj.probability}%)"


class OpportunityEditForm(forms.Form):
    """The fields of an opportunity a rep changes by hand; only what the user changed goes to the
    service, so a new stage brings its own probability unless the probability was edited too."""

    name = forms.CharField(max_length=200)
    stage = StageChoiceField(queryset=Stage.objects.none())
    amount = forms.DecimalField(max_digits=14, decimal_places=2, min_value=0)
    currency = forms.CharField(max_length=3, min_length=3, help_text="ISO code, e.g. EUR")
    probability = forms.IntegerField(
        min_value=0, max_value=100, label="Probability (%)", help_text="Left as it is, a new stage brings its own"
    )
    expected_close = forms.DateField(widget=DATE)
    next_step = forms.CharField(max_length=200, required=False)
    next_step_date = forms.DateField(required=False, widget=DATE, label="Next step date")
    lost_reason = forms.CharField(max_length=200, required=False, help_text="Needed when the deal is lost")
    owner = OwnerChoiceField(queryset=User.objects.none())

    def __init__(self, *args: Any, opportunity: Opportunity, actor: User, **kwargs: Any) -> None:
        initial = {
            "name": opportunity.name,
            "stage": opportunity.stage_id,
            "amount": opportunity.amount,
            "currency": opportunity.currency,
            "probability": opportunity.probability,
            "expected_close": opportunity.expected_close,
            "next_step": opportunity.next_step,
            "next_step_date": opportunity.next_step_date,
            "lost_reason": opportunity.lost_reason,
            "owner": opportunity.owner_id,
        }
        super().__init__(*args, initial=initial, **kwargs)
        self.fields["stage"].queryset = opportunity.pipeline.stages.order_by("order")
        owners = selectors.assignable_owners(actor=actor)
        if owners.exclude(pk=actor.pk).exists():
            self.fields["owner"].queryset = owners | User.objects.filter(pk=opportunity.owner_id)
        else:
            del self.fields["owner"]

    def clean_currency(self) -> str:
        return self.cleaned_data["currency"].upper()

    def service_data(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.changed_data if name in self.cleaned_data}


class OpportunityCreateForm(forms.Form):
    account = forms.ModelChoiceField(queryset=Account.objects.none(), required=False)
    contact = forms.ModelChoiceField(queryset=Contact.objects.none(), required=False)
    name = forms.CharField(
        max_length=200, widget=forms.TextInput(attrs={"placeholder": "e.g. 20 Volt Trek for the fleet"})
    )
    amount = forms.DecimalField(max_digits=14, decimal_places=2, min_value=0, initial=Decimal("0"))
    currency = forms.CharField(max_length=3, min_length=3, initial="EUR")
    stage = StageChoiceField(queryset=Stage.objects.none(), empty_label=None)
    expected_close = forms.DateField(widget=DATE)
    next_step = forms.CharField(max_length=200, required=False)
    next_step_date = forms.DateField(required=False, widget=DATE, label="Next step date")
    owner = OwnerChoiceField(queryset=User.objects.none(), required=False, empty_label=None)

    def __init__(self, *args: Any, actor: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = contact_selectors.account_list(actor=actor)
        self.fields["contact"].queryset = contact_selectors.contact_list(actor=actor)
        pipelines = selectors.visible_pipelines(actor=actor)
        # A new deal starts open: a closed stage needs a reason or a close, which the deal page records.
        self.fields["stage"].queryset = (
            Stage.objects.filter(pipeline__in=pipelines)
            .exclude(forecast_category__in=CLOSED)
            .select_related("pipeline")
            .order_by("-pipeline__is_default", "pipeline__name", "order")
        )
        owners = selectors.assignable_owners(actor=actor)
        if owners.exclude(pk=actor.pk).exists():
            self.fields["owner"].queryset = owners
        else:
            del self.fields["owner"]

    def clean_currency(self) -> str:
        return self.cleaned_data["currency"].upper()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        account, contact = data.get("account"), data.get("contact")
        if not account and not contact and not self.errors:
            raise ValidationError("Choose the account, the person, or both.")
        if account and contact and contact.account_id != account.pk:
            self.add_error("contact", f"{contact} is not a person at {account}.")
        return data

    def service_kwargs(self) -> dict[str, Any]:
        d = self.cleaned_data
        stage = d["stage"]
        return {
            "name": d["name"],
            "account": d["account"] or (d["contact"].account if d["contact"] else None),
            "contact": d["contact"],
            "amount": d["amount"],
            "currency": d["currency"],
            "pipeline": stage.pipeline,
            "stage": stage,
            "expected_close": d["expected_close"],
            "next_step": d["next_step"],
            "next_step_date": d["next_step_date"],
            "owner": d.get("owner"),
        }


class ProductChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Product) -> str:
        return f"{obj.name} ({obj.sku})"


class OpportunityLineForm(forms.Form):
    """A line: a catalog product, or a saved configuration by its share token or link (one of the two)."""

    product = ProductChoiceField(queryset=Product.objects.none(), required=False, empty_label="Choose a product")
    configuration = forms.CharField(
        max_length=300,
        required=False,
        label="or a saved configuration",
        help_text="Its share token or the configurator link",
    )
    quantity = forms.IntegerField(min_value=1, max_value=99999, initial=1)
    unit_price = forms.DecimalField(
        max_digits=14,
        decimal_places=2,
        min_value=0,
        required=False,
        label="Unit price",
        help_text="Empty: the price list's, or the configuration's total",
    )

    def __init__(self, *args: Any, actor: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.actor = actor
        self.fields["product"].queryset = catalog_selectors.product_list(actor=actor).filter(is_active=True)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        product, reference = data.get("product"), (data.get("configuration") or "").strip()
        if not product and not reference and not self.errors:
            raise ValidationError("Choose a product, or give a saved configuration's token or link.")
        data["configuration"] = None
        if reference:
            try:
                data["configuration"] = services.configuration_from_reference(actor=self.actor, reference=reference)
            except ValidationError as exc:
                self.add_error("configuration", exc.messages)
        return data

    def service_kwargs(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {
            "product": d["product"],
            "configuration": d["configuration"],
            "quantity": d["quantity"],
            "unit_price": d["unit_price"],
        }


class ReportForm(forms.Form):
    start = forms.DateField(required=False, widget=DATE, label="From")
    end = forms.DateField(required=False, widget=DATE, label="To")
    owner = forms.IntegerField(required=False)
    currency = forms.CharField(max_length=3, required=False)
    pipeline = forms.IntegerField(required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and start > end:
            raise ValidationError("The period must start before it ends.")
        if start and end and (end - start).days > 3 * 366:
            raise ValidationError("Choose a period of three years at most.")
        return data
