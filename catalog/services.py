"""Writes on the catalog: products and what reps know about them, prices, and the configurator's model.

Every write is audited (``sfa.services.model_*`` or ``sfa.audit.audit_record``). A write that changes what
the configurator compiles (attributes, values, rules, base prices, the product's SKU, name, currency or
lead time) renews the product's ``config_stamp`` through ``config_changed``, so the cached compiled model
is never stale. ``actor=None`` means a trusted caller: a script, the demo, or the public configurator
saving a customer's configuration.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Model, Q
from django.utils.text import slugify

from catalog import configurator
from catalog.models import (
    Attribute,
    AttributeValue,
    Category,
    ConfigRule,
    Configuration,
    Price,
    PriceList,
    Product,
    ProductDocument,
    ProductFaq,
    ProductImage,
    RelatedProduct,
    new_config_stamp,
)
from catalog.normalize import name_key, sku_key
from catalog.richtext import sanitise_html
from catalog.uploads import DOCUMENT_MAX_BYTES, DOCUMENT_TYPES, IMAGE_MAX_BYTES, IMAGE_TYPES, validate_upload
from sfa.audit import audit_record, diff, snapshot
from sfa.models import AuditAction, User
from sfa.permissions import require
from sfa.services import model_create, model_delete, model_update


def _require(actor: User | None, action: str, target: Model | type[Model]) -> None:
    if actor is not None:
        require(actor, action, target)


def _unknown(data: dict[str, Any], allowed: Iterable[str]) -> None:
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, "Unknown field."))


def config_changed(product: Product | int) -> None:
    """Renew the product's config stamp: its compiled configurator model is rebuilt on next use."""
    product_id = product if isinstance(product, int) else product.pk
    stamp = new_config_stamp()
    Product.objects.filter(pk=product_id).update(config_stamp=stamp)
    if isinstance(product, Product):
        product.config_stamp = stamp
    configurator.forget(product_id)


# --- Categories ------------------------------------------------------------------------------------


def category_create(
    *, actor: User | None, name: str, parent: Category | None = None, slug: str = "", position: int = 0
) -> Category:
    _require(actor, "add", Category)
    name = (name or "").strip()
    slug = slug or slugify(name)
    if not name or not slug:
        raise ValidationError({"name": "A category needs a name."})
    return model_create(
        model=Category, actor=actor, data={"name": name, "slug": slug, "parent": parent, "position": position}
    )


def category_update(*, category: Category, actor: User | None, data: dict[str, Any]) -> list[str]:
    _require(actor, "change", category)
    _unknown(data, ("name", "slug", "parent", "position"))
    parent = data.get("parent")
    while parent is not None:
        if parent.pk == category.pk:
            raise ValidationError({"parent": "A category cannot sit below itself."})
        parent = parent.parent
    return model_update(instance=category, actor=actor, data=data)


# --- Products --------------------------------------------------------------------------------------

PRODUCT_FIELDS = (
    "slug",
    "sku",
    "name",
    "category",
    "summary",
    "description",
    "specs",
    "competitor_notes",
    "is_active",
    "is_configurable",
    "currency",
    "base_lead_time_days",
)
RESERVED_SLUGS = {"new"}  # /products/new/ is the form for a new product
COMPILED_PRODUCT_FIELDS = {"sku", "name", "currency", "base_lead_time_days", "slug"}
SPEC_ROWS_MAX = 100


