"""The leads API: each part registers its viewsets on the router given by leads/api/urls.py."""

from rest_framework.routers import DefaultRouter


def register(router: DefaultRouter) -> None:
    from leads.api import views_imports, views_leads, views_pipeline

    for module in (views_leads, views_imports, views_pipeline):
        module.register(router)
