"""Property-based tests of the configurator engine (hypothesis): random products, random rules, random input.

The engine is a pure function over a compiled model, so these tests build models in memory (no database)
and check its answers against a second, deliberately naive reading of the rules written here:

- whatever it accepts satisfies every rule, bound and requirement;
- its total is exactly base + the chosen values' extras + the number units + the conditional prices
  whose conditions hold, and equals the sum of its price lines; the lead time is base + the largest extra;
- its SKU code is deterministic (whatever the order of the input) and differs between different
  configurations;
- a value it calls impossible does make the configuration invalid when chosen;
- it never raises, whatever it is sent.
"""

from __future__ import annotations

import random
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from catalog.configurator import MULTI, NUMBER, SINGLE, TEXT, Attr, CompiledProduct, Rule, Value, build, evaluate

CENT = Decimal("0.01")
# No example database: the runs are reproducible from the seed hypothesis prints on a failure, and the
# repository stays free of a .hypothesis/ folder.
PROPERTY_SETTINGS = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)
money = st.integers(min_value=-5000, max_value=500_000).map(lambda cents: Decimal(cents) / 100)
prices = st.integers(min_value=0, max_value=5_000_000).map(lambda cents: Decimal(cents) / 100)
amounts = st.tuples(st.sampled_from([-1, 1]), st.integers(1, 200_000)).map(lambda sc: sc[0] * Decimal(sc[1]) / 100)


@st.composite
def attributes(draw, index: int) -> Attr:
    kind = draw(st.sampled_from(["radio", "swatch", "select", "multi", "number", "text"]))
    code = f"a{index}"
    required = draw(st.booleans())
    if kind == "number":
        low = Decimal(draw(st.integers(0, 50)))
        step = draw(st.sampled_from([None, Decimal("1"), Decimal("5"), Decimal("0.5")]))
        high = low + (step or Decimal("1")) * draw(st.integers(0, 8))
        default = draw(st.one_of(st.none(), st.just(low), st.just(high)))
        unit_price = draw(st.sampled_from([Decimal("0"), Decimal("2.50"), Decimal("0.33")]))
        return Attr(
            code=code,
            name=f"Number {index}",
            kind=kind,
            required=required,
            min_value=low,
            max_value=high,
            step_value=step,
            default_number=default,
            unit="cm",
            unit_price=unit_price,
        )
    if kind == "text":
        return Attr(code=code, name=f"Text {index}", kind=kind, required=required, max_length=draw(st.integers(1, 8)))
    count = draw(st.integers(1, 5))
    defaults = draw(st.sets(st.integers(0, count - 1), max_size=count if kind == "multi" else 1))
    values = tuple(
        Value(
            code=f"V{index}X{n}",
            label=f"Value {index}.{n}",
            attribute=code,
            price_extra=draw(money),
            lead_days=draw(st.integers(0, 30)),
            is_default=n in defaults,
        )
        for n in range(count)
    )
    return Attr(code=code, name=f"Choice {index}", kind=kind, required=required, values=values)


@st.composite
def rules(draw, attrs: tuple[Attr, ...]) -> list[Rule]:
    keys = [v.key for a in attrs for v in a.values]
    if not keys:
        return []
    out = []
    for _ in range(draw(st.integers(0, 12))):
        kind = draw(st.sampled_from(["excludes", "excludes", "requires", "default", "price", "quantity"]))
        conditions = draw(st.lists(st.sampled_from(keys), min_size=1, max_size=2, unique=True))
        rest = [k for k in keys if k not in conditions]
        if kind in ("excludes", "requires"):
            if not rest:
                continue
            targets = draw(st.lists(st.sampled_from(rest), min_size=1, max_size=3, unique=True))
            out.append(Rule(kind=kind, conditions=tuple(conditions), targets=tuple(targets)))
        elif kind == "default":
            condition_attrs = {k[0] for k in conditions}
            candidates = [a for a in attrs if a.values and a.code not in condition_attrs]
            if not candidates:
                continue
            target_attr = draw(st.sampled_from(candidates))
            codes = [v.key for v in target_attr.values]
            size = len(codes) if target_attr.kind == "multi" else 1
            targets = draw(st.lists(st.sampled_from(codes), min_size=1, max_size=size, unique=True))
            out.append(Rule(kind=kind, conditions=tuple(conditions), targets=tuple(targets)))
        elif kind == "price":
            amount = draw(amounts)
            out.append(Rule(kind=kind, conditions=tuple(conditions), amount=amount))
        else:
            limited = [a for a in attrs if a.kind in ("multi", "number")]
            if not limited:
                continue
            target = draw(st.sampled_from(limited))
            low = draw(st.one_of(st.none(), st.integers(0, 3).map(Decimal)))
            high = draw(st.one_of(st.none(), st.integers(0, 60).map(Decimal)))
            if low is None and high is None:
                high = Decimal("2")
            if low is not None and high is not None and high < low:
                low, high = high, low
            conditions = draw(st.one_of(st.just([]), st.just(conditions[:1])))
            out.append(
                Rule(
                    kind=kind,
                    conditions=tuple(conditions),
                    target_attribute=target.code,
                    min_value=low,
                    max_value=high,
                )
            )
    return out


