"""Forecast runs: the calendar, the fan-out in chunks, idempotent chunks, failures, reconciliation (real engine)."""

import weakref
from datetime import date

import numpy as np
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count

from forecasting import services_runs
from forecasting.models import FiscalYear, ForecastChunk, ForecastPoint, ForecastRun, ForecastSeries
from forecasting.services_runs import (
    forecast_chunk_run,
    forecast_run_create,
    forecast_run_execute,
    forecast_run_plan,
    forecast_run_start,
    last_closed_month,
    month_add,
    next_fiscal_year,
    run_calendar,
)
from sfa.jobs import job_cancel, job_retry
from sfa.models import Job, JobStatus
from tests.forecasting.factories import run_sales

# --- the calendar --------------------------------------------------------------------------------------


def test_a_run_forecasts_to_the_end_of_the_first_fiscal_year_that_has_not_started():
    # Calendar years: history to October 2026 -> FY2027, November 2026 to December 2027.
    assert run_calendar(date(2026, 10, 1), start_month=1) == (2027, 14)
    # History to December: the next year starts right after, twelve months.
    assert run_calendar(date(2026, 12, 1), start_month=1) == (2027, 12)
    # Fiscal years from April (FY2027 = April 2026 to March 2027): history to March 2026 -> FY2027.
    assert run_calendar(date(2026, 3, 1), start_month=4) == (2027, 12)
    assert run_calendar(date(2026, 4, 1), start_month=4) == (2028, 23)
    assert next_fiscal_year(date(2026, 10, 1), start_month=10) == 2028  # FY2027 began in October 2026


@pytest.mark.django_db
def test_the_fiscal_start_month_is_taken_from_the_setting_and_kept_on_the_run(org):
    run_sales(org, months=18)
    FiscalYear.objects.create(start_month=4)
    run = forecast_run_create(actor=org.manager)
    end = last_closed_month()
    assert run.history_end == end
    assert (run.fiscal_year, run.horizon) == run_calendar(end, start_month=4)
    assert run.summary["fiscal_start_month"] == 4 and run.summary["currency"] == "EUR"


# --- starting ----------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_reps_cannot_start_a_run_and_a_run_needs_a_year_of_history(org):
    run_sales(org, months=8)
    with pytest.raises(PermissionDenied):
        forecast_run_start(actor=org.rep)
    with pytest.raises(ValidationError, match="at least 12 months"):
        forecast_run_start(actor=org.manager)
    with pytest.raises(ValidationError, match="has not closed"):
        forecast_run_create(actor=org.manager, history_end=month_add(last_closed_month(), 1))


@pytest.mark.django_db
def test_only_one_run_at_a_time(org, django_capture_on_commit_callbacks):
    run_sales(org, months=18)
    first = forecast_run_start(actor=org.manager)  # callbacks not run: its job stays queued
    with pytest.raises(ValidationError, match=f"run {first.pk} is still running"):
        forecast_run_start(actor=org.admin)


# --- a whole run, through the job and its chunk tasks (eager), with the real engine --------------------------


@pytest.fixture
def done_run(org, django_capture_on_commit_callbacks):
    products, categories = run_sales(org)
    with django_capture_on_commit_callbacks(execute=True):
        run = forecast_run_start(actor=org.manager)
    run.refresh_from_db()
    return run, products, categories


def _by_month(run, level):
    out = {}
    for key, period, value in ForecastPoint.objects.filter(series__run=run, series__level=level).values_list(
        "series__key", "period", "forecast"
    ):
        out.setdefault(period, {})[key] = value
    return out


