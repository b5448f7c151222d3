"""Part of the leads API."""

from rest_framework.routers import DefaultRouter


def register(router: DefaultRouter) -> None:
    return None
