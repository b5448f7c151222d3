from django.apps import AppConfig


class LeadsConfig(AppConfig):
    name = "leads"

    def ready(self) -> None:
        from leads import policies  # noqa: F401  (registers the policies)
        from leads.models import Lead, Opportunity
        from sfa.permissions import can
        from sfa.ui import NavItem, nav_register

        nav_register(NavItem("Leads", "leads:lead-list", 5, lambda u: can(u, "view", Lead)))
        nav_register(NavItem("Pipeline", "leads:board", 6, lambda u: can(u, "view", Opportunity)))
