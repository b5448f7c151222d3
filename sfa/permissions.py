"""The one place that decides who may see and do what.

Each model gets one ``Policy`` that states, per action and role, a *scope*: ``all`` rows, the rows of
the actor's ``team`` (the teams they manage, sub-teams included), their ``own`` rows, or ``none``.
Selectors, HTML views, the API and services all ask the policy; none builds its own visibility rule.
The matrix in docs/permissions.md is checked against these policies by tests/test_permissions_matrix.py.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Model, QuerySet
from django.http import Http404

if TYPE_CHECKING:
    from sfa.models import User


class Scope(StrEnum):
    ALL = "all"
    TEAM = "team"
    OWN = "own"
    NONE = "none"


ANONYMOUS = "anonymous"
ROLES = ("rep", "manager", "admin", ANONYMOUS)
STANDARD_ACTIONS = ("view", "add", "change", "delete")


def rule(rep: Scope, manager: Scope, admin: Scope) -> dict[str, Scope]:
    """One action's scopes by role (anonymous visitors get none)."""
    return {"rep": rep, "manager": manager, "admin": admin}


# The usual rule sets, shared by the apps' policies.
ADMIN_MANAGED = {
    "view": rule(Scope.ALL, Scope.ALL, Scope.ALL),
    "add": rule(Scope.NONE, Scope.NONE, Scope.ALL),
    "change": rule(Scope.NONE, Scope.NONE, Scope.ALL),
    "delete": rule(Scope.NONE, Scope.NONE, Scope.ALL),
}


class Policy:
    """Scopes for one model. ``owner`` is the lookup path from the model to the user who owns a row."""

    model: type[Model]
    owner: str | None = "owner"
    rules: dict[str, dict[str, Scope]] = {}

    def role_of(self, actor: User | None) -> str:
        if actor is None or not actor.is_authenticated or not actor.is_active:
            return ANONYMOUS
        return "admin" if actor.is_admin else actor.role

    def scope_for(self, actor: User | None, action: str) -> Scope:
        if action not in self.rules:
            raise KeyError(f"{type(self).__name__} has no rule for action {action!r}")
        return self.rules[action].get(self.role_of(actor), Scope.NONE)

    def filter(self, actor: User | None, queryset: QuerySet, action: str = "view") -> QuerySet:
        scope = self.scope_for(actor, action)
        if scope is Scope.ALL:
            return queryset
        if scope is Scope.NONE or self.owner is None:
            return queryset.none()
        if scope is Scope.OWN:
            return queryset.filter(**{self._owner_id_lookup(): actor.pk})
        return queryset.filter(**{f"{self._owner_id_lookup()}__in": team_member_ids(actor)})

    def allows(self, actor: User | None, action: str, obj: Model | None = None) -> bool:
        """May ``actor`` do ``action``: on ``obj``, or (without one) on at least some rows of the model."""
        scope = self.scope_for(actor, action)
        if scope is Scope.NONE:
            return False
        if obj is None or scope is Scope.ALL:
            return True
        owner_id = self.owner_id(obj)
        if scope is Scope.OWN:
            return owner_id == actor.pk
        return owner_id in team_member_ids(actor)

    def owner_id(self, obj: Model) -> Any:
        if self.owner is None:
            return None
        *path, last = self.owner.split("__")
        target: Any = obj
        for step in path:
            target = getattr(target, step)
            if target is None:
                return None
        field = target._meta.get_field(last)
        return getattr(target, field.attname)

    def _owner_id_lookup(self) -> str:
        # "id" and "owner" both compare by primary key; Django accepts "owner" for "owner_id".
        return self.owner


_registry: dict[type[Model], Policy] = {}


def register(policy_class: type[Policy]) -> type[Policy]:
    """Class decorator: make ``policy_class`` the policy of its model."""
    _registry[policy_class.model] = policy_class()
    return policy_class


def policy_for(model: type[Model] | Model) -> Policy:
    model_class = model if isinstance(model, type) else type(model)
    model_class = model_class._meta.concrete_model
    try:
        return _registry[model_class]
    except KeyError:
        raise LookupError(f"No policy is registered for {model_class._meta.label}") from None


def registered_policies() -> dict[type[Model], Policy]:
    return dict(_registry)


def managed_team_ids(actor: User) -> frozenset[int]:
    """The teams the actor manages and every team below them (cached on the actor)."""
    cached = getattr(actor, "_sfa_managed_team_ids", None)
    if cached is not None:
        return cached
    from sfa.models import Team

    parents: dict[int | None, list[int]] = {}
    managed: list[int] = []
    for team_id, parent_id, manager_id in Team.objects.values_list("id", "parent_id", "manager_id"):
        parents.setdefault(parent_id, []).append(team_id)
        if manager_id == actor.pk:
            managed.append(team_id)
    team_ids: set[int] = set()
    stack = list(managed)
    while stack:
        team_id = stack.pop()
        if team_id not in team_ids:
            team_ids.add(team_id)
            stack.extend(parents.get(team_id, []))
    actor._sfa_managed_team_ids = frozenset(team_ids)
    return actor._sfa_managed_team_ids


def team_member_ids(actor: User) -> frozenset[int]:
    """The actor and every member of the teams they manage, sub-teams included (cached on the actor)."""
    cached = getattr(actor, "_sfa_team_member_ids", None)
    if cached is not None:
        return cached
    from sfa.models import User

    team_ids = managed_team_ids(actor)
    ids = frozenset(User.objects.filter(team_id__in=team_ids).values_list("id", flat=True)) | {actor.pk}
    actor._sfa_team_member_ids = ids
    return ids


def can(actor: User | None, action: str, target: Model | type[Model]) -> bool:
    """True when the policy of ``target`` (a model or one row) lets ``actor`` do ``action``."""
    if isinstance(target, type):
        return policy_for(target).allows(actor, action)
    return policy_for(target).allows(actor, action, target)


def scoped(actor: User | None, queryset: QuerySet, action: str = "view") -> QuerySet:
    """The rows of ``queryset`` that ``actor`` may ``action``: the only way selectors scope a queryset."""
    return policy_for(queryset.model).filter(actor, queryset, action)


def require(actor: User | None, action: str, target: Model | type[Model]) -> None:
    if not can(actor, action, target):
        what = f"{target._meta.verbose_name_plural}" if isinstance(target, type) else f"this {_label(target)}"
        raise PermissionDenied(f"Your role does not allow you to {action.replace('_', ' ')} {what}.")


def get_object_for(actor: User | None, queryset: QuerySet, pk: Any, action: str = "view") -> Model:
    """Fetch one row and authorise ``action`` on it in one call.

    A row the actor may not even view answers 404 (its existence is not revealed); a row they can view
    but not ``action`` answers 403.
    """
    try:
        obj = scoped(actor, queryset, "view").get(pk=pk)
    except (queryset.model.DoesNotExist, ValidationError, ValueError, TypeError):
        raise Http404(f"No {queryset.model._meta.verbose_name} with id {pk}.") from None
    if action != "view":
        require(actor, action, obj)
    return obj


def _label(target: Model | type[Model]) -> str:
    return str(target._meta.verbose_name)
