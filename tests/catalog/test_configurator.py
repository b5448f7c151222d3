"""The configurator engine on the test car and desk (tests/catalog/conftest.py): defaults, every kind of
rule, prices, lead time, SKU code, the reasons for impossible options, the trace, bad input, and the cache."""

import pickle
from decimal import Decimal

import pytest

from catalog import services
from catalog.configurator import compile_product, compiled_for, evaluate, evaluate_product
from catalog.models import Product


def messages(result):
    return [e.message for e in result.errors]


def test_defaults_make_a_valid_priced_configuration(car):
    result = evaluate_product(car.product, {})
    assert result.valid, messages(result)
    assert result.configuration == {
        "line": "COM",
        "colour": "WHT",
        "interior": "CLO",
        "heating": "OFF",
        "packages": [],
        "extras": [],
        "plate": "",
    }
    assert result.total == Decimal("20000.00")
    assert result.currency == "EUR"
    assert result.lead_time_days == 30
    assert result.sku_code == "TC-COM-WHT-CLO-OFF-_-_-_"
    assert result.explicit == frozenset()


def test_requires_breaks_until_one_of_its_targets_is_chosen(car):
    result = evaluate_product(car.product, {"interior": "LTH"})
    assert not result.valid
    assert [e.field for e in result.errors] == ["interior"]
    assert messages(result) == ["Lth requires Lwb or Comf."]
    assert result.errors[0].rule_id == car.rules["leather_needs"].pk

    with_comfort = evaluate_product(car.product, {"interior": "LTH", "packages": ["COMF"]})
    assert with_comfort.valid, messages(with_comfort)
    long = evaluate_product(car.product, {"interior": "LTH", "line": "LWB"})
    assert long.valid, messages(long)


def test_conditional_default_applies_only_while_the_customer_has_not_chosen(car):
    leather = evaluate_product(car.product, {"interior": "LTH", "packages": ["COMF"]})
    assert leather.configuration["heating"] == "FRT"
    chosen_off = evaluate_product(car.product, {"interior": "LTH", "packages": ["COMF"], "heating": "OFF"})
    assert chosen_off.configuration["heating"] == "OFF"
    chosen_none = evaluate_product(car.product, {"interior": "LTH", "packages": ["COMF"], "heating": ""})
    assert chosen_none.configuration["heating"] is None  # optional: "none" is a choice
    assert chosen_none.valid


def test_price_is_base_plus_extras_plus_conditional_prices(car):
    result = evaluate_product(car.product, {"line": "LWB", "interior": "LTH", "colour": "RED", "extras": ["TOW"]})
    assert result.valid, messages(result)
    lines = {line.label: line.amount for line in result.lines}
    assert lines["Test car, base price"] == Decimal("20000.00")
    assert lines["Line: Lwb"] == Decimal("5000.00")
    assert lines["Colour: Red"] == Decimal("500.00")
    assert lines["Interior: Lth"] == Decimal("2000.00")
    assert lines["Heating: Frt"] == Decimal("300.00")  # the conditional default's value is priced too
    assert lines["Extras: Tow"] == Decimal("800.00")
    surcharge = [line for line in result.lines if line.kind == "rule"]
    assert [(line.amount, line.rule_id) for line in surcharge] == [(Decimal("400.00"), car.rules["leather_long"].pk)]
    assert result.total == Decimal("29000.00") == sum(line.amount for line in result.lines)


def test_lead_time_is_the_base_plus_the_largest_extra(car):
    result = evaluate_product(car.product, {"line": "LWB", "colour": "RED", "interior": "LTH"})
    assert result.lead_time_days == 30 + 10  # LWB +10 beats LTH +7 and RED +5: they do not add up


def test_excludes_and_quantity_limits(car):
    both = evaluate_product(car.product, {"packages": ["SPORT", "ECO"]})
    assert not both.valid
    assert [e.rule_id for e in both.errors] == [car.rules["sport_no_eco"].pk]
    three = evaluate_product(car.product, {"packages": ["COMF", "ECO", "SPORT"]})
    assert {e.rule_id for e in three.errors} == {car.rules["sport_no_eco"].pk, car.rules["two_packages"].pk}
    tow = evaluate_product(car.product, {"line": "COM", "extras": ["TOW"]})
    assert messages(tow) == ["No towbar on the compact."]