def clean_specs(specs: Any) -> list[dict[str, str]]:
    """A specification table as [{"name", "value"}]: from such a list, from pairs, or from "Name: value" lines."""
    if specs in (None, ""):
        return []
    if isinstance(specs, str):
        rows = []
        for line in specs.splitlines():
            if not line.strip():
                continue
            name, sep, value = line.partition(":")
            if not sep:
                raise ValidationError({"specs": f"Write each line as “Name: value” (not: {line.strip()[:40]!r})."})
            rows.append({"name": name, "value": value})
        specs = rows
    if not isinstance(specs, list | tuple):
        raise ValidationError({"specs": "The specification table is a list of name and value."})
    out = []
    for row in specs:
        if isinstance(row, list | tuple) and len(row) == 2:
            row = {"name": row[0], "value": row[1]}
        if not isinstance(row, dict) or not isinstance(row.get("name"), str) or not isinstance(row.get("value"), str):
            raise ValidationError({"specs": "Each specification row needs a name and a value (both text)."})
        name, value = row["name"].strip(), row["value"].strip()
        if not name:
            raise ValidationError({"specs": "A specification row has no name."})
        if len(name) > 80 or len(value) > 300:
            raise ValidationError({"specs": f"“{name[:40]}”: names up to 80 and values up to 300 characters."})
        out.append({"name": name, "value": value})
    if len(out) > SPEC_ROWS_MAX:
        raise ValidationError({"specs": f"At most {SPEC_ROWS_MAX} specification rows."})
    return out


def _product_derived(data: dict[str, Any]) -> dict[str, Any]:
    out = dict(data)
    if "name" in out:
        out["name"] = (out["name"] or "").strip()
        if not out["name"]:
            raise ValidationError({"name": "A product needs a name."})
        out["name_key"] = name_key(out["name"])
    if "sku" in out:
        out["sku"] = sku_key(out["sku"])
    if "slug" in out:
        out["slug"] = slugify(out["slug"] or "")
        if not out["slug"]:
            raise ValidationError({"slug": "Give the product a web address (letters, digits and dashes)."})
        if out["slug"] in RESERVED_SLUGS:
            raise ValidationError({"slug": f"“{out['slug']}” is taken by a page of its own; choose another."})
    if "description" in out:
        out["description"] = sanitise_html(out["description"] or "")
    if "specs" in out:
        out["specs"] = clean_specs(out["specs"])
    if "currency" in out:
        out["currency"] = (out["currency"] or "").strip().upper()
    for text in ("summary", "competitor_notes"):
        if text in out:
            out[text] = (out[text] or "").strip()
    return out


def product_create(*, actor: User | None, **data: Any) -> Product:
    _require(actor, "add", Product)
    _unknown(data, PRODUCT_FIELDS)
    data.setdefault("slug", data.get("name") or "")
    return model_create(model=Product, actor=actor, data=_product_derived(data))


def product_update(*, product: Product, actor: User | None, data: dict[str, Any]) -> list[str]:
    _require(actor, "change", product)
    _unknown(data, PRODUCT_FIELDS)
    changed = model_update(instance=product, actor=actor, data=_product_derived(data))
    if COMPILED_PRODUCT_FIELDS & set(changed):
        config_changed(product)
    return changed


# --- Images, documents, FAQ --------------------------------------------------------------------------


def _file_snapshot(instance: ProductImage | ProductDocument) -> dict[str, Any]:
    values = snapshot(instance, [f.name for f in instance._meta.concrete_fields if f.name != "file"])
    values["file"] = instance.file.name
    return values


@transaction.atomic
def _file_create(model: type[ProductImage | ProductDocument], actor: User | None, data: dict[str, Any]):
    instance = model(**data)
    instance.full_clean()
    instance.save()
    audit_record(actor=actor, instance=instance, action=AuditAction.CREATE, changes=diff({}, _file_snapshot(instance)))
    return instance


def product_image_add(
    *, product: Product, actor: User | None, file: UploadedFile, alt: str = "", position: int = 0
) -> ProductImage:
    """Store an image (PNG, JPEG, GIF or WebP by content, at most 5 MB) under MEDIA_ROOT."""
    _require(actor, "add", ProductImage)
    sniffed = validate_upload(file, allowed=IMAGE_TYPES, max_bytes=IMAGE_MAX_BYTES, what="image")
    data = {
        "product": product,
        "file": file,
        "content_type": sniffed.content_type,
        "size": file.size,
        "alt": (alt or "").strip() or product.name,
        "position": position,
    }
    return _file_create(ProductImage, actor, data)