@st.composite
def products(draw) -> CompiledProduct:
    attrs = tuple(draw(attributes(i)) for i in range(draw(st.integers(1, 6))))
    return build(
        sku=draw(st.sampled_from(["CAR", "E-BIKE", "D1"])),
        name="Product",
        attributes=attrs,
        rules=draw(rules(attrs)),
        base_price=draw(st.one_of(prices, prices, prices, st.just(None))),
        base_lead_days=draw(st.integers(0, 60)),
    )


def choice_for(draw, attr: Attr) -> Any:
    if attr.shape == SINGLE:
        codes = [v.code for v in attr.values]
        return draw(st.one_of(st.sampled_from(codes), st.sampled_from(codes), st.sampled_from(["", "ZZZ", None])))
    if attr.shape == MULTI:
        codes = [v.code for v in attr.values]
        picked = draw(st.lists(st.sampled_from(codes), max_size=len(codes), unique=True))
        return picked + (["NOPE"] if draw(st.integers(0, 19)) == 0 else [])
    if attr.shape == NUMBER:
        low, high = int(attr.min_value), int(attr.max_value)
        return draw(
            st.one_of(
                st.integers(low - 3, high + 3),
                st.integers(low - 3, high + 3).map(str),
                st.sampled_from(["", "x", "1e9", "2.555"]),
            )
        )
    return draw(st.text(max_size=(attr.max_length or 10) + (3 if draw(st.booleans()) else 0)))


@st.composite
def choices(draw, model: CompiledProduct) -> dict[str, Any]:
    chosen = draw(st.lists(st.sampled_from(model.attributes), unique_by=lambda a: a.code))
    return {attr.code: choice_for(draw, attr) for attr in chosen}


@st.composite
def product_and_choices(draw) -> tuple[CompiledProduct, dict[str, Any]]:
    model = draw(products())
    return model, draw(choices(model))


# --- The naive reading of the rules ---------------------------------------------------------------------


def selected_keys(model: CompiledProduct, configuration: dict[str, Any]) -> set[tuple[str, str]]:
    keys = set()
    for attr in model.attributes:
        value = configuration[attr.code]
        if attr.shape == SINGLE and value:
            keys.add((attr.code, value))
        elif attr.shape == MULTI:
            keys.update((attr.code, code) for code in value)
    return keys


def violations(model: CompiledProduct, configuration: dict[str, Any]) -> list[str]:
    """Everything wrong with a configuration, read straight from the definitions of the rules."""
    problems = []
    chosen = selected_keys(model, configuration)
    for key in chosen:
        if key not in model.value_by_key:
            problems.append(f"unknown value {key}")
    for attr in model.attributes:
        value = configuration[attr.code]
        if attr.required and (value is None or value in ("", [])):
            problems.append(f"{attr.code} is required")
        if attr.shape == NUMBER and value is not None:
            number = Decimal(value)
            if not attr.min_value <= number <= attr.max_value:
                problems.append(f"{attr.code} out of bounds")
            if attr.step_value and (number - attr.min_value) % attr.step_value:
                problems.append(f"{attr.code} off the step grid")
        if attr.shape == TEXT and len(value) > (attr.max_length or 100):
            problems.append(f"{attr.code} too long")
    for rule in model.rules:
        if not all(c in chosen for c in rule.conditions):
            continue
        if rule.kind == "excludes" and any(t in chosen for t in rule.targets):
            problems.append(f"excludes {rule}")
        if rule.kind == "requires" and not any(t in chosen for t in rule.targets):
            problems.append(f"requires {rule}")
        if rule.kind == "quantity":
            attr = model.attr_by_code[rule.target_attribute]
            value = configuration[attr.code]
            amount = Decimal(len(value)) if attr.shape == MULTI else (Decimal(value) if value is not None else None)
            if amount is not None and (
                (rule.min_value is not None and amount < rule.min_value)
                or (rule.max_value is not None and amount > rule.max_value)
            ):
                problems.append(f"quantity {rule}")
    return problems


