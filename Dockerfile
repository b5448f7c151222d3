# SFA image for the scaled deployment (docker-compose.yml): one image, three roles.
#   web     gunicorn sfa.wsgi:application          (the default CMD)
#   worker  celery -A sfa worker ...
#   beat    celery -A sfa beat ...
# Configuration comes from the environment only; .env.example lists every variable.

FROM python:3.11-slim

# PYTHONPATH: code runs from /app, not from site-packages, because settings find templates/ and
# static/ beside the packages (BASE_DIR) and those are not part of the wheel.
# WEB_CONCURRENCY: gunicorn reads it itself as its number of workers; override it per deployment.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app \
    DJANGO_SETTINGS_MODULE=sfa.settings.production \
    WEB_CONCURRENCY=2

WORKDIR /app

# pg_dump and pg_restore for `manage.py backup` / `restore` (docs/operations.md).
RUN apt-get update && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/*

# Dependencies first, from pyproject.toml alone (no dev extras), so this slow layer is rebuilt only
# when the dependencies change. With no sources yet, setuptools builds an empty "sfa" wheel.
COPY pyproject.toml ./
RUN pip install --no-cache-dir .

# Then the project itself; --no-deps because the layer above already has them.
COPY . .
RUN pip install --no-cache-dir --no-deps . && rm -rf build ./*.egg-info

# Static files are collected into the image (whitenoise serves them with hashed names). Production
# settings refuse to load without these variables, so placeholders are set for this one command;
# nothing here is used at runtime, where the real values come from the environment.
RUN SECRET_KEY=build-time-placeholder-only-used-by-collectstatic \
    ALLOWED_HOSTS=build.invalid \
    DATABASE_URL=postgres://build:build@127.0.0.1:5432/build \
    CELERY_BROKER_URL=redis://127.0.0.1:6379/0 \
    python manage.py collectstatic --noinput

# Run as an unprivileged user. /app stays root-owned (read-only to the app); uploads and exports go
# to MEDIA_ROOT, which docker-compose.yml mounts as a volume at /data/media.
RUN useradd --system --user-group --uid 10001 --create-home --home-dir /home/sfa sfa \
    && mkdir -p /data/media \
    && chown sfa:sfa /data/media
USER sfa

EXPOSE 8000

# --worker-tmp-dir: gunicorn's heartbeat files on tmpfs, not on the container's overlay filesystem.
CMD ["gunicorn", "sfa.wsgi:application", "--bind", "0.0.0.0:8000", "--worker-tmp-dir", "/dev/shm", "--access-logfile", "-"]