def product_document_add(
    *, product: Product, actor: User | None, file: UploadedFile, title: str, kind: str = ProductDocument.Kind.DATASHEET
) -> ProductDocument:
    """Store a document (PDF by content, at most 20 MB) under MEDIA_ROOT."""
    _require(actor, "add", ProductDocument)
    sniffed = validate_upload(file, allowed=DOCUMENT_TYPES, max_bytes=DOCUMENT_MAX_BYTES, what="document")
    title = (title or "").strip()
    if not title:
        raise ValidationError({"title": "Give the document a title."})
    data = {
        "product": product,
        "file": file,
        "content_type": sniffed.content_type,
        "size": file.size,
        "title": title,
        "kind": kind,
    }
    return _file_create(ProductDocument, actor, data)


@transaction.atomic
def product_file_delete(*, instance: ProductImage | ProductDocument, actor: User | None) -> None:
    _require(actor, "delete", instance)
    storage, name = instance.file.storage, instance.file.name
    audit_record(actor=actor, instance=instance, action=AuditAction.DELETE, changes=diff(_file_snapshot(instance), {}))
    instance.delete()
    transaction.on_commit(lambda: storage.delete(name))


def faq_add(*, product: Product, actor: User | None, question: str, answer: str, position: int = 0) -> ProductFaq:
    _require(actor, "add", ProductFaq)
    question, answer = (question or "").strip(), (answer or "").strip()
    if not question or not answer:
        raise ValidationError({"question": "An FAQ entry needs a question and an answer."})
    return model_create(
        model=ProductFaq,
        actor=actor,
        data={"product": product, "question": question, "answer": answer, "position": position},
    )


def faq_delete(*, faq: ProductFaq, actor: User | None) -> None:
    _require(actor, "delete", faq)
    model_delete(instance=faq, actor=actor)


# --- Prices and related products ---------------------------------------------------------------------


def price_list_create(
    *,
    actor: User | None,
    name: str,
    code: str,
    currency: str,
    valid_from: date,
    valid_to: date | None = None,
    is_active: bool = True,
) -> PriceList:
    _require(actor, "add", PriceList)
    data = {
        "name": (name or "").strip(),
        "code": slugify(code or name),
        "currency": (currency or "").strip().upper(),
        "valid_from": valid_from,
        "valid_to": valid_to,
        "is_active": is_active,
    }
    if valid_to is not None and valid_to < valid_from:
        raise ValidationError({"valid_to": "A price list cannot end before it starts."})
    return model_create(model=PriceList, actor=actor, data=data)


def price_list_update(*, price_list: PriceList, actor: User | None, data: dict[str, Any]) -> list[str]:
    _require(actor, "change", price_list)
    _unknown(data, ("name", "currency", "valid_from", "valid_to", "is_active"))
    changed = model_update(instance=price_list, actor=actor, data=data)
    if changed:
        for product_id in price_list.prices.values_list("product_id", flat=True):
            config_changed(product_id)
    return changed


def price_set(*, product: Product, price_list: PriceList, amount: Decimal, actor: User | None) -> Price:
    """Set the product's price in a price list (created, or changed when it has one)."""
    existing = Price.objects.filter(product=product, price_list=price_list).first()
    amount = Decimal(amount)
    if amount < 0:
        raise ValidationError({"amount": "A price cannot be negative."})
    if existing is None:
        _require(actor, "add", Price)
        data = {"product": product, "price_list": price_list, "amount": amount}
        price = model_create(model=Price, actor=actor, data=data)
    else:
        _require(actor, "change", existing)
        model_update(instance=existing, actor=actor, data={"amount": amount})
        price = existing
    config_changed(product)
    return price


def price_remove(*, price: Price, actor: User | None) -> None:
    _require(actor, "delete", price)
    product_id = price.product_id
    model_delete(instance=price, actor=actor)
    config_changed(product_id)


