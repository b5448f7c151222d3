"""The outreach guard on every path: direct logging, planning, campaigns and scheduled sends."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from contacts.guard import Conflict, guard_check
from contacts.models import ChannelConsent, GuardLog, OutreachSettings, Touch
from contacts.services import (
    GuardBlocked,
    GuardWarning,
    campaign_plan,
    consent_set,
    planned_touches_send_due,
    touch_log,
    touch_record,
)
from tests.contacts.factories import TouchFactory
from tests.factories import UserFactory

DAY = timedelta(days=1)


def log(actor, contact, purpose, **kw):
    return touch_log(actor=actor, contact=contact, purpose=purpose, channel=kw.pop("channel", "call"), **kw)


def test_a_second_department_is_warned_and_goes_ahead_with_a_reason(org, purposes, anna):
    first = log(org.rep, anna, purposes["cross_sell"], channel="email", at=timezone.now() - 3 * DAY)
    with pytest.raises(GuardWarning) as warned:
        log(org.marketing, anna, purposes["cross_sell"])
    conflict = warned.value.verdict.conflicts[0]
    assert conflict.touch_id == first.pk and conflict.user == str(org.rep) and conflict.department == "Sales"
    assert Touch.objects.count() == 1 and not GuardLog.objects.exists()

    touch = log(org.marketing, anna, purposes["cross_sell"], override_reason="Customer asked for the brochure")
    assert touch.override_reason == "Customer asked for the brochure"
    assert touch.guard_conflicts[0]["touch_id"] == first.pk
    entry = GuardLog.objects.get()
    assert (entry.verdict, entry.via, entry.department.name, entry.touch) == ("overridden", "form", "Marketing", touch)


def test_the_same_user_is_not_warned_about_their_own_touch(org, purposes, anna):
    log(org.rep, anna, purposes["cross_sell"], at=timezone.now() - DAY)
    assert log(org.rep, anna, purposes["cross_sell"]).pk


def test_touches_outside_the_window_or_for_another_purpose_do_not_count(org, purposes, anna):
    log(org.rep, anna, purposes["cross_sell"], at=timezone.now() - 20 * DAY)
    log(org.rep, anna, purposes["onboarding"], at=timezone.now() - DAY)
    assert log(org.marketing, anna, purposes["cross_sell"]).pk


def test_an_account_scope_rule_covers_every_contact_of_the_account(org, purposes, anna, bernd):
    log(org.rep, anna, purposes["renewal"], at=timezone.now() - 5 * DAY)
    with pytest.raises(GuardWarning):
        log(org.rep_b, bernd, purposes["renewal"])
    # cross-sell is scoped to the contact: Bernd is free
    log(org.rep, anna, purposes["cross_sell"], at=timezone.now() - DAY)
    assert log(org.rep_b, bernd, purposes["cross_sell"]).pk


def test_a_planned_touch_inside_the_window_counts_too(org, purposes, anna):
    log(org.rep, anna, purposes["cross_sell"], status="planned", at=timezone.now() + 5 * DAY)
    with pytest.raises(GuardWarning):
        log(org.marketing, anna, purposes["cross_sell"])


def test_block_mode_refuses_reps_and_lets_a_manager_override_with_a_reason(org, purposes, anna):
    log(org.rep, anna, purposes["payment"], channel="email", at=timezone.now() - DAY)
    with pytest.raises(GuardBlocked) as refused:
        log(org.marketing, anna, purposes["payment"], override_reason="I insist")
    assert refused.value.overridable is False
    with pytest.raises(GuardBlocked) as needs_reason:
        log(org.manager, anna, purposes["payment"])
    assert needs_reason.value.overridable is True
    assert GuardLog.objects.filter(verdict="blocked").count() == 2
    touch = log(org.manager, anna, purposes["payment"], override_reason="Legal deadline tomorrow")
    assert GuardLog.objects.get(verdict="block_overridden").touch == touch


def test_do_not_contact_blocks_everyone_but_inbound_touches_are_logged(org, purposes, anna):
    consent_set(
        contact=anna, actor=org.marketing, channel="call", status=ChannelConsent.Status.DO_NOT_CONTACT, source="phone"
    )
    with pytest.raises(GuardBlocked) as refused:
        log(org.admin, anna, purposes["onboarding"], channel="call", override_reason="please")
    assert refused.value.verdict.hard and not refused.value.overridable
    assert "do not contact" in str(refused.value).lower()
    assert log(org.rep, anna, purposes["onboarding"], channel="email").pk  # other channels are fine
    assert log(org.rep, anna, purposes["onboarding"], channel="call", direction="in").pk  # she called us


def test_a_contact_wide_opt_out_blocks_every_channel(org, purposes, anna):
    from contacts.services import contact_update

    contact_update(contact=anna, actor=org.rep, data={"do_not_contact": True, "do_not_contact_source": "letter"})
    for channel in ("call", "email", "letter", "visit"):
        with pytest.raises(GuardBlocked):
            log(org.manager, anna, purposes["onboarding"], channel=channel, override_reason="x")


def test_the_frequency_cap_warns_on_the_next_outbound_touch(org, purposes, anna):
    OutreachSettings.objects.create(frequency_cap=2, frequency_window_days=7, frequency_mode="warn")
    log(org.rep, anna, purposes["onboarding"], at=timezone.now() - 2 * DAY)
    log(org.rep, anna, purposes["onboarding"], at=timezone.now() - DAY)
    with pytest.raises(GuardWarning) as warned:
        log(org.rep, anna, purposes["onboarding"])
    assert warned.value.verdict.conflicts[0].kind == "frequency"


def test_touches_the_system_records_do_not_count_against_the_frequency_cap(org, purposes, anna):
    """An order's confirmation, shipping and delivery notes are on the timeline but are not outreach."""
    OutreachSettings.objects.create(frequency_cap=2, frequency_window_days=7, frequency_mode="block")
    for days in (3, 2, 1):
        touch_record(contact=anna, purpose=purposes["onboarding"], user=org.rep, at=timezone.now() - days * DAY)
    log(org.rep, anna, purposes["onboarding"], at=timezone.now() - 2 * DAY)  # real touches: under the cap
    log(org.rep, anna, purposes["onboarding"], at=timezone.now() - DAY)  # the second one reaches it
    with pytest.raises(GuardBlocked):
        log(org.rep, anna, purposes["onboarding"])


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"channel": "pigeon"}, "channel"),
        ({"direction": "sideways"}, "direction"),
        ({"status": "held"}, "status"),
        ({"outcome": "great"}, "outcome"),
        ({"at": timezone.now() + timedelta(days=3)}, "at"),
        ({"status": "planned", "at": timezone.now() - timedelta(days=3)}, "at"),
        ({"followup_due": timezone.localdate()}, "followup_note"),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_saves_nothing(org, purposes, anna, kwargs, field):
    kwargs.setdefault("channel", "call")
    with pytest.raises(ValidationError) as error:
        touch_log(actor=org.rep, contact=anna, purpose=purposes["onboarding"], **kwargs)
    assert field in error.value.message_dict
    assert not Touch.objects.exists()


