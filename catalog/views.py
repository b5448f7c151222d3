"""Catalog pages: the product list and product page for reps, the product managers' screens, and the
public configurator. Thin callers of catalog.selectors, catalog.services and catalog.configurator."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from catalog import ratelimit, selectors, services
from catalog.configurator import MULTI, CompiledProduct, Result, compiled_for, evaluate
from catalog.configurator_page import configurator_context
from catalog.forms import (
    HONEYPOT_FIELD,
    AttributeForm,
    DocumentUploadForm,
    FaqForm,
    ImageUploadForm,
    PriceForm,
    ProductForm,
    RelatedForm,
    RuleForm,
    ValueForm,
    configurator_choices,
    posted_price_fields,
    try_choices,
)
from catalog.models import (
    Attribute,
    AttributeValue,
    Configuration,
    Price,
    Product,
    ProductDocument,
    ProductFaq,
    ProductImage,
    RelatedProduct,
)
from catalog.ui import product_panels, quote_request_url
from sfa.audit import audit_history
from sfa.listing import Sort, keyset_page
from sfa.permissions import can, get_object_for, require
from sfa.views import add_form_errors, render_page

PRODUCT_SORTS = [Sort("name", "name_key", "Name"), Sort("sku", "sku", "SKU")]


def _bad_request(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    return render(request, "sfa/error.html", {"errors": exc.messages}, status=400)


def _form_errors(form) -> str:
    return "; ".join(
        f"{name}: {' '.join(errors)}" if name != "__all__" else " ".join(errors) for name, errors in form.errors.items()
    )


# --- Products, for everyone inside ---------------------------------------------------------------------


@require_GET
def product_list(request: HttpRequest) -> HttpResponse:
    try:
        page = keyset_page(
            selectors.product_list(actor=request.user, filters=request.GET),
            request.GET,
            sorts=PRODUCT_SORTS,
            default="name",
        )
    except ValidationError as exc:
        return _bad_request(request, exc)
    selectors.products_with_prices(page.rows)
    context = {
        "page": page,
        "categories": [(c.pk, f"{'— ' * depth}{c.name}") for c, depth in selectors.category_tree(actor=request.user)],
        "can_add": can(request.user, "add", Product),
    }
    return render_page(request, "catalog/product_list.html", context, partial="results")


@require_GET
def product_detail(request: HttpRequest, slug: str) -> HttpResponse:
    product = selectors.product_get(actor=request.user, slug=slug)
    can_change = can(request.user, "change", product)
    context = {
        "product": product,
        "prices": selectors.price_rows(actor=request.user, product=product),
        "related": selectors.related_products(actor=request.user, product=product),
        "panels": product_panels(request, product),
        "configurations": selectors.configuration_list(actor=request.user, product=product)[:10],
        "can_change": can_change,
        "history": audit_history(actor=request.user, instance=product, limit=20),
        "public_url": reverse("catalog:configure", args=[product.slug])
        if product.is_configurable and product.is_active
        else "",
    }
    if can_change:
        context.update(
            image_form=ImageUploadForm(prefix="image"),
            document_form=DocumentUploadForm(prefix="document"),
            faq_form=FaqForm(prefix="faq"),
            price_form=PriceForm(prefix="price"),
            related_form=RelatedForm(prefix="related"),
        )
    return render(request, "catalog/product_detail.html", context)


@require_http_methods(["GET", "POST"])
def product_edit(request: HttpRequest, slug: str | None = None) -> HttpResponse:
    product = selectors.product_get(actor=request.user, slug=slug, action="change") if slug else None
    if product is None:
        require(request.user, "add", Product)
    form = ProductForm(request.POST or None, initial=ProductForm.initial_for(product) if product else None)
    if request.method == "POST" and form.is_valid():
        try:
            if product is None:
                product = services.product_create(actor=request.user, **form.service_data())
                messages.success(request, f"{product} added.")
            else:
                services.product_update(product=product, actor=request.user, data=form.service_data())
                messages.success(request, f"{product} saved.")
        except ValidationError as exc:
            add_form_errors(form, exc)
        else:
            return redirect("catalog:product-detail", slug=product.slug)
    cancel = reverse("catalog:product-detail", args=[product.slug]) if product else reverse("catalog:product-list")
    title = f"Edit {product}" if product else "New product"
    return render(request, "sfa/form.html", {"form": form, "title": title, "submit": "Save", "cancel_url": cancel})


# The small forms on the product page, each with its prefix (their field ids stay unique on one page).
PREFIXES = {
    ImageUploadForm: "image",
    DocumentUploadForm: "document",
    FaqForm: "faq",
    PriceForm: "price",
    RelatedForm: "related",
}


def _manage(
    request: HttpRequest, slug: str, form_class: type, call: Callable[[Product, Any], Any], done: str
) -> HttpResponse:
    """A product manager's small form on the product page: validate, call the service, come back."""
    product = selectors.product_get(actor=request.user, slug=slug, action="change")
    form = form_class(request.POST, request.FILES, prefix=PREFIXES[form_class])
    if not form.is_valid():
        messages.error(request, f"Not saved: {_form_errors(form)}")
    else:
        try:
            call(product, form.cleaned_data)
        except ValidationError as exc:
            messages.error(request, f"Not saved: {' '.join(exc.messages)}")
        else:
            messages.success(request, done)
    return redirect("catalog:product-detail", slug=product.slug)