def related_add(
    *, product: Product, related: Product, kind: str, actor: User | None, note: str = "", position: int = 0
) -> RelatedProduct:
    _require(actor, "add", RelatedProduct)
    if product.pk == related.pk:
        raise ValidationError({"related": "A product cannot be related to itself."})
    if kind not in RelatedProduct.Kind.values:
        raise ValidationError({"kind": f"Choose one of {', '.join(RelatedProduct.Kind.values)}."})
    existing = RelatedProduct.objects.filter(product=product, related=related, kind=kind).first()
    if existing is not None:
        return existing
    return model_create(
        model=RelatedProduct,
        actor=actor,
        data={"product": product, "related": related, "kind": kind, "note": note.strip(), "position": position},
    )


def related_remove(*, relation: RelatedProduct, actor: User | None) -> None:
    _require(actor, "delete", relation)
    model_delete(instance=relation, actor=actor)


# --- The configurator's model: attributes, values, rules ------------------------------------------------

ATTRIBUTE_FIELDS = (
    "code",
    "name",
    "kind",
    "required",
    "step",
    "step_title",
    "position",
    "help_text",
    "min_value",
    "max_value",
    "step_value",
    "default_number",
    "unit",
    "unit_price",
    "max_length",
)
NUMBER_ONLY = ("min_value", "max_value", "step_value", "default_number", "unit_price")
TEXT_MAX_LENGTH = 200


def _attribute_derived(data: dict[str, Any], instance: Attribute | None = None) -> dict[str, Any]:
    """Check the fields that belong to the attribute's kind, and clear the ones that do not."""
    out = dict(data)
    if "code" in out:
        out["code"] = (out["code"] or "").strip().lower()
    if "name" in out:
        out["name"] = (out["name"] or "").strip()
    kind = out.get("kind", instance.kind if instance else None)
    if kind not in Attribute.Kind.values:
        raise ValidationError({"kind": f"Choose one of {', '.join(Attribute.Kind.values)}."})

    def value(name: str) -> Any:
        return out[name] if name in out else getattr(instance, name, None)

    if kind == Attribute.Kind.NUMBER:
        low, high, step, default = (value(n) for n in ("min_value", "max_value", "step_value", "default_number"))
        if low is None or high is None:
            raise ValidationError({"min_value": "A number needs a minimum and a maximum."})
        if high < low:
            raise ValidationError({"max_value": "The maximum is below the minimum."})
        if step is not None and step <= 0:
            raise ValidationError({"step_value": "The step must be above zero."})
        if default is not None and not low <= default <= high:
            raise ValidationError({"default_number": "The default must lie between the minimum and the maximum."})
        if default is not None and step and (default - low) % step:
            raise ValidationError({"default_number": "The default must be on a step from the minimum."})
        out["max_length"] = None
    else:
        for name in NUMBER_ONLY:
            out[name] = Decimal("0") if name == "unit_price" else None
        out["unit"] = ""
        if kind == Attribute.Kind.TEXT:
            length = value("max_length") or 40
            if not 1 <= length <= TEXT_MAX_LENGTH:
                raise ValidationError({"max_length": f"Between 1 and {TEXT_MAX_LENGTH} characters."})
            out["max_length"] = length
        else:
            out["max_length"] = None
    if instance is not None and "kind" in data and data["kind"] != instance.kind:
        old_has, new_has = instance.has_values, kind in (*Attribute.SINGLE_KINDS, Attribute.Kind.MULTI)
        if old_has and not new_has and instance.values.exists():
            raise ValidationError({"kind": "Delete the values of this attribute before making it a number or text."})
    return out


def attribute_create(*, product: Product, actor: User | None, **data: Any) -> Attribute:
    _require(actor, "add", Attribute)
    _unknown(data, ATTRIBUTE_FIELDS)
    attribute = model_create(model=Attribute, actor=actor, data={"product": product, **_attribute_derived(data)})
    config_changed(product)
    return attribute


def attribute_update(*, attribute: Attribute, actor: User | None, data: dict[str, Any]) -> list[str]:
    _require(actor, "change", attribute)
    _unknown(data, ATTRIBUTE_FIELDS)
    changed = model_update(instance=attribute, actor=actor, data=_attribute_derived(data, attribute))
    if changed:
        config_changed(attribute.product_id)
    return changed


