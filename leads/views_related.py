"""Related-product rules: list, create and edit, preview (HTMX), run as a job with progress. Thin:
leads.services_related decides."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from catalog.models import Product, RelatedProduct
from contacts.models import Purpose
from leads import services_related as related
from leads.models import RelatedProductRule
from sfa.permissions import can, require
from sfa.views import add_form_errors, render_page

Action = RelatedProductRule.Action
KIND_PHRASES = {
    RelatedProduct.Kind.ACCESSORY: "an accessory",
    RelatedProduct.Kind.UPGRADE: "an upgrade",
    RelatedProduct.Kind.SUCCESSOR: "the successor",
    RelatedProduct.Kind.CONSUMABLE: "a consumable",
}


# --- The form (HTML input cleaning only) --------------------------------------------------------------


class ProductChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Product) -> str:
        return f"{obj.name} ({obj.sku})"


class ProductsChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Product) -> str:
        return f"{obj.name} ({obj.sku})"


class RelatedRuleForm(forms.Form):
    name = forms.CharField(max_length=120)
    offer_product = ProductChoiceField(
        queryset=Product.objects.none(), label="Product to offer (B)", help_text="What the customers do not have yet"
    )
    relation_kinds = forms.MultipleChoiceField(
        choices=RelatedProduct.Kind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Customers of the products B is … of",
        help_text="From the catalog's related products: e.g. accessory = everyone who bought a product B is an "
        "accessory of",
    )
    bought_products = ProductsChoiceField(
        queryset=Product.objects.none(),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 8}),
        label="And customers of these products (A)",
        help_text="Chosen by hand, besides the catalog's relations",
    )
    within_months = forms.IntegerField(min_value=1, max_value=120, initial=12, label="Bought within the last … months")
    purpose = forms.ModelChoiceField(
        queryset=Purpose.objects.none(),
        help_text="Whoever was worked for it inside its guard window gets nothing",
    )
    action = forms.ChoiceField(choices=Action.choices, widget=forms.RadioSelect, initial=Action.LEAD, label="Make")
    is_active = forms.BooleanField(required=False, initial=True, label="Active")

    def __init__(self, *args: Any, rule: RelatedProductRule | None = None, **kwargs: Any) -> None:
        if rule is not None:
            kwargs["initial"] = {
                "name": rule.name,
                "offer_product": rule.offer_product_id,
                "relation_kinds": rule.relation_kinds,
                "bought_products": list(rule.bought_products.values_list("pk", flat=True)),
                "within_months": rule.within_months,
                "purpose": rule.purpose_id,
                "action": rule.action,
                "is_active": rule.is_active,
            }
        super().__init__(*args, **kwargs)
        products = Product.objects.filter(is_active=True)
        if rule is not None:  # a product switched off since stays choosable on its rule
            kept = [rule.offer_product_id, *self.initial["bought_products"]]
            products = products | Product.objects.filter(pk__in=kept)
        self.fields["offer_product"].queryset = products.order_by("name_key", "id")
        self.fields["bought_products"].queryset = products.order_by("name_key", "id")
        purposes = Purpose.objects.filter(is_active=True)
        if rule is not None:
            purposes = purposes | Purpose.objects.filter(pk=rule.purpose_id)
        self.fields["purpose"].queryset = purposes.select_related("guard_rule").order_by("name")


# --- Pages --------------------------------------------------------------------------------------------


def verdict_lines(rule: RelatedProductRule, counts: dict[str, Any]) -> list[tuple[str, int, str]]:
    """(verdict, number, what it means) in the order the rule decides them; ``make`` first, zeros left out."""
    opportunities = counts.get("action") == Action.OPPORTUNITY
    noun = "opportunity" if opportunities else "lead"
    labels = {
        related.MAKE: "would get an opportunity for the account's owner" if opportunities else "would get a lead",
        related.WORKED: f"were worked for {rule.purpose} in the last {counts.get('window_days')} days (its guard "
        "window)",
        related.ALREADY_OPEN: f"still have an open {noun} from this rule",
        related.ALREADY_DONE: "had one from this rule, now closed, and have not bought since",
        related.DO_NOT_CONTACT: "asked not to be contacted",
        related.OTHER_OWNER: "belong to an account owner you may not give deals to (outside your teams, or inactive)",
        related.NO_ACCOUNT: "are consumers without an account (a lead rule reaches them)",
        related.NO_CONTACT: "are accounts with nobody on record to address",
        "failed": "could not be served (see below)",
    }
    order = [related.MAKE, *[v for v in related.VERDICTS if v != related.MAKE], "failed"]
    return [(v, counts.get(v, 0), labels[v]) for v in order if counts.get(v) or v == related.MAKE]


def _rule_context(request: HttpRequest, rule: RelatedProductRule, **extra: Any) -> dict[str, Any]:
    return {
        "rule": rule,
        "bought_products": list(rule.bought_products.order_by("name_key")),
        "kinds_text": " or ".join(phrase for kind, phrase in KIND_PHRASES.items() if kind in rule.relation_kinds),
        "summary": related.rule_offer_summary(rule),
        "running": rule.job is not None and not rule.job.is_finished,
        "last_lines": verdict_lines(rule, rule.last_run_counts) if rule.last_run_counts else [],
        "can_change": can(request.user, "change", rule),
        "can_run": can(request.user, "run", rule),
        "can_delete": can(request.user, "delete", rule),
        **extra,
    }


@require_GET
def rule_list(request: HttpRequest) -> HttpResponse:
    require(request.user, "view", RelatedProductRule)
    return render(
        request,
        "leads/related/list.html",
        {
            "rules": related.rule_list(actor=request.user),
            "can_add": can(request.user, "add", RelatedProductRule),
        },
    )


@require_http_methods(["GET", "POST"])
def rule_create(request: HttpRequest) -> HttpResponse:
    require(request.user, "add", RelatedProductRule)
    form = RelatedRuleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            rule = related.rule_create(actor=request.user, data=form.cleaned_data)
        except ValidationError as exc:
            add_form_errors(form, exc)
        else:
            messages.success(request, f"Rule “{rule}” saved. Check the preview before you run it.")
            return redirect("leads:related-rule-detail", pk=rule.pk)
    return render(
        request,
        "leads/related/form.html",
        {"form": form, "title": "New related-product rule"},
        status=400 if form.is_bound else 200,
    )


@require_http_methods(["GET", "POST"])
def rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    rule = related.rule_get(actor=request.user, pk=pk, action="change")
    form = RelatedRuleForm(request.POST or None, rule=rule)
    if request.method == "POST" and form.is_valid():
        try:
            changed = related.rule_update(rule=rule, actor=request.user, data=form.cleaned_data)
        except ValidationError as exc:
            add_form_errors(form, exc)
        else:
            messages.success(request, f"Rule “{rule}” saved." if changed else "Nothing changed.")
            return redirect("leads:related-rule-detail", pk=rule.pk)
    return render(
        request,
        "leads/related/form.html",
        {"form": form, "rule": rule, "title": f"Edit “{rule}”"},
        status=400 if form.is_bound else 200,
    )


@require_GET
def rule_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The rule, its last run and what it made; ``?preview=1`` counts what a run would do now (the HTMX
    button asks for the ``preview`` part only; without JavaScript the whole page comes back with it)."""
    rule = related.rule_get(actor=request.user, pk=pk)
    extra: dict[str, Any] = {}
    if request.GET.get("preview"):
        try:
            counts = related.rule_preview(rule=rule, actor=request.user)
        except ValidationError as exc:
            extra["preview_errors"] = exc.messages
        else:
            extra["preview"] = counts
            extra["preview_lines"] = verdict_lines(rule, counts)
    return render_page(request, "leads/related/detail.html", _rule_context(request, rule, **extra), partial="preview")