def expected_total(model: CompiledProduct, configuration: dict[str, Any]) -> Decimal:
    chosen = selected_keys(model, configuration)
    total = model.base_price or Decimal("0")
    total += sum((model.value_by_key[k].price_extra for k in chosen), Decimal("0"))
    for attr in model.attributes:
        value = configuration[attr.code]
        if attr.shape == NUMBER and value is not None and Decimal(value) > attr.min_value:
            total += ((Decimal(value) - attr.min_value) * attr.unit_price).quantize(CENT, ROUND_HALF_UP)
    for rule in model.rules:
        if rule.kind == "price" and all(c in chosen for c in rule.conditions):
            total += rule.amount
    return total.quantize(CENT)


# --- The properties -------------------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(product_and_choices())
def test_an_accepted_configuration_satisfies_every_rule(case):
    model, chosen = case
    result = evaluate(model, chosen)
    event("accepted" if result.valid else "refused")
    if result.valid:
        assert violations(model, result.configuration) == []
        assert model.base_price is not None
    else:
        assert result.errors


@PROPERTY_SETTINGS
@given(product_and_choices())
def test_a_reported_error_names_a_real_problem_or_bad_input(case):
    """The converse, for the rules: a configuration without violations and with clean input is accepted."""
    model, chosen = case
    result = evaluate(model, chosen)
    input_errors = [e for e in result.errors if e.field and e.field in chosen]
    if not violations(model, result.configuration) and not input_errors and model.base_price is not None:
        assert result.valid, [e.message for e in result.errors]


@PROPERTY_SETTINGS
@given(product_and_choices())
def test_the_total_is_the_sum_the_rules_define(case):
    model, chosen = case
    result = evaluate(model, chosen)
    event(f"conditional prices: {min(2, sum(line.kind == 'rule' for line in result.lines))}+")
    assert result.total == expected_total(model, result.configuration)
    assert result.total == sum((line.amount for line in result.lines), Decimal("0"))
    assert result.currency == model.currency
    extras = [model.value_by_key[k].lead_days for k in selected_keys(model, result.configuration)]
    assert result.lead_time_days == model.base_lead_days + max(extras, default=0)


@PROPERTY_SETTINGS
@given(product_and_choices(), st.randoms(use_true_random=False))
def test_the_sku_code_is_deterministic_whatever_the_order_of_the_input(case, rng: random.Random):
    model, chosen = case
    first = evaluate(model, chosen)
    shuffled_keys = list(chosen)
    rng.shuffle(shuffled_keys)
    shuffled = {}
    for code in shuffled_keys:
        value = chosen[code]
        if isinstance(value, list):
            value = rng.sample(value, len(value))
        shuffled[code] = value
    again = evaluate(model, shuffled)
    assert again.sku_code == first.sku_code
    assert again.configuration == first.configuration
    assert again.total == first.total
    assert first.sku_code.startswith(model.sku + "-") or not model.attributes


@PROPERTY_SETTINGS
@given(st.data())
def test_different_configurations_have_different_sku_codes(data):
    model = data.draw(products())
    one = evaluate(model, data.draw(choices(model)))
    other = evaluate(model, data.draw(choices(model)))
    assume(one.valid and other.valid)
    assert (one.sku_code == other.sku_code) == (one.configuration == other.configuration)


@PROPERTY_SETTINGS
@given(product_and_choices())
def test_a_value_called_impossible_does_break_the_configuration(case):
    model, chosen = case
    result = evaluate(model, chosen)
    explicit = {code: result.configuration[code] for code in result.explicit}
    event(f"impossible options: {min(3, sum(s.impossible for s in result.options.values()))}+")
    for (attr_code, code), state in result.options.items():
        if not state.impossible:
            continue
        attr = model.attr_by_code[attr_code]
        trial = dict(explicit)
        trial[attr_code] = code if attr.shape == SINGLE else [*result.configuration[attr_code], code]
        assert not evaluate(model, trial, options=False).valid, (attr_code, code, [r.message for r in state.reasons])
        assert all(r.message for r in state.reasons)


junk = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30) | st.decimals(allow_nan=True),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4),
    max_leaves=12,
)


@PROPERTY_SETTINGS
@given(products(), st.one_of(junk, st.dictionaries(st.sampled_from(["a0", "a1", "a2", "zz", ""]), junk)))
def test_the_engine_never_raises_on_junk(model, payload):
    result = evaluate(model, payload)
    assert isinstance(result.valid, bool)
    assert result.total == sum((line.amount for line in result.lines), Decimal("0"))