@require_POST
def product_image_add(request: HttpRequest, slug: str) -> HttpResponse:
    return _manage(
        request,
        slug,
        ImageUploadForm,
        lambda p, d: services.product_image_add(product=p, actor=request.user, file=d["file"], alt=d["alt"]),
        "Image added.",
    )


@require_POST
def product_document_add(request: HttpRequest, slug: str) -> HttpResponse:
    return _manage(
        request,
        slug,
        DocumentUploadForm,
        lambda p, d: services.product_document_add(product=p, actor=request.user, **d),
        "Document added.",
    )


@require_POST
def faq_add(request: HttpRequest, slug: str) -> HttpResponse:
    return _manage(
        request, slug, FaqForm, lambda p, d: services.faq_add(product=p, actor=request.user, **d), "FAQ entry added."
    )


@require_POST
def price_set(request: HttpRequest, slug: str) -> HttpResponse:
    return _manage(
        request, slug, PriceForm, lambda p, d: services.price_set(product=p, actor=request.user, **d), "Price saved."
    )


@require_POST
def related_add(request: HttpRequest, slug: str) -> HttpResponse:
    return _manage(
        request,
        slug,
        RelatedForm,
        lambda p, d: services.related_add(product=p, actor=request.user, **d),
        "Related product added.",
    )


REMOVABLE = {
    "image": ProductImage,
    "document": ProductDocument,
    "faq": ProductFaq,
    "price": Price,
    "related": RelatedProduct,
}


@require_POST
def product_part_delete(request: HttpRequest, slug: str, kind: str, pk: int) -> HttpResponse:
    """Remove an image, document, FAQ entry, price or related product from a product."""
    model = REMOVABLE.get(kind)
    if model is None:
        raise Http404("Nothing of that kind to remove.")
    product = selectors.product_get(actor=request.user, slug=slug)
    row = get_object_for(request.user, model.objects.filter(product=product), pk, "delete")
    if kind in ("image", "document"):
        services.product_file_delete(instance=row, actor=request.user)
    elif kind == "faq":
        services.faq_delete(faq=row, actor=request.user)
    elif kind == "price":
        services.price_remove(price=row, actor=request.user)
    else:
        services.related_remove(relation=row, actor=request.user)
    messages.success(request, "Removed.")
    return redirect("catalog:product-detail", slug=product.slug)


@require_GET
def product_file(request: HttpRequest, kind: str, pk: int) -> FileResponse:
    """An image or document, served with the type sniffed at upload (never the uploader's word)."""
    model = {"image": ProductImage, "document": ProductDocument}.get(kind)
    if model is None:
        raise Http404("No such file.")
    row = get_object_for(request.user, model.objects.all(), pk)
    try:
        handle = row.file.open("rb")
    except FileNotFoundError:
        raise Http404("This file is missing from storage.") from None
    extension = row.file.name.rsplit(".", 1)[-1]
    filename = f"{row.product.slug}-{row.pk}.{extension}"
    return FileResponse(handle, content_type=row.content_type, filename=filename, as_attachment=False)


# --- Product managers: the configurator's model ------------------------------------------------------------


@require_GET
def configurator_index(request: HttpRequest) -> HttpResponse:
    require(request.user, "change", Attribute)
    products = selectors.product_list(actor=request.user).filter(is_configurable=True).order_by("name_key", "id")
    return render(request, "catalog/configurator_index.html", {"products": products})


def _builder_product(request: HttpRequest, slug: str) -> Product:
    product = selectors.product_get(actor=request.user, slug=slug, action="change")
    require(request.user, "change", Attribute)
    return product


