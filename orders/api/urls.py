"""The orders API routes; sfa/api/urls.py merges this router into the /api/ root and adds the paths below."""

from django.urls import path
from rest_framework.routers import DefaultRouter

from orders.api import views
from orders.api.quote_requests import QuoteRequestApi

router = DefaultRouter()
views.register(router)

# Beside the catalog's validate/: the public configurator's quote request (no login).
extra_urlpatterns = [
    path("configurator/<slug:slug>/quote-requests/", QuoteRequestApi.as_view(), name="configurator-quote-request"),
]
