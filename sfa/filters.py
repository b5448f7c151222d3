"""Filter sets of the core records, shared by the HTML pages and the API (django-filter)."""

from typing import Any

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from sfa.models import AuditAction, AuditEvent, Job, JobStatus, Role, User


class IdFilter(django_filters.NumberFilter):
    """A record id: a whole number a database integer can hold, so a hostile ``?owner=99999999999999999999``
    answers 400 instead of overflowing in the database driver."""

    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 2**63 - 1)
        super().__init__(*args, **kwargs)


def apply_filters(filterset_class: type[django_filters.FilterSet], data: Any, queryset: QuerySet) -> QuerySet:
    """Filter ``queryset`` with ``data`` (a QueryDict or dict); bad values raise ValidationError naming the field."""
    filterset = filterset_class(data or None, queryset=queryset)
    if filterset.is_bound and not filterset.is_valid():
        raise ValidationError({name: list(errors) for name, errors in filterset.errors.items()})
    return filterset.qs


class AuditEventFilter(django_filters.FilterSet):
    model = django_filters.CharFilter(method="filter_model", label="Model (app.model)")
    object_id = django_filters.CharFilter()
    actor = django_filters.ModelChoiceFilter(queryset=User.objects.all())
    action = django_filters.ChoiceFilter(choices=AuditAction.choices)
    since = django_filters.DateTimeFilter(field_name="at", lookup_expr="gte")
    until = django_filters.DateTimeFilter(field_name="at", lookup_expr="lt")

    class Meta:
        model = AuditEvent
        fields = ["model", "object_id", "actor", "action", "since", "until"]

    def filter_model(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        app_label, _, model = value.partition(".")
        return queryset.filter(content_type__app_label=app_label, content_type__model=model.lower())


class JobFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=JobStatus.choices)
    kind = django_filters.CharFilter()

    class Meta:
        model = Job
        fields = ["status", "kind"]


class UserFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label="Search")
    role = django_filters.ChoiceFilter(choices=Role.choices)
    department = IdFilter(field_name="department_id")
    team = IdFilter(field_name="team_id")
    is_active = django_filters.BooleanFilter()

    class Meta:
        model = User
        fields = ["q", "role", "department", "team", "is_active"]

    def filter_q(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        from django.db.models import Q

        for word in value.split():
            queryset = queryset.filter(
                Q(username__icontains=word)
                | Q(first_name__icontains=word)
                | Q(last_name__icontains=word)
                | Q(email__icontains=word)
            )
        return queryset
