"""HTML input cleaning for the catalog pages; the rules live in catalog.services and catalog.configurator."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import QueryDict

from catalog.configurator import MULTI, CompiledProduct
from catalog.models import (
    Attribute,
    AttributeValue,
    Category,
    ConfigRule,
    PriceList,
    Product,
    ProductDocument,
    RelatedProduct,
)
from catalog.uploads import DOCUMENT_MAX_BYTES, IMAGE_MAX_BYTES


def category_choices() -> list[tuple[int, str]]:
    """Categories as a tree: children indented under their parent."""
    children: dict[int | None, list[Category]] = {}
    for category in Category.objects.all():
        children.setdefault(category.parent_id, []).append(category)
    out: list[tuple[int, str]] = []

    def walk(parent_id: int | None, depth: int) -> None:
        for category in children.get(parent_id, []):
            out.append((category.pk, f"{'— ' * depth}{category.name}"))
            walk(category.pk, depth + 1)

    walk(None, 0)
    return out


class ProductForm(forms.Form):
    name = forms.CharField(max_length=150)
    sku = forms.CharField(label="SKU", max_length=40, help_text="Capital letters, digits and dashes, e.g. AUR-100")
    slug = forms.SlugField(max_length=80, required=False, help_text="Web address; made from the name when empty")
    category = forms.TypedChoiceField(coerce=int)
    summary = forms.CharField(max_length=300, required=False)
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6}),
        required=False,
        help_text="HTML: paragraphs, headings (h3, h4), lists, links, tables. Anything else is removed on save.",
    )
    specs = forms.CharField(
        label="Specification table",
        widget=forms.Textarea(attrs={"rows": 6}),
        required=False,
        help_text="One row per line: “Name: value”",
    )
    competitor_notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    currency = forms.CharField(max_length=3, initial="EUR", help_text="Currency of the configurator's option prices")
    base_lead_time_days = forms.IntegerField(min_value=0, max_value=3650, initial=14, label="Lead time (days)")
    is_active = forms.BooleanField(required=False, initial=True, label="Active")
    is_configurable = forms.BooleanField(required=False, label="Configurable (public configurator)")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = category_choices()

    def service_data(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["category"] = Category.objects.get(pk=data["category"])
        if not data["slug"]:
            data["slug"] = data["name"]
        return data

    @staticmethod
    def initial_for(product: Product) -> dict[str, Any]:
        fields = ProductForm.base_fields
        initial = {name: getattr(product, name) for name in fields if name not in ("category", "specs")}
        initial["category"] = product.category_id
        initial["specs"] = "\n".join(f"{row['name']}: {row['value']}" for row in product.specs)
        return initial


class ImageUploadForm(forms.Form):
    file = forms.FileField(label="Image", help_text=f"PNG, JPEG, GIF or WebP, up to {IMAGE_MAX_BYTES // 1_048_576} MB")
    alt = forms.CharField(max_length=200, required=False, label="Description for screen readers")


class DocumentUploadForm(forms.Form):
    file = forms.FileField(label="Document", help_text=f"PDF, up to {DOCUMENT_MAX_BYTES // 1_048_576} MB")
    title = forms.CharField(max_length=150)
    kind = forms.ChoiceField(choices=ProductDocument.Kind.choices)


class FaqForm(forms.Form):
    question = forms.CharField(max_length=300)
    answer = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))


class PriceForm(forms.Form):
    price_list = forms.ModelChoiceField(queryset=PriceList.objects.all())
    amount = forms.DecimalField(max_digits=12, decimal_places=2, min_value=0)


class RelatedForm(forms.Form):
    related = forms.ModelChoiceField(queryset=Product.objects.order_by("name_key"), label="Product")
    kind = forms.ChoiceField(choices=RelatedProduct.Kind.choices)
    note = forms.CharField(max_length=200, required=False)


# --- The configurator's model ----------------------------------------------------------------------------


class AttributeForm(forms.Form):
    name = forms.CharField(max_length=80)
    code = forms.RegexField(
        regex=r"^[a-z][a-z0-9_]{0,39}$",
        max_length=40,
        help_text="Used in links and the API: lower-case letters, digits and _, e.g. colour",
    )
    kind = forms.ChoiceField(choices=Attribute.Kind.choices, label="Shown as")
    required = forms.BooleanField(required=False, initial=True)
    step = forms.IntegerField(
        min_value=1, max_value=50, initial=1, help_text="Attributes with the same step are shown together"
    )
    step_title = forms.CharField(max_length=60, required=False, help_text="e.g. Exterior")
    position = forms.IntegerField(min_value=0, max_value=1000, initial=0, help_text="Order within the step")
    help_text = forms.CharField(max_length=200, required=False)
    min_value = forms.DecimalField(max_digits=10, decimal_places=2, required=False, label="Number: minimum")
    max_value = forms.DecimalField(max_digits=10, decimal_places=2, required=False, label="Number: maximum")
    step_value = forms.DecimalField(max_digits=10, decimal_places=2, required=False, label="Number: step")
    default_number = forms.DecimalField(max_digits=10, decimal_places=2, required=False, label="Number: default")
    unit = forms.CharField(max_length=12, required=False, label="Number: unit", help_text="e.g. cm")
    unit_price = forms.DecimalField(
        max_digits=12, decimal_places=2, required=False, initial=0, label="Number: price per unit above the minimum"
    )
    max_length = forms.IntegerField(min_value=1, max_value=200, required=False, label="Text: longest length")

    def service_data(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        if data.get("unit_price") is None:
            data["unit_price"] = 0
        return data


class ValueForm(forms.Form):
    label = forms.CharField(max_length=80)
    code = forms.RegexField(
        regex=r"^[A-Za-z0-9]{1,12}$", max_length=12, help_text="Part of the SKU code: 1–12 letters or digits, e.g. LTH"
    )
    colour = forms.RegexField(
        regex=r"^#[0-9a-fA-F]{6}$",
        required=False,
        help_text="Swatches: #rrggbb",
        widget=forms.TextInput(attrs={"placeholder": "#1f4e8c"}),
    )
    price_extra = forms.DecimalField(max_digits=12, decimal_places=2, initial=0, label="Price extra")
    lead_time_extra_days = forms.IntegerField(min_value=0, max_value=3650, initial=0, label="Extra lead time (days)")
    is_default = forms.BooleanField(required=False, label="Default")
    is_active = forms.BooleanField(required=False, initial=True, label="Offered (untick to withdraw)")
    position = forms.IntegerField(min_value=0, max_value=1000, initial=0)


class RuleForm(forms.Form):
    kind = forms.ChoiceField(choices=ConfigRule.Kind.choices, label="Rule")
    conditions = forms.TypedMultipleChoiceField(
        coerce=int,
        required=False,
        label="When all of these are chosen",
        widget=forms.SelectMultiple(attrs={"size": 10, "class": "value-picker"}),
    )
    targets = forms.TypedMultipleChoiceField(
        coerce=int,
        required=False,
        label="These values",
        help_text="Excludes: none of them may be chosen. Requires: one of them must be. Default: chosen for you.",
        widget=forms.SelectMultiple(attrs={"size": 10, "class": "value-picker"}),
    )
    target_attribute = forms.TypedChoiceField(
        coerce=int, required=False, empty_value=None, label="Quantity limit on", help_text="A checkbox list or a number"
    )
    amount = forms.DecimalField(
        max_digits=12, decimal_places=2, required=False, help_text="Conditional price: added (negative: taken off)"
    )
    min_value = forms.DecimalField(max_digits=10, decimal_places=2, required=False, label="Quantity: at least")
    max_value = forms.DecimalField(max_digits=10, decimal_places=2, required=False, label="Quantity: at most")
    message = forms.CharField(
        max_length=200, required=False, help_text="What the customer reads; written from the rule when empty"
    )
    position = forms.IntegerField(min_value=0, max_value=10000, initial=0)
    is_active = forms.BooleanField(required=False, initial=True, label="Active")

    def __init__(self, *args, product: Product, **kwargs):
        super().__init__(*args, **kwargs)
        self.product = product
        grouped: list[tuple[str, list[tuple[int, str]]]] = []
        values = AttributeValue.objects.filter(attribute__product=product).select_related("attribute")
        by_attribute: dict[Attribute, list[AttributeValue]] = {}
        for value in values.order_by("attribute__step", "attribute__position", "attribute_id", "position", "id"):
            by_attribute.setdefault(value.attribute, []).append(value)
        for attribute, rows in by_attribute.items():
            grouped.append((attribute.name, [(v.pk, f"{attribute.name}: {v.label} ({v.code})") for v in rows]))
        self.fields["conditions"].choices = grouped
        self.fields["targets"].choices = grouped
        limited = product.attributes.filter(kind__in=[Attribute.Kind.MULTI, Attribute.Kind.NUMBER])
        self.fields["target_attribute"].choices = [("", "—"), *((a.pk, a.name) for a in limited)]

    def service_data(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        values = {
            v.pk: v for v in AttributeValue.objects.filter(attribute__product=self.product).select_related("attribute")
        }
        data["conditions"] = [values[pk] for pk in data["conditions"] if pk in values]
        data["targets"] = [values[pk] for pk in data["targets"] if pk in values]
        attribute_id = data.pop("target_attribute")
        data["target_attribute"] = self.product.attributes.filter(pk=attribute_id).first() if attribute_id else None
        return data

    @staticmethod
    def initial_for(rule: ConfigRule) -> dict[str, Any]:
        return {
            "kind": rule.kind,
            "conditions": [v.pk for v in rule.conditions.all()],
            "targets": [v.pk for v in rule.targets.all()],
            "target_attribute": rule.target_attribute_id,
            "amount": rule.amount,
            "min_value": rule.min_value,
            "max_value": rule.max_value,
            "message": rule.message,
            "position": rule.position,
            "is_active": rule.is_active,
        }


# --- The public configurator's form ----------------------------------------------------------------------

# Whatever the form posts, a price is the server's: a request carrying one of these is refused.
CLIENT_PRICE_FIELDS = ("price", "prices", "total", "amount", "price_breakdown", "base_price", "currency")
HONEYPOT_FIELD = "cfg_extra_note"


def posted_price_fields(data: QueryDict | dict) -> list[str]:
    return [name for name in CLIENT_PRICE_FIELDS if name in data]


def configurator_choices(
    model: CompiledProduct, data: QueryDict, *, all_touched: bool = False
) -> tuple[dict, list[str]]:
    """The explicit choices in a posted configurator form, and the attributes the customer has touched.

    The form posts every attribute, but only those the customer changed (``_touched``, plus the one
    that triggered this request, ``_changed``) count as chosen: the others keep following their
    (conditional) defaults. Without JavaScript the form says ``_all``. Unknown names in ``_touched``
    are passed on, so that the engine reports them rather than this form hiding a tampered request.
    """
    touched = list(dict.fromkeys(code for code in data.getlist("_touched") if code))
    changed = data.get("_changed", "")
    if changed and changed in model.attr_by_code and changed not in touched:
        touched.append(changed)
    if all_touched or data.get("_all"):
        touched = list(dict.fromkeys([*touched, *model.attr_by_code]))
    choices: dict[str, Any] = {}
    for code in touched[:200]:
        attr = model.attr_by_code.get(code)
        if attr is not None and attr.shape == MULTI:
            choices[code] = [value for value in data.getlist(code) if value]
        else:
            choices[code] = data.get(code, "")
    return choices, [code for code in touched if code in model.attr_by_code]


def try_choices(model: CompiledProduct, data: QueryDict) -> dict[str, Any]:
    """The product managers' "try a configuration" panel: every filled-in attribute counts as chosen
    (a checkbox list with none ticked counts when its "choose none" box is ticked)."""
    choices: dict[str, Any] = {}
    for attr in model.attributes:
        if attr.shape == MULTI:
            picked = [v for v in data.getlist(attr.code) if v]
            if picked or data.get(f"_none_{attr.code}"):
                choices[attr.code] = picked
        elif data.get(attr.code, "") != "":
            choices[attr.code] = data.get(attr.code)
    return choices
