"""Writes of the commissions app: plans, deal splits, statements (compute, adjust, approve).

Every service checks the actor's right through the policies (``actor=None`` is the system: the monthly job,
the demo), runs in one transaction and audits what it changes. Statement arithmetic lives in
``commissions.calculator`` and ``commissions.plan_math``; see docs/commissions.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from commissions import calculator, plan_math
from commissions.models import (
    EARNING_RULES,
    CommissionSplit,
    Plan,
    PlanCategoryRate,
    PlanParticipant,
    PlanTier,
    Rule,
    Spif,
    Statement,
    StatementLine,
)
from commissions.plan_math import HUNDRED, ZERO, money
from orders.models import Order, SalesEntry
from orders.services import order_settings
from sfa.audit import audit_record, diff, snapshot, to_json
from sfa.jobs import job_start
from sfa.models import AuditAction, Team, User
from sfa.permissions import can, require, team_member_ids

if TYPE_CHECKING:
    from catalog.models import Category
    from sfa.models import Job

JOB_KIND = "commission_statements"


def _decimal(value: Any, where: str, *, low: Decimal = ZERO, high: Decimal | None = None) -> Decimal:
    try:
        number = Decimal(str(value).strip().replace(",", "."))
    except (InvalidOperation, AttributeError):
        raise ValidationError(f"{where}: {value!r} is not a number.") from None
    if not number.is_finite() or number < low or (high is not None and number > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ValidationError(f"{where}: {number} is not {bounds}.")
    return number


# --- Plans ---------------------------------------------------------------------------------------------------

PLAN_FIELDS = (
    "name",
    "description",
    "basis",
    "effective_from",
    "effective_to",
    "base_rate",
    "cap_amount",
    "clawback_days",
    "is_active",
)


def _plan_rules(plan: Plan) -> dict[str, Any]:
    """The plan's rule rows as plain data, for the audit trail."""
    return to_json(
        {
            "participants": sorted(
                [f"user:{p.user_id}" if p.user_id else f"team:{p.team_id}" for p in plan.participants.all()]
            ),
            "tiers": [[t.threshold, t.rate] for t in plan.tiers.order_by("threshold")],
            "category_rates": [[r.category_id, r.rate] for r in plan.category_rates.order_by("category_id")],
            "spifs": [
                [s.product_id, s.amount_per_unit, s.starts_on, s.ends_on]
                for s in plan.spifs.order_by("starts_on", "id")
            ],
        }
    )


@transaction.atomic
def plan_save(
    *,
    actor: User | None,
    data: dict[str, Any],
    plan: Plan | None = None,
    users: Iterable[User] = (),
    teams: Iterable[Team] = (),
    tiers: Iterable[tuple[Any, Any]] = (),
    category_rates: Iterable[tuple[Category, Any]] = (),
    spifs: Iterable[dict[str, Any]] = (),
) -> Plan:
    """Create ``plan`` (None) or replace its fields and every rule row: participants (``users``, ``teams``),
    ``tiers`` (threshold %, rate %), ``category_rates`` (category, rate %) and ``spifs`` (dicts of product,
    amount_per_unit, starts_on, ends_on). Tiers start at 0 % and never pay less than the tier below."""
    if plan is None:
        if actor is not None:
            require(actor, "add", Plan)
        plan = Plan(created_by=actor if actor is not None and actor.is_authenticated else None)
        before: dict[str, Any] = {}
        rules_before: dict[str, Any] = {}
    else:
        plan = Plan.objects.select_for_update().get(pk=plan.pk)
        if actor is not None:
            require(actor, "change", plan)
        before = snapshot(plan)
        rules_before = _plan_rules(plan)
    unknown = set(data) - set(PLAN_FIELDS)
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), "Not a field of a plan."))
    for name, value in data.items():
        setattr(plan, name, value)
    errors: dict[str, list[str]] = {}
    tier_rows = [
        plan_math.Tier(
            _decimal(threshold, "Tier threshold (%)", high=Decimal("10000")),
            _decimal(rate, "Tier rate (%)", high=HUNDRED),
        )
        for threshold, rate in tiers
    ]
    tier_errors = plan_math.tiers_check(tier_rows)
    if tier_errors:
        errors["tiers"] = tier_errors
    rate_rows = [(category, _decimal(rate, f"Rate of {category}", high=HUNDRED)) for category, rate in category_rates]
    if len({c.pk for c, _ in rate_rows}) != len(rate_rows):
        errors["category_rates"] = ["A category has one rate per plan."]
    spif_rows = []
    for row in spifs:
        amount = _decimal(row.get("amount_per_unit"), f"SPIF on {row.get('product')}", low=Decimal("0.01"))
        if row.get("starts_on") is None or row.get("ends_on") is None or row["ends_on"] < row["starts_on"]:
            errors.setdefault("spifs", []).append(f"The SPIF on {row.get('product')} needs a start and a later end.")
        spif_rows.append({**row, "amount_per_unit": money(amount)})
    if errors:
        raise ValidationError(errors)
    plan.full_clean()
    plan.save()
    plan.participants.all().delete()
    PlanParticipant.objects.bulk_create(
        [PlanParticipant(plan=plan, user=u) for u in dict.fromkeys(users)]
        + [PlanParticipant(plan=plan, team=t) for t in dict.fromkeys(teams)]
    )
    plan.tiers.all().delete()
    PlanTier.objects.bulk_create([PlanTier(plan=plan, threshold=t.threshold, rate=t.rate) for t in tier_rows])
    plan.category_rates.all().delete()
    PlanCategoryRate.objects.bulk_create([PlanCategoryRate(plan=plan, category=c, rate=r) for c, r in rate_rows])
    plan.spifs.all().delete()
    for row in spif_rows:
        spif = Spif(plan=plan, **row)
        spif.full_clean()
        spif.save()
    changes = diff(before, snapshot(plan))
    changes.update(diff(rules_before, _plan_rules(plan)))
    audit_record(
        actor=actor,
        instance=plan,
        action=AuditAction.UPDATE if before else AuditAction.CREATE,
        changes=changes,
    )
    return plan


