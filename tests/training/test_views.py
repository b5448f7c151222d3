"""Training pages: My training and the quiz for reps, the team overview for managers, courses and
responsibilities; each behind its permission, and a second rep never sees the first one's training."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from sfa.models import AuditEvent
from tests.training.factories import AssignmentFactory, CertificationFactory, CourseFactory
from training import services
from training.models import Assignment, Certification, Course, Override, Question, Responsibility


@pytest.fixture
def assigned(org, line, due):
    return services.assignment_create(course=line.course, user=org.rep, due_on=due, actor=org.manager)


def quiz_post(answers: dict) -> dict:
    return {f"q-{question}": choices for question, choices in answers.items()}


# --- My training and the quiz ---------------------------------------------------------------------------------


def test_my_training_lists_my_assignments_and_certifications_not_a_colleagues(org, login, line, assigned, due):
    ride = CourseFactory(title="Ride-along", completion=Course.Completion.SIGNOFF)
    services.assignment_create(course=ride, user=org.rep_b, due_on=due, actor=org.manager)
    CertificationFactory(user=org.rep_b, responsibility=line.cert, course=line.course)
    page = login(org.rep).get(reverse("training:my")).content.decode()
    assert "Aurora sales" in page and "Take the quiz" in page
    assert "Ride-along" not in page and "Product line Cars" not in page and "No certification yet" in page
    page = login(org.rep_b).get(reverse("training:my")).content.decode()
    assert "Ride-along" in page and "Product line Cars" in page and "Aurora sales" not in page


def test_an_overdue_assignment_is_highlighted(org, login, line):
    AssignmentFactory(course=line.course, user=org.rep, due_on=timezone.localdate() - timedelta(days=3))
    page = login(org.rep).get(reverse("training:my")).content.decode()
    assert "is-overdue" in page and "Overdue: was due" in page


def test_a_rep_takes_the_quiz_passes_and_sees_the_result(org, login, line, assigned):
    client = login(org.rep)
    page = client.get(reverse("training:quiz", args=[assigned.pk])).content.decode()
    assert "Which drive charges at a wallbox?" in page and 'type="checkbox"' in page and 'type="radio"' in page
    assert "is_correct" not in page
    response = client.post(reverse("training:quiz", args=[assigned.pk]), quiz_post(line.right()))
    attempt = assigned.attempts.get()
    assert response.status_code == 302 and response.url == reverse("training:attempt-detail", args=[attempt.pk])
    page = client.get(response.url).content.decode()
    assert "100 %" in page and "Now certified" in page and "Cars certification" in page
    assert Certification.objects.filter(user=org.rep, responsibility=line.cert).exists()


def test_a_tampered_quiz_post_is_refused_with_the_message_and_the_choices_kept(org, login, line, assigned):
    answers = line.right()
    answers["424242"] = ["1"]
    response = login(org.rep).post(reverse("training:quiz", args=[assigned.pk]), quiz_post(answers))
    assert response.status_code == 400
    assert "Question 424242 is not in this quiz" in response.content.decode()
    assert not assigned.attempts.exists()
    partial = {k: v for k, v in line.right().items() if k != str(line.questions[1].pk)}
    response = login(org.rep).post(reverse("training:quiz", args=[assigned.pk]), quiz_post(partial))
    page = response.content.decode()
    assert "Answer every question: 2 is unanswered" in page
    first_right = line.right()[str(line.questions[0].pk)][0]
    assert f'value="{first_right}" checked' in page


def test_the_right_answers_stay_hidden_until_the_course_is_passed(org, login, line, assigned):
    client = login(org.rep)
    client.post(reverse("training:quiz", args=[assigned.pk]), quiz_post(line.wrong()))
    page = client.get(reverse("training:attempt-detail", args=[assigned.attempts.get().pk])).content.decode()
    assert "not passed" in page and "✓ right answer" not in page and "Try again" in page


def test_another_rep_cannot_open_or_take_my_quiz_or_see_my_attempt(org, login, line, assigned):
    services.quiz_submit(assignment=assigned, actor=org.rep, answers=line.wrong())
    attempt = assigned.attempts.get()
    client = login(org.rep_b)
    assert client.get(reverse("training:assignment-detail", args=[assigned.pk])).status_code == 404
    assert client.get(reverse("training:quiz", args=[assigned.pk])).status_code == 404
    assert client.post(reverse("training:quiz", args=[assigned.pk]), quiz_post(line.right())).status_code == 404
    assert client.get(reverse("training:attempt-detail", args=[attempt.pk])).status_code == 404
    # Their manager sees it but does not take it for them.
    manager = login(org.manager)
    assert manager.get(reverse("training:assignment-detail", args=[assigned.pk])).status_code == 200
    assert manager.get(reverse("training:attempt-detail", args=[attempt.pk])).status_code == 200
    assert manager.get(reverse("training:quiz", args=[assigned.pk])).status_code == 403


# --- The team overview --------------------------------------------------------------------------------------------


def test_the_team_overview_is_for_managers_and_shows_their_teams_only(org, login, line, assigned):
    assert login(org.rep).get(reverse("training:team")).status_code == 403
    page = login(org.manager).get(reverse("training:team")).content.decode()
    assert org.rep.get_full_name() in page and org.rep_b.get_full_name() in page
    assert org.rep_other.get_full_name() not in page
    page = login(org.manager_b).get(reverse("training:team")).content.decode()
    assert org.rep_other.get_full_name() in page and org.rep.get_full_name() not in page
    page = login(org.admin).get(reverse("training:team") + "?view=certifications").content.decode()
    assert "Cars certification" in page and org.rep_other.get_full_name() in page


def test_overdue_cells_are_highlighted_and_counted(org, login, line):
    AssignmentFactory(course=line.course, user=org.rep_b, due_on=timezone.localdate() - timedelta(days=3))
    page = login(org.manager).get(reverse("training:team")).content.decode()
    assert "training-td-overdue" in page and "1 overdue" in page


def test_a_manager_signs_off_from_the_matrix_with_htmx(org, login, line, due):
    ride = CourseFactory(title="Ride-along", completion=Course.Completion.SIGNOFF, responsibilities=[line.cert])
    assignment = services.assignment_create(course=ride, user=org.rep, due_on=due, actor=org.manager)
    client = login(org.manager)
    assert "Sign off" in client.get(reverse("training:team")).content.decode()
    response = client.post(reverse("training:assignment-signoff", args=[assignment.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "Passed" in response.content.decode()
    assignment.refresh_from_db()
    assert assignment.status == Assignment.Status.PASSED
    assert login(org.manager_b).post(reverse("training:assignment-signoff", args=[assignment.pk])).status_code == 404


def test_assigning_from_the_team_page_to_a_person_and_to_a_team(org, login, line, due):
    client = login(org.manager)
    form = {"course": line.course.pk, "due_on": due.isoformat(), "note": "Before the campaign"}
    response = client.post(reverse("training:assign"), {**form, "person": org.rep.pk})
    assert response.status_code == 302
    response = client.post(reverse("training:assign"), {**form, "team": org.rep.team_id})
    assert response.status_code == 302
    assert set(Assignment.objects.values_list("user__username", flat=True)) == {"rep", "rep_b"}
    # Neither or both: the form says so; a rep of another team is not even offered.
    assert client.post(reverse("training:assign"), form).status_code == 400
    assert client.post(reverse("training:assign"), {**form, "person": org.rep_other.pk}).status_code == 400
    assert not Assignment.objects.filter(user=org.rep_other).exists()


def test_a_manager_grants_an_override_from_the_overview_and_it_is_audited(org, login, line):
    client = login(org.manager)
    url = reverse("training:override-create") + f"?user={org.rep.pk}&responsibility={line.cert.pk}"
    assert "Grant the override" in client.get(url).content.decode()
    until = timezone.localdate() + timedelta(days=10)
    response = client.post(
        reverse("training:override-create"),
        {"user": org.rep.pk, "responsibility": line.cert.pk, "valid_until": until.isoformat(), "reason": "Fleet deal"},
    )
    assert response.status_code == 302
    override = Override.objects.get(user=org.rep)
    assert AuditEvent.objects.filter(verb="override granted", object_id=str(override.pk), actor=org.manager).exists()
    # Not for someone outside their teams, and not by a rep.
    assert client.get(reverse("training:override-create") + f"?user={org.rep_other.pk}").status_code == 404
    assert login(org.rep).get(url).status_code == 403


# --- Courses and responsibilities ---------------------------------------------------------------------------------


def test_a_manager_creates_a_course_adds_a_question_with_htmx_and_a_link(org, login, line):
    client = login(org.manager)
    response = client.post(
        reverse("training:course-create"),
        {
            "title": "FlexDesk basics",
            "description": "<p>Measure first.</p><script>alert(1)</script>",
            "completion": "quiz",
            "pass_mark_percent": "70",
            "responsibilities": [line.cert.pk],
            "is_active": "on",
        },
    )
    course = Course.objects.get(title="FlexDesk basics")
    assert response.status_code == 302 and "<script>" not in course.description
    response = client.post(
        reverse("training:question-add", args=[course.pk]),
        {"text": "Measure what?", "choice_1": "Height", "correct_1": "on", "choice_2": "Colour"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200 and 'id="questions"' in response.content.decode()
    assert Question.objects.get(course=course).choices.count() == 2
    response = client.post(
        reverse("training:material-add", args=[course.pk]), {"title": "Guide", "url": "https://guides.example/desk"}
    )
    assert response.status_code == 302 and course.materials.get().url == "https://guides.example/desk"
    page = client.get(reverse("training:course-detail", args=[course.pk])).content.decode()
    assert "Measure what?" in page and "✓ right" in page


def test_a_rep_reads_courses_but_neither_edits_them_nor_sees_the_answer_key(org, login, line):
    client = login(org.rep)
    page = client.get(reverse("training:course-detail", args=[line.course.pk])).content.decode()
    assert "Aurora sales" in page and "Which drive charges" not in page
    assert client.get(reverse("training:course-create")).status_code == 403
    assert client.post(reverse("training:question-add", args=[line.course.pk]), {"text": "x"}).status_code == 403
    assert client.get(reverse("training:course-list")).status_code == 200


def test_only_admins_define_responsibilities(org, login, line):
    assert login(org.manager).post(reverse("training:responsibility-list"), {"name": "X"}).status_code == 403
    response = login(org.admin).post(
        reverse("training:responsibility-list"),
        {"name": "Discounts up to 25 %", "kind": "discount", "max_discount_percent": "25", "is_active": "on"},
    )
    assert response.status_code == 302
    assert Responsibility.objects.get(name="Discounts up to 25 %").max_discount_percent == 25
    response = login(org.admin).post(
        reverse("training:responsibility-list"),
        {"name": "Second cars", "kind": "certification", "category": line.cars.pk, "is_active": "on"},
    )
    assert response.status_code == 400 and "already has its certification" in response.content.decode()


def test_the_dashboard_card_shows_my_open_training(org, login, assigned):
    page = login(org.rep).get(reverse("home")).content.decode()
    assert "My training" in page and "Aurora sales" in page


def test_a_pdf_material_is_kept_and_served_a_fake_one_refused(org, login, line, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = tmp_path
    client = login(org.manager)
    url = reverse("training:material-add", args=[line.course.pk])
    fake = SimpleUploadedFile("guide.pdf", b"<html>not a pdf</html>", content_type="application/pdf")
    response = client.post(url, {"title": "Guide", "file": fake})
    assert response.status_code == 400 and "not a PDF file" in response.content.decode()
    pdf = SimpleUploadedFile("guide.pdf", b"%PDF-1.4\n%fake but well-formed enough\n", content_type="application/pdf")
    assert client.post(url, {"title": "Guide", "file": pdf}).status_code == 302
    material = line.course.materials.get()
    response = login(org.rep).get(reverse("training:material-file", args=[material.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content).startswith(b"%PDF-")


def test_the_team_filter_swaps_the_matrix_with_htmx(org, login, line, assigned):
    client = login(org.director)
    north = org.rep.team
    response = client.get(reverse("training:team"), {"team": north.pk}, HTTP_HX_REQUEST="true")
    page = response.content.decode()
    assert page.lstrip().startswith('<div id="matrix"') and "<html" not in page
    assert org.rep.get_full_name() in page and org.rep_other.get_full_name() not in page
