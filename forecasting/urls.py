app_name = "forecasting"

# Each module owns its pages and lists its own patterns (runs and forecasts; pipeline and quotas).
urlpatterns: list = []
