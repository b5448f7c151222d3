"""The commissions API routes; sfa/api/urls.py merges this router into the /api/ root."""

from rest_framework.routers import DefaultRouter

from commissions.api import views

router = DefaultRouter()
views.register(router)
