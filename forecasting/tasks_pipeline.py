"""The weekly pipeline snapshot (scheduled in ``CELERY_BEAT_SCHEDULE``). Thin: it calls the service, which
replaces the week's rows, so running it twice in a week changes nothing."""

from celery import shared_task

from forecasting.services_pipeline import pipeline_snapshot_take


@shared_task(name="forecasting.pipeline_snapshot")
def pipeline_snapshot() -> int:
    return pipeline_snapshot_take()
