"""Review: the right answers of a passed course must not hand out the next attempt at the same quiz."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from training import services
from training.models import Assignment


def test_a_passed_attempt_hides_the_right_answers_while_the_course_is_open_again(org, login, line, due):
    first = services.assignment_create(course=line.course, user=org.rep, due_on=due, actor=org.manager)
    attempt = services.quiz_submit(assignment=first, actor=org.rep, answers=line.right())
    first.refresh_from_db()
    assert first.status == Assignment.Status.PASSED
    client = login(org.rep)
    page = client.get(reverse("training:attempt-detail", args=[attempt.pk])).content.decode()
    assert "✓ right answer" in page  # passed, nothing open: the answers are shown
    # The nightly run (or the manager) opens the same course again: a renewal before the certification ends.
    renewal = services.assignment_create(
        course=line.course, user=org.rep, due_on=timezone.localdate() + timedelta(days=30), actor=org.manager
    )
    assert renewal.is_open
    page = client.get(reverse("training:attempt-detail", args=[attempt.pk])).content.decode()
    assert "✓ right answer" not in page and "is-correct" not in page
