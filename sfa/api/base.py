"""Base API views: the row scoping of every endpoint happens here, once."""

from django.db.models import QuerySet
from rest_framework import viewsets

from sfa.permissions import scoped


class ScopedViewSetMixin:
    """``get_queryset`` returns only the rows the requesting user may view (their model's policy).

    Subclasses set ``queryset`` (select_related/prefetch_related included). The unscoped queryset is
    reachable only as ``dangerously_get_unscoped_queryset()``, so nobody uses it by accident.
    """

    def dangerously_get_unscoped_queryset(self) -> QuerySet:
        return self.queryset.all()

    def get_queryset(self) -> QuerySet:
        return scoped(self.request.user, self.dangerously_get_unscoped_queryset(), "view")


class ScopedReadOnlyViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    pass


class ScopedModelViewSet(ScopedViewSetMixin, viewsets.ModelViewSet):
    pass
