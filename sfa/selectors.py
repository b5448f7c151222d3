"""Reads of the core records, always scoped by the acting user through sfa.permissions."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet

from sfa.filters import JobFilter, UserFilter, apply_filters
from sfa.models import Department, Job, JobStatus, Team, User
from sfa.permissions import scoped


def user_list(*, actor: User, filters: Any = None) -> QuerySet[User]:
    qs = scoped(actor, User.objects.select_related("department", "team", "team__manager"))
    return apply_filters(UserFilter, filters, qs)


def department_list(*, actor: User) -> QuerySet[Department]:
    return scoped(actor, Department.objects.annotate(user_count=Count("users", filter=Q(users__is_active=True))))


def team_list(*, actor: User) -> QuerySet[Team]:
    return scoped(
        actor,
        Team.objects.select_related("department", "manager", "parent").annotate(
            member_count=Count("members", filter=Q(members__is_active=True))
        ),
    )


def job_list(*, actor: User, filters: Any = None) -> QuerySet[Job]:
    qs = scoped(actor, Job.objects.select_related("started_by"))
    return apply_filters(JobFilter, filters, qs)


def job_counts(*, actor: User) -> dict[str, int]:
    qs = scoped(actor, Job.objects.all())
    active = Q(status__in=[JobStatus.QUEUED, JobStatus.RUNNING])
    return qs.aggregate(active=Count("id", filter=active), failed=Count("id", filter=Q(status=JobStatus.FAILED)))
