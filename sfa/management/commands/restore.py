from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from sfa.backup import backup_restore


class Command(BaseCommand):
    help = "Replace the database and the uploaded files with a backup made by `manage.py backup`."

    def add_arguments(self, parser):
        parser.add_argument("path", help="The backup archive")
        parser.add_argument("--yes", action="store_true", help="Do not ask for confirmation")

    def handle(self, *args, **options):
        if not options["yes"]:
            answer = input("This replaces every record and uploaded file of this installation. Type 'restore': ")
            if answer.strip() != "restore":
                raise CommandError("Cancelled; nothing was changed.")
        try:
            manifest = backup_restore(path=Path(options["path"]))
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        self.stdout.write(f"Restored the backup of {manifest['created_at']} ({sum(manifest['counts'].values())} rows)")
