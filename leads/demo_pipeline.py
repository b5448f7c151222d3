"""Demo opportunities: deals at every stage of the default pipeline for the demo reps and managers, with
eighteen months of believable history (moves, slipped close dates, revised amounts, wins, losses with
their reasons), written through opportunity_create / opportunity_update with past timestamps so that the
stage history and the pipeline reports have real figures. Amounts in EUR from the catalog's prices.

Idempotent: the plan is drawn from its own seeded random generator, and nothing is written when its
first deal exists already. Everything is written in one transaction (fast on SQLite, all or nothing).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from sfa.demo import DemoContext

SEED = 1807
DAYS_BACK = 540  # eighteen months
OWNERS = [
    # username, deals already decided or under way, open deals spread over the stages
    ("rep", 30, 12),
    ("rep2", 26, 10),
    ("rep3", 28, 11),
    ("rep4", 22, 9),
    ("manager", 7, 4),
    ("manager2", 6, 4),
]
DEALS = [
    # main product, quantity range, extra product (one per unit of the main one), deal name
    ("aurora", (2, 12), "service-plan-car", "{n} Aurora for the sales fleet"),
    ("aurora", (3, 18), "wallbox-11", "Fleet renewal: {n} Aurora EV"),
    ("volt-trek", (5, 40), "extended-warranty-bike", "{n} Volt Trek for the staff bike scheme"),
    ("volt-city", (4, 25), "helmet-urban", "{n} Volt City for city deliveries"),
    ("flexdesk", (10, 80), "ergochair", "New office: {n} FlexDesk Pro workplaces"),
    ("flexdesk-basic-2", (12, 60), "monitor-arm", "{n} sit-stand desks"),
    ("ergochair-plus", (10, 50), None, "{n} ErgoChair Plus for the call centre"),
    ("wallbox-11", (4, 24), "wallbox-installation", "Car park charging: {n} wallboxes"),
]
FALLBACK = {  # EUR prices and names should the catalog demo not have run
    "aurora": ("Aurora", "32900"),
    "service-plan-car": ("Car service plan, 3 years", "990"),
    "wallbox-11": ("Home wallbox 11 kW", "899"),
    "volt-trek": ("Volt Trek", "3490"),
    "extended-warranty-bike": ("Extended warranty, e-bike", "199"),
    "volt-city": ("Volt City", "2490"),
    "helmet-urban": ("Urban helmet with light", "89"),
    "flexdesk": ("FlexDesk Pro", "549"),
    "ergochair": ("ErgoChair", "429"),
    "flexdesk-basic-2": ("FlexDesk Basic 2", "399"),
    "monitor-arm": ("Monitor arm, dual", "149"),
    "ergochair-plus": ("ErgoChair Plus", "649"),
    "wallbox-installation": ("Wallbox installation", "690"),
}
DWELL_DAYS = {  # how long a deal sits in each open stage
    "Prospecting": (3, 18),
    "Qualification": (5, 24),
    "Needs analysis": (7, 30),
    "Proposal": (6, 35),
    "Negotiation": (4, 26),
}
LOSS_CHANCE = {"Prospecting": 0.08, "Qualification": 0.12, "Needs analysis": 0.1, "Proposal": 0.15, "Negotiation": 0.15}
LOST_REASONS = [
    "Price too high",
    "Chose a competitor",
    "Chose a competitor (lower price)",
    "No budget this year",
    "Project cancelled",
    "No decision, went silent",
    "Delivery time too long",
]
NEXT_STEPS = [
    "Call to qualify the need",
    "Demo on site",
    "Send the proposal",
    "Test rides for the team",
    "Meet the buyer and the CFO",
    "Answer the tender questions",
    "Agree the delivery plan",
    "Final price call",
]
VIA = ["board"] * 11 + ["form"] * 7 + ["api"] * 2


@dataclass
class Line:
    slug: str
    description: str
    quantity: int
    unit_price: Decimal


@dataclass
class Plan:
    owner: Any
    account: Any
    contact: Any
    name: str
    lines: list[Line]
    created: datetime
    open_target: int | None  # open deals: the stage index they end in
    close: date | None = None
    steps: list[tuple[str, datetime, dict[str, Any], str, Any]] = field(default_factory=list)


def demo_opportunities(ctx: DemoContext) -> None:
    from catalog.models import Product
    from catalog.selectors import current_prices
    from contacts.models import Account, Contact
    from leads.models import Opportunity, StageChange
    from leads.services import pipeline_default
    from sfa.models import User

    users = {name: ctx.users.get(name) or User.objects.filter(username=name).first() for name, _, _ in OWNERS}
    users = {name: user for name, user in users.items() if user is not None}
    if not users:
        ctx.log("pipeline: no demo sales users, skipped")
        return
    pipeline = pipeline_default()
    stages = list(pipeline.stages.order_by("order"))
    open_stages = [s for s in stages if not s.is_closed]
    won = next(s for s in stages if s.forecast_category == "closed_won")
    lost = next(s for s in stages if s.forecast_category == "closed_lost")

    products = {p.slug: p for p in Product.objects.filter(slug__in=FALLBACK)}
    prices = current_prices(product_ids=[p.pk for p in products.values()])

    def price(slug: str) -> tuple[str, Decimal]:
        product = products.get(slug)
        eur = prices.get(product.pk, {}).get("EUR") if product else None
        return (product.name if product else FALLBACK[slug][0]), Decimal(str(eur or FALLBACK[slug][1]))

    rng = random.Random(SEED)  # noqa: S311 (demo data)
    now = timezone.now().replace(microsecond=0)
    accounts_by_owner: dict[int, list] = {}
    for account in Account.objects.filter(owner__in=users.values(), merged_into__isnull=True).order_by("id"):
        accounts_by_owner.setdefault(account.owner_id, []).append(account)
    fallback_accounts = list(Account.objects.filter(merged_into__isnull=True).order_by("id")[:200])

    plans: list[Plan] = []
    for username, decided, open_count in OWNERS:
        owner = users.get(username)
        if owner is None:
            continue
        pool = accounts_by_owner.get(owner.pk) or fallback_accounts
        if not pool:
            ctx.log("pipeline: no accounts to sell to, skipped")
            return
        for index in range(decided + open_count):
            main, (low, high), extra, title = rng.choice(DEALS)
            quantity = rng.randint(low, high)
            name, unit = price(main)
            discount = Decimal(1) - Decimal(rng.choice([0, 0, 3, 5, 8, 10, 12])) / 100
            lines = [Line(main, name, quantity, (unit * discount).quantize(Decimal("0.01")))]
            if extra and rng.random() < 0.6:
                extra_name, extra_unit = price(extra)
                lines.append(Line(extra, extra_name, quantity, extra_unit))
            account = rng.choice(pool)
            open_target = None
            if index >= decided:
                open_target = (index - decided) % len(open_stages)
                created = now - timedelta(days=_days_to_reach(open_target, open_stages, rng) + rng.uniform(1, 12))
            else:
                created = now - timedelta(days=rng.uniform(45, DAYS_BACK))
            plans.append(
                Plan(
                    owner=owner,
                    account=account,
                    contact=None,
                    name=title.format(n=quantity),
                    lines=lines,
                    created=_office_hours(created, created - timedelta(days=1), rng),
                    open_target=open_target,
                )
            )
    first = plans[0]
    if Opportunity.objects.filter(owner=first.owner, account=first.account, name=first.name).exists():
        ctx.log(f"pipeline: already there ({Opportunity.objects.count()} opportunities)")
        return

    people: dict[int, Any] = {}
    for contact in Contact.objects.filter(account__in={p.account.pk for p in plans}, merged_into__isnull=True).order_by(
        "id"
    ):
        people.setdefault(contact.account_id, contact)
    managers = dict(_team_managers())
    for plan in plans:
        plan.contact = people.get(plan.account.pk)
        _simulate(plan, rng, now, open_stages, won, lost, managers)
    ids = _write(plans, pipeline, now, rng)
    written = Opportunity.objects.filter(pk__in=ids)
    ctx.log(
        f"pipeline: {len(ids)} opportunities ({written.filter(closed_at__isnull=False).count()} won or lost) with "
        f"{StageChange.objects.filter(opportunity__in=ids).count()} history rows over {DAYS_BACK // 30} months"
    )


def _days_to_reach(target: int, open_stages: list, rng: random.Random) -> float:
    """Days an open deal needs to have spent to sit in stage ``target`` now, plus part of that stage."""
    days = 0.0
    for stage in open_stages[:target]:
        low, high = DWELL_DAYS.get(stage.name, (5, 20))
        days += rng.uniform(low, high)
    return days


def _office_hours(moment: datetime, after: datetime, rng: random.Random) -> datetime:
    """``moment`` moved to a working hour of its day (people move deals at work), still after ``after``."""
    local = timezone.localtime(moment).replace(
        hour=rng.randint(8, 17), minute=rng.randint(0, 59), second=0, microsecond=0
    )
    while local <= after:
        local += timedelta(days=1)
    return local


def _team_managers() -> list[tuple[int, Any]]:
    from sfa.models import Team

    return [(t.pk, t.manager) for t in Team.objects.filter(manager__isnull=False).select_related("manager")]


def _simulate(plan: Plan, rng: random.Random, now: datetime, open_stages: list, won, lost, managers) -> None:
    """Walk the deal through the stages from its creation; each step is (kind, at, data, via, actor)."""
    at = plan.created
    close = (at + timedelta(days=rng.uniform(40, 110))).date()
    plan.close = close
    index = 0
    manager = managers.get(plan.owner.team_id)
    while True:
        stage = open_stages[index]
        low, high = DWELL_DAYS.get(stage.name, (5, 20))
        leave = _office_hours(at + timedelta(days=rng.uniform(low, high)), at, rng)
        last_step = plan.open_target is not None and index == plan.open_target
        horizon = min(leave, now - timedelta(hours=1)) if not last_step else now - timedelta(hours=1)
        # Along the way: the amount is revised now and then, and a close date that passes slips.
        if rng.random() < 0.18 and index >= 2:
            middle = _office_hours(at + (horizon - at) / 2, at, rng)
            factor = Decimal(rng.choice(["0.92", "0.95", "1.05", "1.10", "1.15"]))
            plan.steps.append(("amount", middle, {"factor": factor}, "form", plan.owner))
        while close < horizon.date():
            slip_at = max(
                at + timedelta(hours=2),
                timezone.make_aware(datetime.combine(close, datetime.min.time())) + timedelta(hours=9),
            )
            if slip_at >= horizon:
                break
            close = close + timedelta(days=rng.randint(14, 45))
            plan.steps.append(("close", slip_at, {"expected_close": close}, rng.choice(["form", "api"]), plan.owner))
        if last_step or leave >= now:
            break
        actor = manager if manager is not None and rng.random() < 0.1 else plan.owner
        via = rng.choice(VIA)
        if plan.open_target is None and rng.random() < LOSS_CHANCE.get(stage.name, 0.15):
            plan.steps.append(("lost", leave, {"stage": lost, "lost_reason": rng.choice(LOST_REASONS)}, via, actor))
            return
        if index == len(open_stages) - 1:
            plan.steps.append(("won", leave, {"stage": won, "expected_close": leave.date()}, via, actor))
            return
        # Now and then a proposal goes back to the analysis of the need.
        if stage.name == "Proposal" and index > 0 and rng.random() < 0.08:
            index -= 1
        else:
            index += 1
        data: dict[str, Any] = {"stage": open_stages[index]}
        if open_stages[index].name == "Negotiation" and rng.random() < 0.3:
            data["probability"] = rng.choice([70, 90])
        plan.steps.append(("move", leave, data, via, actor))
        at = leave


@transaction.atomic
def _write(plans: list[Plan], pipeline, now: datetime, rng: random.Random) -> list[int]:
    from leads.models import OpportunityLine
    from leads.services import opportunity_create, opportunity_update

    lines, ids = [], []
    for plan in plans:
        amount = sum((line.unit_price * line.quantity for line in plan.lines), Decimal(0))
        opportunity = opportunity_create(
            actor=plan.owner,
            name=plan.name,
            account=plan.account,
            contact=plan.contact,
            pipeline=pipeline,
            amount=amount,
            currency="EUR",
            expected_close=plan.close,
            via=rng.choice(["form", "form", "api"]),
            at=plan.created,
        )
        ids.append(opportunity.pk)
        for kind, at, data, via, actor in sorted(plan.steps, key=lambda step: step[1]):
            if kind == "amount":
                amount = (amount * data["factor"]).quantize(Decimal("1"))
                data = {"amount": amount}
            opportunity_update(opportunity=opportunity, actor=actor, data=data, via=via, at=at)
        if not opportunity.stage.is_closed:
            step = rng.choice(NEXT_STEPS)
            opportunity_update(
                opportunity=opportunity,
                actor=plan.owner,
                data={"next_step": step, "next_step_date": (now + timedelta(days=rng.randint(1, 21))).date()},
                via="form",
            )
        # The lines carry the final amount: a revision is a discount or an extra on the main line.
        extra = sum((line.unit_price * line.quantity for line in plan.lines[1:]), Decimal(0))
        main = plan.lines[0]
        main_unit = ((opportunity.amount - extra) / main.quantity).quantize(Decimal("0.01"))
        for line, unit in [(main, main_unit), *((line, line.unit_price) for line in plan.lines[1:])]:
            lines.append(
                OpportunityLine(
                    opportunity=opportunity,
                    product_id=_product_id(line.slug),
                    description=line.description,
                    quantity=line.quantity,
                    unit_price=unit,
                )
            )
    OpportunityLine.objects.bulk_create(lines)
    return ids


_PRODUCT_IDS: dict[str, int | None] = {}


def _product_id(slug: str) -> int | None:
    if slug not in _PRODUCT_IDS:
        from catalog.models import Product

        _PRODUCT_IDS[slug] = Product.objects.filter(slug=slug).values_list("id", flat=True).first()
    return _PRODUCT_IDS[slug]