@require_POST
def rule_run(request: HttpRequest, pk: int) -> HttpResponse:
    rule = related.rule_get(actor=request.user, pk=pk, action="run")
    try:
        related.rule_run_start(rule=rule, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.info(request, f"Rule “{rule}” is running. You can leave this page: the run goes on.")
    return redirect("leads:related-rule-detail", pk=rule.pk)


@require_GET
def rule_status(request: HttpRequest, pk: int) -> HttpResponse:
    """Polled while a run goes: nothing to do (204) until its job ends, then HX-Redirect to the rule."""
    rule = related.rule_get(actor=request.user, pk=pk)
    if rule.job is not None and not rule.job.is_finished:
        return HttpResponse(status=204)
    response = HttpResponse("")
    response["HX-Redirect"] = reverse("leads:related-rule-detail", args=[pk])
    return response


@require_POST
def rule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    rule = related.rule_get(actor=request.user, pk=pk, action="delete")
    try:
        related.rule_delete(rule=rule, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("leads:related-rule-detail", pk=pk)
    messages.success(request, f"Rule “{rule}” deleted; the leads and opportunities it made stay.")
    return redirect("leads:related-rule-list")


urlpatterns = [
    path("leads/related-rules/", rule_list, name="related-rule-list"),
    path("leads/related-rules/new/", rule_create, name="related-rule-create"),
    path("leads/related-rules/<int:pk>/", rule_detail, name="related-rule-detail"),
    path("leads/related-rules/<int:pk>/edit/", rule_edit, name="related-rule-edit"),
    path("leads/related-rules/<int:pk>/run/", rule_run, name="related-rule-run"),
    path("leads/related-rules/<int:pk>/status/", rule_status, name="related-rule-status"),
    path("leads/related-rules/<int:pk>/delete/", rule_delete, name="related-rule-delete"),
]