@transaction.atomic
def plan_delete(*, plan: Plan, actor: User | None) -> None:
    """Delete a plan nothing was computed on yet (otherwise: make it inactive, statements keep their lines)."""
    if actor is not None:
        require(actor, "delete", plan)
    if StatementLine.objects.filter(plan=plan).exists():
        raise ValidationError(f"Statements hold lines of “{plan}”: make it inactive instead of deleting it.")
    audit_record(actor=actor, instance=plan, action=AuditAction.DELETE, changes=diff(snapshot(plan), {}))
    plan.delete()


# --- Splits ------------------------------------------------------------------------------------------------------


@transaction.atomic
def order_splits_set(*, order: Order, splits: Iterable[tuple[User, Any]], actor: User | None) -> list[CommissionSplit]:
    """Share an order's commission credit between reps: (rep, percent) pairs adding up to exactly 100. An empty
    list removes the split (the order's rep is credited in full again). Statements already approved keep what
    they paid; the open months follow the new split when they are computed again."""
    order = Order.objects.select_for_update().get(pk=order.pk)
    if actor is not None:
        require(actor, "change", CommissionSplit(order=order))
    rows = [(rep, _decimal(percent, f"Split of {rep}", low=Decimal("0.01"), high=HUNDRED)) for rep, percent in splits]
    reps = [rep.pk for rep, _ in rows]
    if len(set(reps)) != len(reps):
        raise ValidationError({"splits": "A rep appears once in a split."})
    if rows and sum((p for _, p in rows), ZERO) != HUNDRED:
        total = sum((p for _, p in rows), ZERO)
        raise ValidationError({"splits": f"The shares add up to {plan_math.num(total)} %, not 100 %."})
    inactive = [str(rep) for rep, _ in rows if not rep.is_active]
    if inactive:
        raise ValidationError({"splits": f"Not an active user: {', '.join(inactive)}."})
    if actor is not None and not actor.is_admin:
        # A manager shares credit among the reps of the teams they manage, never with themselves.
        allowed = team_member_ids(actor) - {actor.pk}
        outside = [str(rep) for rep, _ in rows if rep.pk not in allowed and rep.pk != order.owner_id]
        if outside:
            raise ValidationError({"splits": f"Not a rep of your teams: {', '.join(outside)}."})
    before = [[s.rep_id, str(s.percent)] for s in order.commission_splits.order_by("-percent", "rep_id")]
    order.commission_splits.all().delete()
    made = CommissionSplit.objects.bulk_create(
        [CommissionSplit(order=order, rep=rep, percent=percent) for rep, percent in rows]
    )
    after = [[s.rep_id, str(s.percent)] for s in sorted(made, key=lambda s: (-s.percent, s.rep_id))]
    if before != after:
        audit_record(
            actor=actor,
            instance=order,
            action=AuditAction.ACTION,
            verb="commission split set",
            changes={"commission_split": [before, after]},
        )
    return made


# --- Statements ----------------------------------------------------------------------------------------------


