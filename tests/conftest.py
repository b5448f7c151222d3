"""Shared fixtures: an organisation with two teams, and for each role a user plus a second user of that role."""

from dataclasses import dataclass

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from sfa.models import Role, User
from tests.factories import DepartmentFactory, TeamFactory, UserFactory


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
