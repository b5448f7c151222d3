"""One rep's month, computed from the sales ledger and the payments: the lines a statement will hold.

Reads only (``commissions.services.statement_compute`` writes). For each plan the rep takes part in:

1. the **earning events** of the month: ledger ``booked`` rows (booking plans), ``delivered`` rows (delivery
   plans) or payments (payment plans: each order line earns the payment's share of the order's total);
   plus the *late* events: those dated in months whose statement was approved before they came in, which
   land on the first open month after them;
2. each event credits the rep with their split share (``CommissionSplit``; no split rows: the order's rep);
3. the credits are priced in date order (``plan_math.price_credits``): category rate, tiers or base rate;
4. SPIFs per unit; the cap;
5. **clawbacks**: the ledger's ``cancelled`` / ``returned`` rows of orders the rep earned on take back a
   share of what the order line was paid (at the rates it earned at, less its share of a capped month's cut)
   when they come within the plan's clawback window of the earning event. Clawbacks come after the cap.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db.models import Exists, OuterRef, Q

from catalog.models import Category
from commissions import plan_math
from commissions.models import (
    EARNING_RULES,
    Basis,
    CommissionSplit,
    Plan,
    Rule,
    Statement,
    StatementLine,
)
from commissions.plan_math import HUNDRED, ZERO, Credit, Tier, money
from orders.models import Order, OrderLine, Payment, SalesEntry
from sfa.models import Team

if TYPE_CHECKING:
    from sfa.models import User

Kind = SalesEntry.Kind
Event = StatementLine.Event


# --- Periods -------------------------------------------------------------------------------------------------


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_end(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def month_add(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def months_between(first: date, last: date) -> list[date]:
    out, month = [], month_start(first)
    while month <= last:
        out.append(month)
        month = month_add(month, 1)
    return out


# --- Who is on which plan ------------------------------------------------------------------------------------


def _team_chain(team_id: int | None) -> list[int]:
    """The team and every team above it."""
    parents = dict(Team.objects.values_list("id", "parent_id"))
    chain: list[int] = []
    while team_id is not None and team_id not in chain:
        chain.append(team_id)
        team_id = parents.get(team_id)
    return chain


def plans_for(rep: User, start: date, end: date) -> list[Plan]:
    """The active plans the rep takes part in (directly, or through their team or a team above it) that are in
    effect some day between ``start`` and ``end``."""
    chain = _team_chain(rep.team_id)
    return list(
        Plan.objects.filter(is_active=True, effective_from__lte=end)
        .filter(Q(effective_to__isnull=True) | Q(effective_to__gte=start))
        .filter(Q(participants__user=rep) | Q(participants__team_id__in=chain))
        .distinct()
        .prefetch_related("tiers", "category_rates__category", "spifs__product")
        .order_by("id")
    )


def plan_member_ids(plan: Plan) -> set[int]:
    """Every user a plan covers: its reps, and the members of its teams and of the teams below them."""
    from sfa.models import User

    children: dict[int | None, list[int]] = defaultdict(list)
    for team_id, parent_id in Team.objects.values_list("id", "parent_id"):
        children[parent_id].append(team_id)
    teams: set[int] = set()
    stack = [p.team_id for p in plan.participants.all() if p.team_id]
    while stack:
        team_id = stack.pop()
        if team_id not in teams:
            teams.add(team_id)
            stack.extend(children.get(team_id, []))
    users = {p.user_id for p in plan.participants.all() if p.user_id}
    users |= set(User.objects.filter(team_id__in=teams, is_active=True).values_list("id", flat=True))
    return users


# --- The plan's rules ------------------------------------------------------------------------------------------


class Categories:
    """The category tree, loaded once: a category rate covers the categories below it."""

    def __init__(self) -> None:
        self.parent = dict(Category.objects.values_list("id", "parent_id"))
        self.name = dict(Category.objects.values_list("id", "name"))

    def rate(self, rates: dict[int, Decimal], category_id: int) -> tuple[Decimal, int] | None:
        seen: set[int] = set()
        current: int | None = category_id
        while current is not None and current not in seen:
            if current in rates:
                return rates[current], current
            seen.add(current)
            current = self.parent.get(current)
        return None


def plan_tiers(plan: Plan) -> list[Tier]:
    return [Tier(t.threshold, t.rate) for t in sorted(plan.tiers.all(), key=lambda t: t.threshold)]


def in_effect(plan: Plan, day: date) -> bool:
    return plan.effective_from <= day and (plan.effective_to is None or day <= plan.effective_to)


def quota_for(rep: User, start: date, end: date) -> Decimal | None:
    """The rep's quota for the month, as forecasting keeps it."""
    from forecasting.selectors import quota_amount

    return quota_amount(user=rep, start=start, end=end)


