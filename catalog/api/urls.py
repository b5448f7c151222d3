"""The catalog API's routes; sfa/api/urls.py includes them under /api/."""

from django.urls import path
from rest_framework.routers import DefaultRouter

from catalog.api import views

router = DefaultRouter()
router.register("products", views.ProductApi, basename="product")
router.register("categories", views.CategoryApi, basename="category")

urlpatterns = [
    path(
        "configurator/<slug:slug>/validate/",
        views.ConfiguratorValidateApi.as_view(),
        name="configurator-validate",
    ),
]
