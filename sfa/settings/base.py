"""Base settings, read from the environment through one typed helper (django-environ).

With no environment set, SFA runs embedded: a SQLite file and a Celery broker on kombu's filesystem
transport, both under ``SFA_DATA_DIR``. ``DATABASE_URL`` and ``CELERY_BROKER_URL`` switch to
PostgreSQL and Redis. Every variable read here is listed in ``.env.example``.
"""

from pathlib import Path

import environ
from celery.schedules import crontab

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
if (BASE_DIR / ".env").exists():
    env.read_env(str(BASE_DIR / ".env"))

DATA_DIR = Path(env.str("SFA_DATA_DIR", default=str(BASE_DIR / "var")))
DATA_DIR.mkdir(parents=True, exist_ok=True)

SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-key-change-me")
DEBUG = env.bool("DEBUG", default=True)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "template_partials",
    "django_htmx",
    "django_filters",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "sfa",
    "catalog",
    "contacts",
    "leads",
    "orders",
    "forecasting",
    "training",
    "commissions",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "sfa.middleware.RejectNulBytesMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "sfa.middleware.DatabaseUnavailableMiddleware",  # before LoginRequired: it reads the session first
    "sfa.middleware.LoginRequiredMiddleware",
]

ROOT_URLCONF = "sfa.urls"
WSGI_APPLICATION = "sfa.wsgi.application"
ASGI_APPLICATION = "sfa.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "sfa.context_processors.navigation",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------------
# An empty DATABASE_URL counts as unset (production settings then refuse to start, naming it).
DATABASES = {
    "default": env.db_url_config(env.str("DATABASE_URL", default="") or f"sqlite:///{DATA_DIR / 'sfa.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web process and the embedded worker share one file: wait for locks instead of failing,
    # and take the write lock at the start of a transaction so two writers never deadlock.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "sfa.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns on every request when it is missing
STATICFILES_DIRS = [BASE_DIR / "static"]
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "sfa.staticfiles.PackageFileFinder",  # plotly.min.js from the plotly package (no CDN, nothing vendored)
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(DATA_DIR / "media")))

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="SFA <sfa@localhost>")

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    # Answers as an empty cache while Redis is down, so the site keeps working (sfa/cache.py).
    CACHES["default"]["BACKEND"] = "sfa.cache.ResilientRedisCache"

# --- Celery ---------------------------------------------------------------------------------------
# Read by sfa/celery.py with namespace="CELERY"; tests/test_settings.py fails on any CELERY_* name
# that Celery does not know, because Celery silently ignores misspelt settings.
_FS_BROKER_DIR = DATA_DIR / "broker"
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {
        "data_folder_in": str(_FS_BROKER_DIR / "queue"),
        "data_folder_out": str(_FS_BROKER_DIR / "queue"),
        "processed_folder": str(_FS_BROKER_DIR / "processed"),
        "control_folder": str(_FS_BROKER_DIR / "control"),
        "store_processed": False,
    }
    if CELERY_BROKER_URL.startswith("filesystem")
    # Redis holds a task a worker took until the worker acknowledges it (after the task: acks_late). A worker
    # killed whole (its host lost) never does: after the visibility timeout another worker's periodic sweep
    # (about every 100 s) puts the task back on the queue. Keep the timeout above the longest task.
    else {"visibility_timeout": env.int("SFA_BROKER_VISIBILITY_TIMEOUT", default=3600)}
)
if CELERY_BROKER_URL.startswith("filesystem"):
    for _key in ("data_folder_in", "processed_folder", "control_folder"):
        Path(CELERY_BROKER_TRANSPORT_OPTIONS[_key]).mkdir(parents=True, exist_ok=True)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A web request that queues a job waits at most about two seconds for a broker that is down.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True  # a Job row is the result users see; no result backend needed
