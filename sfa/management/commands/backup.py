from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from sfa.backup import backup_create


class Command(BaseCommand):
    help = "Back up the database and the uploaded files into one .tar.gz (see docs/operations.md)."

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", help="Archive to write (default: sfa-backup-<time>.tar.gz)")

    def handle(self, *args, **options):
        path = Path(options["path"] or f"sfa-backup-{timezone.now():%Y%m%d-%H%M%S}.tar.gz")
        try:
            manifest = backup_create(path=path)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        rows = sum(manifest["counts"].values())
        self.stdout.write(f"Backed up {rows} rows ({manifest['engine']}) and the media files to {path}")
