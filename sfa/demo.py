"""Demo data: each app contributes a step in its own ``demo.py``; ``seed_demo`` runs them in order.

A step is ``func(ctx: DemoContext) -> None`` registered with ``@demo_step(order)`` and must be
idempotent (get-or-create by natural keys), so that running ``seed_demo`` twice changes nothing.
Steps share what they made through ``ctx`` (for instance ``ctx.users["rep1"]``).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.utils.module_loading import autodiscover_modules


@dataclass
class DemoContext:
    password: str
    rng: random.Random = field(default_factory=lambda: random.Random(2026))  # noqa: S311 (demo data, not secrets)
    users: dict[str, Any] = field(default_factory=dict)
    logins: list[tuple[str, str, str]] = field(default_factory=list)  # (username, role, what they show)
    log: Callable[[str], None] = print


_steps: list[tuple[int, str, Callable[[DemoContext], None]]] = []


def demo_step(order: int) -> Callable[[Callable[[DemoContext], None]], Callable[[DemoContext], None]]:
    def decorator(func: Callable[[DemoContext], None]) -> Callable[[DemoContext], None]:
        name = f"{func.__module__}.{func.__name__}"
        if all(existing != name for _, existing, _ in _steps):
            _steps.append((order, name, func))
        return func

    return decorator


def demo_steps() -> list[tuple[int, str, Callable[[DemoContext], None]]]:
    autodiscover_modules("demo")
    return sorted(_steps, key=lambda step: step[0])


# --- the core's part: the company ----------------------------------------------------------------

DEPARTMENTS = ["Sales", "Marketing", "Support", "Service", "Billing"]
TEAMS = [
    # name, department, parent
    ("Sales Europe", "Sales", None),
    ("Sales North", "Sales", "Sales Europe"),
    ("Sales South", "Sales", "Sales Europe"),
    ("Marketing", "Marketing", None),
    ("Customer Care", "Support", None),
    ("Field Service", "Service", None),
    ("Billing", "Billing", None),
]
PEOPLE = [
    # username, first, last, role, department, team, manages, what the login shows
    ("admin", "Ada", "Admin", "admin", "Sales", None, [], "everything, the audit log and settings"),
    (
        "director",
        "Diane",
        "Moreau",
        "manager",
        "Sales",
        "Sales Europe",
        ["Sales Europe"],
        "all of sales, both regional teams",
    ),
    (
        "manager",
        "Marc",
        "Keller",
        "manager",
        "Sales",
        "Sales Europe",
        ["Sales North"],
        "the Sales North team",
    ),
    (
        "manager2",
        "Sofia",
        "Romano",
        "manager",
        "Sales",
        "Sales Europe",
        ["Sales South"],
        "the Sales South team",
    ),
    ("rep", "Rita", "Jensen", "rep", "Sales", "Sales North", [], "a sales rep's own pipeline"),
    ("rep2", "Tom", "Becker", "rep", "Sales", "Sales North", [], "a second rep, same team"),
    ("rep3", "Lena", "Fischer", "rep", "Sales", "Sales South", [], "a rep in the other team"),
    ("rep4", "Paulo", "Silva", "rep", "Sales", "Sales South", [], "another rep in the other team"),
    ("marketing", "Mia", "Laurent", "rep", "Marketing", "Marketing", [], "marketing touches and campaigns"),
    (
        "marketing_lead",
        "Noah",
        "Weber",
        "manager",
        "Marketing",
        "Marketing",
        ["Marketing"],
        "the marketing team",
    ),
    (
        "operations",
        "Olga",
        "Petrova",
        "manager",
        "Support",
        "Customer Care",
        ["Customer Care", "Field Service", "Billing"],
        "the support, service and billing teams",
    ),
    ("support", "Sam", "Novak", "rep", "Support", "Customer Care", [], "support touches"),
    ("service", "Eva", "Horvat", "rep", "Service", "Field Service", [], "service visits"),
    ("billing", "Ben", "Kowalski", "rep", "Billing", "Billing", [], "payment reminders"),
]


@demo_step(order=0)
def demo_company(ctx: DemoContext) -> None:
    from sfa.models import Department, Team, User
    from sfa.services import (
        department_get_or_create,
        model_update,
        team_get_or_create,
        team_set_manager,
        user_create,
    )

    departments = {name: department_get_or_create(name=name, actor=None) for name in DEPARTMENTS}
    teams: dict[str, Team] = {}
    for name, department, parent in TEAMS:
        team = team_get_or_create(name=name, department=departments[department], actor=None)
        if parent and team.parent_id is None:
            model_update(instance=team, actor=None, data={"parent": teams[parent]})
        teams[name] = team
    for username, first, last, role, department, team, manages, shows in PEOPLE:
        user = User.objects.filter(username=username).first()
        if user is None:
            user = user_create(
                username=username,
                password=ctx.password,
                role=role,
                department=departments[department],
                team=teams[team] if team else None,
                first_name=first,
                last_name=last,
                email=f"{username}@sfa-demo.example",
                actor=None,
            )
        for team_name in manages:
            if teams[team_name].manager_id is None:
                team_set_manager(team=teams[team_name], manager=user, actor=None)
        ctx.users[username] = user
        ctx.logins.append((username, user.get_role_display(), shows))
    ctx.log(
        f"company: {Department.objects.count()} departments, {Team.objects.count()} teams, {User.objects.count()} users"
    )
