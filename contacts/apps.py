from django.apps import AppConfig


class ContactsConfig(AppConfig):
    name = "contacts"

    def ready(self) -> None:
        from contacts import policies  # noqa: F401  (registers the policies)
        from contacts.models import Account, Contact, FollowUp, GuardLog, MatchCandidate, Purpose
        from contacts.widgets import followups_widget
        from sfa.permissions import can
        from sfa.ui import NavItem, Widget, nav_register, search_register, widget_register

        nav_register(NavItem("Contacts", "contacts:contact-list", 1, lambda u: can(u, "view", Contact)))
        nav_register(NavItem("Accounts", "contacts:account-list", 12, lambda u: can(u, "view", Account)))
        nav_register(NavItem("Follow-ups", "contacts:followups", 30, lambda u: can(u, "view", FollowUp)))
        nav_register(
            NavItem(
                "Outreach report", "contacts:guard-report", 15, lambda u: can(u, "report", GuardLog), section="admin"
            )
        )
        nav_register(
            NavItem(
                "Purposes & guard rules", "contacts:purposes", 16, lambda u: can(u, "view", Purpose), section="admin"
            )
        )
        nav_register(NavItem("Duplicates", "contacts:duplicates", 40, lambda u: can(u, "view", MatchCandidate)))
        search_register("contacts:search", "Search name, e-mail, phone, company")
        widget_register(Widget("followups", "contacts/widgets/_followups.html", 10, followups_widget))
