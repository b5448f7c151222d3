"""People services, the add_user command and the demo seed."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command

from sfa.audit import audit_history
from sfa.models import AuditAction, AuditEvent, Department, Role, Team, User
from sfa.services import team_create, user_create, user_update
from tests.factories import DepartmentFactory


def test_admin_creates_a_user_and_the_creation_is_audited(org):
    user = user_create(
        username="newrep",
        password="a-long-enough-pass",
        role=Role.REP,
        department=org.rep.department,
        team=org.rep.team,
        actor=org.admin,
    )
    assert user.check_password("a-long-enough-pass")
    event = AuditEvent.objects.get(object_id=str(user.pk), action=AuditAction.CREATE)
    assert event.actor == org.admin
    assert event.changes["username"] == [None, "newrep"]
    assert "password" not in event.changes


@pytest.mark.parametrize("actor_name", ["rep", "manager"])
def test_only_admins_create_users(org, actor_name):
    with pytest.raises(PermissionDenied):
        user_create(
            username="x",
            password="a-long-enough-pass",
            role=Role.REP,
            department=org.rep.department,
            actor=getattr(org, actor_name),
        )
    assert not User.objects.filter(username="x").exists()


def test_weak_passwords_and_duplicate_usernames_are_refused(org):
    with pytest.raises(ValidationError):
        user_create(username="weak", password="123", role=Role.REP, department=org.rep.department, actor=org.admin)
    with pytest.raises(ValidationError, match="already exists"):
        user_create(
            username="REP", password="a-long-enough-pass", role=Role.REP, department=org.rep.department, actor=None
        )


def test_a_rep_changes_their_own_name_but_not_their_role_nor_a_colleague(org):
    assert user_update(user=org.rep, actor=org.rep, data={"first_name": "Rita"}) == ["first_name"]
    with pytest.raises(ValidationError):
        user_update(user=org.rep, actor=org.rep, data={"role": Role.ADMIN})
    with pytest.raises(PermissionDenied):
        user_update(user=org.rep_b, actor=org.rep, data={"first_name": "Hacked"})
    org.rep_b.refresh_from_db()
    assert org.rep_b.first_name != "Hacked"
    org.rep.refresh_from_db()
    assert org.rep.role == Role.REP


def test_admin_changes_a_role_and_the_history_shows_before_and_after(org):
    user_update(user=org.rep, actor=org.admin, data={"role": Role.MANAGER})
    org.rep.refresh_from_db()
    assert org.rep.role == Role.MANAGER
    event = audit_history(actor=org.rep_b, instance=org.rep)[0]
    assert event.changes["role"] == ["rep", "manager"]
    assert event.actor == org.admin and event.actor_department == org.admin.department


def test_an_update_that_changes_nothing_writes_no_event(org):
    before = AuditEvent.objects.count()
    assert user_update(user=org.rep, actor=org.rep, data={"first_name": org.rep.first_name}) == []
    assert AuditEvent.objects.count() == before


def test_an_admin_cannot_demote_themself(org):
    with pytest.raises(ValidationError, match="admin role"):
        user_update(user=org.admin, actor=org.admin, data={"role": Role.REP})


def test_team_manager_must_be_a_manager(org):
    with pytest.raises(ValidationError, match="not a manager"):
        team_create(name="West", department=org.rep.department, manager=org.rep, actor=org.admin)
    with pytest.raises(PermissionDenied):
        team_create(name="West", department=org.rep.department, actor=org.manager)
    team = team_create(name="West", department=org.rep.department, manager=org.manager, actor=org.admin)
    assert team.manager == org.manager


def test_add_user_command_creates_department_team_and_manager(db, capsys):
    call_command(
        "add_user",
        "boss",
        "--role",
        "manager",
        "--department",
        "Sales",
        "--team",
        "Nordics",
        "--password",
        "boss-password-1",
    )
    call_command(
        "add_user",
        "alice",
        "--role",
        "rep",
        "--department",
        "Sales",
        "--team",
        "Nordics",
        "--manager",
        "boss",
        "--password",
        "alice-password-1",
        "--email",
        "alice@example.com",
    )
    alice = User.objects.get(username="alice")
    assert alice.department.name == "Sales" and alice.team.name == "Nordics"
    assert alice.team.manager.username == "boss"
    assert alice.check_password("alice-password-1")
    assert "Created alice" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["bob", "--role", "rep", "--department", "Sales", "--password", "short"], "password"),
        (["bob", "--role", "rep", "--department", "Sales", "--manager", "nobody", "--password", "x" * 12], "--team"),
        (
            [
                "bob",
                "--role",
                "rep",
                "--department",
                "Sales",
                "--team",
                "T",
                "--manager",
                "nobody",
                "--password",
                "long-password-1",
            ],
            "No user called",
        ),
    ],
)
def test_add_user_command_reports_bad_input_and_creates_nothing(db, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("add_user", *args)
    assert not User.objects.filter(username="bob").exists()
    assert not Team.objects.exists()


def test_add_user_command_rejects_an_unknown_role(db):
    with pytest.raises(CommandError):
        call_command("add_user", "bob", "--role", "king", "--department", "Sales", "--password", "long-password-1")


def test_seed_demo_is_idempotent_and_covers_every_role(db, capsys):
    call_command("seed_demo")
    counts = (User.objects.count(), Team.objects.count(), Department.objects.count(), AuditEvent.objects.count())
    call_command("seed_demo")
    assert (
        User.objects.count(),
        Team.objects.count(),
        Department.objects.count(),
        AuditEvent.objects.count(),
    ) == counts
    assert set(User.objects.values_list("role", flat=True)) == set(Role.values)
    assert User.objects.count() >= 12
    assert Team.objects.filter(manager__isnull=True).count() == 0
    assert User.objects.get(username="rep").check_password("sfa-demo-2026")
    out = capsys.readouterr().out
    assert "Demo logins" in out and "manager2" in out


def test_departments_are_unique_case_insensitively(org):
    DepartmentFactory(name="Support")
    from sfa.services import department_create

    with pytest.raises(ValidationError):
        department_create(name="support", actor=org.admin)
