"""Create a user from a script: ``add_user USERNAME --role rep|manager|admin --department NAME ...``."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from sfa.models import Role, User
from sfa.services import department_get_or_create, team_get_or_create, team_set_manager, user_create


class Command(BaseCommand):
    help = (
        "Create a user. The department and team are created if they do not exist. --manager makes USERNAME "
        "of --manager the team's manager; a manager added to a team without a manager becomes its manager."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--department", required=True, help="Department name, e.g. Sales")
        parser.add_argument("--team", help="Team name, e.g. 'Sales North'")
        parser.add_argument("--manager", help="Username of the team's manager")
        parser.add_argument("--password", required=True)
        parser.add_argument("--email", default="")
        parser.add_argument("--first-name", default="")
        parser.add_argument("--last-name", default="")

    @transaction.atomic
    def handle(self, *args, **o):
        if o["manager"] and not o["team"]:
            raise CommandError("--manager needs --team: a manager manages a team.")
        manager = None
        if o["manager"]:
            manager = User.objects.filter(username=o["manager"]).first()
            if manager is None:
                raise CommandError(f"No user called {o['manager']!r} (add the manager first).")
        try:
            department = department_get_or_create(name=o["department"], actor=None)
            team = team_get_or_create(name=o["team"], department=department, actor=None) if o["team"] else None
            user = user_create(
                username=o["username"],
                password=o["password"],
                role=o["role"],
                department=department,
                team=team,
                email=o["email"],
                first_name=o["first_name"],
                last_name=o["last_name"],
                actor=None,
            )
            if team is not None and manager is not None and team.manager_id != manager.pk:
                team_set_manager(team=team, manager=manager, actor=None)
            elif team is not None and team.manager_id is None and o["role"] == Role.MANAGER:
                team_set_manager(team=team, manager=user, actor=None)
        except ValidationError as exc:
            messages = exc.message_dict if hasattr(exc, "error_dict") else {"error": exc.messages}
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in messages.items())) from exc
        where = f"{department}" + (f" / {team}" if team else "")
        self.stdout.write(self.style.SUCCESS(f"Created {user.username} ({user.get_role_display()}, {where})."))
