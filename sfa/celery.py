"""The Celery app. Settings come from Django's settings with the CELERY_ prefix; tasks are autodiscovered."""

import os

from celery import Celery
from celery.signals import worker_init, worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sfa.settings.base")

app = Celery("sfa")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
@worker_process_init.connect
def _one_blas_thread(**_kwargs):
    """Pin BLAS to one thread per worker process: parallelism comes from processes, and two processes
    each spawning a thread per core made statsmodels fits several times slower."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
