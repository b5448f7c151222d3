"""The training API: rows scoped like the pages, writes through the services, the quiz scored on the server."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.training.factories import CertificationFactory, CourseFactory
from training import services
from training.models import Assignment, Course, Override


@pytest.fixture
def assigned(org, line, due):
    return services.assignment_create(course=line.course, user=org.rep, due_on=due, actor=org.manager)


def test_assignments_are_scoped_a_second_rep_sees_none_of_mine(org, api, line, assigned):
    assert [a["id"] for a in api(org.rep).get("/api/training/assignments/").json()["results"]] == [assigned.pk]
    assert api(org.rep_b).get("/api/training/assignments/").json()["results"] == []
    assert api(org.rep_b).get(f"/api/training/assignments/{assigned.pk}/").status_code == 404
    assert api(org.manager_b).get(f"/api/training/assignments/{assigned.pk}/").status_code == 404
    assert api(org.manager).get(f"/api/training/assignments/{assigned.pk}/").json()["status"] == "assigned"
    assert api().get("/api/training/assignments/").status_code == 401


def test_the_quiz_over_the_api_scores_on_the_server(org, api, line, assigned):
    client = api(org.rep)
    response = client.post(f"/api/training/assignments/{assigned.pk}/quiz/", {"answers": line.right()}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["passed"], body["score_percent"], body["correct"], body["total"]) == (True, "100.00", 3, 3)
    certs = client.get("/api/training/certifications/").json()["results"]
    assert [(c["responsibility_name"], c["valid"]) for c in certs] == [("Cars certification", True)]


def test_a_tampered_quiz_answers_400_naming_the_id_and_nothing_is_stored(org, api, line, assigned):
    answers = {**line.right(), "987654": [1]}
    response = api(org.rep).post(f"/api/training/assignments/{assigned.pk}/quiz/", {"answers": answers}, format="json")
    assert response.status_code == 400
    assert "Question 987654 is not in this quiz" in str(response.json())
    foreign = {**line.right(), str(line.questions[0].pk): [line.questions[2].choices.first().pk]}
    response = api(org.rep).post(f"/api/training/assignments/{assigned.pk}/quiz/", {"answers": foreign}, format="json")
    assert response.status_code == 400 and "is not one of the answers of question 1" in str(response.json())
    assert not assigned.attempts.exists()


def test_only_the_assignee_submits(org, api, line, assigned):
    body = {"answers": line.right()}
    assert api(org.rep_b).post(f"/api/training/assignments/{assigned.pk}/quiz/", body, format="json").status_code == 404
    assert (
        api(org.manager).post(f"/api/training/assignments/{assigned.pk}/quiz/", body, format="json").status_code == 403
    )


def test_the_answer_key_is_shown_to_course_editors_only(org, api, line):
    rep_view = api(org.rep).get(f"/api/training/courses/{line.course.pk}/").json()
    assert "is_correct" not in rep_view["questions"][0]["choices"][0]
    assert rep_view["questions"][2]["multiple"] is True
    manager_view = api(org.manager).get(f"/api/training/courses/{line.course.pk}/").json()
    assert manager_view["questions"][0]["choices"][0]["is_correct"] is True


def test_assigning_over_the_api_managers_only_and_one_per_rep_of_a_team(org, api, line, due):
    body = {"course": line.course.pk, "user": org.rep.pk, "due_on": due.isoformat()}
    assert api(org.rep).post("/api/training/assignments/", body, format="json").status_code == 403
    assert api(org.manager_b).post("/api/training/assignments/", body, format="json").status_code == 403
    assert api(org.manager).post("/api/training/assignments/", body, format="json").status_code == 201
    response = api(org.manager).post(
        "/api/training/assignments/for-team/",
        {"course": line.course.pk, "team": org.rep.team_id, "due_on": due.isoformat()},
        format="json",
    )
    assert response.status_code == 201
    assert [a["user"] for a in response.json()["created"]] == [org.rep_b.pk]
    assert response.json()["skipped"] == [{"user": org.rep.pk, "reason": "already has it to do"}]
    again = api(org.manager).post("/api/training/assignments/", body, format="json")
    assert again.status_code == 400 and "already has" in str(again.json())


def test_sign_off_over_the_api(org, api, line, due):
    ride = CourseFactory(title="Ride-along", completion=Course.Completion.SIGNOFF, responsibilities=[line.cert])
    assignment = services.assignment_create(course=ride, user=org.rep, due_on=due, actor=org.manager)
    url = f"/api/training/assignments/{assignment.pk}/signoff/"
    assert api(org.rep).post(url, {}, format="json").status_code == 403
    response = api(org.manager).post(url, {"note": "Visit"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == Assignment.Status.PASSED


def test_overrides_and_revoking_over_the_api(org, api, line):
    until = (timezone.localdate() + timedelta(days=5)).isoformat()
    body = {"user": org.rep.pk, "responsibility": line.cert.pk, "reason": "Key account deal", "valid_until": until}
    assert api(org.rep_b).post("/api/training/overrides/", body, format="json").status_code == 403
    response = api(org.manager).post("/api/training/overrides/", body, format="json")
    assert response.status_code == 201 and response.json()["active"] is True
    override = Override.objects.get()
    assert api(org.rep).get(f"/api/training/overrides/{override.pk}/").status_code == 200
    assert api(org.rep_b).get(f"/api/training/overrides/{override.pk}/").status_code == 404
    response = api(org.manager).post(f"/api/training/overrides/{override.pk}/revoke/", format="json")
    assert response.status_code == 200 and response.json()["active"] is False
    cert = CertificationFactory(user=org.rep, responsibility=line.cert, course=line.course)
    url = f"/api/training/certifications/{cert.pk}/revoke/"
    assert api(org.rep).post(url, {"reason": "x"}, format="json").status_code == 403
    response = api(org.manager).post(url, {"reason": "Wrong configurations"}, format="json")
    assert response.status_code == 200 and response.json()["valid"] is False


def test_courses_are_written_by_managers_through_the_service(org, api, line):
    body = {"title": "New course", "description": "<p>x</p><script>y</script>", "responsibilities": [line.cert.pk]}
    assert api(org.rep).post("/api/training/courses/", body, format="json").status_code == 403
    response = api(org.manager).post("/api/training/courses/", body, format="json")
    assert response.status_code == 201 and "<script>" not in response.json()["description"]
    course_id = response.json()["id"]
    response = api(org.manager).patch(f"/api/training/courses/{course_id}/", {"pass_mark_percent": 90}, format="json")
    assert response.status_code == 200 and response.json()["pass_mark_percent"] == 90
    assert api(org.manager).post("/api/training/responsibilities/", {"name": "X"}, format="json").status_code == 403