@transaction.atomic
def attribute_delete(*, attribute: Attribute, actor: User | None) -> None:
    _require(actor, "delete", attribute)
    value_ids = list(attribute.values.values_list("pk", flat=True))
    _prune_rules(value_ids, actor, attribute=attribute)
    product_id = attribute.product_id
    model_delete(instance=attribute, actor=actor)
    config_changed(product_id)


VALUE_FIELDS = ("code", "label", "colour", "price_extra", "lead_time_extra_days", "is_default", "is_active", "position")


def _value_derived(attribute: Attribute, data: dict[str, Any]) -> dict[str, Any]:
    out = dict(data)
    if not attribute.has_values:
        kind = attribute.get_kind_display().lower()
        raise ValidationError({NON_FIELD_ERRORS: f"{attribute.name} is a {kind}: it has no values."})
    if "code" in out:
        out["code"] = (out["code"] or "").strip().upper()
    if "label" in out:
        out["label"] = (out["label"] or "").strip()
    if "colour" in out:
        out["colour"] = (out["colour"] or "").strip().lower()
    return out


@transaction.atomic
def _one_default(value: AttributeValue, actor: User | None) -> None:
    """A single choice has one default value: marking one unmarks the others."""
    if not value.is_default or value.attribute.kind == Attribute.Kind.MULTI:
        return
    for other in value.attribute.values.filter(is_default=True).exclude(pk=value.pk):
        model_update(instance=other, actor=actor, data={"is_default": False}, note=f"{value.label} is the default now")


def _check_swatch(attribute: Attribute, value: AttributeValue) -> None:
    if attribute.kind == Attribute.Kind.SWATCH and not value.colour:
        raise ValidationError({"colour": "A colour swatch needs its colour (#rrggbb)."})


@transaction.atomic
def value_create(*, attribute: Attribute, actor: User | None, **data: Any) -> AttributeValue:
    _require(actor, "add", AttributeValue)
    _unknown(data, VALUE_FIELDS)
    data = _value_derived(attribute, data)
    _check_swatch(attribute, AttributeValue(colour=data.get("colour", "")))
    value = model_create(model=AttributeValue, actor=actor, data={"attribute": attribute, **data})
    _one_default(value, actor)
    config_changed(attribute.product_id)
    return value


@transaction.atomic
def value_update(*, value: AttributeValue, actor: User | None, data: dict[str, Any]) -> list[str]:
    _require(actor, "change", value)
    _unknown(data, VALUE_FIELDS)
    changed = model_update(instance=value, actor=actor, data=_value_derived(value.attribute, data))
    _check_swatch(value.attribute, value)
    _one_default(value, actor)
    if changed:
        config_changed(value.attribute.product_id)
    return changed


@transaction.atomic
def value_delete(*, value: AttributeValue, actor: User | None) -> None:
    _require(actor, "delete", value)
    product_id = value.attribute.product_id
    _prune_rules([value.pk], actor)
    model_delete(instance=value, actor=actor)
    config_changed(product_id)


def _prune_rules(value_ids: list[int], actor: User | None, attribute: Attribute | None = None) -> None:
    """Before values go: delete the rules they condition (they could never apply again), and take them out
    of the targets of the others (deleting a rule left without targets). Quantity rules on a deleted
    attribute go with it (the foreign key cascades; audited here)."""
    ids = set(value_ids)
    rules = ConfigRule.objects.filter(_mentioning(ids, attribute)).prefetch_related("conditions", "targets").distinct()
    for rule in rules:
        conditions = {v.pk for v in rule.conditions.all()}
        targets = {v.pk for v in rule.targets.all()}
        left = targets - ids
        gone_attribute = attribute is not None and rule.target_attribute_id == attribute.pk
        if conditions & ids or gone_attribute or (targets & ids and not left and rule.kind != ConfigRule.Kind.QUANTITY):
            rule_delete(rule=rule, actor=actor, note="its values were deleted")
        elif targets & ids:
            rule.targets.set(left)
            audit_record(
                actor=actor,
                instance=rule,
                action=AuditAction.UPDATE,
                changes={"targets": [sorted(targets), sorted(left)]},
                note="a target value was deleted",
            )