@require_GET
def builder(request: HttpRequest, slug: str) -> HttpResponse:
    """Attributes, values and rules of one product, with the "try a configuration" panel."""
    product = _builder_product(request, slug)
    model = compiled_for(product)
    attributes = product.attributes.order_by("step", "position", "id").prefetch_related(
        Prefetch("values", queryset=AttributeValue.objects.order_by("position", "id"))
    )
    rules = product.rules.select_related("target_attribute").prefetch_related(
        Prefetch("conditions", queryset=AttributeValue.objects.select_related("attribute")),
        Prefetch("targets", queryset=AttributeValue.objects.select_related("attribute")),
    )
    messages_by_id = {rule.id: rule.message for rule in model.rules}
    rules = list(rules.order_by("position", "id"))
    for rule in rules:
        rule.words = messages_by_id.get(rule.pk, "Never applies: one of its values is withdrawn.")
    choices = try_choices(model, request.GET)
    context = {
        "product": product,
        "attributes": attributes,
        "rules": rules,
        "model": model,
        "try": _try_context(model, evaluate(model, choices, trace=True), request.GET),
    }
    return render_page(request, "catalog/builder.html", context, partial="try")


def _try_context(model: CompiledProduct, result: Result, data) -> dict[str, Any]:
    fields = []
    for attr in model.attributes:
        fields.append(
            {
                "attr": attr,
                "shape": attr.shape,
                "given": data.getlist(attr.code) if attr.shape == MULTI else data.get(attr.code, ""),
                "none_set": bool(data.get(f"_none_{attr.code}")),
            }
        )
    return {"fields": fields, "result": result, "impossible": [s for s in result.options.values() if s.reasons]}


def _form_page(request: HttpRequest, form, title: str, cancel: str, submit: str = "Save") -> HttpResponse:
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "title": title, "submit": submit, "cancel_url": cancel}
    return render(request, "sfa/form.html", context, status=status)


@require_http_methods(["GET", "POST"])
def attribute_edit(request: HttpRequest, slug: str, pk: int | None = None) -> HttpResponse:
    product = _builder_product(request, slug)
    attribute = get_object_for(request.user, product.attributes.all(), pk, "change") if pk else None
    initial = {f: getattr(attribute, f) for f in AttributeForm.base_fields} if attribute else None
    form = AttributeForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            if attribute is None:
                attribute = services.attribute_create(product=product, actor=request.user, **form.service_data())
            else:
                services.attribute_update(attribute=attribute, actor=request.user, data=form.service_data())
        except ValidationError as exc:
            add_form_errors(form, exc)
        else:
            messages.success(request, f"{attribute} saved.")
            return redirect("catalog:builder", slug=product.slug)
    title = f"{product}: {'edit ' + attribute.name if attribute else 'new attribute'}"
    return _form_page(request, form, title, reverse("catalog:builder", args=[product.slug]))


