"""The one validation and pricing engine of configurable products.

The public page, the API, the product managers' "try a configuration" panel and (later) the reps'
quote screen all call ``evaluate``. It is a pure function over a ``CompiledProduct``: an immutable
snapshot of a product's attributes, values, rules, base price and lead time, built from the database
once by ``compile_product`` and cached under the product's ``config_stamp`` (which every catalog service
that changes any of those rows renews) and the day (prices have validity dates).

What ``evaluate`` decides, in this order:

1. **Parse** the chosen values, keyed by attribute code. A value unknown to the product (tampered,
   or withdrawn since the page was loaded), a wrong type, a number that is no number or an over-long
   text is an error on that field; the choice is then ignored.
2. **Defaults** for the attributes the customer has not chosen, in attribute order: the first
   conditional default whose conditions hold (conditions see the explicit choices and the defaults of
   the attributes before), else the value marked default. A default that a rule would exclude is
   skipped (a required attribute left without a value then asks the customer to choose).
3. **Rules**: required attributes, number bounds and steps, text length, then every excludes, requires
   and quantity rule. Each broken rule is an error on a field, in words.
4. **Price**: the base price, plus each chosen value's extra, plus (numbers) ``unit_price`` for each
   unit above the minimum, plus the amount of every conditional price rule whose conditions hold. The
   total is exactly the sum of those lines.
5. **Lead time** = the product's base lead time + the *largest* extra of the chosen values (options
   are prepared in parallel, so the slowest one decides; extras do not add up).
6. **SKU code**: the product SKU, then one part per attribute in attribute order, joined by ``-``: the
   value code; for several checkboxes the codes in value order joined by ``.``; a number as written
   (``160``); a text as ``T`` + 8 hex digits of its SHA-256; ``_`` for no choice. Value codes are
   capitals and digits only, so the code is deterministic and two different configurations never
   share one (short of a hash collision between two free texts).
7. **Options**: for every value not chosen, whether choosing it now is impossible (an excludes rule,
   or an "at most N" limit already reached) and why, and which other choices it would need (requires).
   A conflict with a value the customer never chose (a default) does not count when the defaults,
   worked out again with the new value, make room for it: choosing the long model may change the
   engine the customer left at its default.

The engine never raises on bad input and never reads the database.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from django.core.cache import cache
from django.utils import timezone

if TYPE_CHECKING:
    from catalog.models import Product

Key = tuple[str, str]  # (attribute code, value code)
CENT = Decimal("0.01")
NUMBER_LIMIT = Decimal("1000000000")
SINGLE, MULTI, NUMBER, TEXT = "single", "multi", "number", "text"
KIND_SHAPE = {"swatch": SINGLE, "radio": SINGLE, "select": SINGLE, "multi": MULTI, "number": NUMBER, "text": TEXT}
EXCLUDES, REQUIRES, DEFAULT, PRICE, QUANTITY = "excludes", "requires", "default", "price", "quantity"
CACHE_SECONDS = 24 * 3600


# --- The compiled model --------------------------------------------------------------------------


@dataclass(frozen=True)
class Value:
    code: str
    label: str
    attribute: str
    price_extra: Decimal = Decimal("0")
    lead_days: int = 0
    is_default: bool = False
    colour: str = ""
    id: int | None = None

    @property
    def key(self) -> Key:
        return (self.attribute, self.code)


@dataclass(frozen=True)
class Attr:
    code: str
    name: str
    kind: str  # one of catalog.models.Attribute.Kind
    values: tuple[Value, ...] = ()
    required: bool = True
    step: int = 1
    step_title: str = ""
    help_text: str = ""
    min_value: Decimal | None = None
    max_value: Decimal | None = None
    step_value: Decimal | None = None
    default_number: Decimal | None = None
    unit: str = ""
    unit_price: Decimal = Decimal("0")
    max_length: int | None = None
    id: int | None = None

    @property
    def shape(self) -> str:
        return KIND_SHAPE[self.kind]


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: the engine keys dicts by rule, often
class Rule:
    kind: str
    conditions: tuple[Key, ...] = ()
    targets: tuple[Key, ...] = ()
    target_attribute: str | None = None
    amount: Decimal | None = None
    min_value: Decimal | None = None
    max_value: Decimal | None = None
    message: str = ""
    id: int | None = None


@dataclass(frozen=True)
class CompiledProduct:
    """Everything ``evaluate`` needs about one product, immutable and shared between requests."""

    sku: str
    name: str
    currency: str
    base_price: Decimal | None
    base_lead_days: int
    attributes: tuple[Attr, ...]  # in page order: step, position, id
    rules: tuple[Rule, ...]  # in position order, with messages written
    slug: str = ""
    product_id: int | None = None
    stamp: str = ""
    # Indexes, derived in __post_init__.
    attr_by_code: Mapping[str, Attr] = field(init=False, repr=False, compare=False)
    value_by_key: Mapping[Key, Value] = field(init=False, repr=False, compare=False)
    rules_by_key: Mapping[Key, tuple[Rule, ...]] = field(init=False, repr=False, compare=False)
    default_rules: Mapping[str, tuple[Rule, ...]] = field(init=False, repr=False, compare=False)
    quantity_rules: Mapping[str, tuple[Rule, ...]] = field(init=False, repr=False, compare=False)
    rule_sets: Mapping[Rule, tuple[frozenset[Key], frozenset[Key]]] = field(init=False, repr=False, compare=False)
    available: Mapping[Key, OptionState] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_key: dict[Key, list[Rule]] = {}
        defaults: dict[str, list[Rule]] = {}
        quantities: dict[str, list[Rule]] = {}
        for rule in self.rules:
            for key in dict.fromkeys((*rule.conditions, *rule.targets)):
                by_key.setdefault(key, []).append(rule)
            if rule.kind == DEFAULT and rule.targets:
                defaults.setdefault(rule.targets[0][0], []).append(rule)
            if rule.kind == QUANTITY and rule.target_attribute:
                quantities.setdefault(rule.target_attribute, []).append(rule)
        frozen = object.__setattr__
        frozen(self, "attr_by_code", MappingProxyType({a.code: a for a in self.attributes}))
        frozen(self, "value_by_key", MappingProxyType({v.key: v for a in self.attributes for v in a.values}))
        frozen(self, "rules_by_key", MappingProxyType({k: tuple(v) for k, v in by_key.items()}))
        frozen(self, "default_rules", MappingProxyType({k: tuple(v) for k, v in defaults.items()}))
        frozen(self, "quantity_rules", MappingProxyType({k: tuple(v) for k, v in quantities.items()}))
        sets = {rule: (frozenset(rule.conditions), frozenset(rule.targets)) for rule in self.rules}
        frozen(self, "rule_sets", MappingProxyType(sets))
        # The state of a value nothing stands against, shared by every evaluation (it is immutable).
        available = {v.key: OptionState(a.code, v.code, v.label) for a in self.attributes for v in a.values}
        frozen(self, "available", MappingProxyType(available))

    def __reduce__(self):  # pickle (the cache) without the derived indexes; __post_init__ rebuilds them
        return (
            CompiledProduct,
            (
                self.sku,
                self.name,
                self.currency,
                self.base_price,
                self.base_lead_days,
                self.attributes,
                self.rules,
                self.slug,
                self.product_id,
                self.stamp,
            ),
        )

    def label(self, key: Key) -> str:
        value = self.value_by_key.get(key)
        return value.label if value else key[1]


# --- The answer ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldError:
    field: str  # an attribute code, or "" for the configuration as a whole
    message: str
    rule_id: int | None = None


@dataclass(frozen=True)
class PriceLine:
    label: str
    amount: Decimal
    kind: str  # base, option, number, rule
    rule_id: int | None = None


@dataclass(frozen=True)
class Reason:
    rule_id: int | None
    kind: str
    message: str


@dataclass(frozen=True)
class OptionState:
    """A value not chosen: ``impossible`` with ``reasons``, or possible but ``needs`` other choices."""

    attribute: str
    code: str
    label: str
    reasons: tuple[Reason, ...] = ()
    needs: tuple[Reason, ...] = ()

    @property
    def impossible(self) -> bool:
        return bool(self.reasons)


@dataclass(frozen=True)
class TraceEntry:
    rule: Rule
    fired: bool  # its conditions held
    outcome: str  # what it did: "ok", "broken", "applied", "added", "overridden" (default), "skipped"
    detail: str = ""


@dataclass
class Result:
    valid: bool
    errors: list[FieldError]
    configuration: dict[str, Any]  # JSON-ready: code | None, [codes], "160" | None, "text"
    explicit: frozenset[str]
    lines: list[PriceLine]
    total: Decimal
    currency: str
    lead_time_days: int
    sku_code: str
    options: dict[Key, OptionState]
    trace: list[TraceEntry]
    selected: frozenset[Key] = frozenset()

    def errors_for(self, attribute: str) -> list[str]:
        return [e.message for e in self.errors if e.field == attribute]

    @property
    def general_errors(self) -> list[str]:
        return [e.message for e in self.errors if e.field == ""]

    def breakdown(self) -> list[dict[str, str]]:
        """The price lines as stored in a saved configuration and sent by the API (amounts as strings)."""
        return [{"label": line.label, "amount": str(line.amount), "kind": line.kind} for line in self.lines]


# --- Parsing ---------------------------------------------------------------------------------------


class _Bad(Exception):
    pass


def _clean_text(raw: str) -> str:
    # Control characters (other than none at all) have no place in a one-line text.
    text = "".join(ch for ch in raw if unicodedata.category(ch)[0] != "C")
    return " ".join(text.split())


def _parse_number(attr: Attr, raw: Any) -> Decimal | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float | str | Decimal):
        raise _Bad(f"{attr.name}: enter a number.")
    text = str(raw).strip().replace(",", ".") if isinstance(raw, str) else str(raw)
    if len(text) > 20:
        raise _Bad(f"{attr.name}: enter a number.")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise _Bad(f"{attr.name}: {raw!s:.20} is not a number.") from None
    if not number.is_finite() or abs(number) >= NUMBER_LIMIT or number.as_tuple().exponent < -2:
        raise _Bad(f"{attr.name}: enter a number with at most two decimals.")
    return number


def _parse(attr: Attr, raw: Any, model: CompiledProduct) -> Any:
    shape = attr.shape
    if shape == SINGLE:
        if raw is None or raw == "":
            return None
        if not isinstance(raw, str):
            raise _Bad(f"{attr.name}: choose one of the options.")
        code = raw.strip().upper()
        if (attr.code, code) not in model.value_by_key:
            raise _Bad(f"{attr.name}: “{raw:.20}” is not one of the options (it may have been withdrawn).")
        return code
    if shape == MULTI:
        if raw is None or raw == "":
            return ()
        items = [raw] if isinstance(raw, str) else raw
        if not isinstance(items, list | tuple) or not all(isinstance(i, str) for i in items) or len(items) > 200:
            raise _Bad(f"{attr.name}: tick options from the list.")
        codes = {i.strip().upper() for i in items if i.strip()}
        unknown = sorted(c for c in codes if (attr.code, c) not in model.value_by_key)
        if unknown:
            shown = ", ".join(f"“{c:.20}”" for c in unknown[:3])
            raise _Bad(f"{attr.name}: {shown} is not one of the options (it may have been withdrawn); choose again.")
        return tuple(v.code for v in attr.values if v.code in codes)
    if shape == NUMBER:
        return _parse_number(attr, raw)
    if raw is None:
        return ""
    if not isinstance(raw, str):
        raise _Bad(f"{attr.name}: enter text.")
    text = _clean_text(raw)
    limit = attr.max_length or 100
    if len(text) > limit:
        raise _Bad(f"{attr.name}: at most {limit} characters, please (this is {len(text)}).")
    return text


def _keys(model: CompiledProduct, configuration: Mapping[str, Any]) -> set[Key]:
    """The chosen values of single and multiple choices, as (attribute, value) keys."""
    keys: set[Key] = set()
    for code, value in configuration.items():
        attr = model.attr_by_code.get(code)
        if attr is None or not value:
            continue
        if attr.shape == MULTI:
            keys.update((code, v) for v in value)
        elif attr.shape == SINGLE:
            keys.add((code, value))
    return keys


# --- Words ---------------------------------------------------------------------------------------


def _join(labels: Iterable[str], word: str) -> str:
    items = list(labels)
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {word} {items[-1]}"


def _number(value: Decimal | None, unit: str = "") -> str:
    if value is None:
        return ""
    text = format(value.normalize(), "f")
    return f"{text} {unit}".strip()


def rule_message(rule: Rule, labels: Mapping[Key, str], attr_names: Mapping[str, Attr]) -> str:
    """The rule in words, as the customer reads it (the product manager's own ``message`` wins)."""
    if rule.message:
        return rule.message
    conds = _join((labels.get(k, k[1]) for k in rule.conditions), "and")
    targets_or = _join((labels.get(k, k[1]) for k in rule.targets), "or")
    if rule.kind == EXCLUDES:
        return f"{targets_or} is not available with {conds}."
    if rule.kind == REQUIRES:
        return f"{conds} requires {targets_or}." if rule.targets else f"{conds} is no longer available."
    if rule.kind == DEFAULT:
        return f"With {conds}, {_join((labels.get(k, k[1]) for k in rule.targets), 'and')} is chosen for you."
    if rule.kind == PRICE:
        what = "discount" if (rule.amount or 0) < 0 else "surcharge"
        return f"{_join((labels.get(k, k[1]) for k in rule.conditions), '+')} {what}"
    attr = attr_names.get(rule.target_attribute or "")
    name = attr.name if attr else (rule.target_attribute or "")
    prefix = f"With {conds}, " if rule.conditions else ""
    if attr is not None and attr.shape == NUMBER:
        unit = attr.unit
        if rule.min_value is not None and rule.max_value is not None:
            bound = f"between {_number(rule.min_value, unit)} and {_number(rule.max_value, unit)}"
        elif rule.max_value is not None:
            bound = f"at most {_number(rule.max_value, unit)}"
        else:
            bound = f"at least {_number(rule.min_value, unit)}"
        text = f"{name} must be {bound}."
    else:
        low, high = rule.min_value, rule.max_value
        if low is not None and high is not None:
            text = f"choose between {_number(low)} and {_number(high)} of {name}."
        elif high is not None:
            text = f"choose at most {_number(high)} of {name}."
        else:
            text = f"choose at least {_number(low)} of {name}."
    text = prefix + text
    return text[0].upper() + text[1:]


# --- Evaluation ----------------------------------------------------------------------------------


def _static_default(attr: Attr) -> Any:
    shape = attr.shape
    if shape == SINGLE:
        return next((v.code for v in attr.values if v.is_default), None)
    if shape == MULTI:
        return tuple(v.code for v in attr.values if v.is_default)
    if shape == NUMBER:
        if attr.default_number is not None:
            return attr.default_number
        return attr.min_value if attr.required else None
    return ""


def _excluded(model: CompiledProduct, key: Key, selected: set[Key]) -> bool:
    """Would choosing ``key`` (beside ``selected``) break an excludes rule?"""
    for rule in model.rules_by_key.get(key, ()):
        if rule.kind != EXCLUDES:
            continue
        has = selected | {key}
        if all(c in has for c in rule.conditions) and any(t in has for t in rule.targets):
            return True
    return False


def _apply_defaults(
    model: CompiledProduct, explicit: dict[str, Any], trace: list[TraceEntry] | None
) -> tuple[dict[str, Any], set[Key]]:
    configuration: dict[str, Any] = {}
    selected = _keys(model, explicit)
    for attr in model.attributes:
        if attr.code in explicit:
            configuration[attr.code] = explicit[attr.code]
            if trace is not None:
                for rule in model.default_rules.get(attr.code, ()):
                    trace.append(TraceEntry(rule, False, "skipped", "chosen by the customer"))
            continue
        shape = attr.shape
        static = _static_default(attr)
        fired = [r for r in model.default_rules.get(attr.code, ()) if all(c in selected for c in r.conditions)]
        if trace is not None:
            fired_ids = {id(r) for r in fired}
            for rule in model.default_rules.get(attr.code, ()):
                if id(rule) not in fired_ids:
                    trace.append(TraceEntry(rule, False, "skipped"))
        if shape == SINGLE:
            candidates = [t[1] for r in fired for t in r.targets[:1] if t[0] == attr.code]
            if static:
                candidates.append(static)
            chosen = next((c for c in candidates if not _excluded(model, (attr.code, c), selected)), None)
            if trace is not None:
                for rule in fired:
                    applied = rule.targets[:1] == ((attr.code, chosen),) if chosen else False
                    trace.append(TraceEntry(rule, True, "applied" if applied else "overridden", str(chosen or "")))
            configuration[attr.code] = chosen
            if chosen:
                selected.add((attr.code, chosen))
        elif shape == MULTI:
            wanted = set(static) | {t[1] for r in fired for t in r.targets if t[0] == attr.code}
            codes = []
            for value in attr.values:  # value order; each checked against those already ticked
                if value.code in wanted and not _excluded(model, value.key, selected):
                    codes.append(value.code)
                    selected.add(value.key)
            if trace is not None:
                for rule in fired:
                    trace.append(TraceEntry(rule, True, "applied", ", ".join(codes)))
            configuration[attr.code] = tuple(codes)
        else:
            configuration[attr.code] = static
    return configuration, selected


def _check_rule(
    rule: Rule, model: CompiledProduct, configuration: Mapping[str, Any], selected: set[Key] | frozenset[Key]
) -> tuple[bool, list[FieldError]]:
    """(conditions hold, errors) for an excludes, requires or quantity rule."""
    if not all(c in selected for c in rule.conditions):
        return False, []
    if rule.kind == EXCLUDES:
        hits = [t for t in rule.targets if t in selected]
        return True, [FieldError(hits[0][0], rule.message, rule.id)] if hits else []
    if rule.kind == REQUIRES:
        if any(t in selected for t in rule.targets):
            return True, []
        field_name = rule.conditions[-1][0] if rule.conditions else ""
        return True, [FieldError(field_name, rule.message, rule.id)]
    attr = model.attr_by_code.get(rule.target_attribute or "")
    if attr is None:
        return True, []
    value = configuration.get(attr.code)
    if attr.shape == MULTI:
        amount: Decimal | None = Decimal(len(value or ()))
    else:
        amount = value if isinstance(value, Decimal) else None
    if amount is None:
        return True, []
    low, high = rule.min_value, rule.max_value
    if (low is not None and amount < low) or (high is not None and amount > high):
        return True, [FieldError(attr.code, rule.message, rule.id)]
    return True, []


def _attribute_errors(attr: Attr, value: Any) -> list[FieldError]:
    shape = attr.shape
    if shape == SINGLE and value is None and attr.required:
        return [FieldError(attr.code, f"Choose a {attr.name.lower()}.")]
    if shape == MULTI and not value and attr.required:
        return [FieldError(attr.code, f"Choose at least one {attr.name.lower()}.")]
    if shape == TEXT and not value and attr.required:
        return [FieldError(attr.code, f"Fill in {attr.name.lower()}.")]
    if shape != NUMBER:
        return []
    if value is None:
        return [FieldError(attr.code, f"Enter {attr.name.lower()}.")] if attr.required else []
    unit = attr.unit
    if attr.min_value is not None and value < attr.min_value:
        return [FieldError(attr.code, f"{attr.name} must be at least {_number(attr.min_value, unit)}.")]
    if attr.max_value is not None and value > attr.max_value:
        return [FieldError(attr.code, f"{attr.name} must be at most {_number(attr.max_value, unit)}.")]
    if attr.step_value:
        origin = attr.min_value or Decimal("0")
        if (value - origin) % attr.step_value:
            step = _number(attr.step_value, unit)
            return [FieldError(attr.code, f"{attr.name} goes in steps of {step} from {_number(origin, unit)}.")]
    return []


def price_lines(model: CompiledProduct, configuration: Mapping[str, Any], selected: frozenset[Key] | set[Key]):
    """The price of a configuration, line by line: base, option extras, number units, conditional prices."""
    lines = [PriceLine(f"{model.name}, base price", (model.base_price or Decimal("0")).quantize(CENT), "base")]
    for attr in model.attributes:
        value = configuration.get(attr.code)
        if attr.shape in (SINGLE, MULTI):
            codes = (value,) if isinstance(value, str) else (value or ())
            for code in codes:
                option = model.value_by_key[(attr.code, code)]
                if option.price_extra:
                    lines.append(PriceLine(f"{attr.name}: {option.label}", option.price_extra.quantize(CENT), "option"))
        elif attr.shape == NUMBER and isinstance(value, Decimal) and attr.unit_price and attr.min_value is not None:
            units = value - attr.min_value
            if units > 0:
                amount = (units * attr.unit_price).quantize(CENT, ROUND_HALF_UP)
                lines.append(PriceLine(f"{attr.name}: {_number(value, attr.unit)}", amount, "number"))
    for rule in model.rules:
        if rule.kind == PRICE and rule.amount and all(c in selected for c in rule.conditions):
            lines.append(PriceLine(rule.message, rule.amount.quantize(CENT), "rule", rule.id))
    return lines


def lead_time(model: CompiledProduct, selected: Iterable[Key]) -> int:
    """Base lead time + the largest extra of the chosen values (the slowest option decides)."""
    return model.base_lead_days + max((model.value_by_key[k].lead_days for k in selected), default=0)


def sku_code(model: CompiledProduct, configuration: Mapping[str, Any]) -> str:
    parts = [model.sku]
    for attr in model.attributes:
        value = configuration.get(attr.code)
        if attr.shape == MULTI:
            parts.append(".".join(value) if value else "_")
        elif attr.shape == NUMBER:
            parts.append(_number(value) if isinstance(value, Decimal) else "_")
        elif attr.shape == TEXT:
            parts.append("T" + hashlib.sha256(value.encode()).hexdigest()[:8].upper() if value else "_")
        else:
            parts.append(value or "_")
    return "-".join(parts)


def _option_states(
    model: CompiledProduct, configuration: Mapping[str, Any], selected: frozenset[Key], explicit: Mapping[str, Any]
) -> dict[Key, OptionState]:
    """For every value not chosen: what choosing it now would break.

    Choosing a value adds it (and, for a single choice, drops the current value), so whether a rule's
    conditions hold or a target is hit then is the count for the current selection, corrected by those
    two keys: one pass over the rules, then a constant amount of work per rule and value.

    A rule broken only through values the customer did not choose (defaults) is checked again with the
    defaults worked out anew, as they would be: choosing the long model may change the engine the
    customer never picked, and that is no reason to call the long model impossible.
    """
    conditions_held: dict[Rule, int] = {}
    targets_held: dict[Rule, int] = {}
    for rule in model.rules:
        conditions_held[rule] = sum(1 for c in rule.conditions if c in selected)
        targets_held[rule] = sum(1 for t in rule.targets if t in selected)
    sets = model.rule_sets
    available = model.available
    states: dict[Key, OptionState] = {}
    for attr in model.attributes:
        shape = attr.shape
        if shape not in (SINGLE, MULTI):
            continue
        current = configuration.get(attr.code)
        removed: Key | None = (attr.code, current) if shape == SINGLE and current else None
        count = len(current or ()) if shape == MULTI else 0
        limits = model.quantity_rules.get(attr.code, ()) if shape == MULTI else ()
        requires_of_removed = (
            [r for r in model.rules_by_key.get(removed, ()) if r.kind == REQUIRES] if removed is not None else []
        )
        for value in attr.values:
            key = value.key
            if key in selected:
                continue
            relevant: Iterable[Rule] = model.rules_by_key.get(key, ())
            if requires_of_removed:
                relevant = dict.fromkeys((*relevant, *requires_of_removed))
            if not relevant and not limits:
                states[key] = available[key]
                continue
            reasons: list[Rule] = []
            soft: list[Rule] = []
            needs: list[Rule] = []
            for rule in relevant:
                conditions, targets = sets[rule]
                if conditions_held[rule] + (key in conditions) - (removed in conditions) != len(rule.conditions):
                    continue
                kind = rule.kind
                if kind == EXCLUDES:
                    if targets_held[rule] + (key in targets) - (removed in targets) > 0:
                        (reasons if _chosen_by_customer(rule, key, removed, selected, explicit) else soft).append(rule)
                elif kind == REQUIRES:
                    if targets_held[rule] + (key in targets) - (removed in targets) == 0:
                        needs.append(rule)
                elif kind == QUANTITY and key in conditions:
                    future = dict(configuration)
                    future[attr.code] = value.code if shape == SINGLE else (*current, value.code)
                    if _check_rule(rule, model, future, {k for k in (*selected, key) if k != removed})[1]:
                        needs.append(rule)
            for rule in limits:
                full = rule.max_value is not None and count + 1 > rule.max_value
                if full and conditions_held[rule] + (key in sets[rule][0]) == len(rule.conditions):
                    customer = attr.code in explicit and _chosen_by_customer(rule, key, removed, selected, explicit)
                    (reasons if customer else soft).append(rule)
            if soft and not reasons:
                reasons = _broken_after_defaults(model, attr, value, configuration, explicit, soft)
            if reasons or needs:
                states[key] = OptionState(
                    attr.code,
                    value.code,
                    value.label,
                    tuple(Reason(r.id, r.kind, r.message) for r in dict.fromkeys(reasons)),
                    tuple(Reason(r.id, r.kind, r.message) for r in dict.fromkeys(needs)),
                )
            else:
                states[key] = available[key]
    return states


def _chosen_by_customer(
    rule: Rule, key: Key, removed: Key | None, selected: frozenset[Key], explicit: Mapping[str, Any]
) -> bool:
    """Are the rule's other chosen values (once ``key`` replaces ``removed``) all the customer's own choices?"""
    return all(
        k[0] in explicit for k in (*rule.conditions, *rule.targets) if k in selected and k != key and k != removed
    )


def _broken_after_defaults(
    model: CompiledProduct,
    attr: Attr,
    value: Value,
    configuration: Mapping[str, Any],
    explicit: Mapping[str, Any],
    suspects: list[Rule],
) -> list[Rule]:
    """The rules among ``suspects`` still broken once ``value`` is chosen and the defaults worked out anew.

    All of them when a required attribute that has a value now would be left without one (its only
    defaults excluded by the new choice): the customer would then have to choose it again.
    """
    trial = dict(explicit)
    trial[attr.code] = value.code if attr.shape == SINGLE else (*configuration[attr.code], value.code)
    after, selected = _apply_defaults(model, trial, None)
    broken = [rule for rule in suspects if _check_rule(rule, model, after, selected)[1]]
    if broken:
        return broken
    emptied = any(
        a.shape == SINGLE and a.required and configuration.get(a.code) and not after.get(a.code)
        for a in model.attributes
    )
    return suspects if emptied else []


def evaluate(model: CompiledProduct, choices: Any, *, options: bool = True, trace: bool = False) -> Result:
    """Validate and price ``choices`` ({attribute code: value code | [codes] | number | text}).

    Attributes missing from ``choices`` take their defaults. See the module docstring for the order
    of the steps and the definitions of price, lead time and SKU code.
    """
    errors: list[FieldError] = []
    entries: list[TraceEntry] | None = [] if trace else None
    explicit: dict[str, Any] = {}
    if not isinstance(choices, Mapping):
        errors.append(FieldError("", "Send the chosen options as an object: {option: value}."))
        choices = {}
    for raw_key, raw in list(choices.items())[:500]:
        attr = model.attr_by_code.get(raw_key) if isinstance(raw_key, str) else None
        if attr is None:
            errors.append(FieldError("", f"{model.name} has no option “{raw_key!s:.40}”; reload the page."))
            continue
        try:
            explicit[attr.code] = _parse(attr, raw, model)
        except _Bad as exc:
            errors.append(FieldError(attr.code, str(exc)))

    configuration, selected_set = _apply_defaults(model, explicit, entries)
    selected = frozenset(selected_set)
    for attr in model.attributes:
        errors.extend(_attribute_errors(attr, configuration[attr.code]))
    for rule in model.rules:
        if rule.kind in (EXCLUDES, REQUIRES, QUANTITY):
            fired, broken = _check_rule(rule, model, configuration, selected)
            errors.extend(broken)
            if entries is not None:
                entries.append(TraceEntry(rule, fired, "broken" if broken else ("ok" if fired else "skipped")))
        elif rule.kind == PRICE and entries is not None:
            fired = all(c in selected for c in rule.conditions)
            entries.append(TraceEntry(rule, fired, "added" if fired else "skipped", str(rule.amount or "")))
    if model.base_price is None:
        errors.append(FieldError("", f"{model.name} has no price in {model.currency} today; ask us for a quote."))

    lines = price_lines(model, configuration, selected)
    total = sum((line.amount for line in lines), Decimal("0")).quantize(CENT)
    if entries is not None:
        order = {id(rule): n for n, rule in enumerate(model.rules)}
        entries.sort(key=lambda e: order.get(id(e.rule), 0))
    return Result(
        valid=not errors,
        errors=errors,
        configuration={k: _json_value(v) for k, v in configuration.items()},
        explicit=frozenset(explicit),
        lines=lines,
        total=total,
        currency=model.currency,
        lead_time_days=lead_time(model, selected),
        sku_code=sku_code(model, configuration),
        options=_option_states(model, configuration, selected, explicit) if options else {},
        trace=entries or [],
        selected=selected,
    )


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return _number(value)
    if isinstance(value, tuple):
        return list(value)
    return value


# --- Compiling from the database, and the cache ------------------------------------------------------


def compile_product(product: Product, *, on: date | None = None) -> CompiledProduct:
    """Read a product's active values, rules and today's base price into a ``CompiledProduct`` (3 queries)."""
    from django.db.models import Prefetch

    from catalog.models import AttributeValue, ConfigRule
    from catalog.selectors import current_price

    rows = product.attributes.order_by("step", "position", "id").prefetch_related(
        Prefetch("values", queryset=AttributeValue.objects.filter(is_active=True).order_by("position", "id"))
    )
    attributes = []
    for row in rows:
        values = tuple(
            Value(
                code=v.code,
                label=v.label,
                attribute=row.code,
                price_extra=v.price_extra,
                lead_days=v.lead_time_extra_days,
                is_default=v.is_default,
                colour=v.colour,
                id=v.pk,
            )
            for v in row.values.all()
        )
        attributes.append(
            Attr(
                code=row.code,
                name=row.name,
                kind=row.kind,
                values=values if KIND_SHAPE[row.kind] in (SINGLE, MULTI) else (),
                required=row.required,
                step=row.step,
                step_title=row.step_title,
                help_text=row.help_text,
                min_value=row.min_value,
                max_value=row.max_value,
                step_value=row.step_value,
                default_number=row.default_number,
                unit=row.unit,
                unit_price=row.unit_price,
                max_length=row.max_length,
                id=row.pk,
            )
        )
    labels = {v.key: v.label for a in attributes for v in a.values}
    attr_by_code = {a.code: a for a in attributes}
    rules = []
    rule_rows = (
        ConfigRule.objects.filter(product=product, is_active=True)
        .select_related("target_attribute")
        .prefetch_related(
            Prefetch("conditions", queryset=AttributeValue.objects.select_related("attribute")),
            Prefetch("targets", queryset=AttributeValue.objects.select_related("attribute")),
        )
        .order_by("position", "id")
    )
    order = {key: n for n, key in enumerate(labels)}  # page order: attributes, then values
    for row in rule_rows:
        conditions = tuple((v.attribute.code, v.code) for v in row.conditions.all())
        if any(c not in order for c in conditions):
            continue  # a withdrawn value is never chosen: the rule can never apply
        conditions = tuple(sorted(conditions, key=order.__getitem__))
        targets = tuple(
            sorted((k for k in ((v.attribute.code, v.code) for v in row.targets.all()) if k in order), key=order.get)
        )
        rule = Rule(
            kind=row.kind,
            conditions=conditions,
            targets=targets,
            target_attribute=row.target_attribute.code if row.target_attribute_id else None,
            amount=row.amount,
            min_value=row.min_value,
            max_value=row.max_value,
            message=row.message,
            id=row.pk,
        )
        rules.append(_with_message(rule, labels, attr_by_code))
    price = current_price(product=product, currency=product.currency, on=on)
    return CompiledProduct(
        sku=product.sku,
        name=product.name,
        currency=product.currency,
        base_price=price,
        base_lead_days=product.base_lead_time_days,
        attributes=tuple(attributes),
        rules=tuple(rules),
        slug=product.slug,
        product_id=product.pk,
        stamp=product.config_stamp,
    )


def _with_message(rule: Rule, labels: Mapping[Key, str], attrs: Mapping[str, Attr]) -> Rule:
    from dataclasses import replace

    return replace(rule, message=rule_message(rule, labels, attrs))


def build(
    *,
    sku: str,
    name: str,
    attributes: Iterable[Attr],
    rules: Iterable[Rule] = (),
    currency: str = "EUR",
    base_price: Decimal | None = Decimal("0"),
    base_lead_days: int = 0,
) -> CompiledProduct:
    """A ``CompiledProduct`` from plain data (tests, benchmarks), rule messages written as compile does."""
    attributes = tuple(attributes)
    labels = {v.key: v.label for a in attributes for v in a.values}
    attr_by_code = {a.code: a for a in attributes}
    return CompiledProduct(
        sku=sku,
        name=name,
        currency=currency,
        base_price=base_price,
        base_lead_days=base_lead_days,
        attributes=attributes,
        rules=tuple(_with_message(r, labels, attr_by_code) for r in rules),
    )


_local: dict[tuple[int, str, str], CompiledProduct] = {}
_LOCAL_MAX = 256


def compiled_for(product: Product, *, on: date | None = None) -> CompiledProduct:
    """The compiled model of ``product`` for the day ``on`` (today): from this process, the cache, or the database.

    Keys carry the product's ``config_stamp``, which the services renew on every change (see
    ``catalog.services.config_changed``), so a stale model is never served; old entries just expire.
    """
    day = (on or timezone.localdate()).isoformat()
    key = (product.pk, product.config_stamp, day)
    model = _local.get(key)
    if model is not None:
        return model
    cache_key = f"sfa:catalog:compiled:{product.pk}:{product.config_stamp}:{day}"
    model = cache.get(cache_key)
    if model is None:
        model = compile_product(product, on=date.fromisoformat(day))
        cache.set(cache_key, model, CACHE_SECONDS)
    if len(_local) >= _LOCAL_MAX:
        _local.clear()
    _local[key] = model
    return model


def forget(product_id: int) -> None:
    """Drop this process's compiled models of one product (other processes notice the new stamp)."""
    for key in [k for k in _local if k[0] == product_id]:
        _local.pop(key, None)


def evaluate_product(product: Product, choices: Any, *, trace: bool = False, on: date | None = None) -> Result:
    return evaluate(compiled_for(product, on=on), choices, trace=trace)
