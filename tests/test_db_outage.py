"""The database unreachable: pages and the API answer 503 with Retry-After and a clear message, not a 500.

The outage is simulated by a selector or the session store raising what a lost connection raises
(OperationalError, InterfaceError). A real PostgreSQL restart under load is bench/fault_pg_restart.py
(docs/operations.md, "Faults").
"""

import logging

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.db import IntegrityError, InterfaceError, OperationalError

from contacts import selectors
from contacts.api import views as contact_api_views
from sfa.middleware import is_database_unavailable

MESSAGE = "The database is unavailable; try again in a few seconds."
OUTAGES = [
    OperationalError("server closed the connection unexpectedly\n\tThis probably means the server terminated"),
    InterfaceError("connection already closed"),
]


def raising(exc: Exception):
    def _raise(*args, **kwargs):
        raise exc

    return _raise


def outage_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "sfa.middleware" and r.levelno == logging.WARNING]


def assert_page_503(response) -> None:
    assert response.status_code == 503, response.content[:300]
    assert response["Retry-After"] == "5"
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert MESSAGE in html and "Back in a moment" in html
    assert "Traceback" not in html


def assert_api_503(response) -> None:
    assert response.status_code == 503, response.content[:300]
    assert response["Retry-After"] == "5"
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == {"detail": MESSAGE}


@pytest.mark.parametrize("exc", OUTAGES, ids=lambda e: type(e).__name__)
def test_a_page_whose_view_loses_the_database_answers_503_html(org, login, monkeypatch, caplog, exc):
    client = login(org.rep)
    monkeypatch.setattr(selectors, "contact_list", raising(exc))
    with caplog.at_level(logging.WARNING, logger="sfa.middleware"):
        response = client.get("/contacts/")
    assert_page_503(response)
    (warning,) = outage_warnings(caplog)
    assert "GET /contacts/" in warning and type(exc).__name__ in warning and "\n" not in warning


@pytest.mark.parametrize("exc", OUTAGES, ids=lambda e: type(e).__name__)
def test_an_api_view_that_loses_the_database_answers_503_json(org, api, monkeypatch, caplog, exc):
    """Token-authenticated: the error is raised inside the DRF view and answered by DRF's handler."""
    monkeypatch.setattr(contact_api_views, "contact_list", raising(exc))
    with caplog.at_level(logging.WARNING, logger="sfa.middleware"):
        response = api(org.rep).get("/api/contacts/")
    assert_api_503(response)
    (warning,) = outage_warnings(caplog)
    assert "GET /api/contacts/" in warning


def test_a_write_through_the_api_that_loses_the_database_answers_503_json(
    org, api, anna, purposes, monkeypatch, caplog
):
    monkeypatch.setattr(contact_api_views, "touch_log", raising(OUTAGES[0]))
    body = {"contact": anna.pk, "purpose": purposes["onboarding"].pk, "channel": "call", "direction": "in"}
    with caplog.at_level(logging.WARNING, logger="sfa.middleware"):
        response = api(org.rep).post("/api/touches/", body, format="json")
    assert_api_503(response)
    assert len(outage_warnings(caplog)) == 1


def test_when_the_session_cannot_be_read_pages_and_api_answer_503_and_the_user_stays_signed_in(
    org, login, monkeypatch, caplog, django_assert_num_queries
):
    """The first database read of a signed-in request is its session, before any view runs: the middleware
    answers there too (a later middleware's exception would skip process_exception and end as a 500)."""
    client = login(org.rep)
    with monkeypatch.context() as patched:
        patched.setattr(SessionStore, "load", raising(OUTAGES[0]))
        with caplog.at_level(logging.WARNING, logger="sfa.middleware"), django_assert_num_queries(0):
            page = client.get("/contacts/", headers={"HX-Request": "true"})
            api_page = client.get("/api/contacts/")
    assert_page_503(page)
    assert_api_503(api_page)
    assert len(outage_warnings(caplog)) == 2
    assert "sessionid" not in page.cookies and "sessionid" not in api_page.cookies  # the session cookie is kept
    # The database is back: the same session works again, no new sign-in.
    assert client.get("/contacts/").status_code == 200
    assert client.get("/api/contacts/").status_code == 200


def with_pgcode(message: str, pgcode: str) -> OperationalError:
    """An OperationalError as Django raises it from psycopg's, whose SQLSTATE says what went wrong."""
    cause = Exception(message)
    cause.pgcode = pgcode
    exc = OperationalError(message)
    exc.__cause__ = cause
    return exc


def test_only_the_errors_of_a_lost_connection_count_as_an_outage():
    assert all(is_database_unavailable(exc) for exc in OUTAGES)
    assert is_database_unavailable(with_pgcode("terminating connection due to administrator command", "57P01"))
    assert is_database_unavailable(with_pgcode("could not connect", "08006"))
    assert is_database_unavailable(OperationalError("database is locked"))  # SQLite, a writer holds the file
    # Retrying in five seconds cures none of these: they stay 500s with a traceback for the error report.
    assert not is_database_unavailable(with_pgcode("canceling statement due to statement timeout", "57014"))
    assert not is_database_unavailable(with_pgcode("could not extend file: No space left on device", "53100"))
    assert not is_database_unavailable(OperationalError("no such table: contacts_contact"))
    assert not is_database_unavailable(IntegrityError("duplicate key value"))


@pytest.mark.parametrize(
    "error",
    [
        IntegrityError('duplicate key value violates unique constraint "contacts_contact_pkey"'),
        OperationalError("no such column: contacts_contact.first_key"),
        with_pgcode("canceling statement due to statement timeout", "57014"),
    ],
    ids=["integrity", "sqlite-schema", "statement-timeout"],
)
def test_an_error_that_is_not_an_outage_is_not_turned_into_a_503(org, login, api, monkeypatch, caplog, error):
    client = login(org.rep)
    client.raise_request_exception = False
    monkeypatch.setattr(selectors, "contact_list", raising(error))
    monkeypatch.setattr(contact_api_views, "contact_list", raising(error))
    api_client = api(org.rep)
    api_client.raise_request_exception = False
    with caplog.at_level(logging.WARNING, logger="sfa.middleware"):
        page = client.get("/contacts/")
        api_page = api_client.get("/api/contacts/")
    assert page.status_code == 500 and api_page.status_code == 500
    assert not page.has_header("Retry-After") and not api_page.has_header("Retry-After")
    assert MESSAGE not in page.content.decode() and MESSAGE not in api_page.content.decode()
    assert outage_warnings(caplog) == []