# --- Events ------------------------------------------------------------------------------------------------------


@dataclass
class Earning:
    """One earning event credited to the rep."""

    event: str
    on: date
    entry_id: int
    payment_id: int | None
    order_id: int
    order_number: str
    line_id: int
    product_id: int
    category_id: int
    description: str
    units: int  # units of the event (0 for a payment: it pays a share of every unit)
    spif_units: Decimal  # units the SPIF pays for (a payment: its share of the line's units)
    credit: Decimal  # the rep's share of the amount (base currency)
    split_percent: Decimal
    late: bool


@dataclass
class Reversal:
    event: str
    on: date
    entry_id: int
    order_id: int
    order_number: str
    line_id: int
    description: str
    units: int  # units taken back (positive)
    amount: Decimal  # the rep's share of the reversed amount (negative)
    split_percent: Decimal
    late: bool


class Splits:
    """The split tables of orders (order id -> [(rep id, percent)], largest percent first)."""

    def __init__(self, table: dict[int, list[tuple[int, Decimal]]]):
        self.table = table

    @classmethod
    def load(cls, order_ids: set[int]) -> dict[int, list[tuple[int, Decimal]]]:
        table: dict[int, list[tuple[int, Decimal]]] = {order_id: [] for order_id in order_ids}
        for order_id, rep_id, percent in (
            CommissionSplit.objects.filter(order_id__in=order_ids)
            .order_by("order_id", "-percent", "rep_id")
            .values_list("order_id", "rep_id", "percent")
        ):
            table[order_id].append((rep_id, percent))
        return table

    def share(self, order_id: int, rep_id: int, amount: Decimal) -> tuple[Decimal, Decimal]:
        """(the rep's part of ``amount``, their percent)."""
        shares = self.table.get(order_id)
        if not shares:
            return money(amount), HUNDRED
        percent = dict(shares).get(rep_id, ZERO)
        return plan_math.split_amounts(amount, shares).get(rep_id, ZERO), percent


def credited_to(rep: User, *, order_field: str = "order_id", rep_field: str = "rep") -> Q:
    """Rows of orders credited to ``rep``: split to them, or theirs with no split rows."""
    split_to_rep = CommissionSplit.objects.filter(rep=rep).values("order_id")
    any_split = CommissionSplit.objects.filter(order_id=OuterRef(order_field))
    return Q(**{f"{order_field}__in": split_to_rep}) | (Q(**{rep_field: rep}) & ~Exists(any_split))


ENTRY_VALUES = (
    "id",
    "kind",
    "basis",
    "on",
    "order_id",
    "order__number",
    "line_id",
    "line__description",
    "product_id",
    "category_id",
    "units",
    "amount_base",
)


def _ledger_rows(rep: User, *, kinds: list[str], basis: str, start: date, end: date) -> list[dict[str, Any]]:
    return list(
        SalesEntry.objects.filter(kind__in=kinds, basis=basis, on__gte=start, on__lte=end)
        .filter(credited_to(rep))
        .order_by("on", "id")
        .values(*ENTRY_VALUES)
    )


def ledger_earnings(rep: User, plan: Plan, start: date, end: date, splits_for) -> list[Earning]:
    kind, basis = (
        (Kind.BOOKED, SalesEntry.Basis.BOOKING) if plan.basis == Basis.BOOKING else (Kind.DELIVERED, "delivery")
    )
    rows = _ledger_rows(rep, kinds=[kind], basis=basis, start=start, end=end)
    splits = splits_for({r["order_id"] for r in rows})
    out = []
    for r in rows:
        credit, percent = splits.share(r["order_id"], rep.pk, r["amount_base"])
        out.append(
            Earning(
                event=Event.BOOKED if kind == Kind.BOOKED else Event.DELIVERED,
                on=r["on"],
                entry_id=r["id"],
                payment_id=None,
                order_id=r["order_id"],
                order_number=r["order__number"],
                line_id=r["line_id"],
                product_id=r["product_id"],
                category_id=r["category_id"],
                description=r["line__description"],
                units=r["units"],
                spif_units=Decimal(r["units"]) * percent / HUNDRED,
                credit=credit,
                split_percent=percent,
                late=False,
            )
        )
    return out


