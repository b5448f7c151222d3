"""Rows of the leads app owned by a given user, for the permission matrix test."""

from datetime import date

from django.core.files.base import ContentFile


def make_owned(model, owner):
    from contacts.models import Contact
    from leads import models as m
    from leads.services import pipeline_default

    contact = Contact.objects.create(last_name="Doe", last_key="doe", owner=owner, is_prospect=True)
    pipeline = pipeline_default()
    stage = pipeline.stages.first()
    from sfa.models import Team

    rows = {
        m.Lead: lambda: m.Lead.objects.create(contact=contact, owner=owner),
        m.Opportunity: lambda: m.Opportunity.objects.create(
            name="Deal",
            owner=owner,
            pipeline=pipeline,
            stage=stage,
            probability=10,
            forecast_category="pipeline",
            expected_close=date(2027, 1, 31),
        ),
        m.LeadImport: lambda: m.LeadImport.objects.create(
            vendor="V",
            list_name="L",
            created_by=owner,
            original_name="x.csv",
            file=ContentFile(b"first_name,last_name,email\nAda,Lovelace,ada@example.com\n", name="x.csv"),
        ),
        m.Pipeline: lambda: pipeline,
        m.Stage: lambda: stage,
        m.AssignmentRule: lambda: m.AssignmentRule.objects.create(name="R", team=Team.objects.first()),
        m.RelatedProductRule: lambda: _related_rule(owner),
    }
    return rows[model]()


def _related_rule(owner):
    from contacts.models import Purpose
    from leads.models import RelatedProductRule
    from tests.catalog.factories import ProductFactory

    purpose, _ = Purpose.objects.get_or_create(code="cross-sell", defaults={"name": "Cross-sell"})
    return RelatedProductRule.objects.create(
        name=f"Rule {RelatedProductRule.objects.count() + 1}",
        offer_product=ProductFactory(),
        relation_kinds=["accessory"],
        purpose=purpose,
        created_by=owner,
    )
