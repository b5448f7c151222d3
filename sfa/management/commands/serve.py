"""Run SFA on one machine: migrate, seed the demo if the database is empty, start a worker and the web server.

In embedded mode (no CELERY_BROKER_URL) the worker uses kombu's filesystem transport, so long jobs run
outside the web request and report progress without any server. The worker also runs the beat
schedule. Ctrl-C stops both processes.
"""

import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from sfa.models import User


class Command(BaseCommand):
    help = "Migrate, seed demo data if empty, then run the web server and a background worker together."

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")
        parser.add_argument("--no-seed", action="store_true", help="Do not seed demo data into an empty database.")
        parser.add_argument("--no-worker", action="store_true", help="Do not start a background worker.")

    def handle(self, *args, **options):
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write(f"Database ready ({settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}).")
        if not options["no_seed"] and not User.objects.exists():
            self.stdout.write("Empty database: seeding the demo company …")
            call_command("seed_demo", stdout=self.stdout)
        elif User.objects.exists():
            self.stdout.write(f"Sign in with a demo login (password: {settings.SFA_DEMO_PASSWORD}) or your own user.")

        processes: list[subprocess.Popen] = []
        if not options["no_worker"]:
            worker = [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "sfa",
                "worker",
                "--beat",
                "--loglevel=INFO",
                "--concurrency=2",
                f"--schedule={settings.CELERY_BEAT_SCHEDULE_FILENAME}",
            ]
            processes.append(subprocess.Popen(worker))
            self.stdout.write(
                f"Worker started on {settings.CELERY_BROKER_URL.split('://')[0]}:// (pid {processes[-1].pid})."
            )
        web = [sys.executable, "manage.py", "runserver", options["addrport"]]
        processes.append(subprocess.Popen(web))
        self.stdout.write(self.style.SUCCESS(f"SFA is starting at http://{options['addrport']}/ — Ctrl-C stops it."))

        def stop(*_args):
            for process in processes:
                if process.poll() is None:
                    process.terminate()
            for process in processes:
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()

        signal.signal(signal.SIGTERM, lambda *a: (stop(), sys.exit(0)))
        try:
            while all(process.poll() is None for process in processes):
                time.sleep(0.5)
            self.stderr.write("A process stopped; stopping the others.")
        except KeyboardInterrupt:
            pass
        finally:
            stop()
