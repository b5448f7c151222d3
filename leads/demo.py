"""Demo leads: several sources and purchased lists, assignment rules, history for the scoring model,
and the pipeline's opportunities."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from sfa.demo import DemoContext, demo_step

SOURCES = [
    ("web_form", "Website contact form"),
    ("event", "Logistics Expo 2026"),
    ("referral", "Customer referral"),
    ("configurator", "Online configurator"),
    ("manual", ""),
]
INTERESTS = ["e-bike", "fleet", "leasing", "service contract", "office furniture", "spare parts", "upgrade"]


@demo_step(order=50)
def demo_leads(ctx: DemoContext) -> None:
    from contacts.matching.synthetic import generate
    from leads.models import AssignmentRule, Lead, LeadImport
    from leads.services import lead_create, lead_score, pipeline_default, scoring_retrain
    from sfa.models import Team

    pipeline_default()
    if Lead.objects.exists():
        ctx.log(f"leads: already there ({Lead.objects.count()})")
        return
    rng = ctx.rng
    north, south = Team.objects.get(name="Sales North"), Team.objects.get(name="Sales South")
    AssignmentRule.objects.create(name="Germany: Sales North", order=10, country="DE", team=north)
    AssignmentRule.objects.create(name="Austria: Sales North", order=11, country="AT", team=north)
    AssignmentRule.objects.create(
        name="Fleet interest: Sales South, least loaded",
        order=20,
        interest="fleet",
        team=south,
        method=AssignmentRule.Method.LEAST_LOADED,
    )
    manager = ctx.users["manager"]
    purchased = LeadImport.objects.create(
        vendor="Bisnode",
        list_name="Logistics companies DACH 2026",
        cost=1800,
        currency="EUR",
        original_name="bisnode-logistics-dach.csv",
        status=LeadImport.Status.DONE,
        created_by=manager,
        row_count=240,
        finished_at=timezone.now() - timedelta(days=20),
    )
    people = generate(400, duplicate_share=0.0, seed=99)[:360]
    created = []
    for index, person in enumerate(people):
        from_list = index < 240
        source, detail = ("purchased_list", purchased.list_name) if from_list else rng.choice(SOURCES)
        lead = lead_create(
            actor=None,
            source=source,
            source_detail=detail,
            company=person.company,
            person={
                "first_name": person.first_name,
                "last_name": person.last_name,
                "email": person.email,
                "phone": person.phone if rng.random() < 0.7 else "",
                "street": person.street,
                "city": person.city,
                "postcode": person.postcode,
                "country": person.country,
            },
            interests=rng.sample(INTERESTS, rng.randint(0, 2)),
            lead_import=purchased if from_list else None,
        )
        created.append(lead)
    # Their history: older leads were worked, converted or disqualified (the scoring model learns from it).
    now = timezone.now()
    for lead in created:
        age = rng.randint(1, 400)
        inbound = lead.source in ("web_form", "configurator", "referral", "event")
        roll = rng.random()
        if age > 60 and roll < (0.45 if inbound else 0.12):
            status = "converted"
        elif age > 30 and roll < 0.7:
            status = "disqualified"
        else:
            status = rng.choice(["new", "new", "working", "qualified"])
        Lead.objects.filter(pk=lead.pk).update(
            created_at=now - timedelta(days=age),
            status=status,
            disqualify_reason="No budget this year" if status == "disqualified" else "",
            converted_at=now - timedelta(days=age - 30) if status == "converted" else None,
        )
    model = scoring_retrain()
    if model is None:
        for lead in Lead.objects.all():
            lead_score(lead=lead)
    unassigned = Lead.objects.filter(owner__isnull=True).count()
    ctx.log(
        f"leads: {len(created)} from {len(SOURCES) + 1} sources (a purchased list of 240), {unassigned} unassigned,"
        f" scoring {'model ' + model.version if model else 'by rules'}"
    )


@demo_step(order=60)
def demo_pipeline(ctx: DemoContext) -> None:
    try:
        from leads.demo_pipeline import demo_opportunities
    except ImportError:  # the pipeline's demo arrives with its pages
        return
    demo_opportunities(ctx)


@demo_step(order=65)
def demo_related_rules(ctx: DemoContext) -> None:
    from leads.demo_related import demo_related_rules as write_rules

    write_rules(ctx)
