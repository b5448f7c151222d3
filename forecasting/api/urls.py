"""Forecasting's API routes: forecast runs and series; quotas and the pipeline forecast."""

from rest_framework.routers import DefaultRouter

router = DefaultRouter()
extra_urlpatterns: list = []

from forecasting.api import pipeline as pipeline_api  # noqa: E402

pipeline_api.register(router)  # /api/quotas/, /api/forecast-adjustments/
extra_urlpatterns += pipeline_api.urlpatterns  # /api/pipeline-forecast/

from forecasting.api import runs as runs_api  # noqa: E402

runs_api.register(router)  # /api/forecasts/runs/, /api/forecasts/series/
