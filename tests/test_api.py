"""The REST API over HTTP: token auth, conventions (cursor pages, filters), and scoping by role."""

import pytest

from sfa.models import Role, User
from tests.factories import TEST_PASSWORD, JobFactory


def test_token_login_answers_a_token_that_authenticates(org, api):
    client = api(None)
    response = client.post("/api/auth/token/", {"username": "rep", "password": TEST_PASSWORD}, format="json")
    assert response.status_code == 200
    token = response.json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    me = client.get("/api/me/")
    assert me.status_code == 200 and me.json()["username"] == "rep" and me.json()["role"] == "rep"


@pytest.mark.parametrize(
    "payload", [{"username": "rep", "password": "wrong"}, {"username": "ghost", "password": "x"}, {}]
)
def test_token_login_refuses_bad_credentials(org, api, payload):
    response = api(None).post("/api/auth/token/", payload, format="json")
    assert response.status_code in (400, 401)
    assert "token" not in response.json()


def test_token_login_is_throttled(org, api, settings):
    from django.core.cache import cache

    cache.clear()
    client = api(None)
    codes = [
        client.post("/api/auth/token/", {"username": "rep", "password": "wrong"}, format="json").status_code
        for _ in range(12)
    ]
    assert codes[-1] == 429
    cache.clear()


def test_anonymous_requests_get_401_with_a_token_challenge(org, api):
    response = api(None).get("/api/users/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Token")


def test_lists_are_cursor_paginated_and_filterable(org, api):
    client = api(org.rep)
    page = client.get("/api/users/", {"page_size": 3}).json()
    assert set(page) == {"next", "previous", "results"} and len(page["results"]) == 3
    seen = [u["username"] for u in page["results"]]
    while page["next"]:
        page = client.get(page["next"]).json()
        seen += [u["username"] for u in page["results"]]
    assert sorted(seen) == sorted(User.objects.values_list("username", flat=True))
    managers = client.get("/api/users/", {"role": "manager"}).json()["results"]
    assert {u["username"] for u in managers} == {"director", "manager", "manager_b"}
    assert client.get("/api/users/", {"role": "emperor"}).status_code == 400


def test_jobs_are_scoped_to_the_owner_and_their_managers(org, api):
    mine = JobFactory(started_by=org.rep)
    JobFactory(started_by=org.rep_b)
    JobFactory(started_by=org.rep_other)
    listed = lambda user: {j["started_by"] for j in api(user).get("/api/jobs/").json()["results"]}  # noqa: E731
    assert listed(org.rep) == {org.rep.pk}
    assert listed(org.rep_b) == {org.rep_b.pk}
    assert listed(org.manager) == {org.rep.pk, org.rep_b.pk}
    assert listed(org.manager_b) == {org.rep_other.pk}
    assert listed(org.director) == {org.rep.pk, org.rep_b.pk, org.rep_other.pk}
    assert api(org.rep_b).get(f"/api/jobs/{mine.pk}/").status_code == 404
    assert api(org.rep_b).post(f"/api/jobs/{mine.pk}/cancel/").status_code == 404
    assert api(org.manager).post(f"/api/jobs/{mine.pk}/cancel/").json()["status"] == "cancelled"


def test_the_audit_log_is_for_admins_only(org, api):
    assert api(org.rep).get("/api/audit/").status_code == 403
    assert api(org.manager).get("/api/audit/").status_code == 403
    response = api(org.admin).get("/api/audit/", {"model": "sfa.user"})
    assert response.status_code == 200


def test_admins_create_users_and_others_cannot(org, api):
    payload = {
        "username": "api_user",
        "password": "a-long-enough-pass",
        "role": "rep",
        "department": org.rep.department_id,
    }
    assert api(org.manager).post("/api/users/", payload, format="json").status_code == 403
    response = api(org.admin).post("/api/users/", payload, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["username"] == "api_user" and "password" not in response.json()
    again = api(org.admin).post("/api/users/", payload, format="json")
    assert again.status_code == 400 and "username" in again.json()


def test_users_edit_themselves_within_limits(org, api):
    client = api(org.rep)
    assert client.patch(f"/api/users/{org.rep.pk}/", {"first_name": "R"}, format="json").status_code == 200
    assert client.patch(f"/api/users/{org.rep.pk}/", {"role": "admin"}, format="json").status_code == 400
    assert client.patch(f"/api/users/{org.rep_b.pk}/", {"first_name": "X"}, format="json").status_code == 403
    assert User.objects.get(pk=org.rep.pk).role == Role.REP
    assert User.objects.get(pk=org.rep_b.pk).first_name != "X"


def test_unknown_ids_answer_404(org, api):
    client = api(org.admin)
    assert client.get("/api/users/999999/").status_code == 404
    assert client.get("/api/jobs/not-a-uuid/").status_code == 404


def test_schema_and_docs_are_served_to_signed_in_users(org, api, client):
    schema = api(org.rep).get("/api/schema/", {"format": "json"})
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert {"/api/auth/token/", "/api/users/", "/api/jobs/", "/api/audit/", "/api/me/"} <= set(paths)
    client.force_login(org.rep)
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "swagger" in html.lower() and "cdn" not in html.lower() and "//unpkg" not in html
