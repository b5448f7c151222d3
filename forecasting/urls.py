app_name = "forecasting"

# Each module owns its pages and lists its own patterns (runs and forecasts; pipeline and quotas).
urlpatterns: list = []

from forecasting import views_pipeline  # noqa: E402

urlpatterns += views_pipeline.urlpatterns  # /forecasting/pipeline/ and /forecasting/quotas/

from forecasting import views_runs  # noqa: E402

urlpatterns += views_runs.urlpatterns  # /forecasting/: the dashboards, drill-down, runs and exports
