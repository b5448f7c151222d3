"""Production settings: refuse to start without a real SECRET_KEY and ALLOWED_HOSTS.

``REQUIRED_ENV`` is the list of variables a deployment must pass; tests/test_deployment.py checks
that every service in docker-compose.yml passes each of them.
"""

import os

from django.core.exceptions import ImproperlyConfigured

from .base import *

REQUIRED_ENV = ("SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "CELERY_BROKER_URL")

_missing = [name for name in REQUIRED_ENV if not os.environ.get(name)]
if _missing:
    raise ImproperlyConfigured(
        f"Production settings need these environment variables: {', '.join(_missing)} (see .env.example)."
    )
if SECRET_KEY.startswith("dev-only") or len(SECRET_KEY) < 32:
    raise ImproperlyConfigured("SECRET_KEY must be a random string of at least 32 characters.")

DEBUG = False
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 30)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
STORAGES["staticfiles"] = {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}
