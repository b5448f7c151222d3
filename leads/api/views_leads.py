"""Leads over the API: list and filter, create through the matching engine, update, assign, convert."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from leads import selectors, services
from leads.api import serializers as s
from leads.filters import LeadFilter
from leads.models import Lead
from sfa.api.base import ScopedReadOnlyViewSet
from sfa.api.views import as_drf_error


class LeadApi(mixins.CreateModelMixin, mixins.UpdateModelMixin, ScopedReadOnlyViewSet):
    """Leads: a rep sees their own, a manager their teams' and the unassigned queue (``?unassigned=true``)."""

    queryset = Lead.objects.select_related("contact", "owner").prefetch_related("contact__emails", "contact__phones")
    serializer_class = s.LeadSerializer
    filterset_class = LeadFilter
    ordering = ["-created_at", "-id"]
    ordering_fields = ["created_at", "score", "id"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    @property
    def policy_action(self) -> str | None:
        return {"assign": "assign", "convert": "convert"}.get(self.action)

    @extend_schema(request=s.LeadInputSerializer, responses={201: s.LeadSerializer})
    def create(self, request, *args, **kwargs):
        data = s.LeadInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            lead = services.lead_create(actor=request.user, **data.service_kwargs())
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        return Response(s.LeadSerializer(lead).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.LeadUpdateSerializer, responses=s.LeadSerializer)
    def partial_update(self, request, *args, **kwargs):
        lead = self.get_object()
        data = s.LeadUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        try:
            services.lead_update(lead=lead, actor=request.user, data=dict(data.validated_data))
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        return Response(s.LeadSerializer(selectors.lead_get(actor=request.user, pk=lead.pk)).data)

    @extend_schema(request=s.AssignSerializer, responses=s.LeadSerializer)
    @action(detail=True, methods=["post"])
    def assign(self, request, *args, **kwargs):
        lead = self.get_object()
        data = s.AssignSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.lead_assign(lead=lead, actor=request.user, owner=data.validated_data.get("owner"))
        return Response(s.LeadSerializer(lead).data)

    @extend_schema(request=s.ConvertSerializer, responses=s.LeadSerializer)
    @action(detail=True, methods=["post"])
    def convert(self, request, *args, **kwargs):
        lead = self.get_object()
        data = s.ConvertSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        opportunity = data.validated_data.get("opportunity")
        if opportunity:
            try:
                opportunity = {**opportunity, "expected_close": date.fromisoformat(str(opportunity["expected_close"]))}
            except (KeyError, ValueError) as exc:
                raise ValidationError({"opportunity": "expected_close must be a date (YYYY-MM-DD)."}) from exc
        try:
            services.lead_convert(
                lead=lead,
                actor=request.user,
                account=data.validated_data.get("account"),
                new_account_name=data.validated_data["new_account_name"],
                opportunity=opportunity,
            )
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        except TypeError as exc:
            raise ValidationError({"opportunity": f"Unknown opportunity field: {exc}"}) from exc
        lead.refresh_from_db()
        return Response(s.LeadSerializer(lead).data)


def register(router: DefaultRouter) -> None:
    router.register("leads", LeadApi, basename="lead")
