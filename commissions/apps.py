from django.apps import AppConfig


class CommissionsConfig(AppConfig):
    name = "commissions"
    verbose_name = "Commissions"

    def ready(self) -> None:
        from commissions import policies  # noqa: F401  (registers the policies)
        from commissions.services import lines_relink
        from orders import ledger

        # Statement lines follow the ledger's rows through a rebuild (new ids) without orders importing us.
        if lines_relink not in ledger.rebuild_listeners:
            ledger.rebuild_listeners.append(lines_relink)
        self._register_ui()

    def _register_ui(self) -> None:
        """The menu entries, and the panels on the opportunity and order pages (leads and orders never import
        commissions: DESIGN.md)."""
        from commissions import views
        from commissions.models import Plan, Statement
        from leads.ui import OpportunityPanel, opportunity_panel_register
        from orders.ui import OrderPanel, order_panel_register
        from sfa.permissions import can
        from sfa.ui import NavItem, nav_register

        nav_register(NavItem("Commissions", "commissions:statement-list", 11, lambda u: can(u, "view", Statement)))
        nav_register(
            NavItem("Commission plans", "commissions:plan-list", 27, lambda u: can(u, "view", Plan), section="admin")
        )
        opportunity_panel_register(
            OpportunityPanel(
                "commission", "What it would earn", "commissions/panels/_opportunity.html", 20, views.opportunity_panel
            )
        )
        order_panel_register(
            OrderPanel("commission", "Commission", "commissions/panels/_order.html", 10, views.order_panel)
        )
