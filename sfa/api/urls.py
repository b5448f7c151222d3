"""The /api/ root. Each app adds its router in its own api/urls.py, included here."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.permissions import IsAuthenticated
from rest_framework.routers import DefaultRouter

from catalog.api.urls import router as catalog_router
from catalog.api.urls import urlpatterns as catalog_urlpatterns
from commissions.api.urls import router as commissions_router
from contacts.api.urls import router as contacts_router
from forecasting.api.urls import extra_urlpatterns as forecasting_urlpatterns
from forecasting.api.urls import router as forecasting_router
from leads.api.urls import router as leads_router
from orders.api.urls import extra_urlpatterns as orders_urlpatterns
from orders.api.urls import router as orders_router
from sfa.api import views
from training.api.urls import router as training_router


class ApiRootView(DefaultRouter.APIRootView):
    """The /api/ index lists the endpoints to anyone signed in (it shows no records)."""

    permission_classes = [IsAuthenticated]


router = DefaultRouter()
router.APIRootView = ApiRootView
router.register("users", views.UserApi, basename="user")
router.register("departments", views.DepartmentApi, basename="department")
router.register("teams", views.TeamApi, basename="team")
router.register("jobs", views.JobApi, basename="job")
router.register("audit", views.AuditEventApi, basename="audit")
# Each app keeps its own router; their routes join this one so /api/ lists every endpoint.
router.registry.extend(contacts_router.registry)
router.registry.extend(catalog_router.registry)
router.registry.extend(leads_router.registry)
router.registry.extend(orders_router.registry)
router.registry.extend(forecasting_router.registry)
router.registry.extend(training_router.registry)
router.registry.extend(commissions_router.registry)

urlpatterns = [
    path("auth/token/", views.TokenObtainApi.as_view(), name="token"),
    path("me/", views.MeApi.as_view(), name="me"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    *catalog_urlpatterns,
    *orders_urlpatterns,
    *forecasting_urlpatterns,
    path("", include(router.urls)),
]