def test_a_retired_purpose_cannot_be_used(org, purposes, anna):
    from contacts.services import purpose_save

    purpose_save(actor=org.admin, purpose=purposes["onboarding"], name="Onboarding", is_active=False)
    with pytest.raises(ValidationError):
        log(org.rep, anna, purposes["onboarding"])


def test_bulk_planning_reports_the_conflicts_per_contact(org, purposes, anna, bernd, acme):
    from contacts.services import contact_create

    carla = contact_create(actor=org.rep, first_name="Carla", last_name="Rossi")
    log(org.rep, anna, purposes["cross_sell"], at=timezone.now() - DAY)
    consent_set(contact=bernd, actor=org.rep, channel="email", status="withdrawn", source="unsubscribe link")
    campaign = campaign_plan(
        actor=org.marketing,
        name="Spring offer",
        purpose=purposes["cross_sell"],
        channel="email",
        planned_for=timezone.now() + 2 * DAY,
        contacts=[anna, bernd, carla],
    )
    assert [r["contact"] for r in campaign.report["planned"]] == [carla.pk]
    assert [r["contact"] for r in campaign.report["warned"]] == [anna.pk]
    assert [r["contact"] for r in campaign.report["blocked"]] == [bernd.pk]
    assert campaign.report["warned"][0]["conflicts"][0]["user"] == str(org.rep)
    assert Touch.objects.filter(campaign=campaign, status="planned").count() == 1
    assert GuardLog.objects.filter(via="campaign", verdict="blocked").count() == 1


