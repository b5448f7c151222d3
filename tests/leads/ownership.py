"""Rows of the leads app owned by a given user, for the permission matrix test."""

from datetime import date


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
            vendor="V", list_name="L", created_by=owner, original_name="x.csv"
        ),
        m.Pipeline: lambda: pipeline,
        m.Stage: lambda: stage,
        m.AssignmentRule: lambda: m.AssignmentRule.objects.create(name="R", team=Team.objects.first()),
    }
    return rows[model]()
