"""training.services: courses, assignments, server-side quiz scoring, sign-offs, certifications, overrides and
the nightly jobs."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from sfa.models import AuditEvent
from tests.training.factories import AssignmentFactory, CertificationFactory, CourseFactory
from training import services
from training.models import Assignment, Certification, Course, Override


def test_add_months_keeps_the_day_or_takes_the_last_of_a_shorter_month():
    assert services.add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert services.add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)
    assert services.add_months(date(2026, 11, 15), 14) == date(2028, 1, 15)
    assert services.add_months(date(2026, 5, 1), 12) == date(2027, 5, 1)


# --- Courses -------------------------------------------------------------------------------------------------


def test_a_manager_creates_a_course_with_a_sanitised_description_and_it_is_audited(org, line):
    course = services.course_create(
        actor=org.manager,
        data={
            "title": "  Aurora advanced ",
            "description": '<p onclick="x()">Read <a href="javascript:alert(1)">this</a></p><script>alert(1)</script>',
            "completion": "quiz",
            "pass_mark_percent": 75,
        },
        responsibilities=[line.cert],
    )
    assert course.title == "Aurora advanced"
    assert "script" not in course.description and "onclick" not in course.description
    assert "javascript" not in course.description
    assert list(course.responsibilities.all()) == [line.cert]
    event = AuditEvent.objects.get(object_id=str(course.pk), action="create", content_type__model="course")
    assert event.changes["responsibilities"] == [None, ["Cars certification"]]


def test_a_rep_may_not_create_or_change_a_course(org, line):
    with pytest.raises(PermissionDenied):
        services.course_create(actor=org.rep, data={"title": "Mine"})
    with pytest.raises(PermissionDenied):
        services.course_update(course=line.course, actor=org.rep, data={"title": "Mine"})


def test_a_question_needs_two_answers_and_a_right_one(org, line):
    with pytest.raises(ValidationError, match="at least two"):
        services.question_save(course=line.course, actor=org.manager, text="Q?", choices=[{"text": "A"}])
    with pytest.raises(ValidationError, match="correct"):
        services.question_save(course=line.course, actor=org.manager, text="Q?", choices=[{"text": "A"}, {"text": "B"}])
    question = services.question_save(
        course=line.course,
        actor=org.manager,
        text="Q?",
        choices=[{"text": "A", "is_correct": True}, {"text": "B"}, {"text": " "}],
    )
    assert [(c.text, c.is_correct) for c in question.choices.all()] == [("A", True), ("B", False)]


# --- Assignments ----------------------------------------------------------------------------------------------


def test_a_manager_assigns_to_their_team_only_and_the_rep_is_emailed(
    org, line, due, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        assignment = services.assignment_create(course=line.course, user=org.rep, due_on=due, actor=org.manager)
    assert assignment.status == Assignment.Status.ASSIGNED and assignment.assigned_by == org.manager
    assert mail.outbox[-1].to == [org.rep.email] and "Aurora sales" in mail.outbox[-1].subject
    with pytest.raises(PermissionDenied):
        services.assignment_create(course=line.course, user=org.rep_other, due_on=due, actor=org.manager)
    with pytest.raises(PermissionDenied):
        services.assignment_create(course=line.course, user=org.rep_b, due_on=due, actor=org.rep)


def test_an_assignment_is_refused_twice_in_the_past_or_for_a_quiz_without_questions(org, line, due):
    services.assignment_create(course=line.course, user=org.rep, due_on=due, actor=org.manager)
    with pytest.raises(ValidationError, match="already has"):
        services.assignment_create(course=line.course, user=org.rep, due_on=due, actor=org.manager)
    with pytest.raises(ValidationError, match="past"):
        services.assignment_create(
            course=line.course, user=org.rep_b, due_on=timezone.localdate() - timedelta(days=1), actor=org.manager
        )
    empty = CourseFactory(title="No questions")
    with pytest.raises(ValidationError, match="no quiz questions"):
        services.assignment_create(course=empty, user=org.rep_b, due_on=due, actor=org.manager)


def test_a_team_gets_one_assignment_per_rep_and_those_who_have_it_are_skipped(org, line, due):
    services.assignment_create(course=line.course, user=org.rep, due_on=due, actor=org.manager)
    north = org.rep.team
    made, skipped = services.assignment_create_for_team(course=line.course, team=north, due_on=due, actor=org.manager)
    assert [a.user for a in made] == [org.rep_b]
    assert skipped == [(org.rep, "already has it to do")]
    # The director's team includes the sub-teams.
    made, _ = services.assignment_create_for_team(
        course=line.course, team=org.director.team, due_on=due, actor=org.director
    )
    assert [a.user for a in made] == [org.rep_other]


def test_a_new_due_date_reopens_an_overdue_assignment(org, line):
    assignment = AssignmentFactory(course=line.course, user=org.rep, due_on=timezone.localdate() - timedelta(days=2))
    assert services.assignments_mark_overdue() == 1
    assert services.assignments_mark_overdue() == 0  # safe to run twice
    assignment.refresh_from_db()
    assert assignment.status == Assignment.Status.OVERDUE
    services.assignment_update(
        assignment=assignment, actor=org.manager, due_on=timezone.localdate() + timedelta(days=3)
    )
    assignment.refresh_from_db()
    assert assignment.status == Assignment.Status.ASSIGNED


def test_only_an_unstarted_assignment_is_withdrawn(org, line, due):
    assignment = services.assignment_create(course=line.course, user=org.rep, due_on=due, actor=org.manager)
    services.quiz_submit(assignment=assignment, actor=org.rep, answers=line.wrong())
    with pytest.raises(ValidationError, match="without attempts"):
        services.assignment_withdraw(assignment=assignment, actor=org.manager)
    other = services.assignment_create(course=line.course, user=org.rep_b, due_on=due, actor=org.manager)
    services.assignment_withdraw(assignment=other, actor=org.manager)
    assert not Assignment.objects.filter(pk=other.pk).exists()


# --- The quiz -------------------------------------------------------------------------------------------------------


@pytest.fixture
def assigned(org, line, due):
    return services.assignment_create(course=line.course, user=org.rep, due_on=due, actor=org.manager)


def test_passing_the_quiz_grants_the_certification_for_the_course_validity(org, line, assigned):
    attempt = services.quiz_submit(assignment=assigned, actor=org.rep, answers=line.right())
    assert (attempt.correct, attempt.total, attempt.score_percent, attempt.passed) == (3, 3, Decimal("100.00"), True)
    assigned.refresh_from_db()
    today = timezone.localdate()
    assert assigned.status == Assignment.Status.PASSED
    assert assigned.expires_on == services.add_months(today, 12)
    cert = Certification.objects.get(user=org.rep)
    assert cert.responsibility == line.cert and cert.method == "quiz" and cert.attempt == attempt
    assert (cert.granted_on, cert.valid_until) == (today, services.add_months(today, 12))
    assert cert.is_valid()
    with pytest.raises(ValidationError, match="passed already"):
        services.quiz_submit(assignment=assigned, actor=org.rep, answers=line.right())


def test_the_score_counts_a_question_right_only_with_exactly_its_right_answers(org, line, assigned):
    answers = line.right()
    _single, _, multiple = line.questions
    right_multiple = answers[str(multiple.pk)]
    answers[str(multiple.pk)] = right_multiple[:1]  # one of the two right answers: not right
    attempt = services.quiz_submit(assignment=assigned, actor=org.rep, answers=answers)
    assert (attempt.correct, attempt.score_percent, attempt.passed) == (2, Decimal("66.67"), True)  # pass mark 60


def test_a_failed_attempt_leaves_it_in_progress_and_the_last_allowed_fails_it(org, line, assigned):
    first = services.quiz_submit(assignment=assigned, actor=org.rep, answers=line.wrong())
    assert (first.passed, first.number) == (False, 1)
    assigned.refresh_from_db()
    assert assigned.status == Assignment.Status.IN_PROGRESS
    services.quiz_submit(assignment=assigned, actor=org.rep, answers=line.wrong())
    assigned.refresh_from_db()
    assert assigned.status == Assignment.Status.FAILED
    with pytest.raises(ValidationError, match="assign it again"):
        services.quiz_submit(assignment=assigned, actor=org.rep, answers=line.right())
    assert not Certification.objects.exists()


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (lambda a, line: {**a, "999999": [1]}, "Question 999999 is not in this quiz"),
        (lambda a, line: {**a, str(line.questions[0].pk): [line.questions[1].choices.first().pk]}, "not one of the"),
        (lambda a, line: dict(list(a.items())[1:]), "Answer every question: 1 is unanswered"),
        (lambda a, line: {**a, str(line.questions[0].pk): ["1 OR 1=1"]}, "is not an id"),
        (lambda a, line: {**a, "abc": [1]}, "is not an id"),
        (
            lambda a, line: {**a, str(line.questions[0].pk): [c.pk for c in line.questions[0].choices.all()]},
            "takes one answer",
        ),
        (lambda a, line: ["not", "a", "dict"], "must map each question"),
    ],
)
def test_tampered_answers_are_refused_with_a_clear_message_and_nothing_is_stored(org, line, assigned, tamper, message):
    with pytest.raises(ValidationError, match=message):
        services.quiz_submit(assignment=assigned, actor=org.rep, answers=tamper(line.right(), line))
    assert not assigned.attempts.exists()


def test_only_the_assignee_takes_the_quiz(org, line, assigned):
    for other in (org.rep_b, org.manager, org.admin):
        with pytest.raises(PermissionDenied):
            services.quiz_submit(assignment=assigned, actor=other, answers=line.right())


# --- Sign-off --------------------------------------------------------------------------------------------------------


def test_a_manager_signs_off_a_signoff_course_for_their_rep(org, line, due):
    ride = CourseFactory(title="Ride-along", completion=Course.Completion.SIGNOFF, responsibilities=[line.cert])
    assignment = services.assignment_create(course=ride, user=org.rep, due_on=due, actor=org.manager)
    with pytest.raises(PermissionDenied):
        services.assignment_signoff(assignment=assignment, actor=org.rep)
    with pytest.raises(PermissionDenied):
        services.assignment_signoff(assignment=assignment, actor=org.manager_b)  # not their team
    services.assignment_signoff(assignment=assignment, actor=org.manager, note="Visit at Acme")
    assignment.refresh_from_db()
    assert assignment.status == Assignment.Status.PASSED
    cert = Certification.objects.get(user=org.rep)
    assert (cert.method, cert.granted_by) == ("signoff", org.manager)
    assert AuditEvent.objects.filter(verb="signed off", note="Visit at Acme").exists()


def test_a_quiz_course_is_not_signed_off_and_nobody_signs_off_their_own(org, line, due):
    quiz_assignment = services.assignment_create(course=line.course, user=org.rep, due_on=due, actor=org.manager)
    with pytest.raises(ValidationError, match="completed by its quiz"):
        services.assignment_signoff(assignment=quiz_assignment, actor=org.manager)
    ride = CourseFactory(title="Ride-along", completion=Course.Completion.SIGNOFF)
    own = services.assignment_create(course=ride, user=org.manager, due_on=due, actor=org.director)
    with pytest.raises(PermissionDenied, match="own"):
        services.assignment_signoff(assignment=own, actor=org.manager)


# --- Certifications and overrides ---------------------------------------------------------------------------------


def test_a_revoked_certification_is_no_longer_valid(org, line):
    cert = CertificationFactory(user=org.rep, responsibility=line.cert, course=line.course)
    with pytest.raises(PermissionDenied):
        services.certification_revoke(certification=cert, actor=org.manager_b, reason="x")
    services.certification_revoke(certification=cert, actor=org.manager, reason="Complaints about wrong configs")
    cert.refresh_from_db()
    assert not cert.is_valid() and cert.revoked_by == org.manager


def test_an_override_needs_a_manager_a_reason_and_an_end_within_90_days(org, line):
    soon = timezone.localdate() + timedelta(days=10)
    with pytest.raises(PermissionDenied):
        services.override_grant(
            user=org.rep_b, responsibility=line.cert, actor=org.rep, reason="Big deal", valid_until=soon
        )
    with pytest.raises(PermissionDenied):
        services.override_grant(
            user=org.rep_other, responsibility=line.cert, actor=org.manager, reason="Big deal", valid_until=soon
        )
    with pytest.raises(ValidationError, match="why"):
        services.override_grant(user=org.rep, responsibility=line.cert, actor=org.manager, reason=" ", valid_until=soon)
    with pytest.raises(ValidationError, match="90 days"):
        services.override_grant(
            user=org.rep,
            responsibility=line.cert,
            actor=org.manager,
            reason="Big deal",
            valid_until=timezone.localdate() + timedelta(days=91),
        )
    override = services.override_grant(
        user=org.rep, responsibility=line.cert, actor=org.manager, reason="Fleet deal with Acme", valid_until=soon
    )
    assert override.is_active()
    event = AuditEvent.objects.get(verb="override granted", object_id=str(override.pk))
    assert (event.actor, event.note) == (org.manager, "Fleet deal with Acme")
    services.override_revoke(override=override, actor=org.manager)
    override.refresh_from_db()
    assert not override.is_active()
    assert AuditEvent.objects.filter(verb="override revoked", object_id=str(override.pk)).exists()
    assert Override.objects.count() == 1


# --- Nightly expiry --------------------------------------------------------------------------------------------


def test_the_expiry_job_expires_reminds_once_and_assigns_the_renewal(org, line, django_capture_on_commit_callbacks):
    today = timezone.localdate()
    old = AssignmentFactory(
        course=line.course, user=org.rep_b, status=Assignment.Status.PASSED, expires_on=today - timedelta(days=1)
    )
    CertificationFactory(
        user=org.rep_b,
        responsibility=line.cert,
        course=line.course,
        granted_on=today - timedelta(days=400),
        valid_until=today - timedelta(days=1),
    )
    ending = CertificationFactory(
        user=org.rep,
        responsibility=line.cert,
        course=line.course,
        granted_on=today - timedelta(days=350),
        valid_until=today + timedelta(days=10),
    )
    with django_capture_on_commit_callbacks(execute=True):
        result = services.certifications_expire(today=today)
    assert result == {"expired": 1, "reminded": 1, "renewals": 1}
    old.refresh_from_db()
    assert old.status == Assignment.Status.EXPIRED
    renewal = Assignment.objects.get(user=org.rep, course=line.course)
    assert renewal.due_on == ending.valid_until and renewal.assigned_by is None and "Renewal" in renewal.note
    assert any("ends on" in m.subject for m in mail.outbox)
    assert services.certifications_expire(today=today) == {"expired": 0, "reminded": 0, "renewals": 0}


def test_a_renewed_certification_gets_no_reminder(org, line):
    today = timezone.localdate()
    CertificationFactory(
        user=org.rep,
        responsibility=line.cert,
        course=line.course,
        granted_on=today - timedelta(days=350),
        valid_until=today + timedelta(days=10),
    )
    CertificationFactory(user=org.rep, responsibility=line.cert, course=line.course, granted_on=today)
    assert services.certifications_expire(today=today)["reminded"] == 0
    assert not Assignment.objects.exists()


def test_quiz_questions_helper_marks_multiple_answer_questions(line):
    from training.selectors import quiz_questions

    flags = [q.multiple for q in quiz_questions(line.course)]
    assert flags == [False, False, True]