CELERY_TASK_ACKS_LATE = True  # a worker killed mid-task leaves the message for another worker
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_DEFAULT_QUEUE = "sfa"
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
# Periodic jobs of every app, in one place so operators see the whole schedule.
CELERY_BEAT_SCHEDULE = {
    "jobs-housekeeping": {"task": "sfa.jobs_housekeeping", "schedule": 15 * 60.0},
    "contacts-send-due-planned-touches": {"task": "contacts.send_due_planned_touches", "schedule": 5 * 60.0},
    "contacts-followup-digest": {"task": "contacts.followup_digest", "schedule": crontab(hour=7, minute=0)},
    "leads-scoring-retrain": {"task": "leads.scoring_retrain", "schedule": crontab(hour=3, minute=15, day_of_week=1)},
    "contacts-nightly-duplicates-scan": {
        "task": "contacts.nightly_duplicates_scan",
        "schedule": crontab(hour=2, minute=30),
    },
    "orders-flag-at-risk": {"task": "orders.flag_at_risk", "schedule": crontab(hour=6, minute=30)},
    "orders-expire-quotes": {"task": "orders.expire_quotes", "schedule": crontab(hour=0, minute=20)},
    "sfa-purge-idempotency-keys": {"task": "sfa.purge_idempotency_keys", "schedule": crontab(hour=4, minute=10)},
    # The 1st of the month: last month's commission statements (ready for approval) and the new month's drafts.
    "commissions-compute-monthly": {
        "task": "commissions.compute_monthly",
        "schedule": crontab(hour=5, minute=30, day_of_month=1),
    },
    # Monday morning: this week's picture of the open pipeline (replaces the week's rows if run again).
    "forecasting-pipeline-snapshot": {
        "task": "forecasting.pipeline_snapshot",
        "schedule": crontab(hour=5, minute=0, day_of_week=1),
    },
    "training-mark-overdue": {"task": "training.mark_overdue", "schedule": crontab(hour=0, minute=40)},
    "training-expire-certifications": {
        "task": "training.expire_certifications",
        "schedule": crontab(hour=0, minute=50),
    },
    # Forecasts against the months that closed: actuals and each run's accuracy history.
    "forecasting-fill-actuals": {"task": "forecasting.fill_actuals", "schedule": crontab(hour=5, minute=40)},
}

# --- REST API -------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "EXCEPTION_HANDLER": "sfa.api.exceptions.api_exception_handler",  # Django ValidationError -> 400
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: an anonymous API call then answers 401 with "WWW-Authenticate: Token", not 403.
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["sfa.api.permissions.PolicyPermission"],
    "DEFAULT_PAGINATION_CLASS": "sfa.api.pagination.CursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_RATES": {"auth": env.str("AUTH_THROTTLE_RATE", default="10/min")},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "SFA API",
    "DESCRIPTION": "Sales Force Automation: accounts, contacts, leads, orders, catalog and forecasts.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # Several models have a field called "status": give each choice set its own name in the schema.
    "ENUM_NAME_OVERRIDES": {
        "JobStatusEnum": "sfa.models.JobStatus",
        "TouchStatusEnum": "contacts.models.Touch.Status",
        "FollowUpStatusEnum": "contacts.models.FollowUp.Status",
        "ConsentStatusEnum": "contacts.models.ChannelConsent.Status",
        "MatchSubjectEnum": "contacts.models.MatchKey.Subject",
        "LeadSourceEnum": "leads.models.LeadSource",
        "LeadStatusEnum": "leads.models.Lead.Status",
        "QuoteStatusEnum": "orders.models.Quote.Status",
        "QuoteSourceEnum": "orders.models.Quote.Source",
        "OrderStatusEnum": "orders.models.Order.Status",
        "OrderSourceEnum": "orders.models.Order.Source",
        "TrainingAssignmentStatusEnum": "training.models.Assignment.Status",
        "TrainingResponsibilityKindEnum": "training.models.Responsibility.Kind",
        "TrainingMaterialKindEnum": "training.models.CourseMaterial.Kind",
        "TrainingCompletionEnum": "training.models.Course.Completion",  # also a certification's method
        "CommissionStatementStatusEnum": "commissions.models.Statement.Status",
    },
    # Swagger UI from the drf-spectacular-sidecar package, served by whitenoise: nothing from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- SFA ------------------------------------------------------------------------------------------
SFA_EXPORT_DIR = MEDIA_ROOT / "exports"
LEAD_IMPORT_MAX_ROWS = env.int("LEAD_IMPORT_MAX_ROWS", default=500_000)
LEAD_IMPORT_MAX_BYTES = env.int("LEAD_IMPORT_MAX_BYTES", default=100 * 1024 * 1024)
LOGIN_MAX_FAILURES = env.int("LOGIN_MAX_FAILURES", default=5)
LOGIN_LOCKOUT_SECONDS = env.int("LOGIN_LOCKOUT_SECONDS", default=15 * 60)
# How many reverse proxies stand in front of the web processes and append to X-Forwarded-For; the
# client's address (login throttling, rate limits) is read that many entries from the right.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
# Requests per client address to the public configurator (its pages and /api/configurator/), as
# "N/s", "N/min", "N/hour" or "N/day"; counted in the cache, so share it (Redis) across web processes.
CONFIGURATOR_RATE_LIMIT = env.str("CONFIGURATOR_RATE_LIMIT", default="120/min")
# Region assumed for phone numbers typed without a country code (ISO 3166, e.g. DE, GB, US).
SFA_PHONE_REGION = env.str("SFA_PHONE_REGION", default="DE")
SFA_DEMO_PASSWORD = env.str("SFA_DEMO_PASSWORD", default="sfa-demo-2026")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