def payment_earnings(rep: User, start: date, end: date, splits_for) -> list[Earning]:
    """Each payment credits every line of its order with the cumulative share of the line's booked amount that
    the paid part of the order's total carries (all paid: the whole line, to the cent)."""
    booked_by_rep = SalesEntry.objects.filter(kind=Kind.BOOKED, rep=rep).values("order_id")
    split_to_rep = CommissionSplit.objects.filter(rep=rep).values("order_id")
    any_split = CommissionSplit.objects.filter(order_id=OuterRef("order_id"))
    payments = list(
        Payment.objects.filter(received_on__gte=start, received_on__lte=end)
        .filter(Q(order_id__in=split_to_rep) | (Q(order_id__in=booked_by_rep) & ~Exists(any_split)))
        .order_by("received_on", "id")
        .values("id", "order_id", "amount", "received_on")
    )
    if not payments:
        return []
    order_ids = {p["order_id"] for p in payments}
    totals = dict(Order.objects.filter(pk__in=order_ids).values_list("pk", "total"))
    numbers = dict(Order.objects.filter(pk__in=order_ids).values_list("pk", "number"))
    earlier: dict[int, list[tuple[date, int, Decimal]]] = defaultdict(list)
    for pk, order_id, amount, received_on in Payment.objects.filter(order_id__in=order_ids).values_list(
        "id", "order_id", "amount", "received_on"
    ):
        earlier[order_id].append((received_on, pk, amount))
    booked: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for r in (
        SalesEntry.objects.filter(order_id__in=order_ids, kind=Kind.BOOKED)
        .order_by("line_id", "id")
        .values(*ENTRY_VALUES, "line__quantity")
    ):
        booked[r["order_id"]].append(r)
    splits = splits_for(order_ids)
    out = []
    for p in payments:
        total = totals[p["order_id"]]
        before = sum((a for d, pk, a in earlier[p["order_id"]] if (d, pk) < (p["received_on"], p["id"])), ZERO)
        for r in booked[p["order_id"]]:
            amount = plan_math.cumulative_share(r["amount_base"], total, before, p["amount"])
            credit, percent = splits.share(r["order_id"], rep.pk, amount)
            units_share = Decimal(r["line__quantity"]) * min(p["amount"], max(total - before, ZERO)) / total
            out.append(
                Earning(
                    event=Event.PAYMENT,
                    on=p["received_on"],
                    entry_id=r["id"],
                    payment_id=p["id"],
                    order_id=r["order_id"],
                    order_number=numbers[r["order_id"]],
                    line_id=r["line_id"],
                    product_id=r["product_id"],
                    category_id=r["category_id"],
                    description=r["line__description"],
                    units=0,
                    spif_units=units_share * percent / HUNDRED,
                    credit=credit,
                    split_percent=percent,
                    late=False,
                )
            )
    return out


def reversals(rep: User, plan: Plan, start: date, end: date, splits_for) -> list[Reversal]:
    """The ledger rows that undo what the plan earned on: on the delivery basis for delivery plans, on the
    booking basis otherwise (a payment plan takes back when the sale is undone)."""
    basis = SalesEntry.Basis.DELIVERY if plan.basis == Basis.DELIVERY else SalesEntry.Basis.BOOKING
    rows = _ledger_rows(rep, kinds=[Kind.CANCELLED, Kind.RETURNED], basis=basis, start=start, end=end)
    splits = splits_for({r["order_id"] for r in rows})
    out = []
    for r in rows:
        amount, percent = splits.share(r["order_id"], rep.pk, r["amount_base"])
        out.append(
            Reversal(
                event=Event.CANCELLED if r["kind"] == Kind.CANCELLED else Event.RETURNED,
                on=r["on"],
                entry_id=r["id"],
                order_id=r["order_id"],
                order_number=r["order__number"],
                line_id=r["line_id"],
                description=r["line__description"],
                units=-r["units"],
                amount=amount,
                split_percent=percent,
                late=False,
            )
        )
    return out