@require_POST
def attribute_delete(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    product = _builder_product(request, slug)
    attribute = get_object_for(request.user, product.attributes.all(), pk, "delete")
    services.attribute_delete(attribute=attribute, actor=request.user)
    messages.success(request, f"{attribute} deleted, with its values and the rules that needed them.")
    return redirect("catalog:builder", slug=product.slug)


@require_http_methods(["GET", "POST"])
def value_edit(request: HttpRequest, slug: str, attribute_pk: int, pk: int | None = None) -> HttpResponse:
    product = _builder_product(request, slug)
    attribute = get_object_for(request.user, product.attributes.all(), attribute_pk)
    value = get_object_for(request.user, attribute.values.all(), pk, "change") if pk else None
    initial = {f: getattr(value, f) for f in ValueForm.base_fields} if value else None
    form = ValueForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            if value is None:
                value = services.value_create(attribute=attribute, actor=request.user, **form.cleaned_data)
            else:
                services.value_update(value=value, actor=request.user, data=form.cleaned_data)
        except ValidationError as exc:
            add_form_errors(form, exc)
        else:
            messages.success(request, f"{attribute}: {value} saved.")
            return redirect("catalog:builder", slug=product.slug)
    title = f"{attribute}: {'edit ' + value.label if value else 'new value'}"
    return _form_page(request, form, title, reverse("catalog:builder", args=[product.slug]))


@require_POST
def value_delete(request: HttpRequest, slug: str, attribute_pk: int, pk: int) -> HttpResponse:
    product = _builder_product(request, slug)
    value = get_object_for(request.user, AttributeValue.objects.filter(attribute__product=product), pk, "delete")
    services.value_delete(value=value, actor=request.user)
    messages.success(request, f"{value} deleted, with the rules that needed it.")
    return redirect("catalog:builder", slug=product.slug)


@require_http_methods(["GET", "POST"])
def rule_edit(request: HttpRequest, slug: str, pk: int | None = None) -> HttpResponse:
    product = _builder_product(request, slug)
    rule = get_object_for(request.user, product.rules.all(), pk, "change") if pk else None
    form = RuleForm(request.POST or None, product=product, initial=RuleForm.initial_for(rule) if rule else None)
    if request.method == "POST" and form.is_valid():
        try:
            if rule is None:
                rule = services.rule_create(product=product, actor=request.user, **form.service_data())
            else:
                services.rule_update(rule=rule, actor=request.user, data=form.service_data())
        except ValidationError as exc:
            add_form_errors(form, exc)
        else:
            messages.success(request, "Rule saved.")
            return redirect("catalog:builder", slug=product.slug)
    title = f"{product}: {'edit rule' if rule else 'new rule'}"
    return _form_page(request, form, title, reverse("catalog:builder", args=[product.slug]))


@require_POST
def rule_delete(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    product = _builder_product(request, slug)
    rule = get_object_for(request.user, product.rules.all(), pk, "delete")
    services.rule_delete(rule=rule, actor=request.user)
    messages.success(request, "Rule deleted.")
    return redirect("catalog:builder", slug=product.slug)


# --- The public configurator -----------------------------------------------------------------------------


def rate_limited(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Answer 429 with a readable page once the client's address has spent its CONFIGURATOR_RATE_LIMIT."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        verdict = ratelimit.hit(request)
        if not verdict.allowed:
            template = "catalog/rate_limited.html#message" if request.htmx else "catalog/rate_limited.html"
            response = render(request, template, {"retry_after": verdict.retry_after}, status=429)
            response["Retry-After"] = str(verdict.retry_after)
            return response
        return view(request, *args, **kwargs)

    return wrapper


def _price_refused(request: HttpRequest, product: Product) -> HttpResponse:
    message = "Prices are worked out by us from the options you choose; a request that sends its own price is refused."
    return render(request, "catalog/configure_refused.html", {"product": product, "message": message}, status=400)


@login_not_required
@require_http_methods(["GET", "POST"])
@rate_limited
def configure(request: HttpRequest, slug: str) -> HttpResponse:
    """The public configurator. A POST re-validates the posted choices: HTMX gets the ``live`` partial back."""
    product = selectors.public_product_get(slug=slug)
    model = compiled_for(product)
    choices: dict[str, Any] = {}
    touched: list[str] = []
    if request.method == "POST":
        if posted_price_fields(request.POST):
            return _price_refused(request, product)
        choices, touched = configurator_choices(model, request.POST)
    result = evaluate(model, choices)
    context = configurator_context(product, model, result, touched)
    return render_page(request, "catalog/configure.html", context, partial="live")


@login_not_required
@require_POST
@rate_limited
def configure_save(request: HttpRequest, slug: str) -> HttpResponse:
    """Save the configuration (prices frozen) and send the customer to its shareable address."""
    product = selectors.public_product_get(slug=slug)
    if posted_price_fields(request.POST):
        return _price_refused(request, product)
    if request.POST.get(HONEYPOT_FIELD):
        message = "We could not save this configuration. If you are a person, please reload the page and try again."
        return render(request, "catalog/configure_refused.html", {"product": product, "message": message}, status=400)
    model = compiled_for(product)
    choices, touched = configurator_choices(model, request.POST)
    actor = request.user if request.user.is_authenticated else None
    source = Configuration.Source.REP if actor is not None else Configuration.Source.PUBLIC
    try:
        configuration = services.configuration_save(product=product, choices=choices, actor=actor, source=source)
    except ValidationError:
        context = configurator_context(product, model, evaluate(model, choices), touched)
        context["save_failed"] = True
        return render(request, "catalog/configure.html", context, status=400)
    if request.POST.get("then") == "quote" and (quote_url := quote_request_url(configuration)):
        return redirect(quote_url)  # "Request a quote": saved first, then the request form (orders)
    messages.success(request, "Your configuration is saved. Copy the link below to share it or come back to it.")
    return redirect("catalog:configure-shared", slug=product.slug, token=configuration.token)


@login_not_required
@require_GET
@rate_limited
def configure_shared(request: HttpRequest, slug: str, token: str) -> HttpResponse:
    """A saved configuration, reopened in the configurator with its frozen prices beside today's."""
    product = selectors.public_product_get(slug=slug)
    saved = selectors.configuration_by_token(product=product, token=token)
    model = compiled_for(product)
    # What the customer chose, as they chose it: the other attributes keep following their defaults, so
    # that the reopened configuration adapts as it did before saving.
    touched = [code for code in saved.explicit if code in saved.choices and code in model.attr_by_code]
    result = evaluate(model, {code: saved.choices[code] for code in touched})
    context = configurator_context(product, model, result, touched)
    context.update(
        saved=saved,
        share_url=request.build_absolute_uri(),
        price_changed=result.total != saved.total or result.currency != saved.currency,
        quote_request_url=quote_request_url(saved),
    )
    return render(request, "catalog/configure.html", context)
