"""The orders API routes; sfa/api/urls.py merges this router into the /api/ root."""

from rest_framework.routers import DefaultRouter

from orders.api import views

router = DefaultRouter()
views.register(router)
urlpatterns = router.urls
