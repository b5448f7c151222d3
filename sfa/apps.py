from django.apps import AppConfig


class SfaConfig(AppConfig):
    name = "sfa"
    verbose_name = "SFA core"

    def ready(self) -> None:
        from django.utils.module_loading import autodiscover_modules

        from sfa import policies  # noqa: F401  (registers the core policies)

        # Job tasks register their kind on import; web processes enqueue them, so import every app's
        # tasks module here rather than waiting for Celery's lazy autodiscovery in the worker.
        autodiscover_modules("tasks")
        from sfa.models import AuditEvent, Job, Team, User
        from sfa.permissions import can
        from sfa.ui import NavItem, Widget, nav_register, widget_register
        from sfa.widgets import jobs_widget, recent_changes_widget, welcome_widget

        # The brand links home; People lives in the user menu to leave the bar to daily work.
        nav_register(NavItem("People", "user-list", 5, lambda u: can(u, "view", User), section="admin"))
        nav_register(NavItem("Jobs", "job-list", 90, lambda u: can(u, "view", Job)))
        nav_register(NavItem("Organisation", "organisation", 10, lambda u: can(u, "view", Team), section="admin"))
        nav_register(NavItem("Audit log", "audit-log", 20, lambda u: can(u, "view", AuditEvent), section="admin"))
        nav_register(NavItem("API docs", "api:docs", 30, lambda u: True, section="admin"))
        widget_register(Widget("welcome", "sfa/widgets/_welcome.html", 0, welcome_widget, width="full"))
        widget_register(Widget("jobs", "sfa/widgets/_jobs.html", 900, jobs_widget))
        widget_register(Widget("recent_changes", "sfa/widgets/_recent_changes.html", 910, recent_changes_widget))
