"""Demo training: a certification for each configurable product line of the demo catalog (the Aurora car, the
Volt e-bikes, the FlexDesk desks), a discount authority, their courses with quizzes (one by sign-off), and
the reps in every state: certified, certified long ago and now expired, overdue with a failed attempt, a
quiz waiting, a sign-off waiting, an override.

Made through the services (audit as live), then moved back in time where a state needs the past.
Idempotent: nothing is made once the first course exists.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from sfa.demo import DemoContext, demo_step

AURORA = "Aurora sales certification"
VOLT = "Volt e-bike certification"
FLEXDESK = "FlexDesk consultative selling"
DISCOUNTS = "Discount negotiation"

RESPONSIBILITIES = [
    # name, kind, category slug, max discount, description
    ("Aurora product line", "certification", "cars", None, "Quote the configurable Aurora and its options."),
    ("Volt e-bike line", "certification", "bikes", None, "Quote the configurable Volt e-bikes."),
    ("FlexDesk line", "certification", "desks", None, "Quote made-to-measure FlexDesk desks."),
    ("Discounts up to 20 %", "discount", None, Decimal("20"), "May negotiate line discounts up to 20 %."),
]

COURSES = [
    # title, completion, pass mark, attempts, validity months, minutes, responsibilities, summary, description
    (
        AURORA,
        "quiz",
        80,
        3,
        12,
        45,
        ["Aurora product line"],
        "Lengths, drives, packs and the rules between them; how to configure an Aurora with a customer.",
        "<h3>What you learn</h3><ul><li>The three body lengths and what each fits</li>"
        "<li>Hybrid or electric: range, charging and the wallbox</li>"
        "<li>Packs and the options they require or exclude</li></ul>"
        "<p>Open the configurator and build a family car and a fleet car before you take the quiz.</p>",
    ),
    (
        VOLT,
        "quiz",
        75,
        None,
        12,
        30,
        ["Volt e-bike line"],
        "Frames, motors, batteries and sizing: selling the Volt e-bikes.",
        "<p>Frame sizes by rider height, motor choices, battery range and the accessories that go with them.</p>",
    ),
    (
        FLEXDESK,
        "signoff",
        80,
        None,
        24,
        90,
        ["FlexDesk line"],
        "A ride-along: measuring a workplace and configuring a FlexDesk with the customer.",
        "<p>Your manager joins one customer visit and signs the course off when the desk was measured, "
        "configured and quoted together with the customer.</p>",
    ),
    (
        DISCOUNTS,
        "quiz",
        80,
        2,
        12,
        20,
        ["Discounts up to 20 %"],
        "When a discount helps close, and when it only costs margin.",
        "<p>Trade, don't give: every discount buys something (volume, term, reference).</p>",
    ),
]

QUESTIONS = {
    AURORA: [
        ("Which drive can charge at a home wallbox?", ["Electric only", "Hybrid and electric", "Neither"], [0]),
        (
            "What does the configurator do when an option needs another one?",
            ["Adds the required option and says why", "Refuses to save", "Ignores it"],
            [0],
        ),
        ("Which body lengths does the Aurora come in?", ["One", "Two", "Three"], [2]),
        (
            "Which of these belong on a fleet quote?",
            ["A service plan", "A wallbox with installation", "A second steering wheel"],
            [0, 1],
        ),
        (
            "Who may quote a configured Aurora?",
            ["Any rep", "A rep certified for the Aurora line (or with an override)", "Only admins"],
            [1],
        ),
    ],
    VOLT: [
        ("A rider of 1.85 m needs which frame?", ["S", "M", "L"], [2]),
        ("What doubles the range on tours?", ["A second battery", "Wider tyres", "A bell"], [0]),
        ("Which accessories does a commuter usually need?", ["A lock", "Panniers", "A roof box"], [0, 1]),
        ("How long is the standard lead time of a configured Volt Trek?", ["2 days", "14 days", "90 days"], [1]),
    ],
    DISCOUNTS: [
        (
            "A customer asks for 10 % off. What do you ask for in return?",
            ["Nothing", "Volume, a longer term or a reference", "A lower price next year"],
            [1],
        ),
        (
            "Above which discount does a quote need a manager?",
            ["Any discount", "Above the approval threshold in the order settings", "Never"],
            [1],
        ),
        (
            "Which discounts does the approval rule count?",
            ["Line discounts", "The order discount", "A unit price typed below the list price"],
            [0, 1, 2],
        ),
    ],
}


def _answers_right(course) -> dict[str, list[int]]:
    return {
        str(q.pk): [c.pk for c in q.choices.all() if c.is_correct] for q in course.questions.prefetch_related("choices")
    }


def _answers_wrong(course) -> dict[str, list[int]]:
    return {
        str(q.pk): [next(c.pk for c in q.choices.all() if not c.is_correct)]
        for q in course.questions.prefetch_related("choices")
    }


def _back_in_time(assignment, days: int) -> None:
    """Move a finished assignment, its attempts and its certifications ``days`` into the past."""
    from training.models import Assignment, Certification, QuizAttempt
    from training.services import add_months

    shift = timedelta(days=days)
    assignment.refresh_from_db()
    months = assignment.course.validity_months
    done_on = timezone.localdate() - shift
    Assignment.objects.filter(pk=assignment.pk).update(
        assigned_at=assignment.assigned_at - shift - timedelta(days=10),
        due_on=assignment.due_on - shift,
        completed_at=assignment.completed_at - shift if assignment.completed_at else None,
        expires_on=add_months(done_on, months) if months and assignment.completed_at else assignment.expires_on,
    )
    QuizAttempt.objects.filter(assignment=assignment).update(submitted_at=timezone.now() - shift)
    Certification.objects.filter(assignment=assignment).update(
        granted_on=done_on, valid_until=add_months(done_on, months) if months else None
    )


@demo_step(order=80)
def demo_training(ctx: DemoContext) -> None:
    from catalog.models import Category
    from sfa.models import User
    from training import services
    from training.models import Assignment, Certification, Course

    if Course.objects.exists():
        ctx.log(f"training: already there ({Course.objects.count()} courses)")
        return
    users = {
        name: ctx.users.get(name) or User.objects.filter(username=name).first()
        for name in ("admin", "manager", "manager2", "rep", "rep2", "rep3", "rep4")
    }
    if any(user is None for user in users.values()):
        ctx.log("training: skipped (the demo company is missing)")
        return
    categories = {c.slug: c for c in Category.objects.filter(slug__in=["cars", "bikes", "desks"])}
    admin, manager, manager2 = users["admin"], users["manager"], users["manager2"]
    rep, rep2, rep3, rep4 = users["rep"], users["rep2"], users["rep3"], users["rep4"]

    responsibilities = {}
    for name, kind, slug, limit, description in RESPONSIBILITIES:
        if slug is not None and slug not in categories:
            continue
        responsibilities[name] = services.responsibility_create(
            actor=admin,
            data={
                "name": name,
                "kind": kind,
                "category": categories.get(slug) if slug else None,
                "max_discount_percent": limit,
                "description": description,
            },
        )
    courses = {}
    for title, completion, mark, attempts, months, minutes, qualifies, summary, description in COURSES:
        course = services.course_create(
            actor=admin,
            data={
                "title": title,
                "summary": summary,
                "description": description,
                "completion": completion,
                "pass_mark_percent": mark,
                "max_attempts": attempts,
                "validity_months": months,
                "duration_minutes": minutes,
            },
            responsibilities=[responsibilities[n] for n in qualifies if n in responsibilities],
        )
        for text, choices, right in QUESTIONS.get(title, []):
            services.question_save(
                course=course,
                actor=admin,
                text=text,
                choices=[{"text": c, "is_correct": i in right} for i, c in enumerate(choices)],
            )
        courses[title] = course
    guide = "https://sfa-demo.example/training/"
    services.material_add(course=courses[AURORA], actor=admin, title="Aurora sales guide", url=f"{guide}aurora")
    services.material_add(course=courses[VOLT], actor=admin, title="Volt sizing chart", url=f"{guide}volt-sizing")

    today = timezone.localdate()
    # Lena (South): certified for the Aurora and the Volt lines, three months ago.
    for title in (AURORA, VOLT):
        done = services.assignment_create(
            course=courses[title], user=rep3, due_on=today + timedelta(days=7), actor=manager2
        )
        services.quiz_submit(assignment=done, actor=rep3, answers=_answers_right(courses[title]))
        _back_in_time(done, 92)
    # Paulo (South): certified for the Aurora line 13 months ago: it has expired.
    old = services.assignment_create(
        course=courses[AURORA], user=rep4, due_on=today + timedelta(days=7), actor=manager2
    )
    services.quiz_submit(assignment=old, actor=rep4, answers=_answers_right(courses[AURORA]))
    _back_in_time(old, 400)
    services.certifications_expire(today=today)  # his assignment becomes expired, as the nightly job would
    # ... and he waits for his FlexDesk ride-along sign-off.
    services.assignment_create(
        course=courses[FLEXDESK],
        user=rep4,
        due_on=today + timedelta(days=21),
        actor=manager2,
        note="Ride-along at the Lyon office fit-out.",
    )
    # Tom (North): the Volt course, one failed attempt, now overdue.
    late = services.assignment_create(course=courses[VOLT], user=rep2, due_on=today + timedelta(days=1), actor=manager)
    services.quiz_submit(assignment=late, actor=rep2, answers=_answers_wrong(courses[VOLT]))
    Assignment.objects.filter(pk=late.pk).update(
        due_on=today - timedelta(days=6), assigned_at=timezone.now() - timedelta(days=30)
    )
    services.assignments_mark_overdue(today=today)
    # ... and a manager's override lets him quote FlexDesk for a customer meanwhile.
    if "FlexDesk line" in responsibilities:
        services.override_grant(
            user=rep2,
            responsibility=responsibilities["FlexDesk line"],
            actor=manager,
            reason="Office fit-out for Nordlicht GmbH: Marc supports the configuration.",
            valid_until=today + timedelta(days=14),
        )
    # Rita (North): the Aurora course to take (the quiz is waiting), and the discount course.
    services.assignment_create(
        course=courses[AURORA],
        user=rep,
        due_on=today + timedelta(days=14),
        actor=manager,
        note="Before the fleet campaign starts.",
    )
    services.assignment_create(course=courses[DISCOUNTS], user=rep, due_on=today + timedelta(days=30), actor=manager)

    valid = Certification.objects.filter(revoked_at__isnull=True, valid_until__gte=today).count()
    ctx.log(
        f"training: {len(responsibilities)} responsibilities, {len(courses)} courses, "
        f"{Assignment.objects.count()} assignments ({Assignment.objects.filter(status='overdue').count()} overdue), "
        f"{valid} valid certifications, {Certification.objects.count() - valid} expired; "
        "rep (Rita) has the Aurora quiz to take before she may quote a configured Aurora"
    )