def statement_totals(statement: Statement) -> None:
    """Add up the statement's lines into its total fields (saved), carrying a negative balance forward.

    Clawbacks, adjustments and an earlier month's negative balance come after the cap and may leave the month
    below zero. Payroll never takes money back from a salary: a ``carry_out`` line brings the month to zero and
    the rep's next statement recovers the amount from what it earns (``carry_in``, see ``statement_compute``).
    """
    statement.lines.filter(rule=Rule.CARRY_OUT).delete()
    sums = dict.fromkeys(Rule.values, ZERO)
    for rule, amount in statement.lines.values_list("rule", "amount"):
        sums[rule] += amount
    balance = money(sum(sums.values(), ZERO))
    if balance < 0:
        StatementLine.objects.create(
            statement=statement,
            rule=Rule.CARRY_OUT,
            event=StatementLine.Event.PERIOD,
            on=calculator.month_end(statement.period),
            basis_amount=balance,
            amount=-balance,
            detail=f"Negative balance of {balance} carried to the next statement",
        )
        sums[Rule.CARRY_OUT] = -balance
    statement.commission = money(sums[Rule.BASE] + sums[Rule.CATEGORY] + sums[Rule.TIER])
    statement.spif = money(sums[Rule.SPIF])
    statement.cap = money(sums[Rule.CAP])
    statement.clawback = money(sums[Rule.CLAWBACK])
    statement.adjustments = money(sums[Rule.ADJUSTMENT])
    statement.carried_in = money(sums[Rule.CARRY_IN])
    statement.carried_out = money(sums[Rule.CARRY_OUT])
    statement.total = money(sum(sums.values(), ZERO))
    statement.save(
        update_fields=["commission", "spif", "cap", "clawback", "adjustments", "carried_in", "carried_out", "total"]
    )


def _carry_in(statement: Statement) -> StatementLine | None:
    """The line recovering what the rep's earlier statements carried forward and no statement recovered yet.

    The balance is every carry line of the earlier months added up, so it stays right whatever order months are
    computed and approved in: an earlier draft recomputed after this one was approved settles the difference
    on the next open month (a positive line when more was recovered than is owed any more).
    """
    outstanding = money(
        StatementLine.objects.filter(
            statement__rep_id=statement.rep_id,
            statement__period__lt=statement.period,
            rule__in=[Rule.CARRY_IN, Rule.CARRY_OUT],
        ).aggregate(total=Sum("amount"))["total"]
        or ZERO
    )
    if not outstanding:
        return None
    detail = (
        f"Negative balance of earlier months recovered: {-outstanding}"
        if outstanding > 0
        else f"Recovered too much in earlier months: {-outstanding} returned"
    )
    return StatementLine(
        statement=statement,
        rule=Rule.CARRY_IN,
        event=StatementLine.Event.PERIOD,
        on=statement.period,
        basis_amount=outstanding,
        amount=-outstanding,
        detail=detail,
    )


@transaction.atomic
def statement_compute(
    *,
    rep: User,
    period: date,
    actor: User | None = None,
    job: Job | None = None,
    categories: calculator.Categories | None = None,
) -> Statement | None:
    """Compute ``rep``'s statement for the month of ``period`` from the ledger: a draft's computed lines are
    replaced (its adjustments stay); an approved statement is locked and comes back unchanged. Returns None
    when the rep is on no plan that month and has no statement yet.

    Safe under concurrency: the statement row is locked while its lines are replaced, and when two first
    computes of one month race, the unique (rep, period) constraint lets one create the statement; the other
    takes that statement and computes it again (with its id, so clawbacks do not count its lines twice).
    """
    period = calculator.month_start(period)
    if actor is not None:
        require(actor, "add", Statement(rep=rep))
    statement = Statement.objects.select_for_update().filter(rep=rep, period=period).first()
    if statement is not None and statement.is_locked:
        return statement
    month = calculator.month_compute(
        rep, period, statement_id=statement.pk if statement else None, categories=categories
    )
    if statement is None:
        if not month.summary:
            return None
        try:
            with transaction.atomic():  # a savepoint: the losing side of the race goes on in this transaction
                statement = Statement.objects.create(rep=rep, period=period, currency=order_settings().base_currency)
        except IntegrityError:
            statement = Statement.objects.select_for_update().get(rep=rep, period=period)
            if statement.is_locked:
                return statement
            month = calculator.month_compute(rep, period, statement_id=statement.pk, categories=categories)
    statement.lines.filter(is_computed=True).delete()
    for line in month.lines:
        line.statement = statement
    carried = _carry_in(statement)
    StatementLine.objects.bulk_create([*month.lines, *([carried] if carried else [])], batch_size=1000)
    statement.credited = money(month.credited)
    statement.quota = month.quota
    statement.summary = [{k: v for k, v in plan.items() if k != "credited_amount"} for plan in month.summary]
    statement.computed_at = timezone.now()
    statement.job = job
    statement.save(update_fields=["credited", "quota", "summary", "computed_at", "job"])
    statement_totals(statement)
    return statement


