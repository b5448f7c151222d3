"""HTML pages: what each role sees, what it must not, HTMX partials and bad input."""

import pytest
from django.contrib.contenttypes.models import ContentType

from sfa.models import Job, JobStatus, Role, User
from tests.factories import JobFactory

PAGES = ["/", "/people/", "/organisation/", "/jobs/", "/password/"]


@pytest.mark.parametrize("role", ["rep", "manager", "admin", "marketing"])
@pytest.mark.parametrize("url", PAGES)
def test_every_page_renders_for_every_role(org, login, role, url):
    response = login(getattr(org, role)).get(url)
    assert response.status_code == 200
    assert b"<main" in response.content


def test_navigation_follows_the_role(org, login):
    rep_home = login(org.rep).get("/").content.decode()
    assert "People" in rep_home and "Audit log" not in rep_home
    admin_home = login(org.admin).get("/").content.decode()
    assert "Audit log" in admin_home and "Recent changes" in admin_home


def test_the_audit_log_is_forbidden_to_reps_and_managers(org, login):
    for user in (org.rep, org.manager):
        assert login(user).get("/audit/").status_code == 403
        assert login(user).post("/audit/export/").status_code == 403
    assert login(org.admin).get("/audit/").status_code == 200


def test_a_colleagues_job_is_not_found_and_cannot_be_cancelled(org, login):
    job = JobFactory(started_by=org.rep, status=JobStatus.RUNNING)
    client = login(org.rep_b)
    assert client.get(f"/jobs/{job.pk}/").status_code == 404
    assert client.post(f"/jobs/{job.pk}/cancel/").status_code == 404
    assert client.get(f"/jobs/{job.pk}/download/").status_code == 404
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING
    assert login(org.manager).get(f"/jobs/{job.pk}/").status_code == 200


def test_the_progress_partial_polls_until_the_job_finishes(org, login):
    job = JobFactory(started_by=org.rep, status=JobStatus.RUNNING, progress=40, message="40 of 100 rows")
    client = login(org.rep)
    partial = client.get(f"/jobs/{job.pk}/", headers={"HX-Request": "true"}).content.decode()
    assert 'hx-trigger="every 1s"' in partial and "<html" not in partial and 'aria-valuenow="40"' in partial
    Job.objects.filter(pk=job.pk).update(status=JobStatus.SUCCEEDED, progress=100)
    partial = client.get(f"/jobs/{job.pk}/", headers={"HX-Request": "true"}).content.decode()
    assert "hx-trigger" not in partial and "Succeeded" in partial


