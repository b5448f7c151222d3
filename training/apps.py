from django.apps import AppConfig


class TrainingConfig(AppConfig):
    name = "training"
    verbose_name = "Sales training"

    def ready(self) -> None:
        from orders.guards import quote_line_guard_register
        from training import policies  # noqa: F401  (registers the policies)
        from training.gating import quote_line_guard

        # Orders never imports training (DESIGN.md): the quote gate plugs into its registry.
        quote_line_guard_register(quote_line_guard)
        self._register_ui()

    def _register_ui(self) -> None:
        from sfa.permissions import can
        from sfa.ui import NavItem, Widget, nav_register, widget_register
        from training import views
        from training.models import Responsibility

        nav_register(NavItem("Training", "training:my", 50, lambda u: u.is_authenticated))
        nav_register(
            NavItem(
                "Training responsibilities",
                "training:responsibility-list",
                27,
                lambda u: can(u, "change", Responsibility),
                section="admin",
            )
        )
        widget_register(Widget("training", "training/partials/_widget.html", 40, views.dashboard_widget))
