"""Build the demo company: every app's demo step, in order. Safe to run again (it changes nothing then)."""

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from sfa.demo import DemoContext, demo_steps


class Command(BaseCommand):
    help = "Fill the database with a believable demo company (idempotent) and print the demo logins."

    def add_arguments(self, parser):
        parser.add_argument("--password", default=settings.SFA_DEMO_PASSWORD, help="Password of every demo user.")

    def handle(self, *args, **options):
        ctx = DemoContext(password=options["password"], log=lambda line: self.stdout.write(f"  {line}"))
        for _order, name, step in demo_steps():
            self.stdout.write(f"- {name}")
            with transaction.atomic():
                step(ctx)
        self.stdout.write(self.style.SUCCESS(f"\nDemo logins (password for all: {ctx.password})"))
        for username, role, shows in ctx.logins:
            self.stdout.write(f"  {username:<16} {role:<8} {shows}")