def _mentioning(value_ids: set[int], attribute: Attribute | None) -> Q:
    q = Q(conditions__in=value_ids) | Q(targets__in=value_ids)
    if attribute is not None:
        q |= Q(target_attribute=attribute)
    return q


RULE_FIELDS = (
    "kind",
    "conditions",
    "targets",
    "target_attribute",
    "amount",
    "min_value",
    "max_value",
    "message",
    "position",
    "is_active",
)


def _rule_checked(product: Product, data: dict[str, Any]) -> dict[str, Any]:
    """The rule's fields after the checks of its kind; fields that do not belong to the kind are cleared."""
    kind = data.get("kind")
    if kind not in ConfigRule.Kind.values:
        raise ValidationError({"kind": f"Choose one of {', '.join(ConfigRule.Kind.values)}."})
    conditions = list(data.get("conditions") or [])
    targets = list(data.get("targets") or [])
    target_attribute = data.get("target_attribute")
    for name, values in (("conditions", conditions), ("targets", targets)):
        for value in values:
            if value.attribute.product_id != product.pk:
                raise ValidationError({name: f"{value.label} is an option of another product."})
    if target_attribute is not None and target_attribute.product_id != product.pk:
        raise ValidationError({"target_attribute": f"{target_attribute.name} is an attribute of another product."})
    amount, low, high = data.get("amount"), data.get("min_value"), data.get("max_value")
    both = {v.pk for v in conditions} & {v.pk for v in targets}
    if both:
        raise ValidationError({"targets": "A value cannot be both a condition and a target of one rule."})
    K = ConfigRule.Kind
    if kind in (K.EXCLUDES, K.REQUIRES, K.DEFAULT, K.PRICE) and not conditions:
        raise ValidationError({"conditions": "Choose the value(s) that make this rule apply."})
    if kind in (K.EXCLUDES, K.REQUIRES, K.DEFAULT) and not targets:
        raise ValidationError({"targets": "Choose the value(s) this rule is about."})
    if kind == K.DEFAULT:
        attributes = {v.attribute_id for v in targets}
        if len(attributes) != 1:
            raise ValidationError({"targets": "A default sets one attribute: choose values of a single attribute."})
        attribute = targets[0].attribute
        if attribute.kind != Attribute.Kind.MULTI and len(targets) != 1:
            raise ValidationError({"targets": f"{attribute.name} takes one value: choose one default."})
        if attribute.pk in {v.attribute_id for v in conditions}:
            raise ValidationError({"targets": "A default cannot depend on the attribute it sets."})
    if kind == K.PRICE and not amount:
        raise ValidationError({"amount": "Give the amount added (negative for a discount)."})
    if kind == K.QUANTITY:
        if target_attribute is None or target_attribute.kind not in (Attribute.Kind.MULTI, Attribute.Kind.NUMBER):
            raise ValidationError({"target_attribute": "Choose a checkbox list or a number attribute to limit."})
        if low is None and high is None:
            raise ValidationError({"min_value": "Give a minimum, a maximum or both."})
        if low is not None and high is not None and high < low:
            raise ValidationError({"max_value": "The maximum is below the minimum."})
        if target_attribute.kind == Attribute.Kind.MULTI:
            for bound in (low, high):
                if bound is not None and (bound < 0 or bound != int(bound)):
                    raise ValidationError({"min_value": "Counts are whole numbers from 0."})
    return {
        "kind": kind,
        "conditions": conditions,
        "targets": targets if kind != K.QUANTITY and kind != K.PRICE else [],
        "target_attribute": target_attribute if kind == K.QUANTITY else None,
        "amount": amount if kind == K.PRICE else None,
        "min_value": low if kind == K.QUANTITY else None,
        "max_value": high if kind == K.QUANTITY else None,
        "message": (data.get("message") or "").strip(),
        "position": data.get("position") or 0,
        "is_active": data.get("is_active", True),
    }