# --- The month -----------------------------------------------------------------------------------------------


@dataclass
class Month:
    """What a statement of ``rep`` for ``period`` holds, not saved yet."""

    lines: list[StatementLine] = field(default_factory=list)
    summary: list[dict[str, Any]] = field(default_factory=list)
    credited: Decimal = ZERO
    quota: Decimal | None = None


def _late_start(rep: User, period: date) -> date:
    """Where the late events of ``period`` start: the first of the approved months right before it."""
    approved = set(
        Statement.objects.filter(rep=rep, status=Statement.Status.APPROVED, period__lt=period).values_list(
            "period", flat=True
        )
    )
    start = period
    while month_add(start, -1) in approved:
        start = month_add(start, -1)
    return start


def _split_note(percent: Decimal) -> str:
    return "" if percent == HUNDRED else f" · split {plan_math.num(percent)} %"


def month_compute(
    rep: User,
    period: date,
    *,
    statement_id: int | None = None,
    categories: Categories | None = None,
    today: date | None = None,
) -> Month:
    """The lines of ``rep``'s statement for the month starting ``period`` (see the module's docstring)."""
    start, end = month_start(period), month_end(period)
    categories = categories or Categories()
    month = Month()
    plans = plans_for(rep, start, end)
    late_from = _late_start(rep, start)
    quota = quota_for(rep, start, end) if plans else None
    month.quota = quota
    split_cache: dict[int, list[tuple[int, Decimal]]] = {}

    def splits_for(order_ids: set[int]) -> Splits:
        missing = order_ids - set(split_cache)
        if missing:
            split_cache.update(Splits.load(missing))
        return Splits(split_cache)

    covered = _covered(rep, late_from, start) if late_from < start else set()
    for plan in plans:
        earnings = (
            payment_earnings(rep, late_from, end, splits_for)
            if plan.basis == Basis.PAYMENT
            else ledger_earnings(rep, plan, late_from, end, splits_for)
        )
        kept = []
        for e in earnings:
            if not in_effect(plan, e.on):
                continue
            if e.on < start:  # from an approved month: only what no approved statement holds yet
                if (plan.pk, "earn", e.entry_id, e.payment_id) in covered:
                    continue
                e.late = True
            kept.append(e)
        plan_lines, plan_summary = _plan_lines(rep, plan, kept, quota, categories)
        undo = [
            r
            for r in reversals(rep, plan, late_from, end, splits_for)
            if r.on >= start or (plan.pk, "undo", r.entry_id, None) not in covered
        ]
        for r in undo:
            r.late = r.on < start
        plan_lines += _clawbacks(rep, plan, undo, plan_lines, statement_id)
        month.lines += plan_lines
        month.summary.append(plan_summary)
        month.credited = max(month.credited, plan_summary["credited_amount"])
    return month


def _covered(rep: User, since: date, before: date) -> set[tuple]:
    """Keys of the events dated in the approved months [since, before) that approved statements already hold."""
    keys: set[tuple] = set()
    for plan_id, rule, entry_id, payment_id in StatementLine.objects.filter(
        statement__rep=rep,
        statement__status=Statement.Status.APPROVED,
        on__gte=since,
        on__lt=before,
        entry_id__isnull=False,
    ).values_list("plan_id", "rule", "entry_id", "payment_id"):
        keys.add((plan_id, "undo" if rule == Rule.CLAWBACK else "earn", entry_id, payment_id))
    return keys


def _line(plan: Plan, e: Earning | Reversal, **fields: Any) -> StatementLine:
    return StatementLine(
        plan=plan,
        event=e.event,
        on=e.on,
        order_id=e.order_id,
        order_line_id=e.line_id,
        entry_id=e.entry_id,
        payment_id=getattr(e, "payment_id", None),
        order_number=e.order_number,
        description=e.description[:300],
        split_percent=e.split_percent,
        late=e.late,
        **fields,
    )


