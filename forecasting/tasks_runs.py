"""Forecast run tasks: the run's job, one task per chunk, and the nightly actuals (docs/forecasting.md).

Thin: they take ids and call forecasting.services_runs / forecasting.accuracy, which are safe to run twice.
Imported by ``ForecastingConfig.ready`` so that web processes and workers both know them.
"""

from celery import shared_task

from forecasting import services_runs
from forecasting.accuracy import forecast_actuals_fill
from sfa.jobs import JobRun, job_task


@job_task(kind="forecast_run")
def forecast_run(run: JobRun) -> dict:
    return services_runs.forecast_run_job(run)


# acks_late: a worker killed mid-chunk leaves the message to be delivered again; the chunk wrote nothing
# (it writes in one transaction), so the next delivery does it whole. Database errors retry with backoff.
@shared_task(name="forecasting.run_chunk", bind=True, acks_late=True, max_retries=3)
def run_chunk(self, chunk_id: int) -> str:
    from django.db import DatabaseError

    try:
        return services_runs.forecast_chunk_run(chunk_id=chunk_id)
    except DatabaseError as exc:
        if self.request.retries < self.max_retries:
            raise self.retry(exc=exc, countdown=2 ** (self.request.retries + 1)) from exc
        from forecasting.models import ForecastChunk

        chunk = ForecastChunk.objects.filter(pk=chunk_id).first()
        if chunk is not None:
            services_runs.forecast_run_fail(run_id=chunk.run_id, message=f"Database error in a chunk: {exc}")
        return "failed"


@shared_task(name="forecasting.fill_actuals")
def fill_actuals() -> int:
    # Nightly: also close the runs whose job the jobs' housekeeping failed (a worker lost for hours).
    services_runs.forecast_runs_close_orphans()
    return forecast_actuals_fill()
