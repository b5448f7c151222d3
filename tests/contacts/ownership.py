"""Rows of the contacts app owned by a given user, for the permission matrix test."""


def make_owned(model, owner):
    """A row of ``model`` owned by ``owner``, for tests/test_permissions_matrix.py."""
    from contacts import models as m

    account = m.Account.objects.create(name="Acme", name_key="acme", owner=owner)
    contact = m.Contact.objects.create(last_name="Doe", last_key="doe", owner=owner, account=account)
    purpose, _ = m.Purpose.objects.get_or_create(name="Renewal", code="renewal")
    touch = m.Touch.objects.create(contact=contact, account=account, channel="call", purpose=purpose, user=owner)
    rows = {
        m.Account: account,
        m.Contact: contact,
        m.Touch: touch,
        m.Purpose: purpose,
        m.FollowUp: lambda: m.FollowUp.objects.create(
            contact=contact, assignee=owner, created_by=owner, due="2026-12-01", note="x"
        ),
        m.Campaign: lambda: m.Campaign.objects.create(
            name="c", purpose=purpose, channel="email", planned_for="2026-12-01T10:00Z", created_by=owner
        ),
        m.GuardRule: lambda: m.GuardRule.objects.get_or_create(purpose=purpose)[0],
        m.OutreachSettings: lambda: m.OutreachSettings.objects.create(),
        m.GuardLog: lambda: m.GuardLog.objects.create(
            user=owner, contact=contact, purpose=purpose, channel="call", verdict="blocked", via="form"
        ),
    }
    rows[m.MatchingSettings] = lambda: m.MatchingSettings.objects.create()
    rows[m.MatchCandidate] = lambda: m.MatchCandidate.objects.create(
        subject="contact", a_id=contact.pk, b_id=contact.pk + 1, score=0.7, source="scan"
    )
    rows[m.Merge] = lambda: m.Merge.objects.create(subject="contact", survivor_id=contact.pk, by=owner)
    row = rows[model]
    return row() if callable(row) else row