def _plan_lines(
    rep: User, plan: Plan, earnings: list[Earning], quota: Decimal | None, categories: Categories
) -> tuple[list[StatementLine], dict[str, Any]]:
    tiers = plan_tiers(plan)
    rates = {r.category_id: r.rate for r in plan.category_rates.all()}
    credits = []
    category_of: dict[int, int] = {}
    for i, e in enumerate(earnings):
        found = categories.rate(rates, e.category_id)
        if found is not None:
            category_of[i] = found[1]
        credits.append(Credit(e.credit, found[0] if found else None))
    pieces = plan_math.price_credits(credits, base_rate=plan.base_rate, tiers=tiers, quota=quota)
    lines: list[StatementLine] = []
    first_piece: set[int] = set()
    for piece in pieces:
        e = earnings[piece.credit]
        if piece.rule == "category":
            detail = f"{categories.name.get(category_of[piece.credit], 'Category')} rate {plan_math.num(piece.rate)} %"
        elif piece.rule == "tier":
            detail = piece.label
        else:
            detail = f"Base rate {plan_math.num(piece.rate)} %" + (" (no quota: tiers not applied)" if tiers else "")
        units = e.units if piece.credit not in first_piece else 0
        first_piece.add(piece.credit)
        lines.append(
            _line(
                plan,
                e,
                rule=piece.rule,
                units=units,
                basis_amount=piece.basis,
                rate=piece.rate,
                amount=piece.amount,
                detail=(detail + _split_note(e.split_percent))[:300],
            )
        )
    # SPIFs: a bonus per unit of the product, for events inside the SPIF's dates.
    for e in earnings:
        for spif in plan.spifs.all():
            if spif.product_id == e.product_id and spif.starts_on <= e.on <= spif.ends_on:
                amount = money(spif.amount_per_unit * e.spif_units)
                lines.append(
                    _line(
                        plan,
                        e,
                        rule=Rule.SPIF,
                        units=e.units,
                        basis_amount=ZERO,
                        rate=None,
                        amount=amount,
                        detail=(
                            f"SPIF {spif.product.name}: {spif.amount_per_unit} per unit × {e.spif_units.normalize():f}"
                        )[:300],
                    )
                )
    earned = sum((line.amount for line in lines), ZERO)
    cut = plan_math.cap_cut(earned, plan.cap_amount)
    if cut:
        lines.append(
            StatementLine(
                plan=plan,
                rule=Rule.CAP,
                event=Event.PERIOD,
                on=earnings[-1].on if earnings else plan.effective_from,
                basis_amount=earned,
                amount=cut,
                detail=f"Cap of {plan.cap_amount} per month: {earned} earned",
            )
        )
    credited = sum((e.credit for e in earnings), ZERO)
    summary = {
        "plan": plan.pk,
        "name": plan.name,
        "basis": plan.get_basis_display(),
        "base_rate": plan_math.num(plan.base_rate),
        "tiers": [{"threshold": plan_math.num(t.threshold), "rate": plan_math.num(t.rate)} for t in tiers],
        "quota": str(quota) if quota is not None else None,
        "no_quota": bool(tiers) and not quota,
        "credited": str(credited),
        "credited_amount": credited,
        "attainment": str((credited * HUNDRED / quota).quantize(Decimal("0.1"))) if quota else None,
        "rate_now": plan_math.num(plan_math.current_rate(tiers, quota, credited, plan.base_rate)),
        "cap": str(plan.cap_amount) if plan.cap_amount is not None else None,
        "capped": bool(cut),
        "earned": str(earned + cut),
    }
    return lines, summary


