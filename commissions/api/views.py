"""Commission statements, plans, splits and the opportunity estimate over the API.

Rows come scoped by the requesting user (sfa.api.base): a rep sees their own statements, a manager their
teams', an admin all; a colleague's statement answers 404. Writes go through commissions.services (policy
checked again there, audited): a refusal answers 403, bad input 400, a locked statement 409.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from commissions import selectors, services
from commissions.api import serializers as s
from commissions.models import CommissionSplit, Plan, Statement
from leads.models import Opportunity
from orders import selectors as order_selectors
from sfa.api.base import ScopedReadOnlyViewSet
from sfa.api.exceptions import service_errors

LOCKED = OpenApiResponse(description="The statement is approved (locked)")


class StatementApi(ScopedReadOnlyViewSet):
    """Monthly commission statements. Filter by rep, status, period (YYYY-MM), period_from, period_to. The
    detail has every line with its order, order line, ledger entry, payment, rule, basis, rate and amount.
    POST compute/ starts the background job; approve/ locks a statement; adjust/ adds an adjustment."""

    queryset = Statement.objects.select_related("rep")
    serializer_class = s.StatementSerializer
    filterset_class = selectors.StatementFilter
    ordering = ["-period", "-id"]
    ordering_fields = ["period", "total", "id"]
    http_method_names = ["get", "post", "head", "options"]

    @property
    def policy_action(self) -> str | None:
        return {"approve": "approve", "adjust": "change", "compute": "add"}.get(self.action or "")

    def get_queryset(self) -> QuerySet[Statement]:
        queryset = super().get_queryset()
        if self.action == "retrieve":
            queryset = queryset.prefetch_related("lines__plan")
        return queryset

    def get_serializer_class(self):
        return s.StatementDetailSerializer if self.action == "retrieve" else s.StatementSerializer

    def _out(self, statement: Statement) -> dict:
        fresh = self.get_queryset().prefetch_related("lines__plan").get(pk=statement.pk)
        return s.StatementDetailSerializer(fresh, context=self.get_serializer_context()).data

    @extend_schema(
        request=None, responses={200: s.StatementDetailSerializer, 409: OpenApiResponse(description="Locked")}
    )
    @action(detail=True, methods=["post"])
    def approve(self, request, *args, **kwargs):
        statement = self.get_object()
        with service_errors(conflict=True):
            services.statement_approve(statement=statement, actor=request.user)
        return Response(self._out(statement))

    @extend_schema(request=s.AdjustInputSerializer, responses={201: s.StatementDetailSerializer})
    @action(detail=True, methods=["post"])
    def adjust(self, request, *args, **kwargs):
        statement = self.get_object()
        data = s.AdjustInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with service_errors(conflict=True):
            services.statement_adjust(statement=statement, actor=request.user, **data.validated_data)
        return Response(self._out(statement), status=status.HTTP_201_CREATED)

    @extend_schema(request=s.ComputeInputSerializer, responses={202: s.JobOutSerializer})
    @action(detail=False, methods=["post"])
    def compute(self, request, *args, **kwargs):
        """Compute the statements of a range of months (all the reps you manage, or ``rep_ids``) in the background."""
        data = s.ComputeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with service_errors():
            job = services.statements_compute_start(actor=request.user, **data.validated_data)
        url = reverse("api:job-detail", args=[job.pk])
        return Response({"job": job.pk, "status": job.status, "url": url}, status=status.HTTP_202_ACCEPTED)


class PlanApi(mixins.CreateModelMixin, mixins.UpdateModelMixin, ScopedReadOnlyViewSet):
    """Commission plans (managers and admins): fields, participants (users, teams), tiers, category rates and
    SPIFs. A PUT replaces the plan and all its rule rows."""

    queryset = Plan.objects.prefetch_related("participants", "tiers", "category_rates", "spifs")
    serializer_class = s.PlanSerializer
    ordering = ["-effective_from", "id"]
    ordering_fields = ["effective_from", "name", "id"]
    filterset_fields = ["basis", "is_active"]
    http_method_names = ["get", "post", "put", "head", "options"]

    def _save(self, plan: Plan | None) -> Plan:
        data = s.PlanInputSerializer(data=self.request.data)
        data.is_valid(raise_exception=True)
        with service_errors():
            plan = services.plan_save(actor=self.request.user, plan=plan, **data.service_kwargs())
        return self.get_queryset().get(pk=plan.pk)

    @extend_schema(request=s.PlanInputSerializer, responses={201: s.PlanSerializer})
    def create(self, request, *args, **kwargs):
        plan = self._save(None)
        return Response(s.PlanSerializer(plan).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.PlanInputSerializer, responses={200: s.PlanSerializer})
    def update(self, request, *args, **kwargs):
        plan = self._save(self.get_object())
        return Response(s.PlanSerializer(plan).data)


class CommissionSplitApi(ScopedReadOnlyViewSet):
    """How orders' commission credit is split between reps (filter by ``order``). POST set/ replaces an order's
    split (managers of the order's rep and admins)."""

    queryset = CommissionSplit.objects.select_related("rep")
    serializer_class = s.CommissionSplitSerializer
    filterset_fields = ["order", "rep"]
    ordering = ["order_id", "-percent", "id"]
    http_method_names = ["get", "post", "head", "options"]

    @property
    def policy_action(self) -> str | None:
        return "change" if self.action == "set" else None

    @extend_schema(request=s.SplitSetInputSerializer, responses={200: s.CommissionSplitSerializer(many=True)})
    @action(detail=False, methods=["post"], url_path="set", url_name="set")
    def set(self, request, *args, **kwargs):
        data = s.SplitSetInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            order = order_selectors.order_get(actor=request.user, pk=data.validated_data["order"])
        except Http404 as exc:  # an order the user may not see
            raise NotFound("No such order.") from exc
        pairs = [(row["rep"], row["percent"]) for row in data.validated_data["splits"]]
        with service_errors():
            made = services.order_splits_set(order=order, splits=pairs, actor=request.user)
        return Response(s.CommissionSplitSerializer(made, many=True).data)


class CommissionEstimateApi(ScopedReadOnlyViewSet):
    """GET /api/commission-estimates/{opportunity id}/: what the open opportunity would earn its owner if it
    closed this month (for the owner, their managers and admins)."""

    queryset = Opportunity.objects.select_related("owner")
    serializer_class = s.EstimateSerializer
    http_method_names = ["get", "head", "options"]

    def list(self, request, *args, **kwargs):
        raise NotFound("Ask for one opportunity: /api/commission-estimates/{opportunity id}/.")

    @extend_schema(responses={200: s.EstimateSerializer})
    def retrieve(self, request, *args, **kwargs):
        opportunity = self.get_object()
        if opportunity.forecast_category in ("closed_won", "closed_lost"):
            raise ValidationError({"opportunity": "The opportunity is closed: it earns through its order."})
        estimate = selectors.opportunity_estimate(actor=request.user, opportunity=opportunity)
        if estimate is None:
            raise PermissionDenied("You may not see what this opportunity would earn its owner.")
        payload = {**estimate, "opportunity": opportunity.pk, "rep": opportunity.owner_id}
        return Response(s.EstimateSerializer(payload).data)


def register(router: DefaultRouter) -> None:
    router.register("commission-statements", StatementApi, basename="commission-statement")
    router.register("commission-plans", PlanApi, basename="commission-plan")
    router.register("commission-splits", CommissionSplitApi, basename="commission-split")
    router.register("commission-estimates", CommissionEstimateApi, basename="commission-estimate")