def reps_in_scope(*, actor: User | None, period: date) -> list[User]:
    """The people on a plan in the month whose statements ``actor`` may compute (None: everybody)."""
    start, end = calculator.month_start(period), calculator.month_end(period)
    plans = (
        Plan.objects.filter(is_active=True, effective_from__lte=end)
        .filter(Q(effective_to__isnull=True) | Q(effective_to__gte=start))
        .prefetch_related("participants")
    )
    ids: set[int] = set()
    for plan in plans:
        ids |= calculator.plan_member_ids(plan)
    ids |= set(Statement.objects.filter(period=start).values_list("rep_id", flat=True))
    people = list(User.objects.filter(pk__in=ids).order_by("id"))
    if actor is not None:
        people = [u for u in people if can(actor, "add", Statement(rep=u))]
    return people


def statements_compute(
    *,
    first: date,
    last: date,
    actor: User | None = None,
    rep_ids: Iterable[int] | None = None,
    job: Job | None = None,
    progress: Callable[..., None] | None = None,
    done: int = 0,
) -> dict[str, int]:
    """Every statement of the months ``first`` … ``last`` (oldest first, so that clawbacks see what the months
    before earned), for the reps on a plan (or ``rep_ids``) that ``actor`` may compute. Safe to run twice:
    drafts are recomputed, approved statements stay. ``done`` skips the first pairs (a resumed job)."""
    wanted = set(rep_ids) if rep_ids is not None else None
    months = calculator.months_between(first, last)
    pairs = []
    for month in months:
        for rep in reps_in_scope(actor=actor, period=month):
            if wanted is None or rep.pk in wanted:
                pairs.append((month, rep))
    categories = calculator.Categories()
    counts = {"computed": 0, "locked": 0, "skipped": 0, "pairs": len(pairs)}
    for index, (month, rep) in enumerate(pairs):
        if index < done:
            continue
        statement = statement_compute(rep=rep, period=month, actor=actor, job=job, categories=categories)
        if statement is None:
            counts["skipped"] += 1
        elif statement.is_locked:
            counts["locked"] += 1
        else:
            counts["computed"] += 1
        if progress is not None:
            progress(
                100 * (index + 1) / max(len(pairs), 1),
                f"{month:%b %Y}: {rep} ({index + 1} of {len(pairs)})",
                done=index + 1,
            )
    return counts


def statements_compute_start(*, actor: User, first: date, last: date, rep_ids: Iterable[int] | None = None) -> Job:
    """Queue the statement computation as a background job the actor can watch."""
    require(actor, "add", Statement)
    first, last = calculator.month_start(first), calculator.month_start(last)
    if last < first:
        raise ValidationError("The last month comes after the first.")
    if len(calculator.months_between(first, last)) > 36:
        raise ValidationError("Compute at most 36 months at a time.")
    title = f"Commission statements {first:%b %Y}" + (f" – {last:%b %Y}" if last != first else "")
    params = {"first": first.isoformat(), "last": last.isoformat()}
    if rep_ids is not None:
        params["rep_ids"] = sorted(set(rep_ids))
    return job_start(kind=JOB_KIND, title=title, actor=actor, params=params)


def _refuse_own(statement: Statement, actor: User | None, verb: str) -> None:
    if actor is not None and actor.pk == statement.rep_id and not actor.is_admin:
        raise PermissionDenied(f"Nobody may {verb} their own statement: ask your manager.")


@transaction.atomic
def statement_approve(*, statement: Statement, actor: User | None) -> Statement:
    """Approve a draft statement: it is locked from now on; what the ledger says later about its month lands on
    the rep's next open month."""
    locked = Statement.objects.select_for_update().get(pk=statement.pk)
    if actor is not None:
        require(actor, "approve", locked)
    _refuse_own(locked, actor, "approve")
    if locked.is_locked:
        raise ValidationError(f"The statement {locked} is approved already.")
    if locked.computed_at is None:
        raise ValidationError(f"The statement {locked} was never computed: compute it first.")
    before = snapshot(locked, ["status", "approved_by", "approved_at"])
    locked.status = Statement.Status.APPROVED
    locked.approved_by = actor if actor is not None and actor.is_authenticated else None
    locked.approved_at = timezone.now()
    locked.save(update_fields=["status", "approved_by", "approved_at"])
    audit_record(
        actor=actor,
        instance=locked,
        action=AuditAction.ACTION,
        verb="statement approved",
        changes=diff(before, snapshot(locked, ["status", "approved_by", "approved_at"])),
        note=f"total {locked.total} {locked.currency}",
    )
    statement.refresh_from_db()
    return locked