def test_admin_exports_the_audit_log_and_downloads_it(org, login, django_capture_on_commit_callbacks):
    client = login(org.admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/audit/export/", {"model": "sfa.user"})
    job = Job.objects.get(kind="audit_export")
    assert response.status_code == 302 and response.url == f"/jobs/{job.pk}/"
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    download = client.get(job.result_url)
    assert download.status_code == 200
    assert b"".join(download.streaming_content).startswith(b"id,at,actor")


def test_bad_filters_and_damaged_cursors_get_a_clear_400(org, login):
    client = login(org.admin)
    assert client.get("/people/?role=emperor").status_code == 400
    response = client.get("/people/?cursor=garbage")
    assert response.status_code == 400 and b"damaged" in response.content
    assert client.get("/people/?sort=password").status_code == 400
    assert client.get("/audit/?since=yesterday").status_code == 400


def test_people_list_filters_and_returns_a_partial_for_htmx(org, login):
    client = login(org.rep)
    html = client.get("/people/", {"role": "manager"}, headers={"HX-Request": "true"}).content.decode()
    assert 'id="results"' in html and "<html" not in html
    assert "manager_b" in html and ">rep_b<" not in html


def test_admin_adds_a_user_through_the_form_and_sees_errors_inline(org, login):
    client = login(org.admin)
    form = {"username": "new_person", "role": "rep", "department": org.rep.department_id, "password": "123"}
    response = client.post("/people/add/", form)
    assert response.status_code == 200 and b"too short" in response.content
    form["password"] = "a-long-enough-pass"
    response = client.post("/people/add/", form)
    user = User.objects.get(username="new_person")
    assert response.status_code == 302 and response.url == f"/people/{user.pk}/"
    assert login(org.manager).get("/people/add/").status_code == 403


def test_a_rep_edits_their_own_profile_but_not_a_colleagues(org, login):
    client = login(org.rep)
    page = client.get(f"/people/{org.rep.pk}/edit/").content.decode()
    assert 'name="role"' not in page
    response = client.post(f"/people/{org.rep.pk}/edit/", {"first_name": "Rita", "last_name": "J", "email": "r@x.io"})
    assert response.status_code == 302
    assert client.get(f"/people/{org.rep_b.pk}/edit/").status_code == 403
    assert client.post(f"/people/{org.rep_b.pk}/edit/", {"first_name": "X"}).status_code == 403
    # a tampered form that adds a role field is ignored: the rep's form has no such field
    client.post(f"/people/{org.rep.pk}/edit/", {"first_name": "Rita", "role": "admin"})
    assert User.objects.get(pk=org.rep.pk).role == Role.REP


def test_a_record_page_shows_its_audit_history(org, login):
    from sfa.services import user_update

    user_update(user=org.rep, actor=org.admin, data={"last_name": "Renamed"})
    page = login(org.rep_b).get(f"/people/{org.rep.pk}/").content.decode()
    assert "History" in page and "Renamed" in page
    ct = ContentType.objects.get_for_model(User)
    partial = login(org.rep_b).get(f"/audit/history/{ct.pk}/{org.rep.pk}/")
    assert partial.status_code == 200 and b"Renamed" in partial.content
    job = JobFactory(started_by=org.rep)
    job_ct = ContentType.objects.get_for_model(Job)
    assert login(org.rep_b).get(f"/audit/history/{job_ct.pk}/{job.pk}/").status_code == 404


def test_admins_add_departments_and_teams(org, login):
    client = login(org.admin)
    assert client.post("/organisation/", {"add_department": "1", "dept-name": "Legal"}).status_code == 302
    response = client.post(
        "/organisation/", {"add_team": "1", "team-name": "North", "team-department": org.rep.department_id}
    )
    assert response.status_code == 400 and b"already exists" in response.content
    assert login(org.rep).post("/organisation/", {"add_department": "1", "dept-name": "Rogue"}).status_code == 403


def test_user_content_is_escaped(org, login):
    from sfa.services import user_update

    user_update(user=org.rep, actor=org.rep, data={"first_name": '<script>alert("x")</script>'})
    html = login(org.rep_b).get("/people/").content.decode()
    assert '<script>alert("x")</script>' not in html and "&lt;script&gt;" in html


def test_healthz_reports_database_and_broker(client, db):
    body = client.get("/healthz").json()
    assert body["status"] == "ok" and body["database"]["ok"] and body["broker"]["ok"]


def test_login_logout_and_csrf(org, client):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    assert strict.post("/login/", {"username": "rep", "password": "x"}).status_code == 403
    response = client.post("/login/", {"username": "rep", "password": "correct-horse-battery-staple"})
    assert response.status_code == 302 and response.url == "/"
    assert client.post("/logout/").status_code == 302
    assert client.get("/").status_code == 302


def test_password_guessing_is_throttled_per_user_and_address(org, client, settings):
    settings.LOGIN_MAX_FAILURES = 3
    for _ in range(3):
        assert b"Please enter a correct" in client.post("/login/", {"username": "rep", "password": "nope"}).content
    blocked = client.post("/login/", {"username": "rep", "password": "correct-horse-battery-staple"})
    assert blocked.status_code == 200 and b"Too many failed sign-ins" in blocked.content
    other = client.post("/login/", {"username": "rep_b", "password": "correct-horse-battery-staple"})
    assert other.status_code == 302


def test_the_client_address_comes_from_our_own_proxies_only(settings, rf):
    from sfa.auth import client_address

    request = rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7")
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_address(request) == "10.0.0.2"
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_address(request) == "203.0.113.7"  # the forged 6.6.6.6 is ignored


def test_healthz_answers_503_naming_the_broker_when_it_is_down(client, db, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["database"]["ok"] and not body["broker"]["ok"] and body["broker"]["detail"]


def test_admins_check_the_workers_from_the_jobs_page(org, login, django_capture_on_commit_callbacks):
    assert b"Check the workers" in login(org.admin).get("/jobs/").content
    assert b"Check the workers" not in login(org.rep).get("/jobs/").content
    assert login(org.rep).post("/jobs/selftest/").status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        response = login(org.admin).post("/jobs/selftest/")
    job = Job.objects.get(kind="selftest")
    assert response.url == f"/jobs/{job.pk}/"
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.result["checks"]["files"] == "media folder writable"