def _clawbacks(
    rep: User, plan: Plan, undo: list[Reversal], current: list[StatementLine], statement_id: int | None
) -> list[StatementLine]:
    if not undo:
        return []
    line_ids = {r.line_id for r in undo}
    history = list(
        StatementLine.objects.filter(statement__rep=rep, plan=plan, order_line_id__in=line_ids)
        .exclude(statement_id=statement_id)
        .filter(rule__in=[*EARNING_RULES, Rule.CLAWBACK])
        .values("statement_id", "order_line_id", "rule", "on", "units", "basis_amount", "amount")
    )
    history += [
        {
            "statement_id": None,  # the statement being computed
            "order_line_id": line.order_line_id,
            "rule": line.rule,
            "on": line.on,
            "units": line.units,
            "basis_amount": line.basis_amount,
            "amount": line.amount,
        }
        for line in current
        if line.order_line_id in line_ids
    ]
    paid_share = _paid_shares(plan, {h["statement_id"] for h in history} - {None}, current)
    quantity = dict(OrderLine.objects.filter(pk__in=line_ids).values_list("pk", "quantity"))
    out: list[StatementLine] = []
    for r in sorted(undo, key=lambda r: (r.on, r.entry_id)):
        rows = [h for h in history if h["order_line_id"] == r.line_id]
        earned_rows = [h for h in rows if h["rule"] in EARNING_RULES and h["on"] <= r.on]
        if not earned_rows:
            continue  # nothing was earned on the line: nothing to take back
        earned = money(sum((h["amount"] for h in earned_rows), ZERO))
        # What the line was paid: its earnings less its share of the cap of the month they were in.
        paid = money(sum((h["amount"] * paid_share.get(h["statement_id"], 1) for h in earned_rows), ZERO))
        of_what = f"of {paid} paid ({earned} earned, capped)" if paid != earned else f"of {earned} earned"
        basis = sum((h["basis_amount"] for h in earned_rows if h["rule"] != Rule.SPIF), ZERO)
        units = (
            quantity.get(r.line_id, 0)
            if plan.basis == Basis.PAYMENT
            else sum(h["units"] for h in earned_rows if h["rule"] != Rule.SPIF)
        )
        claws = [h for h in rows if h["rule"] == Rule.CLAWBACK]
        clawed = -money(sum((h["amount"] for h in claws), ZERO))
        clawed_units = -sum(h["units"] for h in claws)
        last = max(h["on"] for h in earned_rows)
        days = (r.on - last).days
        rate = (paid * HUNDRED / basis).quantize(Decimal("0.0001")) if basis else None
        if plan.clawback_days is None or days > plan.clawback_days:
            window = "no clawback" if plan.clawback_days is None else f"window {plan.clawback_days} days"
            line = _line(
                plan,
                r,
                rule=Rule.CLAWBACK,
                units=0,
                basis_amount=r.amount,
                rate=rate,
                amount=ZERO.quantize(plan_math.CENT),
                detail=f"{r.event.capitalize()} {days} days after it was earned ({window}): commission kept",
            )
        else:
            amount = plan_math.clawback_amount(
                earned=paid, earned_units=units, clawed=clawed, clawed_units=clawed_units, units=r.units
            )
            line = _line(
                plan,
                r,
                rule=Rule.CLAWBACK,
                units=-r.units,
                basis_amount=r.amount,
                rate=rate,
                amount=amount,
                detail=(
                    f"{r.event.capitalize()} {days} days after it was earned: {r.units} of {units} units taken back "
                    f"{of_what}" + _split_note(r.split_percent)
                )[:300],
            )
        out.append(line)
        history.append(
            {
                "statement_id": None,
                "order_line_id": r.line_id,
                "rule": Rule.CLAWBACK,
                "on": r.on,
                "units": line.units,
                "basis_amount": line.basis_amount,
                "amount": line.amount,
            }
        )
    return out


def _paid_shares(plan: Plan, statement_ids: set[int], current: list[StatementLine]) -> dict[int | None, Decimal]:
    """Per statement (None: the one being computed), the share of ``plan``'s earnings its cap let through.

    A clawback takes back what a sale was paid, never more: in a capped month each sale was paid its
    earnings times (cap / earned), the cap line's ``amount`` being ``cap - earned`` on a ``basis_amount``
    of ``earned``. Months without a cap line paid in full (no entry: 1).
    """
    caps = [
        (sid, basis, amount)
        for sid, basis, amount in StatementLine.objects.filter(
            statement_id__in=statement_ids, plan=plan, rule=Rule.CAP
        ).values_list("statement_id", "basis_amount", "amount")
    ]
    caps += [(None, line.basis_amount, line.amount) for line in current if line.rule == Rule.CAP]
    return {sid: (basis + amount) / basis for sid, basis, amount in caps if basis > 0}