@transaction.atomic
def statement_adjust(*, statement: Statement, amount: Any, note: str, actor: User | None) -> StatementLine:
    """Add a manual adjustment (positive or negative) with the reason to a draft statement; recomputing keeps it."""
    locked = Statement.objects.select_for_update().get(pk=statement.pk)
    if actor is not None:
        require(actor, "change", locked)
    _refuse_own(locked, actor, "adjust")
    if locked.is_locked:
        raise ValidationError(f"The statement {locked} is approved: adjust the rep's next open month instead.")
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": "Say why: an adjustment needs a note."})
    try:
        value = money(Decimal(str(amount).strip().replace(",", ".")))
    except (InvalidOperation, ValueError):
        raise ValidationError({"amount": f"{amount!r} is not an amount."}) from None
    if value == 0:
        raise ValidationError({"amount": "An adjustment of zero changes nothing."})
    before = locked.total
    line = StatementLine.objects.create(
        statement=locked,
        rule=Rule.ADJUSTMENT,
        event=StatementLine.Event.MANUAL,
        on=timezone.localdate(),
        amount=value,
        detail=note[:300],
        note=note,
        is_computed=False,
        created_by=actor if actor is not None and actor.is_authenticated else None,
    )
    statement_totals(locked)
    audit_record(
        actor=actor,
        instance=locked,
        action=AuditAction.ACTION,
        verb="statement adjusted",
        changes={"adjustment": [None, str(value)], "total": [str(before), str(locked.total)]},
        note=note,
    )
    statement.refresh_from_db()
    return line


# --- After a ledger rebuild --------------------------------------------------------------------------------------


def lines_relink() -> int:
    """Point statement lines at the ledger rows again after ``orders.ledger.ledger_rebuild`` gave every row a new
    id (a rebuild listener). The lines of one old row find the new row of their order line with the same kind,
    basis and date (rows alike are paired in id order); payment lines find the line's booking row. Returns the
    lines relinked."""
    stale = list(
        StatementLine.objects.filter(entry_id__isnull=False, order_line_id__isnull=False)
        .exclude(entry_id__in=SalesEntry.objects.values("id"))
        .order_by("entry_id", "id")
        .values("id", "entry_id", "order_line_id", "event", "on", "plan__basis")
    )
    if not stale:
        return 0
    entries: dict[tuple, list[int]] = {}
    for pk, line_id, kind, basis, on in (
        SalesEntry.objects.filter(line_id__in={s["order_line_id"] for s in stale})
        .order_by("id")
        .values_list("id", "line_id", "kind", "basis", "on")
    ):
        entries.setdefault((line_id, kind, basis, on), []).append(pk)
        if kind == SalesEntry.Kind.BOOKED:
            entries.setdefault((line_id, "booked-any"), []).append(pk)
    new_of: dict[int, int | None] = {}
    relinked = 0
    for s in stale:
        if s["entry_id"] not in new_of:
            if s["event"] == StatementLine.Event.PAYMENT:
                found = entries.get((s["order_line_id"], "booked-any"), [])
                new_of[s["entry_id"]] = found[0] if found else None
            else:
                basis = "delivery" if s["event"] == "delivered" or s["plan__basis"] == "delivery" else "booking"
                found = entries.get((s["order_line_id"], s["event"], basis, s["on"]), [])
                new_of[s["entry_id"]] = found.pop(0) if found else None
        StatementLine.objects.filter(pk=s["id"]).update(entry_id=new_of[s["entry_id"]])
        relinked += new_of[s["entry_id"]] is not None
    return relinked


def earned_on_order(*, rep: User, order: Order) -> Decimal:
    """What ``rep``'s statements hold for ``order``, clawbacks included (for checks and the order panel)."""
    rows = StatementLine.objects.filter(statement__rep=rep, order=order).filter(
        rule__in=[*EARNING_RULES, Rule.CLAWBACK]
    )
    return money(sum(rows.values_list("amount", flat=True), ZERO))
