"""Demo commissions: two plans, split deals, some payments, and a year of statements.

- "North accelerator": Sales North, earned on booking, tiers by quota attainment (2 % up to half the quota,
  4 % to the quota, 7 % above it), higher rates for car accessories and services, a monthly cap;
- "South delivery + SPIF": Sales South, earned on delivery at 3.5 %, a SPIF per Volt City delivered in the
  last three months and one per ErgoChair Plus earlier in the year;
- a few of the last year's orders split between two reps; payments on recently delivered orders.

The statements come in a second step, after forecasting has set the quotas (step 95): the last twelve months
computed by the same service as the monthly job, every month but the last two approved by the team's manager.

Idempotent: plans by name, splits and payments only where an order has none, statements recomputed (drafts)
or kept (approved).
"""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from sfa.demo import DemoContext, demo_step

SEED = 8585
NORTH, SOUTH = "North accelerator", "South delivery + SPIF"
RATES = (("car-accessories", 6), ("services", 8))


def _user(ctx: DemoContext, username: str):
    from sfa.models import User

    return ctx.users.get(username) or User.objects.filter(username=username).first()


@demo_step(order=85)
def demo_commission_plans(ctx: DemoContext) -> None:
    from catalog.models import Category, Product
    from commissions import calculator, services
    from commissions.models import CommissionSplit, Plan
    from orders.models import Order, Payment
    from orders.payments import order_payment_record
    from sfa.models import Team

    today = timezone.localdate()
    start = calculator.month_add(calculator.month_start(today), -12)
    teams = {t.name: t for t in Team.objects.filter(name__in=["Sales North", "Sales South"])}
    categories = {c.slug: c for c in Category.objects.filter(slug__in=["car-accessories", "services"])}
    products = {p.slug: p for p in Product.objects.filter(slug__in=["volt-city", "ergochair-plus"])}
    made = 0
    if not Plan.objects.filter(name=NORTH).exists() and "Sales North" in teams:
        services.plan_save(
            actor=None,
            data={
                "name": NORTH,
                "description": "Booking plan with an accelerator above quota; accessories and services pay more.",
                "basis": "booking",
                "effective_from": start,
                "base_rate": Decimal("3"),
                "cap_amount": Decimal("60000"),
                "clawback_days": 90,
            },
            teams=[teams["Sales North"]],
            tiers=[(0, 2), (50, 4), (100, 7)],
            category_rates=[(categories[slug], rate) for slug, rate in RATES if slug in categories],
        )
        made += 1
    if not Plan.objects.filter(name=SOUTH).exists() and "Sales South" in teams:
        spifs = []
        if "volt-city" in products:
            spifs.append(
                {
                    "product": products["volt-city"],
                    "amount_per_unit": Decimal("40"),
                    "starts_on": calculator.month_add(calculator.month_start(today), -2),
                    "ends_on": calculator.month_end(today),
                }
            )
        if "ergochair-plus" in products:
            spifs.append(
                {
                    "product": products["ergochair-plus"],
                    "amount_per_unit": Decimal("15"),
                    "starts_on": calculator.month_add(start, 2),
                    "ends_on": calculator.month_end(calculator.month_add(start, 4)),
                }
            )
        services.plan_save(
            actor=None,
            data={
                "name": SOUTH,
                "description": "Earned when the customer has the goods; spring and autumn SPIFs.",
                "basis": "delivery",
                "effective_from": start,
                "base_rate": Decimal("3.5"),
                "clawback_days": 60,
            },
            teams=[teams["Sales South"]],
            spifs=spifs,
        )
        made += 1

    rng = random.Random(SEED)  # noqa: S311 (demo data)
    splits = 0
    pairs = [("rep", "rep2", 50), ("rep2", "rep", 70), ("rep3", "rep4", 60), ("rep4", "rep3", 50)]
    if not CommissionSplit.objects.exists():
        for owner_name, partner_name, percent in pairs:
            owner, partner = _user(ctx, owner_name), _user(ctx, partner_name)
            if owner is None or partner is None:
                continue
            orders = list(
                Order.objects.filter(owner=owner, ordered_on__gte=start, status__in=["delivered", "closed"])
                .order_by("-total")
                .values_list("pk", flat=True)[:40]
            )
            for pk in rng.sample(orders, min(3, len(orders))):
                services.order_splits_set(
                    order=Order.objects.get(pk=pk),
                    splits=[(owner, Decimal(percent)), (partner, Decimal(100 - percent))],
                    actor=None,
                )
                splits += 1

    payments = 0
    if not Payment.objects.exists():
        delivered = list(
            Order.objects.filter(
                status__in=["delivered", "closed"], delivered_at__date__gte=today - timedelta(days=75)
            ).order_by("delivered_at", "id")[:60]
        )
        for order in delivered:
            paid_on = min(today, order.delivered_at.date() + timedelta(days=rng.randint(5, 30)))
            share = Decimal("1") if rng.random() < 0.7 else Decimal("0.5")
            order_payment_record(
                order=order,
                amount=(order.total * share).quantize(Decimal("0.01")),
                received_on=paid_on,
                actor=None,
                reference=f"BANK-{order.number}",
            )
            payments += 1
    ctx.log(f"commissions: {made} plans made, {splits} orders split, {payments} payments recorded")


@demo_step(order=96)
def demo_commission_statements(ctx: DemoContext) -> None:
    """The last twelve months' statements, after forecasting's quotas exist (its step 95)."""
    from commissions import calculator, services
    from commissions.models import Statement

    today = timezone.localdate()
    this_month = calculator.month_start(today)
    first = calculator.month_add(this_month, -11)
    counts = services.statements_compute(first=first, last=this_month, actor=None)
    managers = {"Sales North": _user(ctx, "manager"), "Sales South": _user(ctx, "manager2")}
    approved = 0
    for statement in Statement.objects.filter(
        status=Statement.Status.DRAFT, period__lt=calculator.month_add(this_month, -1)
    ).select_related("rep__team"):
        manager = managers.get(statement.rep.team.name if statement.rep.team else "")
        services.statement_approve(statement=statement, actor=manager)
        approved += 1
    total = sum(Statement.objects.values_list("total", flat=True), Decimal(0))
    ctx.log(
        f"commission statements: {counts['computed']} computed, {counts['locked']} kept, {approved} approved "
        f"over {first:%b %Y} – {this_month:%b %Y}; {total:,.2f} in all"
    )
