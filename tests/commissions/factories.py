"""factory_boy factories of the commissions app (rows written directly; the services are tested separately)."""

from datetime import date
from decimal import Decimal

import factory

from commissions.models import CommissionSplit, Plan, PlanParticipant, PlanTier, Statement
from tests.factories import UserFactory
from tests.orders.factories import OrderFactory


class PlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Plan

    name = factory.Sequence(lambda n: f"Plan {n}")
    basis = "booking"
    effective_from = date(2020, 1, 1)
    base_rate = Decimal("3.000")
    clawback_days = 90
    created_by = factory.SubFactory(UserFactory, role="manager")


class PlanParticipantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PlanParticipant

    plan = factory.SubFactory(PlanFactory)
    user = factory.SubFactory(UserFactory)


class PlanTierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PlanTier

    plan = factory.SubFactory(PlanFactory)
    threshold = Decimal("0")
    rate = Decimal("2")


class CommissionSplitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CommissionSplit

    order = factory.SubFactory(OrderFactory)
    rep = factory.SubFactory(UserFactory)
    percent = Decimal("100")


class StatementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Statement

    rep = factory.SubFactory(UserFactory)
    period = date(2026, 1, 1)


def open_opportunity(owner, *, amount=Decimal("1000"), lines=(), currency="EUR"):
    """An open opportunity of ``owner`` in the default pipeline's first stage, with product ``lines``
    [(product, quantity, unit price)]."""
    from leads.models import Opportunity, OpportunityLine
    from leads.services import pipeline_default

    pipeline = pipeline_default()
    stage = pipeline.stages.order_by("order").first()
    opportunity = Opportunity.objects.create(
        name="Fleet renewal",
        owner=owner,
        pipeline=pipeline,
        stage=stage,
        amount=amount,
        currency=currency,
        probability=stage.probability,
        forecast_category=stage.forecast_category,
        expected_close=date(2027, 1, 31),
    )
    for position, (product, quantity, price) in enumerate(lines, start=1):
        OpportunityLine.objects.create(
            opportunity=opportunity,
            position=position,
            product=product,
            description=product.name,
            quantity=quantity,
            unit_price=price,
        )
    return opportunity