def test_impossible_options_say_which_rule_and_why(car):
    result = evaluate_product(car.product, {"line": "COM", "packages": ["SPORT", "COMF"]})
    assert result.valid
    eco = result.options[("packages", "ECO")]
    assert eco.impossible
    assert {r.rule_id for r in eco.reasons} == {car.rules["sport_no_eco"].pk, car.rules["two_packages"].pk}
    tow = result.options[("extras", "TOW")]
    assert tow.impossible and tow.reasons[0].message == "No towbar on the compact."
    lth = result.options[("interior", "LTH")]
    assert not lth.impossible and not lth.needs  # the comfort package is there
    assert not result.options[("line", "LWB")].impossible


def test_a_requirement_is_a_hint_not_an_impossibility(car):
    result = evaluate_product(car.product, {})
    lth = result.options[("interior", "LTH")]
    assert not lth.impossible
    assert [r.rule_id for r in lth.needs] == [car.rules["leather_needs"].pk]


def test_a_conflict_with_a_default_only_is_not_an_impossibility(car):
    # The towbar conflicts with the compact line, which the customer never chose: the line's only default
    # is excluded by the towbar, so the towbar is impossible (the model line would be left empty) ...
    untouched = evaluate_product(car.product, {})
    assert untouched.options[("extras", "TOW")].impossible
    # ... and when the customer chose the compact line, it is impossible for the same reason.
    chosen = evaluate_product(car.product, {"line": "COM"})
    assert chosen.options[("extras", "TOW")].impossible
    # The towbar chosen first makes the compact line impossible.
    towed = evaluate_product(car.product, {"line": "LWB", "extras": ["TOW"]})
    assert towed.valid
    assert towed.options[("line", "COM")].impossible


def test_number_bounds_steps_unit_price_and_conditional_bounds(desk):
    assert evaluate_product(desk, {}).total == Decimal("550.00")  # 500 + (120 - 100) × 2.50
    wide = evaluate_product(desk, {"width": "180", "frame": "DUO"})
    assert wide.valid and wide.total == Decimal("500.00") + 150 + 80 * Decimal("2.50")
    assert wide.sku_code == "DSK-180-DUO"
    too_wide_single = evaluate_product(desk, {"width": 160})
    assert not too_wide_single.valid and too_wide_single.errors[0].field == "width"
    assert "at most 140 cm" in too_wide_single.errors[0].message
    off_step = evaluate_product(desk, {"width": "130", "frame": "DUO"})
    assert messages(off_step) == ["Width goes in steps of 20 cm from 100 cm."]
    assert not evaluate_product(desk, {"width": "90"}).valid
    assert not evaluate_product(desk, {"width": "200", "frame": "DUO"}).valid
    # Choosing the single frame with a wide desk is possible, but needs a narrower width.
    duo_wide = evaluate_product(desk, {"width": "180", "frame": "DUO"})
    single = duo_wide.options[("frame", "SGL")]
    assert not single.impossible and single.needs


@pytest.mark.parametrize(
    ("choices", "field", "words"),
    [
        ({"colour": "PINK"}, "colour", "not one of the options"),
        ({"colour": 7}, "colour", "choose one of the options"),
        ({"packages": ["COMF", "GOLD"]}, "packages", "“GOLD” is not one of the options"),
        ({"packages": {"COMF": True}}, "packages", "tick options"),
        ({"plate": "x" * 11}, "plate", "at most 10 characters"),
        ({"plate": ["x"]}, "plate", "enter text"),
        ({"wheels": "W17"}, "", "has no option “wheels”"),
    ],
)
def test_bad_input_is_an_error_on_its_field_never_an_exception(car, choices, field, words):
    result = evaluate_product(car.product, choices)
    assert not result.valid
    assert any(e.field == field and words in e.message for e in result.errors), messages(result)


