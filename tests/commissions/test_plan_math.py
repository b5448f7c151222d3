"""The plan arithmetic, by properties: splits add up to the deal to the cent, tiers are monotone, a clawback
reverses exactly what its order earned. Pure functions (commissions.plan_math), no database."""

import itertools
from decimal import Decimal

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from commissions import plan_math
from commissions.plan_math import Credit, Tier, money

cents = st.integers(min_value=0, max_value=10_000_000).map(lambda c: Decimal(c) / 100)
rates = st.integers(min_value=0, max_value=2000).map(lambda r: Decimal(r) / 100)  # 0.00 … 20.00 %


@st.composite
def percent_splits(draw) -> list[tuple[int, Decimal]]:
    """2–6 reps whose percents (two decimals, each > 0) add up to exactly 100."""
    n = draw(st.integers(min_value=1, max_value=6))
    cuts = sorted(draw(st.lists(st.integers(min_value=1, max_value=9999), min_size=n - 1, max_size=n - 1, unique=True)))
    bounds = [0, *cuts, 10000]
    return [(rep, Decimal(b - a) / 100) for rep, (a, b) in enumerate(itertools.pairwise(bounds))]


@st.composite
def tier_tables(draw) -> list[Tier]:
    """0–4 tiers starting at 0 %, thresholds rising, rates never going down (what tiers_check accepts)."""
    n = draw(st.integers(min_value=0, max_value=4))
    if n == 0:
        return []
    thresholds = [
        Decimal(0),
        *sorted(Decimal(t) for t in draw(st.sets(st.integers(1, 300), min_size=n - 1, max_size=n - 1))),
    ]
    steps = draw(st.lists(st.integers(0, 500), min_size=n, max_size=n))
    rate, out = Decimal(0), []
    for threshold, step in zip(thresholds, steps, strict=True):
        rate += Decimal(step) / 100
        out.append(Tier(threshold, rate))
    assert plan_math.tiers_check(out) == []
    return out


credits_st = st.lists(
    st.tuples(cents, st.one_of(st.none(), rates)).map(lambda t: Credit(t[0], t[1])), min_size=0, max_size=12
)
quotas = st.one_of(st.none(), st.integers(min_value=1, max_value=5_000_000).map(lambda c: Decimal(c)))


# --- splits -------------------------------------------------------------------------------------------------------


@given(
    amount=st.integers(min_value=-(10**10), max_value=10**10).map(lambda c: Decimal(c) / 100), shares=percent_splits()
)
@example(amount=Decimal("0.01"), shares=[(0, Decimal("33.33")), (1, Decimal("33.33")), (2, Decimal("33.34"))])
@example(amount=Decimal("100.00"), shares=[(0, Decimal("33.33")), (1, Decimal("33.33")), (2, Decimal("33.34"))])
def test_splits_always_add_up_to_the_deal_to_the_cent(amount, shares):
    parts = plan_math.split_amounts(amount, shares)
    assert sum(parts.values()) == amount
    for rep, percent in shares:
        exact = amount * percent / 100
        assert abs(parts[rep] - exact) < Decimal("0.01"), "nobody's part is off by a cent or more"
        assert parts[rep].as_tuple().exponent == -2


@given(amount=cents.filter(lambda a: a > 0), shares=percent_splits())
def test_a_reversal_splits_exactly_as_its_booking(amount, shares):
    booked = plan_math.split_amounts(amount, shares)
    reversed_ = plan_math.split_amounts(-amount, shares)
    assert all(reversed_[rep] == -booked[rep] for rep, _ in shares)


def test_the_leftover_cent_goes_to_the_largest_remainder_then_to_the_first_listed():
    assert plan_math.split_amounts(Decimal("0.01"), [(1, Decimal("50")), (2, Decimal("50"))]) == {
        1: Decimal("0.01"),
        2: Decimal("0.00"),
    }
    assert plan_math.split_amounts(Decimal("100.00"), [(1, Decimal("33.33")), (2, Decimal("66.67"))]) == {
        1: Decimal("33.33"),
        2: Decimal("66.67"),
    }
    assert plan_math.split_amounts(Decimal("10.00"), [(1, Decimal("66.67")), (2, Decimal("33.33"))]) == {
        1: Decimal("6.67"),
        2: Decimal("3.33"),
    }


def test_a_split_that_does_not_add_up_to_100_is_refused():
    with pytest.raises(ValueError, match="add up to 100"):
        plan_math.split_amounts(Decimal("10"), [(1, Decimal("60")), (2, Decimal("30"))])


# --- tiers --------------------------------------------------------------------------------------------------------


@settings(max_examples=300)
@given(
    credits=credits_st,
    extra=cents,
    at=st.integers(min_value=0, max_value=12),
    extra_rate=st.one_of(st.none(), rates),
    base=rates,
    tiers=tier_tables(),
    quota=quotas,
)
def test_more_sales_never_pay_less(credits, extra, at, extra_rate, base, tiers, quota):
    """A sale added anywhere in the month (or an existing sale grown) never lowers the month's commission."""
    rules = {"base_rate": base, "tiers": tiers, "quota": quota}
    before = plan_math.commission_total(credits, **rules)
    at = min(at, len(credits))
    more = [*credits[:at], Credit(extra, extra_rate), *credits[at:]]
    assert plan_math.commission_total(more, **rules) >= before
    if credits:
        grown = list(credits)
        grown[at % len(credits)] = Credit(
            grown[at % len(credits)].amount + extra, grown[at % len(credits)].category_rate
        )
        assert plan_math.commission_total(grown, **rules) >= before


