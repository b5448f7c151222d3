"""schemathesis against /api/schema/: generated requests to every operation, as an admin and as a rep.

No request may end in a server error, and every documented response must conform to the schema (body
and content type). Data is generated from the schema, so most ids are unknown (404) and most bodies are
refused (400): that is the point; what must never happen is a 500 or an answer the schema does not promise.
The examples per operation are few so the suite stays fast; SFA_FUZZ_EXAMPLES raises them.

The operations are driven here with hypothesis directly (schemathesis' pytest plugin does not run on
pytest 9 yet); every operation's failure is collected, so one run lists them all.
"""

import os
import time

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import load_all_checks, not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from sfa.models import Role
from sfa.wsgi import application
from tests.contacts.factories import AccountFactory, ContactFactory, FollowUpFactory, TouchFactory
from tests.factories import UserFactory
from tests.orders.factories import OrderFactory, OrderLineFactory, QuoteFactory, QuoteLineFactory

load_all_checks()
EXAMPLES = int(os.environ.get("SFA_FUZZ_EXAMPLES", "3"))
SKIP = {("POST", "/api/auth/token/")}  # throttled login: tests/test_api.py covers it
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)


@pytest.fixture
def keep_the_test_connection():
    """Django's test client keeps the test database connection open across requests; schemathesis calls the
    WSGI app directly, so the same signal handlers are taken off for the test."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _records_of(user) -> None:
    """A little of everything, owned by the caller, so that list answers hold rows the schema must describe."""
    account = AccountFactory(owner=user)  # no size or segment: blank choices must be in the schema
    contact = ContactFactory(owner=user, account=account, emails=["fuzz@example.com"], phones=["030 1234567"])
    TouchFactory(contact=contact, user=user)
    FollowUpFactory(contact=contact, assignee=user)
    QuoteLineFactory(quote=QuoteFactory(owner=user, account=account))
    OrderLineFactory(order=OrderFactory(owner=user, account=account))


@pytest.mark.parametrize("role", [Role.ADMIN, Role.REP])
@pytest.mark.django_db
@pytest.mark.filterwarnings("ignore")
def test_every_api_operation_answers_within_its_schema(role, keep_the_test_connection):
    user = UserFactory(role=role)
    _records_of(user)
    token = Token.objects.create(user=user).key
    headers = {"Authorization": f"Token {token}"}
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application, headers=headers)
    failures, operations = [], 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in SKIP:
            continue
        operations += 1

        @FUZZ
        @given(case=operation.as_strategy())
        def exercise(case):
            case.call_and_validate(
                headers=headers, checks=[not_a_server_error, response_schema_conformance, content_type_conformance]
            )

        started = time.perf_counter()
        try:
            exercise()
        except (Exception, BaseExceptionGroup) as exc:  # every failure is collected and reported together
            failures.append(f"{operation.method.upper()} {operation.path}: {str(exc).strip()[:1500]}")
        if os.environ.get("SFA_FUZZ_TIMES"):
            print(f"{time.perf_counter() - started:6.2f}s {operation.method.upper()} {operation.path}")
    assert operations > 50
    assert not failures, f"{len(failures)} of {operations} operations failed:\n\n" + "\n\n".join(failures)
