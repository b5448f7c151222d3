"""Writes on the core records: people, departments, teams; and the generic audited create/update/delete.

Every other app's services use ``model_create`` / ``model_update`` / ``model_delete`` (or call
``sfa.audit.audit_record`` directly) so that each change lands in the audit trail with its actor.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Model
from django.utils.text import slugify

from sfa.audit import audit_record, diff, snapshot
from sfa.models import AuditAction, Department, Role, Team, User
from sfa.permissions import require


@transaction.atomic
def model_create(*, model: type[Model], actor: User | None, data: dict[str, Any], note: str = "") -> Model:
    """Validate and create one row, and audit it."""
    instance = model(**data)
    instance.full_clean()
    instance.save()
    audit_record(
        actor=actor,
        instance=instance,
        action=AuditAction.CREATE,
        changes=diff({}, snapshot(instance)),
        note=note,
    )
    return instance


@transaction.atomic
def model_update(*, instance: Model, actor: User | None, data: dict[str, Any], note: str = "") -> list[str]:
    """Set ``data`` on ``instance``, validate, save only the changed fields and audit the change.

    Returns the names of the fields that changed (empty when nothing did: no save, no event).
    """
    before = snapshot(instance)
    for name, value in data.items():
        setattr(instance, name, value)
    after = snapshot(instance)
    changes = diff(before, after)
    changed_fields = [name for name in data if name in changes or name not in after]
    if not changed_fields:
        return []
    instance.full_clean()
    instance.save(update_fields=changed_fields)
    audit_record(actor=actor, instance=instance, action=AuditAction.UPDATE, changes=changes, note=note)
    return changed_fields


@transaction.atomic
def model_delete(*, instance: Model, actor: User | None, note: str = "") -> None:
    audit_record(
        actor=actor,
        instance=instance,
        action=AuditAction.DELETE,
        changes=diff(snapshot(instance), {}),
        note=note,
    )
    instance.delete()


# --- Departments and teams ------------------------------------------------------------------------


def department_get_or_create(*, name: str, actor: User | None) -> Department:
    """The department called ``name`` (case-insensitive), created and audited if it does not exist."""
    existing = Department.objects.filter(name__iexact=name.strip()).first()
    if existing:
        return existing
    if actor is not None:
        require(actor, "add", Department)
    code = slugify(name)
    if not code:
        raise ValidationError({"name": f"{name!r} is not a usable department name."})
    return model_create(
        model=Department, actor=actor, data={"name": name.strip(), "code": code, "is_sales": code == "sales"}
    )


def team_get_or_create(*, name: str, department: Department, actor: User | None) -> Team:
    existing = Team.objects.filter(name__iexact=name.strip()).first()
    if existing:
        return existing
    if actor is not None:
        require(actor, "add", Team)
    return model_create(model=Team, actor=actor, data={"name": name.strip(), "department": department})


def team_set_manager(*, team: Team, manager: User | None, actor: User | None) -> Team:
    if manager is not None and manager.role not in (Role.MANAGER, Role.ADMIN):
        raise ValidationError({"manager": f"{manager.username} is a {manager.role}, not a manager."})
    if actor is not None:
        require(actor, "change", team)
    model_update(instance=team, actor=actor, data={"manager": manager})
    return team


# --- Users ----------------------------------------------------------------------------------------

USER_SELF_FIELDS = ("first_name", "last_name", "email")
USER_ADMIN_FIELDS = (*USER_SELF_FIELDS, "role", "department", "team", "is_active")


@transaction.atomic
def user_create(
    *,
    username: str,
    password: str,
    role: str,
    department: Department,
    team: Team | None = None,
    actor: User | None,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
) -> User:
    """Create an internal user. ``actor`` None means a trusted script (the add_user command, seed_demo)."""
    if actor is not None:
        require(actor, "add", User)
    if role not in Role.values:
        raise ValidationError({"role": f"Unknown role {role!r}; choose one of {', '.join(Role.values)}."})
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": f"A user called {username!r} already exists."})
    user = User(
        username=username,
        role=role,
        department=department,
        team=team,
        first_name=first_name,
        last_name=last_name,
        email=email,
        is_staff=role == Role.ADMIN,
        is_superuser=role == Role.ADMIN,
    )
    validate_password(password, user)
    user.set_password(password)
    user.full_clean()
    user.save()
    audit_record(actor=actor, instance=user, action=AuditAction.CREATE, changes=diff({}, snapshot(user)))
    return user


def user_update(*, user: User, actor: User, data: dict[str, Any]) -> list[str]:
    """Change a user. Users may change their own name and e-mail; role, team and status are for admins."""
    require(actor, "change", user)
    allowed = USER_ADMIN_FIELDS if actor.is_admin else USER_SELF_FIELDS
    forbidden = sorted(set(data) - set(allowed))
    if forbidden:
        raise ValidationError(dict.fromkeys(forbidden, "You may not change this field."))
    if "role" in data:
        require(actor, "assign_role", user)
        if user.pk == actor.pk and data["role"] != Role.ADMIN:
            raise ValidationError({"role": "You cannot take the admin role away from yourself."})
        data = {**data, "is_staff": data["role"] == Role.ADMIN, "is_superuser": data["role"] == Role.ADMIN}
    return model_update(instance=user, actor=actor, data=data)


@transaction.atomic
def user_set_password(*, user: User, actor: User | None, password: str) -> None:
    if actor is not None:
        require(actor, "change", user)
    validate_password(password, user)
    user.set_password(password)
    user.save(update_fields=["password"])
    audit_record(actor=actor, instance=user, action=AuditAction.ACTION, verb="password changed")


def team_create(
    *,
    name: str,
    department: Department,
    actor: User | None,
    manager: User | None = None,
    parent: Team | None = None,
) -> Team:
    if actor is not None:
        require(actor, "add", Team)
    if Team.objects.filter(name__iexact=name.strip()).exists():
        raise ValidationError({"name": f"A team called {name.strip()!r} already exists."})
    if manager is not None and manager.role not in (Role.MANAGER, Role.ADMIN):
        raise ValidationError({"manager": f"{manager.username} is a {manager.role}, not a manager."})
    return model_create(
        model=Team,
        actor=actor,
        data={"name": name.strip(), "department": department, "manager": manager, "parent": parent},
    )


def department_create(*, name: str, actor: User | None) -> Department:
    if Department.objects.filter(name__iexact=name.strip()).exists():
        raise ValidationError({"name": f"A department called {name.strip()!r} already exists."})
    return department_get_or_create(name=name, actor=actor)
