"""Test settings: fast hashing, eager tasks unless a test asks for the real worker, a file-backed SQLite.

The SQLite test database is a file (not ``:memory:``) so that the real Celery worker that integration
tests start in another process sees the same data.
"""

import os
import tempfile

from .base import *

# The integration tests' worker process is started with SFA_TEST_DATA_DIR set to this folder, so it
# finds the same SQLite file, broker folders and media.
TEST_DATA_DIR = os.environ.get("SFA_TEST_DATA_DIR") or tempfile.mkdtemp(prefix="sfa-test-")
_TEST_DATA = TEST_DATA_DIR

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CELERY_TASK_ALWAYS_EAGER = True  # tests marked integration send to a real worker instead
MEDIA_ROOT = Path(_TEST_DATA) / "media"
SFA_EXPORT_DIR = MEDIA_ROOT / "exports"
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {"NAME": str(Path(_TEST_DATA) / "test.sqlite3")}
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(Path(_TEST_DATA) / "broker"),
        "data_folder_out": str(Path(_TEST_DATA) / "broker"),
        "processed_folder": str(Path(_TEST_DATA) / "processed"),
        "control_folder": str(Path(_TEST_DATA) / "control"),
        "store_processed": False,
    }
    for _folder in ("broker", "processed", "control"):
        (Path(_TEST_DATA) / _folder).mkdir(parents=True, exist_ok=True)
LOGGING["root"]["level"] = "WARNING"
if not CELERY_BROKER_URL.startswith("filesystem") and os.environ.get("SFA_BROKER_VISIBILITY_TIMEOUT"):
    # The workers tests/test_worker_faults.py starts to kill one whole and let the other take its task back:
    # a short visibility timeout (from the environment) and a restore sweep every second. The session's
    # worker keeps the default, so that no test's longer task is delivered twice.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        **CELERY_BROKER_TRANSPORT_OPTIONS,
        "unacked_restore_interval": 1,
        "unacked_restore_throttle": 1,
    }