@pytest.mark.parametrize("value", ["abc", "1e400", "12.345", "NaN", "Infinity", True, [1], "9" * 30])
def test_junk_numbers_are_refused(desk, value):
    result = evaluate_product(desk, {"width": value})
    assert not result.valid and result.errors[0].field == "width"


def test_choices_that_are_not_an_object_are_an_error(car):
    assert not evaluate_product(car.product, ["line", "LWB"]).valid


def test_codes_are_read_case_blind_and_text_is_cleaned(car):
    result = evaluate_product(car.product, {"line": "lwb", "plate": "  Ada\u0000 \t L. \n"})
    assert result.valid
    assert result.configuration["line"] == "LWB"
    assert result.configuration["plate"] == "Ada L."


def test_the_trace_says_which_rules_fired(car):
    model = compiled_for(car.product)
    result = evaluate(model, {"interior": "LTH", "line": "LWB"}, trace=True)
    outcome = {entry.rule.id: (entry.fired, entry.outcome) for entry in result.trace}
    assert outcome[car.rules["leather_needs"].pk] == (True, "ok")
    assert outcome[car.rules["leather_long"].pk] == (True, "added")
    assert outcome[car.rules["leather_heating"].pk] == (True, "applied")
    assert outcome[car.rules["sport_no_eco"].pk] == (False, "skipped")
    assert outcome[car.rules["compact_no_tow"].pk] == (False, "skipped")
    broken = evaluate(model, {"interior": "LTH"}, trace=True)
    assert {e.rule.id: e.outcome for e in broken.trace}[car.rules["leather_needs"].pk] == "broken"


def test_generated_messages_read_as_words(car):
    model = compiled_for(car.product)
    by_id = {rule.id: rule.message for rule in model.rules}
    assert by_id[car.rules["leather_needs"].pk] == "Lth requires Lwb or Comf."
    assert by_id[car.rules["sport_no_eco"].pk] == "Eco is not available with Sport."
    assert by_id[car.rules["leather_long"].pk] == "Lwb + Lth surcharge"
    assert by_id[car.rules["two_packages"].pk] == "Choose at most 2 of Packages."


def test_no_current_price_means_no_valid_configuration(car, catalog):
    services.product_update(product=car.product, actor=None, data={"currency": "USD"})
    result = evaluate_product(car.product, {})
    assert not result.valid and "no price in USD" in result.general_errors[0]


def test_the_compiled_model_is_cached_and_renewed_on_every_change(car, django_assert_num_queries):
    product = Product.objects.get(pk=car.product.pk)
    first = compiled_for(product)
    with django_assert_num_queries(0):
        assert compiled_for(product) is first
    services.value_update(value=car.values["RED"], actor=None, data={"price_extra": Decimal("750")})
    product = Product.objects.get(pk=car.product.pk)
    assert product.config_stamp != first.stamp
    result = evaluate_product(product, {"colour": "RED"})
    assert {line.label: line.amount for line in result.lines}["Colour: Red"] == Decimal("750.00")


def test_a_withdrawn_value_disappears_and_its_rules_no_longer_apply(car):
    services.value_update(value=car.values["LTH"], actor=None, data={"is_active": False})
    product = Product.objects.get(pk=car.product.pk)
    result = evaluate_product(product, {"interior": "LTH"})
    assert "may have been withdrawn" in messages(result)[0]
    model = compiled_for(product)
    assert car.rules["leather_needs"].pk not in {rule.id for rule in model.rules}


def test_the_compiled_model_pickles_for_the_shared_cache(car):
    model = compile_product(car.product)
    again = pickle.loads(pickle.dumps(model))  # noqa: S301 (our own object)
    assert again.attributes == model.attributes
    assert [(r.id, r.kind, r.conditions, r.targets, r.message) for r in again.rules] == [
        (r.id, r.kind, r.conditions, r.targets, r.message) for r in model.rules
    ]
    assert again.rules_by_key.keys() == model.rules_by_key.keys()
    assert evaluate(again, {"interior": "LTH"}).errors == evaluate(model, {"interior": "LTH"}).errors
