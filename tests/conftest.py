"""Shared fixtures: an organisation with two teams, and for each role a user plus a second user of that role."""

from dataclasses import dataclass

import pytest
from hypothesis import settings as hypothesis_settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from contacts.models import Purpose
from contacts.services import account_create, contact_create, purpose_save
from sfa.models import Role, User
from tests.factories import DepartmentFactory, TeamFactory, UserFactory
from tests.worker import celery_worker, real_worker, start_worker  # noqa: F401 (fixtures)

# Property tests judge results, not speed: Hypothesis's default 200 ms deadline per example fails them at random
# on a loaded CI machine (two test legs side by side). Tests that need other settings still set their own.
hypothesis_settings.register_profile("sfa", deadline=None, print_blob=True)
hypothesis_settings.load_profile("sfa")


@dataclass
class Org:
    """Two sales teams (north, south) under one director, plus a marketing user.

    rep and rep_b share team north (managed by manager); rep_other sits in team south (managed by
    manager_b). admin and admin_b are admins.
    """

    admin: User
    admin_b: User
    director: User
    manager: User
    manager_b: User
    rep: User
    rep_b: User
    rep_other: User
    marketing: User


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttles and caches start empty in every test."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def org(db) -> Org:
    sales = DepartmentFactory(name="Sales", is_sales=True)
    marketing = DepartmentFactory(name="Marketing")
    director = UserFactory(username="director", role=Role.MANAGER, department=sales)
    europe = TeamFactory(name="Europe", department=sales, manager=director)
    director.team = europe
    director.save(update_fields=["team"])
    manager = UserFactory(username="manager", role=Role.MANAGER, department=sales, team=europe)
    manager_b = UserFactory(username="manager_b", role=Role.MANAGER, department=sales, team=europe)
    north = TeamFactory(name="North", department=sales, manager=manager, parent=europe)
    south = TeamFactory(name="South", department=sales, manager=manager_b, parent=europe)
    mkt_team = TeamFactory(name="Marketing team", department=marketing)
    return Org(
        admin=UserFactory(username="admin", role=Role.ADMIN, department=sales),
        admin_b=UserFactory(username="admin_b", role=Role.ADMIN, department=sales),
        director=director,
        manager=manager,
        manager_b=manager_b,
        rep=UserFactory(username="rep", department=sales, team=north),
        rep_b=UserFactory(username="rep_b", department=sales, team=north),
        rep_other=UserFactory(username="rep_other", department=sales, team=south),
        marketing=UserFactory(username="marketing", department=marketing, team=mkt_team),
    )


@pytest.fixture
def login(client):
    """``login(user)`` -> the Django test client signed in as ``user``."""

    def _login(user: User):
        client.force_login(user)
        return client

    return _login


@pytest.fixture
def api():
    """``api(user)`` -> a DRF APIClient authenticated with that user's token (or anonymous for None)."""

    def _api(user: User | None = None) -> APIClient:
        client = APIClient()
        if user is not None:
            # tests/test_api.py covers POST /api/auth/token/; here we skip its login throttle.
            token, _ = Token.objects.get_or_create(user=user)
            client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return _api


# --- customers and purposes, built through the services (used by every app's tests) ---


@pytest.fixture
def purposes(org) -> dict[str, Purpose]:
    return {
        "cross_sell": purpose_save(actor=None, name="Cross-sell", window_days=14, mode="warn", scope="contact"),
        "renewal": purpose_save(actor=None, name="Renewal", window_days=30, mode="warn", scope="account"),
        "payment": purpose_save(actor=None, name="Payment reminder", window_days=10, mode="block", scope="account"),
        "onboarding": purpose_save(actor=None, name="Onboarding"),
    }


@pytest.fixture
def acme(org):
    return account_create(
        actor=org.rep, name="Acme GmbH", website="https://www.acme.example/", city="Berlin", country="de"
    )


@pytest.fixture
def anna(org, acme):
    return contact_create(
        actor=org.rep,
        first_name="Anna",
        last_name="Schmidt",
        account=acme,
        emails=["Anna.Schmidt@Acme.example"],
        phones=["030 1234567"],
        city="Berlin",
        country="DE",
    )


@pytest.fixture
def bernd(org, acme):
    return contact_create(
        actor=org.rep_b, first_name="Bernd", last_name="Müller", account=acme, phones=["+49 151 23456789"]
    )
