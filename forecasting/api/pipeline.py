"""Quotas, forecast adjustments and the pipeline forecast over the API.

- ``/api/quotas/``: list (filters ``user``, ``team``, ``period``), create, PATCH amount or note, DELETE.
- ``/api/forecast-adjustments/``: list (filters ``user``, ``team``, ``period``, ``category``) and create;
  adjustments are never edited, a new one supersedes the last.
- ``/api/pipeline-forecast/``: GET a period's forecast grouped by rep, team, category or stage, raw and
  adjusted.

Rows come scoped by the requesting user (sfa.api.base); writes go through forecasting.services_pipeline,
which checks the policy again, refuses a manager's own quota or number, and audits.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter
from rest_framework.views import APIView

from forecasting import selectors_pipeline as selectors
from forecasting import services_pipeline as services
from forecasting.models import Adjustment, Quota
from forecasting.pipeline_periods import QUARTER, Period, bounds_label, period_of, period_parse
from leads.models import Opportunity
from orders.api.views import service_errors
from sfa.api.base import ScopedReadOnlyViewSet
from sfa.api.views import as_drf_error
from sfa.models import Team, User
from sfa.permissions import can

ZERO = Decimal("0")

# --- Serializers ------------------------------------------------------------------------------------------


class PeriodField(serializers.CharField):
    """A period key (2026-05, FY2027-Q1, FY2027) in, the Period out."""

    def to_internal_value(self, data: Any) -> Period:
        from django.core.exceptions import ValidationError

        try:
            return period_parse(super().to_internal_value(data))
        except ValidationError as exc:
            raise serializers.ValidationError(exc.messages) from None


class _TargetSerializer(serializers.ModelSerializer):
    user_name = serializers.SerializerMethodField()
    team_name = serializers.SerializerMethodField()
    period = serializers.SerializerMethodField()

    def get_user_name(self, obj) -> str | None:
        return str(obj.user) if obj.user_id else None

    def get_team_name(self, obj) -> str | None:
        return str(obj.team) if obj.team_id else None

    def get_period(self, obj) -> str:
        return bounds_label(obj.period_start, obj.period_end)


class QuotaSerializer(_TargetSerializer):
    class Meta:
        model = Quota
        fields = [
            "id",
            "user",
            "user_name",
            "team",
            "team_name",
            "period_start",
            "period_end",
            "period",
            "amount",
            "note",
            "created_by",
            "updated_at",
        ]
        read_only_fields = fields


class _TargetInputSerializer(serializers.Serializer):
    user = serializers.PrimaryKeyRelatedField(queryset=User.objects.all(), required=False, allow_null=True)
    team = serializers.PrimaryKeyRelatedField(queryset=Team.objects.all(), required=False, allow_null=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if (attrs.get("user") is None) == (attrs.get("team") is None):
            raise serializers.ValidationError({"user": "Give a rep (user) or a team, one of them."})
        return attrs


class QuotaInputSerializer(_TargetInputSerializer):
    period = PeriodField(required=False, help_text="2026-05, FY2027-Q1 or FY2027; or period_start and period_end")
    period_start = serializers.DateField(required=False)
    period_end = serializers.DateField(required=False)
    amount = serializers.DecimalField(max_digits=16, decimal_places=2, min_value=0)
    note = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        period = attrs.pop("period", None)
        if period is not None:
            attrs["period_start"], attrs["period_end"] = period.start, period.end
        if not attrs.get("period_start") or not attrs.get("period_end"):
            raise serializers.ValidationError({"period": "Give a period, or period_start and period_end."})
        return attrs


class QuotaUpdateSerializer(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=16, decimal_places=2, min_value=0, required=False)
    note = serializers.CharField(required=False, allow_blank=True, max_length=200)


class AdjustmentSerializer(_TargetSerializer):
    created_by_name = serializers.SerializerMethodField()
    is_standing = serializers.SerializerMethodField()

    class Meta:
        model = Adjustment
        fields = [
            "id",
            "user",
            "user_name",
            "team",
            "team_name",
            "period_start",
            "period_end",
            "period",
            "category",
            "amount",
            "raw_amount",
            "note",
            "created_by",
            "created_by_name",
            "created_at",
            "is_standing",
        ]
        read_only_fields = fields

    def get_created_by_name(self, obj) -> str:
        return str(obj.created_by)

    def get_is_standing(self, obj) -> bool:
        """True while no later adjustment of the same rep or team, period and category supersedes it."""
        return not getattr(obj, "superseded", False)


class AdjustmentInputSerializer(_TargetInputSerializer):
    period = PeriodField(help_text="2026-05, FY2027-Q1 or FY2027")
    category = serializers.ChoiceField(choices=list(selectors.ADJUSTABLE), default="commit")
    amount = serializers.DecimalField(max_digits=16, decimal_places=2, min_value=0)
    note = serializers.CharField(max_length=2000)


class CategoryFigureSerializer(serializers.Serializer):
    category = serializers.CharField()
    count = serializers.IntegerField()
    raw = serializers.DecimalField(max_digits=16, decimal_places=2)
    weighted = serializers.DecimalField(max_digits=16, decimal_places=2)
    adjusted = serializers.DecimalField(max_digits=16, decimal_places=2, allow_null=True)


class ForecastRowSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="user-<id>, team-<id>, the category or stage-<id>")
    label = serializers.CharField()
    parent = serializers.CharField(allow_null=True, help_text="The team row this row rolls up into")
    count = serializers.IntegerField()
    amount = serializers.DecimalField(max_digits=16, decimal_places=2, help_text="Open amount (raw)")
    weighted = serializers.DecimalField(max_digits=16, decimal_places=2)
    won = serializers.DecimalField(max_digits=16, decimal_places=2, allow_null=True)
    categories = CategoryFigureSerializer(many=True)
    quota = serializers.DecimalField(max_digits=16, decimal_places=2, allow_null=True)
    booked = serializers.DecimalField(max_digits=16, decimal_places=2, allow_null=True)
    attainment = serializers.FloatField(allow_null=True, help_text="Booked / quota, in %")


class PipelineForecastSerializer(serializers.Serializer):
    period = serializers.CharField()
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    currency = serializers.CharField()
    group_by = serializers.CharField()
    rows = ForecastRowSerializer(many=True)
    total = ForecastRowSerializer()
    unconverted = serializers.DictField(child=serializers.IntegerField(), help_text="Deals without a rate, by currency")


# --- Views --------------------------------------------------------------------------------------------------


class QuotaApi(mixins.CreateModelMixin, mixins.UpdateModelMixin, mixins.DestroyModelMixin, ScopedReadOnlyViewSet):
    """Quotas of reps and teams: a rep sees their own, a manager their teams' and sets those of their reps and
    sub-teams, an admin all. Filter by ``user``, ``team`` and ``period`` (quotas overlapping it)."""

    queryset = Quota.objects.select_related("user", "team")
    serializer_class = QuotaSerializer
    filterset_class = selectors.QuotaFilter
    ordering = ["period_start", "id"]
    ordering_fields = ["period_start", "amount", "id"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    @extend_schema(request=QuotaInputSerializer, responses={201: QuotaSerializer})
    def create(self, request, *args, **kwargs):
        data = QuotaInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with service_errors(field="period"):
            quota = services.quota_create(actor=request.user, **data.validated_data)
        return Response(QuotaSerializer(self.get_queryset().get(pk=quota.pk)).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=QuotaUpdateSerializer, responses=QuotaSerializer)
    def partial_update(self, request, *args, **kwargs):
        quota = self.get_object()
        data = QuotaUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with service_errors(field="amount"):
            quota = services.quota_update(actor=request.user, quota=quota, **data.validated_data)
        return Response(QuotaSerializer(self.get_queryset().get(pk=quota.pk)).data)

    def destroy(self, request, *args, **kwargs):
        quota = self.get_object()
        with service_errors():
            services.quota_delete(actor=request.user, quota=quota)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AdjustmentApi(mixins.CreateModelMixin, ScopedReadOnlyViewSet):
    """Managers' adjustments of a rep's or team's forecast category in a period, newest first, with the raw
    roll-up they stood beside. A rep sees their own. POST adds one (a note is required); nothing is edited."""

    queryset = selectors.with_superseded(Adjustment.objects.select_related("user", "team", "created_by"))
    serializer_class = AdjustmentSerializer
    filterset_class = selectors.AdjustmentFilter
    ordering = ["-created_at", "-id"]
    ordering_fields = ["created_at", "id"]
    http_method_names = ["get", "post", "head", "options"]

    @extend_schema(request=AdjustmentInputSerializer, responses={201: AdjustmentSerializer})
    def create(self, request, *args, **kwargs):
        data = AdjustmentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with service_errors(field="note"):
            adjustment = services.adjustment_create(actor=request.user, **data.validated_data)
        fresh = self.get_queryset().get(pk=adjustment.pk)
        return Response(AdjustmentSerializer(fresh).data, status=status.HTTP_201_CREATED)


class CanViewPipeline(BasePermission):
    """The forecast is made of opportunities: whoever may view some (their own at least) may ask for it."""

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and can(request.user, "view", Opportunity))


GROUPS = ("rep", "team", "category", "stage")


def _cats(node: selectors.Node, *, adjusted: bool = True) -> list[dict[str, Any]]:
    return [
        {
            "category": c["category"],
            "count": c["count"],
            "raw": c["raw"],
            "weighted": c["weighted"],
            "adjusted": c["adjusted"] if adjusted else None,
        }
        for c in node.categories
    ]


def _node_row(node: selectors.Node, parent: selectors.Node | None) -> dict[str, Any]:
    return {
        "key": node.key,
        "label": node.label,
        "parent": parent.key if parent is not None else None,
        "count": node.open_count,
        "amount": node.open_amount,
        "weighted": node.weighted,
        "won": node.won,
        "categories": _cats(node),
        "quota": node.quota,
        "booked": node.booked,
        "attainment": node.attainment,
    }


def _flat(roots: list[selectors.Node], kind: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []

    def walk(node: selectors.Node, parent: selectors.Node | None) -> None:
        if node.kind == kind:
            rows.append(_node_row(node, parent))
        for child in node.children:
            walk(child, node)

    for root in roots:
        walk(root, None)
    return rows


def _row(key: str, label: str, *, count: int, amount: Any, weighted: Any, won: Any, categories: list) -> dict:
    return {
        "key": key,
        "label": label,
        "parent": None,
        "count": count,
        "amount": amount,
        "weighted": weighted,
        "won": won,
        "categories": categories,
        "quota": None,
        "booked": None,
        "attainment": None,
    }


def _category_rows(forecast: selectors.PipelineForecast) -> list[dict[str, Any]]:
    rows = [
        _row(
            c["category"],
            c["label"],
            count=c["count"],
            amount=c["raw"],
            weighted=c["weighted"],
            won=None,
            categories=[{k: c[k] for k in ("category", "count", "raw", "weighted", "adjusted")}],
        )
        for c in forecast.total.categories
    ]
    won = forecast.total.cells[selectors.WON]
    rows.append(
        _row(selectors.WON, "Closed won", count=won.count, amount=ZERO, weighted=ZERO, won=won.amount, categories=[])
    )
    return rows


def _stage_rows(forecast: selectors.PipelineForecast) -> list[dict[str, Any]]:
    rows = []
    for stage in forecast.stages:
        open_cells = [stage.cells[c] for c in selectors.OPEN_CATEGORIES]
        categories = [
            {"category": c, "count": cell.count, "raw": cell.amount, "weighted": cell.weighted, "adjusted": None}
            for c, cell in zip(selectors.OPEN_CATEGORIES, open_cells, strict=True)
            if cell.count
        ]
        rows.append(
            _row(
                f"stage-{stage.stage_id}",
                stage.label,
                count=sum(c.count for c in open_cells),
                amount=sum((c.amount for c in open_cells), ZERO),
                weighted=sum((c.weighted for c in open_cells), ZERO),
                won=stage.cells[selectors.WON].amount,
                categories=categories,
            )
        )
    return rows


class PipelineForecastApi(APIView):
    """The pipeline forecast of a period: open deals expected to close in it (commit, best case, pipeline) and
    those won in it, in the base currency, weighted by probability. ``group_by`` rep or team gives each row's
    raw roll-up beside the adjusted number and its quota, booked sales and attainment; ``category`` the totals
    per forecast category, raw and adjusted; ``stage`` the amounts per stage (adjustments are per category,
    so stage rows have none). A rep sees only themselves, a manager their teams, an admin everybody."""

    permission_classes = [CanViewPipeline]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "period", OpenApiTypes.STR, description="2026-05, FY2027-Q1 or FY2027 (default: this quarter)"
            ),
            OpenApiParameter("group_by", OpenApiTypes.STR, enum=list(GROUPS), description="Default: rep"),
        ],
        responses=PipelineForecastSerializer,
    )
    def get(self, request):
        from django.core.exceptions import ValidationError
        from django.utils import timezone

        group_by = request.query_params.get("group_by") or "rep"
        if group_by not in GROUPS:
            raise serializers.ValidationError({"group_by": f"One of: {', '.join(GROUPS)}."})
        try:
            key = request.query_params.get("period")
            period = period_parse(key) if key else period_of(QUARTER, timezone.localdate())
        except ValidationError as exc:
            raise as_drf_error(ValidationError({"period": exc.messages})) from exc
        forecast = selectors.pipeline_forecast(actor=request.user, period=period)
        if group_by in ("rep", "team"):
            rows = _flat(forecast.roots, "user" if group_by == "rep" else "team")
        elif group_by == "category":
            rows = _category_rows(forecast)
        else:
            rows = _stage_rows(forecast)
        total = _node_row(forecast.total, None)
        total["key"] = "total"
        payload = {
            "period": period.key,
            "period_start": period.start,
            "period_end": period.end,
            "currency": forecast.currency,
            "group_by": group_by,
            "rows": rows,
            "total": total,
            "unconverted": forecast.missing,
        }
        return Response(PipelineForecastSerializer(payload).data)


def register(router: DefaultRouter) -> None:
    router.register("quotas", QuotaApi, basename="quota")
    router.register("forecast-adjustments", AdjustmentApi, basename="forecast-adjustment")


urlpatterns = [
    path("pipeline-forecast/", PipelineForecastApi.as_view(), name="pipeline-forecast"),
]
