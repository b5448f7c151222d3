from django.apps import AppConfig
from django.core import checks


class CatalogConfig(AppConfig):
    name = "catalog"

    def ready(self) -> None:
        from catalog import policies  # noqa: F401  (registers the policies)
        from catalog.models import Attribute, Product
        from sfa.permissions import can
        from sfa.ui import NavItem, nav_register

        nav_register(NavItem("Products", "catalog:product-list", 40, lambda u: can(u, "view", Product)))
        nav_register(
            NavItem(
                "Product configurators",
                "catalog:configurators",
                20,
                lambda u: can(u, "change", Attribute),
                section="admin",
            )
        )
        checks.register(check_rate_limit, checks.Tags.security)


def check_rate_limit(app_configs, **kwargs):
    """CONFIGURATOR_RATE_LIMIT must parse: a typo would otherwise surface on the first public request."""
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    from catalog.ratelimit import parse_rate

    try:
        parse_rate(settings.CONFIGURATOR_RATE_LIMIT)
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), id="catalog.E001")]
    return []