def test_scheduled_sends_check_the_guard_again_at_send_time(org, purposes, anna, bernd):
    mail.outbox.clear()
    planned = log(
        org.marketing,
        anna,
        purposes["cross_sell"],
        channel="email",
        status="planned",
        at=timezone.now() + timedelta(minutes=30),
    )
    free = log(
        org.marketing,
        bernd,
        purposes["cross_sell"],
        channel="email",
        status="planned",
        at=timezone.now() + timedelta(minutes=30),
    )
    # Meanwhile a rep called Anna for cross-sell, and Bernd stays free.
    log(org.rep, anna, purposes["cross_sell"], channel="call", override_reason="She asked for a call today")
    Touch.objects.filter(pk__in=[planned.pk, free.pk]).update(at=timezone.now() - timedelta(minutes=1))
    counts = planned_touches_send_due()
    assert counts == {"sent": 1, "held": 1, "cancelled": 0}
    planned.refresh_from_db()
    free.refresh_from_db()
    assert planned.status == "held" and GuardLog.objects.filter(via="schedule", verdict="held").count() == 1
    assert free.status == "done" and free.outcome == "sent"
    assert len(mail.outbox) == 0  # Bernd has no e-mail address: done, but no mail to send


def test_a_scheduled_email_is_sent_when_nothing_stands_in_the_way(org, purposes, anna):
    mail.outbox.clear()
    planned = log(
        org.rep,
        anna,
        purposes["onboarding"],
        channel="email",
        status="planned",
        at=timezone.now() + timedelta(minutes=30),
        notes="Welcome aboard!",
    )
    Touch.objects.filter(pk=planned.pk).update(at=timezone.now() - timedelta(minutes=1))
    assert planned_touches_send_due()["sent"] == 1
    assert mail.outbox[0].to == ["Anna.Schmidt@Acme.example"] and "Welcome aboard" in mail.outbox[0].body
    planned.refresh_from_db()
    assert planned.status == "done"
    assert planned_touches_send_due()["sent"] == 0  # running again sends nothing twice


def test_a_do_not_contact_request_cancels_a_scheduled_send(org, purposes, anna):
    planned = log(
        org.rep,
        anna,
        purposes["onboarding"],
        channel="email",
        status="planned",
        at=timezone.now() + timedelta(minutes=30),
    )
    consent_set(contact=anna, actor=org.rep, channel="email", status="do_not_contact", source="complaint")
    Touch.objects.filter(pk=planned.pk).update(at=timezone.now() - timedelta(minutes=1))
    assert planned_touches_send_due()["cancelled"] == 1
    planned.refresh_from_db()
    assert planned.status == "cancelled"


# --- What the guard reads: one statement per check, the same verdicts ---------------------------------


def check(contact, purpose, actor, **kw):
    kw.setdefault("channel", "call")
    kw.setdefault("at", timezone.now())
    return guard_check(contact=contact, purpose=purpose, actor=actor, **kw)


def test_a_check_is_one_statement_and_one_more_for_the_names_of_its_conflicts(
    org, purposes, anna, bernd, django_assert_num_queries
):
    renewal = purposes["renewal"]
    check(anna, renewal, org.rep)  # from here on the rule and the limits come from the cache
    with django_assert_num_queries(1):
        assert check(anna, renewal, org.rep).is_ok
    TouchFactory(contact=bernd, purpose=renewal, user=org.rep_b)
    consent_set(contact=anna, actor=org.rep, channel="email", status="withdrawn", source="unsubscribe link")
    with django_assert_num_queries(2):
        verdict = check(anna, renewal, org.rep, channel="email")
    assert [c.kind for c in verdict.conflicts] == ["do_not_contact", "purpose"]
    assert verdict.hard and verdict.level == "block"
    assert verdict.conflicts[0].message.startswith("Anna Schmidt: consent withdrawn for E-mail since ")
    assert verdict.conflicts[0].message.endswith(" (unsubscribe link).")