def test_a_run_forecasts_every_series_in_chunks_and_adds_up(done_run, org):
    run, products, _ = done_run
    assert run.status == ForecastRun.Status.DONE, run.error
    levels = dict(ForecastSeries.objects.filter(run=run).values_list("level").annotate(n=Count("id")))
    assert levels == {"total": 1, "category": 2, "product": 6, "region": 2, "rep": 3}
    assert run.series_total == 14 and run.chunks_total == 2 and run.chunks_done == 2
    assert ForecastChunk.objects.filter(run=run, done_at__isnull=True).count() == 0
    assert ForecastPoint.objects.filter(series__run=run).count() == 14 * run.horizon
    job = run.job
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.progress == 100 and job.result["run_id"] == run.pk

    # Products add up to their categories, categories to the total; regions and reps to the total.
    total = _by_month(run, "total")
    cats = _by_month(run, "category")
    prods = _by_month(run, "product")
    parent = {str(p.pk): str(p.category_id) for p in products}
    for period, (value,) in ((p, tuple(v.values())) for p, v in total.items()):
        assert sum(cats[period].values()) == pytest.approx(value, rel=1e-9)
        for key, cat_value in cats[period].items():
            assert sum(v for k, v in prods[period].items() if parent[k] == key) == pytest.approx(cat_value, rel=1e-9)
        assert sum(_by_month(run, "region")[period].values()) == pytest.approx(value, rel=1e-9)
        assert sum(_by_month(run, "rep")[period].values()) == pytest.approx(value, rel=1e-9)
    for p in ForecastPoint.objects.filter(series__run=run):
        assert 0 <= p.lo_95 <= p.lo_80 <= p.forecast <= p.hi_80 <= p.hi_95

    # Each series keeps the model, the backtest accuracy and the history the engine saw.
    late = ForecastSeries.objects.get(run=run, level="product", key=str(products[1].pk))
    assert len(late.history) == 6 and late.history_start == month_add(run.history_end, -5)
    assert all(s.model and s.mase is not None for s in ForecastSeries.objects.filter(run=run).exclude(level="product"))
    assert sum(run.summary["models"].values()) == 14 and run.summary["median_mase"] > 0
    assert run.summary["failed"] == 0


def test_the_run_stores_the_history_it_forecast_from(done_run):
    run, *_ = done_run
    total = ForecastSeries.objects.get(run=run, level="total")
    assert total.history_start == run.history_start and len(total.history) == 30
    assert total.n_obs == 30


# --- chunks: idempotent, failures, redelivery ---------------------------------------------------------------


@pytest.fixture
def planned(org):
    run_sales(org, months=24)
    run = forecast_run_create(actor=org.manager)
    chunks = forecast_run_plan(run)
    run.refresh_from_db()
    return run, chunks


def test_a_chunk_run_twice_writes_once(planned):
    run, chunks = planned
    assert forecast_chunk_run(chunk_id=chunks[0].pk) == "done"
    written = ForecastSeries.objects.filter(run=run).count()
    points = ForecastPoint.objects.filter(series__run=run).count()
    assert written == len(chunks[0].keys) and points == written * run.horizon
    assert forecast_chunk_run(chunk_id=chunks[0].pk) == "skipped"  # the message delivered again
    run.refresh_from_db()
    assert run.chunks_done == 1
    assert ForecastSeries.objects.filter(run=run).count() == written
    assert ForecastPoint.objects.filter(series__run=run).count() == points


def test_a_worker_dying_while_writing_a_chunk_leaves_nothing_and_the_redelivery_writes_it_whole(planned, monkeypatch):
    from orders import ledger

    run, chunks = planned
    real = ledger.bulk_insert

    def dies(model, fields, rows):
        if model is ForecastPoint:
            raise KeyboardInterrupt  # the process is killed between the series and the points
        return real(model, fields, rows)

    monkeypatch.setattr(ledger, "bulk_insert", dies)
    with pytest.raises(KeyboardInterrupt):
        forecast_chunk_run(chunk_id=chunks[0].pk)
    assert ForecastSeries.objects.filter(run=run).count() == 0
    chunk = ForecastChunk.objects.get(pk=chunks[0].pk)
    assert chunk.done_at is None
    monkeypatch.setattr(ledger, "bulk_insert", real)
    assert forecast_chunk_run(chunk_id=chunks[0].pk) == "done"
    assert ForecastSeries.objects.filter(run=run).count() == len(chunks[0].keys)


def test_a_failing_chunk_fails_the_run_with_a_clear_message(org, monkeypatch, django_capture_on_commit_callbacks):
    run_sales(org, months=24)

    def broken(*args, **kwargs):
        raise MemoryError("out of memory")

    monkeypatch.setattr("forecasting.engine.forecast", broken)
    with django_capture_on_commit_callbacks(execute=True):
        run = forecast_run_start(actor=org.manager)
    run.refresh_from_db()
    run.job.refresh_from_db()
    assert run.status == ForecastRun.Status.FAILED
    assert run.error.startswith("Chunk 1 of 2 failed: MemoryError: out of memory")
    assert run.job.status == JobStatus.FAILED and run.job.error == run.error
    assert ForecastSeries.objects.filter(run=run).count() == 0  # nothing half-written
    assert forecast_chunk_run(chunk_id=run.chunks.last().pk) == "skipped"  # later chunks do nothing