def _rule_values(rule: ConfigRule) -> dict[str, list[str]]:
    return {
        "conditions": sorted(f"{v.attribute.code}={v.code}" for v in rule.conditions.select_related("attribute")),
        "targets": sorted(f"{v.attribute.code}={v.code}" for v in rule.targets.select_related("attribute")),
    }


@transaction.atomic
def rule_create(*, product: Product, actor: User | None, **data: Any) -> ConfigRule:
    _require(actor, "add", ConfigRule)
    _unknown(data, RULE_FIELDS)
    checked = _rule_checked(product, data)
    conditions, targets = checked.pop("conditions"), checked.pop("targets")
    rule = ConfigRule(product=product, **checked)
    rule.full_clean()
    rule.save()
    rule.conditions.set(conditions)
    rule.targets.set(targets)
    changes = diff({}, {**snapshot(rule), **_rule_values(rule)})
    audit_record(actor=actor, instance=rule, action=AuditAction.CREATE, changes=changes)
    config_changed(product)
    return rule


@transaction.atomic
def rule_update(*, rule: ConfigRule, actor: User | None, data: dict[str, Any]) -> list[str]:
    _require(actor, "change", rule)
    _unknown(data, RULE_FIELDS)
    current = {
        "kind": rule.kind,
        "conditions": list(rule.conditions.select_related("attribute")),
        "targets": list(rule.targets.select_related("attribute")),
        "target_attribute": rule.target_attribute,
        "amount": rule.amount,
        "min_value": rule.min_value,
        "max_value": rule.max_value,
        "message": rule.message,
        "position": rule.position,
        "is_active": rule.is_active,
    }
    checked = _rule_checked(rule.product, {**current, **data})
    before = {**snapshot(rule), **_rule_values(rule)}
    conditions, targets = checked.pop("conditions"), checked.pop("targets")
    for name, value in checked.items():
        setattr(rule, name, value)
    rule.full_clean()
    rule.save()
    rule.conditions.set(conditions)
    rule.targets.set(targets)
    changes = diff(before, {**snapshot(rule), **_rule_values(rule)})
    if changes:
        audit_record(actor=actor, instance=rule, action=AuditAction.UPDATE, changes=changes)
        config_changed(rule.product_id)
    return list(changes)


@transaction.atomic
def rule_delete(*, rule: ConfigRule, actor: User | None, note: str = "") -> None:
    _require(actor, "delete", rule)
    product_id = rule.product_id
    audit_record(
        actor=actor,
        instance=rule,
        action=AuditAction.DELETE,
        changes=diff({**snapshot(rule), **_rule_values(rule)}, {}),
        note=note,
    )
    rule.delete()
    config_changed(product_id)


# --- Saved configurations --------------------------------------------------------------------------


def configuration_save(
    *,
    product: Product,
    choices: Any,
    actor: User | None = None,
    source: str = Configuration.Source.PUBLIC,
    on: date | None = None,
) -> Configuration:
    """Validate and price ``choices`` with the engine and save them with the prices frozen.

    Nothing is saved when the engine refuses the configuration: the ValidationError names each field.
    The price is always the server's: choices carry value codes only.
    """
    if actor is not None and actor.is_authenticated:
        require(actor, "add", Configuration)
    if not (product.is_active and product.is_configurable):
        raise ValidationError({NON_FIELD_ERRORS: f"{product.name} cannot be configured."})
    result = configurator.evaluate_product(product, choices, on=on)
    if not result.valid:
        errors: dict[str, list[str]] = {}
        for error in result.errors:
            errors.setdefault(error.field or NON_FIELD_ERRORS, []).append(error.message)
        raise ValidationError(errors)
    return model_create(
        model=Configuration,
        actor=actor if actor is not None and actor.is_authenticated else None,
        data={
            "product": product,
            "choices": result.configuration,
            "explicit": sorted(result.explicit),
            "price_breakdown": result.breakdown(),
            "total": result.total,
            "currency": result.currency,
            "lead_time_days": result.lead_time_days,
            "sku_code": result.sku_code,
            "token": secrets.token_urlsafe(32),
            "source": source,
            "created_by": actor if actor is not None and actor.is_authenticated else None,
        },
    )