@given(credits=credits_st, base=rates, tiers=tier_tables(), quota=quotas)
def test_the_month_is_its_exact_commission_rounded_once_and_every_line_is_within_a_cent(credits, base, tiers, quota):
    pieces = plan_math.price_credits(credits, base_rate=base, tiers=tiers, quota=quota)
    exact = sum((p.exact for p in pieces), Decimal(0))
    assert sum((p.amount for p in pieces), Decimal(0)) == money(exact)
    for piece in pieces:
        assert piece.amount >= 0
        assert abs(piece.amount - piece.basis * piece.rate / 100) <= Decimal("0.01")
    # The pieces of each credit add up to the credit (a sale across a tier boundary is cut, never lost).
    for index, credit in enumerate(credits):
        assert sum((p.basis for p in pieces if p.credit == index), Decimal(0)) == money(credit.amount)


def test_marginal_tiers_pay_each_band_at_its_own_rate():
    tiers = [Tier(Decimal(0), Decimal(2)), Tier(Decimal(50), Decimal(5)), Tier(Decimal(100), Decimal(8))]
    pieces = plan_math.price_credits(
        [Credit(Decimal("6000")), Credit(Decimal("6000"))], base_rate=Decimal(3), tiers=tiers, quota=Decimal("10000")
    )
    assert [(p.credit, p.basis, p.rate, p.amount) for p in pieces] == [
        (0, Decimal("5000.00"), Decimal(2), Decimal("100.00")),
        (0, Decimal("1000.00"), Decimal(5), Decimal("50.00")),
        (1, Decimal("4000.00"), Decimal(5), Decimal("200.00")),
        (1, Decimal("2000.00"), Decimal(8), Decimal("160.00")),
    ]
    # No quota: the base rate.
    assert plan_math.commission_total([Credit(Decimal("1000"))], base_rate=Decimal(3), tiers=tiers, quota=None) == 30


def test_a_category_rate_replaces_tiers_but_counts_towards_attainment():
    tiers = [Tier(Decimal(0), Decimal(2)), Tier(Decimal(50), Decimal(5))]
    pieces = plan_math.price_credits(
        [Credit(Decimal("500"), Decimal(10)), Credit(Decimal("500"))],
        base_rate=Decimal(1),
        tiers=tiers,
        quota=Decimal(1000),
    )
    assert [(p.rule, p.rate, p.amount) for p in pieces] == [
        ("category", Decimal(10), Decimal("50.00")),
        ("tier", Decimal(5), Decimal("25.00")),
    ]


@pytest.mark.parametrize(
    ("tiers", "message"),
    [
        ([Tier(Decimal(10), Decimal(2))], "starts at 0"),
        ([Tier(Decimal(0), Decimal(5)), Tier(Decimal(50), Decimal(2))], "may only go up"),
        ([Tier(Decimal(0), Decimal(5)), Tier(Decimal(0), Decimal(6))], "Two tiers"),
    ],
)
def test_tier_tables_that_could_pay_less_for_more_are_refused(tiers, message):
    assert any(message in error for error in plan_math.tiers_check(tiers))


# --- clawbacks and caps ----------------------------------------------------------------------------------------------


@given(
    earned=cents,
    units=st.integers(min_value=1, max_value=50),
    parts=st.lists(st.integers(min_value=1, max_value=10), min_size=1, max_size=10),
)
def test_a_clawback_exactly_reverses_what_its_order_earned(earned, units, parts):
    """Units coming back in any number of parts: when all are back, exactly the earned amount is taken back;
    before that, never more than earned, and each part costs ≤ 0."""
    clawed, clawed_units, total = Decimal(0), 0, Decimal(0)
    for part in parts:
        n = min(part, units - clawed_units)
        if n <= 0:
            break
        amount = plan_math.clawback_amount(
            earned=earned, earned_units=units, clawed=clawed, clawed_units=clawed_units, units=n
        )
        assert amount <= 0
        total += amount
        clawed, clawed_units = clawed - amount, clawed_units + n
        assert -total <= earned
    rest = units - clawed_units
    if rest:
        total += plan_math.clawback_amount(
            earned=earned, earned_units=units, clawed=clawed, clawed_units=clawed_units, units=rest
        )
    assert total == -earned


def test_a_clawback_never_pays_back_what_was_taken_back_before():
    # A line paid 150 for 10 units had 90 taken back for 3 units (a share of more than it was paid, as
    # clawbacks counted before they followed the capped payout): 2 more units (share 75) take nothing more.
    assert plan_math.clawback_amount(
        earned=Decimal("150"), earned_units=10, clawed=Decimal("90"), clawed_units=3, units=2
    ) == Decimal("0.00")
    # The last units back bring the total to what was paid, no further.
    assert plan_math.clawback_amount(
        earned=Decimal("150"), earned_units=10, clawed=Decimal("90"), clawed_units=5, units=5
    ) == Decimal("-60.00")


@given(earned=cents, cap=st.one_of(st.none(), cents))
def test_the_cap_takes_off_exactly_what_is_above_it(earned, cap):
    cut = plan_math.cap_cut(earned, cap)
    assert cut <= 0
    assert earned + cut == (earned if cap is None else min(earned, cap))


@given(amount=cents, whole=cents.filter(lambda w: w > 0), parts=st.lists(cents, min_size=1, max_size=6))
def test_payment_shares_add_up_to_the_line_once_the_order_is_paid(amount, whole, parts):
    before, total = Decimal(0), Decimal(0)
    for part in parts:
        part = min(part, whole - before)
        total += plan_math.cumulative_share(amount, whole, before, part)
        before += part
    assume(before < whole)
    total += plan_math.cumulative_share(amount, whole, before, whole - before)
    assert total == money(amount)
