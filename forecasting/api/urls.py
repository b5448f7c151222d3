"""Forecasting's API routes: forecast runs and series; quotas and the pipeline forecast."""

from rest_framework.routers import DefaultRouter

router = DefaultRouter()
extra_urlpatterns: list = []
