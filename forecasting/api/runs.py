"""Forecast runs and their series over the API.

- ``/api/forecasts/runs/``: list and detail (status, progress, summary); POST starts a run (managers and
  admins) and answers 202 with the run and its job to poll; another run still going answers 409; DELETE
  (admins) removes a finished run.
- ``/api/forecasts/series/``: the series of a run (``run``, default the latest done run) with their monthly
  points and history; filter by ``level``, ``key`` and ``parent`` (a category's products). Rows are scoped
  by forecasting.policies_runs: a rep gets their own rep series only.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.exceptions import APIException
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from forecasting import selectors_runs as selectors
from forecasting import services_runs as services
from forecasting.models import ForecastPoint, ForecastRun, ForecastSeries, SeriesLevel
from forecasting.views_runs import sees_company
from sfa.api.base import ScopedViewSetMixin
from sfa.api.serializers import JobSerializer
from sfa.api.views import as_drf_error


class Busy(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "Another forecast run is still going."
    default_code = "busy"


class ForecastRunSerializer(serializers.ModelSerializer):
    progress = serializers.SerializerMethodField()
    summary = serializers.SerializerMethodField()
    job = serializers.UUIDField(source="job_id", read_only=True, allow_null=True)

    class Meta:
        model = ForecastRun
        fields = [
            "id",
            "status",
            "progress",
            "job",
            "created_by",
            "created_at",
            "finished_at",
            "history_start",
            "history_end",
            "horizon",
            "fiscal_year",
            "levels",
            "series_total",
            "chunks_total",
            "chunks_done",
            "summary",
            "error",
        ]
        read_only_fields = fields

    def get_progress(self, obj) -> int:
        return selectors.run_progress(obj)

    def get_summary(self, obj) -> dict[str, Any]:
        """Model counts, median backtest MASE and sMAPE; the accuracy history (company totals) for managers."""
        request = self.context.get("request")
        if request is not None and sees_company(request.user):
            return obj.summary
        return {k: v for k, v in obj.summary.items() if k != "accuracy"}


class ForecastRunStartSerializer(serializers.Serializer):
    history_end = serializers.DateField(
        required=False, help_text="Forecast as of this month (its first day); default: the last closed month"
    )


class ForecastPointSerializer(serializers.ModelSerializer):
    class Meta:
        model = ForecastPoint
        fields = ["period", "forecast", "lo_80", "hi_80", "lo_95", "hi_95", "base", "actual"]
        read_only_fields = fields


class ForecastSeriesSerializer(serializers.ModelSerializer):
    points = serializers.SerializerMethodField()

    class Meta:
        model = ForecastSeries
        fields = [
            "id",
            "run",
            "level",
            "key",
            "label",
            "parent_key",
            "model",
            "mase",
            "smape",
            "n_obs",
            "note",
            "error",
            "history_start",
            "history",
            "points",
        ]
        read_only_fields = fields

    @extend_schema_field(ForecastPointSerializer(many=True))
    def get_points(self, obj) -> list[dict[str, Any]]:
        return self.context["points"].get(obj.pk, [])


POINT_FIELDS = ("period", "forecast", "lo_80", "hi_80", "lo_95", "hi_95", "base", "actual")


def points_of(series_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """The points of the series, as plain dicts from one query: model instances per point (1,200 on a page)
    made a page three times slower and kept the garbage collector busy."""
    out: dict[int, list[dict[str, Any]]] = {pk: [] for pk in series_ids}
    rows = ForecastPoint.objects.filter(series_id__in=series_ids).order_by("series_id", "period")
    for series_id, period, *values in rows.values_list("series_id", *POINT_FIELDS):
        out[series_id].append({"period": period.isoformat(), **dict(zip(POINT_FIELDS[1:], values, strict=True))})
    return out


class ForecastRunApi(
    ScopedViewSetMixin, mixins.CreateModelMixin, mixins.DestroyModelMixin, viewsets.ReadOnlyModelViewSet
):
    """Forecast runs, newest first: status, progress (0-100) and the backtest summary. POST starts one."""

    queryset = ForecastRun.objects.select_related("job")
    serializer_class = ForecastRunSerializer
    filter_backends: list = []

    @extend_schema(
        request=ForecastRunStartSerializer,
        responses={
            202: inline_serializer("ForecastRunStarted", {"run": ForecastRunSerializer(), "job": JobSerializer()}),
            409: OpenApiResponse(description="Another run is still going"),
        },
    )
    def create(self, request, *args, **kwargs):
        data = ForecastRunStartSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            run = services.forecast_run_start(actor=request.user, history_end=data.validated_data.get("history_end"))
        except DjangoValidationError as exc:
            if any(error.code == "busy" for error in getattr(exc, "error_list", [])):
                raise Busy(" ".join(exc.messages)) from exc
            raise as_drf_error(exc) from exc
        run = ForecastRun.objects.select_related("job").get(pk=run.pk)
        body = {"run": self.get_serializer(run).data, "job": JobSerializer(run.job).data}
        return Response(body, status=status.HTTP_202_ACCEPTED)

    def perform_destroy(self, instance):
        try:
            services.forecast_run_delete(actor=self.request.user, run=instance)
        except DjangoValidationError as exc:
            raise Busy(" ".join(exc.messages)) from exc


SERIES_PARAMETERS = [
    OpenApiParameter("run", int, description="The run (default: the latest done run)"),
    OpenApiParameter("level", str, enum=[c.value for c in SeriesLevel]),
    OpenApiParameter("key", str, description="Product or category id, region name, rep id ('' for the total)"),
    OpenApiParameter("parent", str, description="A category id: its products"),
]


@extend_schema(parameters=SERIES_PARAMETERS)
class ForecastSeriesApi(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    """The series of a forecast run with their monthly points (reconciled forecast, intervals, actual)."""

    queryset = ForecastSeries.objects.all()
    serializer_class = ForecastSeriesSerializer
    filter_backends: list = []

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        context = {**self.get_serializer_context(), "points": points_of([s.pk for s in page])}
        return self.get_paginated_response(ForecastSeriesSerializer(page, many=True, context=context).data)

    def retrieve(self, request, *args, **kwargs):
        series = self.get_object()
        context = {**self.get_serializer_context(), "points": points_of([series.pk])}
        return Response(ForecastSeriesSerializer(series, context=context).data)

    def get_queryset(self):
        qs = super().get_queryset()
        if self.action != "list":
            return qs
        params = self.request.query_params
        run_id = params.get("run")
        if run_id:
            run = selectors.run_get(actor=self.request.user, pk=run_id)
        else:
            run = selectors.run_latest(actor=self.request.user)
        if run is None:
            return qs.none()
        qs = qs.filter(run=run)
        if params.get("level"):
            if params["level"] not in SeriesLevel.values:
                raise serializers.ValidationError({"level": f"Choose one of {', '.join(SeriesLevel.values)}."})
            qs = qs.filter(level=params["level"])
        if "key" in params:
            qs = qs.filter(key=params["key"])
        if params.get("parent"):
            qs = qs.filter(parent_key=params["parent"])
        return qs


def register(router: DefaultRouter) -> None:
    router.register("forecasts/runs", ForecastRunApi, basename="forecast-run")
    router.register("forecasts/series", ForecastSeriesApi, basename="forecast-series")
