"""docs/permissions.md is the contract: every cell equals the registered policy and holds for real users."""

import importlib
from pathlib import Path

import pytest
from django.apps import apps
from django.contrib.auth.models import AnonymousUser

from sfa.audit import audit_record
from sfa.models import AuditAction, AuditEvent, Department, Job, Team, User
from sfa.permissions import Scope, can, policy_for, registered_policies, scoped
from tests.factories import DepartmentFactory, JobFactory, TeamFactory

DOC = Path(__file__).resolve().parent.parent / "docs" / "permissions.md"
ROLES = ("rep", "manager", "admin", "anonymous")


def matrix_rows() -> list[tuple[str, str, dict[str, str]]]:
    text = DOC.read_text()
    block = text.split("<!-- matrix:start -->")[1].split("<!-- matrix:end -->")[0]
    rows = []
    for line in block.strip().splitlines()[2:]:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        obj, action, *scopes = cells
        assert len(scopes) == len(ROLES), f"bad matrix line: {line}"
        rows.append((obj, action, dict(zip(ROLES, scopes, strict=True))))
    return rows


ROWS = matrix_rows()


def test_the_matrix_covers_every_registered_policy_and_action():
    documented = {(obj, action) for obj, action, _ in ROWS}
    for model, policy in registered_policies().items():
        for action in policy.rules:
            assert (model._meta.label, action) in documented, f"{model._meta.label}.{action} is not in {DOC.name}"


@pytest.mark.parametrize(("obj", "action", "scopes"), ROWS, ids=[f"{o}-{a}" for o, a, _ in ROWS])
def test_policy_equals_the_documented_cell(obj, action, scopes):
    policy = policy_for(apps.get_model(obj))
    for role, scope in scopes.items():
        assert Scope(scope) in Scope
        actual = policy.rules[action].get(role, Scope.NONE)
        assert actual == Scope(scope), f"{obj} {action} {role}: policy says {actual}, docs say {scope}"


def make_owned(model, owner: User):
    """A row of ``model`` owned by ``owner`` (for models without owners: any row)."""
    if model is User:
        return owner
    if model is Job:
        return JobFactory(started_by=owner)
    if model is AuditEvent:
        return audit_record(actor=owner, instance=owner, action=AuditAction.UPDATE, changes={"x": [1, 2]})
    if model is Department:
        return DepartmentFactory()
    if model is Team:
        return TeamFactory()
    # Each app's tests say how to make its rows: tests/<app>/ownership.py defines make_owned(model, owner).
    return importlib.import_module(f"tests.{model._meta.app_label}.ownership").make_owned(model, owner)


@pytest.mark.parametrize(("obj", "action", "scopes"), ROWS, ids=[f"{o}-{a}" for o, a, _ in ROWS])
def test_each_cell_holds_for_the_actor_a_second_user_of_the_role_and_other_teams(org, obj, action, scopes):
    model = apps.get_model(obj)
    actors = {"rep": org.rep, "manager": org.manager, "admin": org.admin, "anonymous": AnonymousUser()}
    # Owners: the actor's peer in the same team, a rep the manager manages, a rep of another team,
    # a second manager and a second admin.
    owners = [org.rep, org.rep_b, org.rep_other, org.manager, org.manager_b, org.admin, org.admin_b]
    north = {org.manager.pk, org.rep.pk, org.rep_b.pk}
    for role, scope in scopes.items():
        actor = actors[role]
        assert can(actor, action, model) is (scope != "none"), f"{obj} {action} as {role} (no row)"
        for owner in owners:
            row = make_owned(model, owner)
            expected = {
                "all": True,
                "none": False,
                "own": owner.pk == getattr(actor, "pk", None),
                "team": owner.pk in north,
            }[scope]
            assert can(actor, action, row) is expected, f"{obj} {action} as {role} on a row of {owner.username}"
            if action == "view":
                visible = scoped(actor, model.objects.filter(pk=row.pk)).exists()
                assert visible is expected, f"{obj} listed for {role} on a row of {owner.username}"


def test_a_director_sees_the_jobs_of_sub_teams(org):
    job = JobFactory(started_by=org.rep_other)
    assert can(org.director, "view", job)
    assert can(org.manager_b, "view", job)
    assert not can(org.manager, "view", job)


def test_an_inactive_user_is_treated_as_anonymous(org):
    job = JobFactory(started_by=org.rep)
    org.rep.is_active = False
    assert not can(org.rep, "view", job)


def test_every_url_needs_a_login_or_says_it_is_public(client, db):
    """Anonymous visitors get a login redirect (pages) or 401/403 (API) everywhere but the public URLs."""
    from django.urls import URLPattern, URLResolver, get_resolver

    public = {"login", "api:token"}  # and every view marked with @login_not_required
    checked = 0

    def walk(patterns, prefix="", namespace=""):
        nonlocal checked
        for p in patterns:
            if isinstance(p, URLResolver):
                if str(p.pattern).startswith("admin/"):
                    continue
                ns = f"{namespace}{p.namespace}:" if p.namespace else namespace
                walk(p.url_patterns, prefix + str(p.pattern), ns)
            elif isinstance(p, URLPattern):
                name = f"{namespace}{p.name}" if p.name else ""
                route = prefix + str(p.pattern)
                if name in public or not getattr(p.callback, "login_required", True):
                    continue
                if "<" in route or "(?P" in route or "\\." in route:
                    continue
                url = "/" + route.replace("^", "").replace("$", "")
                response = client.get(url)
                checked += 1
                if url.startswith("/api/"):
                    assert response.status_code in (401, 403), f"{url} answered {response.status_code} to anonymous"
                else:
                    assert response.status_code in (302, 405), f"{url} answered {response.status_code} to anonymous"
                    if response.status_code == 302:
                        assert response.url.startswith("/login/"), url

    walk(get_resolver().url_patterns)
    assert checked > 10
