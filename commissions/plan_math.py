"""The arithmetic of commission plans, without the database: splits, tiers, clawbacks, caps.

Everything is ``Decimal``; amounts are in cents (two places), rates in percent. The rules, and why:

- **Splits** share an amount between reps by percents that add up to 100. Each rep gets their share
  rounded *down* to the cent; the cents left over go one each to the largest remainders (ties: the order
  of the split table, i.e. the largest percent, then the lowest user id). So the parts always add up to the
  amount to the cent, and nobody's part is off by more than a cent.
- **Tiers** are marginal ("progressive", like tax bands): a tier's rate pays only for the sales between its
  threshold and the next one, as percents of the month's quota. With rates that never go down from one tier
  to the next (an accelerator; ``tiers_check`` refuses anything else) the payout can only grow with sales:
  a sale never moves other sales into a lower rate. A retroactive ("cliff") scheme would pay less for the
  last euro below a threshold than above it and tempt reps to shift deals between months.
- **Rounding of commission lines**: each line's exact value is kept; the lines carry the running total
  rounded half-up to the cent minus what the lines before carried. So a month's commission is its exact
  value rounded *once* (never the sum of many roundings), a line is within a cent of basis × rate, and the
  total is monotone in the sales.
- **Clawbacks** take back a cumulative share of what an order line earned: after ``u`` of ``U`` units came
  back, ``round(earned × u / U)`` has been taken back in all; when every unit is back, exactly ``earned``.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from itertools import pairwise
from typing import TypeVar

CENT = Decimal("0.01")
HUNDRED = Decimal("100")
ZERO = Decimal("0")

K = TypeVar("K", bound=Hashable)


def num(value: Decimal) -> str:
    """A rate or percent as people write it: 8, 2.5, 0 (not 8.000 or 0E+2)."""
    return format(Decimal(value).normalize(), "f")


def money(value: Decimal | int | str) -> Decimal:
    """``value`` rounded half-up to cents."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


# --- Splits ---------------------------------------------------------------------------------------------


def split_amounts(amount: Decimal, shares: Sequence[tuple[K, Decimal]]) -> dict[K, Decimal]:
    """``amount`` shared by ``shares`` (key, percent; percents adding up to 100), to the cent (see above).

    Negative amounts are shared like positive ones and negated, so a reversal splits exactly as its booking.
    """
    if not shares:
        raise ValueError("A split needs at least one share.")
    if sum((Decimal(p) for _, p in shares), ZERO) != HUNDRED:
        raise ValueError("The percents of a split add up to 100.")
    amount = money(amount)
    sign = -1 if amount < 0 else 1
    cents = int(abs(amount) * 100)
    raw = [Decimal(cents) * Decimal(percent) / HUNDRED for _, percent in shares]
    parts = [int(r) for r in raw]  # rounded down (the values are not negative)
    left = cents - sum(parts)
    for i in sorted(range(len(raw)), key=lambda i: (-(raw[i] - parts[i]), i))[:left]:
        parts[i] += 1
    return {key: (sign * Decimal(part) / HUNDRED).quantize(CENT) for (key, _), part in zip(shares, parts, strict=True)}


def cumulative_share(amount: Decimal, whole: Decimal, before: Decimal, now: Decimal) -> Decimal:
    """The part of ``amount`` that ``now`` (of ``whole``) carries after ``before`` was counted: the difference of
    the rounded cumulative shares, so that the parts add up to ``amount`` when ``before + now == whole``."""
    if whole <= 0:
        return ZERO.quantize(CENT)
    done = min(before + now, whole)
    upto = amount if done >= whole else money(amount * done / whole)
    return upto - money(amount * min(before, whole) / whole)


# --- Tiers and rates ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tier:
    threshold: Decimal  # percent of the quota where the tier starts
    rate: Decimal  # percent paid on the sales inside the tier

    def label(self, following: Tier | None) -> str:
        upto = f"–{num(following.threshold)} %" if following else " % and above"
        return f"Tier {num(self.threshold)}{upto} of quota: {num(self.rate)} %"


def tiers_check(tiers: Sequence[Tier]) -> list[str]:
    """What is wrong with a tier table (empty: nothing). The first tier starts at 0 %, thresholds rise, and a
    rate is never below the one before (marginal tiers pay monotonically only then)."""
    errors = []
    ordered = sorted(tiers, key=lambda t: t.threshold)
    if not ordered:
        return errors
    if ordered[0].threshold != 0:
        errors.append("The first tier starts at 0 % of quota.")
    for before, after in pairwise(ordered):
        if after.threshold == before.threshold:
            errors.append(f"Two tiers start at {num(after.threshold)} %.")
        if after.rate < before.rate:
            errors.append(
                f"The tier from {num(after.threshold)} % pays {num(after.rate)} %, less than the tier before it "
                f"({num(before.rate)} %): tiers may only go up."
            )
    return errors


@dataclass(frozen=True)
class Band:
    start: Decimal  # amount of sales where the band starts
    end: Decimal | None  # where the next starts (None: no end)
    tier: Tier
    label: str


