from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = "Orders and fulfilment"

    def ready(self) -> None:
        import orders.buyers  # noqa: F401  (plugs the buyers of products into leads.buyers)
        from orders import policies  # noqa: F401  (registers the policies)
        from orders.views_public import quote_request_button_register

        quote_request_button_register()  # the configurator's "Request a quote" button (catalog.ui)
        self._register_ui()

    def _register_ui(self) -> None:
        """Menu entries, the dashboard card, and the panels on the pages of the apps above (they never import
        orders: DESIGN.md)."""
        from catalog.ui import ProductPanel, product_panel_register
        from contacts.ui import CustomerPanel, customer_panel_register
        from leads.ui import OpportunityPanel, opportunity_panel_register
        from orders import views
        from orders.models import Order, OrderImport, OrderSettings, Quote
        from sfa.permissions import can
        from sfa.ui import NavItem, Widget, nav_register, widget_register

        nav_register(NavItem("Quotes", "orders:quote-list", 7, lambda u: can(u, "view", Quote)))
        nav_register(NavItem("Orders", "orders:order-list", 8, lambda u: can(u, "view", Order)))
        nav_register(
            NavItem("Order settings", "orders:settings", 25, lambda u: can(u, "change", OrderSettings), section="admin")
        )
        nav_register(
            NavItem(
                "Order history imports",
                "orders:import-list",
                26,
                lambda u: can(u, "view", OrderImport),
                section="admin",
            )
        )
        widget_register(Widget("orders", "orders/panels/_widget.html", 15, views.dashboard_widget))
        customer_panel_register(
            CustomerPanel("orders", "Quotes and orders", "orders/panels/_customer.html", 10, views.customer_panel)
        )
        opportunity_panel_register(
            OpportunityPanel(
                "orders", "Quotes and orders", "orders/panels/_opportunity.html", 10, views.opportunity_panel
            )
        )
        product_panel_register(
            ProductPanel(
                "sales", "What sells with it and who bought it", "orders/panels/_product.html", 10, views.product_panel
            )
        )