def test_a_retried_run_resumes_after_the_chunks_it_finished(org, monkeypatch, django_capture_on_commit_callbacks):
    run_sales(org, months=24)
    from forecasting import engine

    real, calls = engine.forecast, []

    def second_chunk_fails(frame, **kwargs):
        calls.append(frame["series_id"].nunique())
        if len(calls) == 2:
            raise RuntimeError("worker lost its database")
        return real(frame, **kwargs)

    monkeypatch.setattr("forecasting.engine.forecast", second_chunk_fails)
    with django_capture_on_commit_callbacks(execute=True):
        run = forecast_run_start(actor=org.manager)
    run.refresh_from_db()
    assert run.status == ForecastRun.Status.FAILED and run.chunks_done == 1
    with django_capture_on_commit_callbacks(execute=True):
        job_retry(job=run.job, actor=org.manager)
    run.refresh_from_db()
    assert run.status == ForecastRun.Status.DONE and run.error == ""
    assert len(calls) == 3  # the first chunk was not forecast again
    assert ForecastSeries.objects.filter(run=run).count() == run.series_total


def test_the_last_chunk_finalises_even_when_its_first_delivery_died_after_writing(planned, monkeypatch):
    run, chunks = planned
    for chunk in chunks[:-1]:
        forecast_chunk_run(chunk_id=chunk.pk)

    def dies(**kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(services_runs, "forecast_run_finalize", dies)
    with pytest.raises(KeyboardInterrupt):
        forecast_chunk_run(chunk_id=chunks[-1].pk)
    run.refresh_from_db()
    assert run.chunks_done == run.chunks_total and run.status == ForecastRun.Status.RUNNING
    monkeypatch.undo()
    assert forecast_chunk_run(chunk_id=chunks[-1].pk) == "skipped"  # redelivered: done, but it finalises
    run.refresh_from_db()
    assert run.status == ForecastRun.Status.DONE


def test_a_cancelled_job_stops_the_run(org):
    run_sales(org, months=24)
    run = forecast_run_start(actor=org.manager)  # queued, not run
    chunks = forecast_run_plan(run)
    Job.objects.filter(pk=run.job_id).update(status=JobStatus.RUNNING)  # a worker took the job
    job_cancel(job=run.job, actor=org.manager)
    assert forecast_chunk_run(chunk_id=chunks[0].pk) == "cancelled"
    run.refresh_from_db()
    assert run.status == ForecastRun.Status.FAILED and "cancelled" in run.error
    assert ForecastSeries.objects.filter(run=run).count() == 0


def test_execute_runs_the_same_steps_in_process(org):
    run_sales(org, months=24)
    run = forecast_run_execute(forecast_run_create(actor=None))
    assert run.status == ForecastRun.Status.DONE and run.job is None
    assert ForecastSeries.objects.filter(run=run, level="total").get().points.count() == run.horizon


def test_worker_processes_pin_blas_to_one_thread():
    from celery.signals import worker_process_init
    from threadpoolctl import threadpool_info, threadpool_limits

    import sfa.celery

    receivers = [r[1]() if isinstance(r[1], weakref.ReferenceType) else r[1] for r in worker_process_init.receivers]
    assert sfa.celery._one_blas_thread in receivers
    with threadpool_limits(limits=None):
        sfa.celery._one_blas_thread()
        assert all(pool["num_threads"] == 1 for pool in threadpool_info())
    np.ones(1)  # numpy loaded (its BLAS is what threadpoolctl pins)


def test_a_run_whose_job_was_failed_by_the_housekeeping_is_closed_and_no_longer_blocks(org):
    run_sales(org, months=24)
    run = forecast_run_start(actor=org.manager)
    Job.objects.filter(pk=run.job_id).update(status=JobStatus.FAILED, error="The worker stopped reporting progress.")
    assert services_runs.forecast_runs_close_orphans() == 1
    run.refresh_from_db()
    assert run.status == ForecastRun.Status.FAILED and "stopped reporting" in run.error
    assert forecast_run_start(actor=org.manager).pk != run.pk  # a new run may start