def test_conflicts_are_the_newest_ten_with_who_when_and_how(org, purposes, anna, bernd):
    renewal = purposes["renewal"]  # warn, 30 days, the whole account
    at = timezone.now()
    others = [
        TouchFactory(
            contact=bernd if n % 2 else anna,
            purpose=renewal,
            user=org.rep_b if n % 3 else org.marketing,
            channel="email",
            outcome="reached",
            at=at - timedelta(days=n + 1, hours=n),
        )
        for n in range(12)
    ]
    robot = UserFactory(username="robot", first_name="", last_name="", department=None)
    planned = TouchFactory(
        contact=bernd, purpose=renewal, user=robot, department=None, status="planned", at=at + timedelta(hours=1)
    )
    TouchFactory(contact=anna, purpose=renewal, user=org.rep, at=at - DAY)  # the actor's own
    TouchFactory(contact=anna, purpose=renewal, user=org.rep_b, status="cancelled", at=at - DAY)
    TouchFactory(contact=anna, purpose=renewal, user=org.rep_b, direction="in", at=at - DAY)
    TouchFactory(contact=anna, purpose=purposes["cross_sell"], user=org.rep_b, at=at - DAY)

    verdict = check(anna, renewal, org.rep, at=at)

    newest = sorted([planned, *others], key=lambda t: t.at, reverse=True)[:10]
    assert [c.touch_id for c in verdict.conflicts if c.kind == "purpose"] == [t.pk for t in newest]
    assert verdict.conflicts[-1].message.startswith("Anna Schmidt already has 5 outbound touches within 7 days")
    assert verdict.level == "warn" and not verdict.hard
    first = verdict.conflicts[0]
    assert (first.user, first.department, first.status, first.outcome) == ("robot", "", "Planned", "")
    assert first.message.startswith("robot (no department) contacted Bernd Müller for Renewal by call planned for")
    touch = newest[1]
    assert verdict.conflicts[1] == Conflict(
        kind="purpose",
        message=f"{touch.user} ({touch.department}) contacted {touch.contact} for Renewal by e-mail on "
        f"{touch.at:%d %b %Y}: the rule allows one such touch per 30 days.",
        touch_id=touch.pk,
        user=str(touch.user),
        department=str(touch.department),
        at=touch.at.isoformat(),
        channel="E-mail",
        status="Done",
        outcome="Reached",
        contact=str(touch.contact),
    )


def test_a_rule_window_includes_its_edges_and_the_frequency_window_excludes_them(org, purposes, anna):
    OutreachSettings.objects.create(frequency_cap=3, frequency_window_days=7, frequency_mode="block")
    cross_sell, onboarding = purposes["cross_sell"], purposes["onboarding"]  # 14 days; no rule
    at = timezone.now().replace(microsecond=0)
    second = timedelta(seconds=1)
    edge = TouchFactory(contact=anna, purpose=cross_sell, user=org.rep_b, at=at - 14 * DAY)
    TouchFactory(contact=anna, purpose=cross_sell, user=org.rep_b, at=at - 14 * DAY - second)
    late = TouchFactory(contact=anna, purpose=cross_sell, user=org.rep_b, status="planned", at=at + 14 * DAY)
    TouchFactory(contact=anna, purpose=cross_sell, user=org.rep_b, status="planned", at=at + 14 * DAY + second)
    verdict = check(anna, cross_sell, org.rep, at=at)
    assert [c.touch_id for c in verdict.conflicts] == [late.pk, edge.pk]
    assert verdict.level == "warn"

    # Frequency: strictly less than 7 days away; held and planned touches count, cancelled and inbound not.
    TouchFactory(contact=anna, purpose=onboarding, user=org.rep, at=at - 7 * DAY)
    TouchFactory(contact=anna, purpose=onboarding, user=org.rep, at=at - 7 * DAY + second)
    held = TouchFactory(contact=anna, purpose=onboarding, user=org.rep, status="held", at=at - DAY)
    TouchFactory(contact=anna, purpose=onboarding, user=org.rep, status="cancelled", at=at - DAY)
    TouchFactory(contact=anna, purpose=onboarding, user=org.rep, direction="in", at=at - DAY)
    TouchFactory(contact=anna, purpose=onboarding, user=org.rep, status="planned", at=at + 7 * DAY - second)
    TouchFactory(contact=anna, purpose=onboarding, user=org.rep, status="planned", at=at + 7 * DAY)
    verdict = check(anna, onboarding, org.rep, at=at)
    assert [c.message for c in verdict.conflicts] == [
        "Anna Schmidt already has 3 outbound touches within 7 days of this one; the limit is 3."
    ]
    assert verdict.level == "block" and not verdict.hard
    assert check(anna, onboarding, org.rep, at=at, exclude_touch_id=held.pk).is_ok  # the touch being sent
