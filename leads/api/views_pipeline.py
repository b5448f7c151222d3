"""Opportunities and pipelines over the API: list and filter, create through opportunity_create, change
through opportunity_update (via "api", so the stage history records it), and each deal's history."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from leads import selectors, services
from leads.api import serializers_pipeline as s
from leads.filters import OpportunityFilter
from leads.models import Opportunity, OpportunityLine, Pipeline, Stage
from sfa.api.base import ScopedReadOnlyViewSet
from sfa.api.views import as_drf_error


class OpportunityApi(mixins.CreateModelMixin, mixins.UpdateModelMixin, ScopedReadOnlyViewSet):
    """Opportunities: a rep sees their own, a manager their teams'. Filter by owner, stage, pipeline,
    account, forecast_category, close_after/close_before (expected close) and is_open; ``search``
    looks in the name and the account's name."""

    queryset = Opportunity.objects.select_related("account", "owner", "stage").prefetch_related("lines")
    serializer_class = s.OpportunitySerializer
    filterset_class = OpportunityFilter
    search_fields = ["name", "account__name"]
    ordering = ["expected_close", "id"]
    ordering_fields = ["expected_close", "amount", "created_at", "id"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    @extend_schema(request=s.OpportunityCreateSerializer, responses={201: s.OpportunitySerializer})
    def create(self, request, *args, **kwargs):
        data = s.OpportunityCreateSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        try:
            opportunity = services.opportunity_create(actor=request.user, via="api", **data.validated_data)
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        return Response(self._out(opportunity.pk), status=status.HTTP_201_CREATED)

    @extend_schema(request=s.OpportunityUpdateSerializer, responses=s.OpportunitySerializer)
    def partial_update(self, request, *args, **kwargs):
        opportunity = self.get_object()
        data = s.OpportunityUpdateSerializer(data=request.data, partial=True, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        try:
            services.opportunity_update(
                opportunity=opportunity, actor=request.user, data=dict(data.validated_data), via="api"
            )
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        except DjangoPermissionDenied as exc:
            raise PermissionDenied(str(exc)) from exc
        return Response(self._out(opportunity.pk))

    @extend_schema(responses=s.StageChangeSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def history(self, request, *args, **kwargs):
        """Every recorded change of the opportunity's stage, amount, probability, forecast category and
        expected close, oldest first: who, when, via which entry path, from which stage to which."""
        opportunity = self.get_object()
        rows = selectors.stage_history(actor=request.user, opportunity=opportunity)
        return Response(s.StageChangeSerializer(rows, many=True).data)

    @extend_schema(request=s.OpportunityLineCreateSerializer, responses={201: s.OpportunitySerializer})
    @action(detail=True, methods=["post"], url_path="lines", pagination_class=None, filter_backends=[])
    def line_add(self, request, *args, **kwargs):
        """Add a product or a saved configuration as a line (opportunity_line_add, via "api"); the deal's
        amount becomes its lines' total and the change is recorded in its history. Answers the deal."""
        opportunity = self.get_object()
        data = s.OpportunityLineCreateSerializer(data=request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        try:
            services.opportunity_line_add(opportunity=opportunity, actor=request.user, via="api", **data.validated_data)
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        except DjangoPermissionDenied as exc:
            raise PermissionDenied(str(exc)) from exc
        return Response(self._out(opportunity.pk), status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={204: None})
    @action(
        detail=True,
        methods=["delete"],
        url_path=r"lines/(?P<line_id>[0-9]+)",
        pagination_class=None,
        filter_backends=[],
    )
    def line_remove(self, request, *args, line_id=None, **kwargs):
        """Take a line off the deal (opportunity_line_remove, via "api"); the amount follows the lines."""
        opportunity = self.get_object()
        line = OpportunityLine.objects.filter(opportunity=opportunity, pk=line_id).first()
        if line is None:
            raise NotFound(f"Opportunity {opportunity} has no line with id {line_id}.")
        try:
            services.opportunity_line_remove(line=line, actor=request.user, via="api")
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        except DjangoPermissionDenied as exc:
            raise PermissionDenied(str(exc)) from exc
        return Response(status=status.HTTP_204_NO_CONTENT)

    @property
    def policy_action(self) -> str | None:
        if self.action in ("line_add", "line_remove"):
            return "change"
        return "view" if self.action == "history" else None

    def _out(self, pk: int) -> dict:
        opportunity = selectors.opportunity_get(actor=self.request.user, pk=pk)
        return s.OpportunitySerializer(opportunity, context=self.get_serializer_context()).data


class PipelineApi(ScopedReadOnlyViewSet):
    """Pipelines with their stages in order (probability and forecast category of each)."""

    queryset = Pipeline.objects.prefetch_related(Prefetch("stages", queryset=Stage.objects.order_by("order")))
    serializer_class = s.PipelineSerializer
    ordering = ["-is_default", "name", "id"]
    ordering_fields = ["name", "id"]
    search_fields = ["name"]


def register(router: DefaultRouter) -> None:
    router.register("opportunities", OpportunityApi, basename="opportunity")
    router.register("pipelines", PipelineApi, basename="pipeline")