def bands(tiers: Sequence[Tier], quota: Decimal) -> list[Band]:
    """The tiers as ranges of sales amounts for ``quota`` (band limits rounded to the cent)."""
    ordered = sorted(tiers, key=lambda t: t.threshold)
    starts = [money(quota * t.threshold / HUNDRED) for t in ordered]
    out = []
    for i, tier in enumerate(ordered):
        following = ordered[i + 1] if i + 1 < len(ordered) else None
        out.append(Band(starts[i], starts[i + 1] if following else None, tier, tier.label(following)))
    return out


@dataclass
class Credit:
    """Sales credited to a rep by one event (after the split), and the category rate that replaces the base or
    tier rate for it (None: no category rate)."""

    amount: Decimal
    category_rate: Decimal | None = None


@dataclass
class Piece:
    """What one credit (or the part of it inside one tier) earns."""

    credit: int  # index into the credits priced
    rule: str  # "base", "category" or "tier"
    basis: Decimal
    rate: Decimal
    exact: Decimal
    label: str = ""
    amount: Decimal = field(default=ZERO)


def price_credits(
    credits: Sequence[Credit],
    *,
    base_rate: Decimal,
    tiers: Sequence[Tier] = (),
    quota: Decimal | None = None,
    position: Decimal = ZERO,
    exact_before: Decimal = ZERO,
) -> list[Piece]:
    """Commission on ``credits`` in the order given (the month's events by date).

    Every credit moves the rep's attainment on, category-rate ones included; credits without a category rate
    earn the tier rates of the part of the quota they fill, or the base rate when the plan has no tiers or
    the rep no quota. ``position`` (sales already credited this month) and ``exact_before`` (their exact
    commission) let a caller price extra credits after the month's own, as the opportunity estimate does.
    """
    use_tiers = bool(tiers) and quota is not None and quota > 0
    table = bands(tiers, quota) if use_tiers else []
    pieces: list[Piece] = []
    at = position
    for index, credit in enumerate(credits):
        amount = money(credit.amount)
        if credit.category_rate is not None:
            rate = credit.category_rate
            pieces.append(Piece(index, "category", amount, rate, amount * rate / HUNDRED))
        elif use_tiers and amount == 0:  # a free line: shown in the tier the rep is in, earning nothing
            band = [b for b in table if b.start <= at][-1]
            pieces.append(Piece(index, "tier", amount, band.tier.rate, ZERO, band.label))
        elif use_tiers:
            end = at + amount
            for band in table:
                low = max(at, band.start)
                high = end if band.end is None else min(end, band.end)
                if high > low:
                    part = high - low
                    pieces.append(
                        Piece(index, "tier", part, band.tier.rate, part * band.tier.rate / HUNDRED, band.label)
                    )
        else:
            pieces.append(Piece(index, "base", amount, base_rate, amount * base_rate / HUNDRED))
        at += amount
    running_exact = exact_before
    paid = money(exact_before)
    for piece in pieces:
        running_exact += piece.exact
        target = money(running_exact)
        piece.amount = target - paid
        paid = target
    return pieces


def commission_total(credits: Sequence[Credit], **rules) -> Decimal:
    """What ``credits`` earn in all: their exact commission rounded once."""
    return sum((p.amount for p in price_credits(credits, **rules)), ZERO)


def current_rate(tiers: Sequence[Tier], quota: Decimal | None, credited: Decimal, base_rate: Decimal) -> Decimal:
    """The rate the next euro earns (the tier the rep has reached, or the base rate)."""
    if not tiers or not quota:
        return base_rate
    rate = base_rate
    for band in bands(tiers, quota):
        if credited >= band.start:
            rate = band.tier.rate
    return rate


# --- Caps and clawbacks --------------------------------------------------------------------------------------


def cap_cut(earned: Decimal, cap: Decimal | None) -> Decimal:
    """What the cap takes off a month's earnings (≤ 0; 0 without a cap)."""
    if cap is None or earned <= cap:
        return ZERO.quantize(CENT)
    return money(cap - earned)


def clawback_amount(*, earned: Decimal, earned_units: int, clawed: Decimal, clawed_units: int, units: int) -> Decimal:
    """What taking back ``units`` more units of an order line costs (≤ 0 for a positive ``earned``).

    ``earned`` is what the line earned over ``earned_units``; ``clawed`` (≥ 0) was already taken back for
    ``clawed_units``. Cumulative shares: when every unit is back, exactly ``earned`` has been taken back.
    """
    if earned_units <= 0 or units <= 0:
        return ZERO.quantize(CENT)
    done = min(clawed_units + units, earned_units)
    target = earned if done >= earned_units else money(earned * done / earned_units)
    amount = money(clawed - target)
    # More already taken back than the share now due (a part clawed back on what the line earned, before
    # clawbacks followed what a capped month paid): take nothing more, never pay back.
    return min(amount, ZERO.quantize(CENT)) if earned >= 0 else amount
