"""Forecast runs: every series of the hierarchy forecast by the engine, fanned out in chunks across workers.

A run forecasts monthly booked revenue (``SalesFact``) up to the last closed month (``history_end``) until
the end of the next fiscal year: the first fiscal year none of whose months has closed. The series are
the total, each category, each product, each region and each rep; a product belongs to its catalog
category, so products add up to categories and categories to the total.

The flow (docs/forecasting.md):

1. ``forecast_run_start`` makes the run and its Job; the job (``forecast_run_job``) lists the series,
   stores them as ``ForecastChunk`` rows and queues one ``forecasting.run_chunk`` task per chunk.
2. ``forecast_chunk_run`` forecasts one chunk and writes its series and points in one transaction that also
   marks the chunk done and counts it on the run (``F()``): a chunk run twice (a redelivered message after
   a worker died) writes once, and a chunk killed half-way wrote nothing.
3. The chunk that makes the count complete (decided under ``select_for_update`` on the run) reconciles
   (``forecast_run_finalize``) and marks the run done. Finalising is idempotent too: a redelivered last
   chunk finds the run complete and finalises it if nobody did.

Without a broker (tests, ``CELERY_TASK_ALWAYS_EAGER``) the same tasks run inline; the demo calls
``forecast_run_execute``, which runs the same steps in the calling process.
"""

from __future__ import annotations

import logging
import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import date
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Max, Min, Sum
from django.utils import timezone

from forecasting.fiscal import fiscal_start_month, fiscal_year_months, fiscal_year_of
from forecasting.models import (
    FiscalYear,
    ForecastChunk,
    ForecastPoint,
    ForecastRun,
    ForecastSeries,
    SalesFact,
    SeriesLevel,
)
from sfa.audit import audit_record
from sfa.jobs import FANNED_OUT, JobRun, job_finish, job_report, job_start
from sfa.models import AuditAction, JobStatus
from sfa.permissions import require

if TYPE_CHECKING:
    import numpy as np

    from sfa.models import User

logger = logging.getLogger(__name__)

LEVELS = (80, 95)
SEASON_LENGTH = 12
MIN_HISTORY_MONTHS = 12  # a run needs a year of company history to say anything about seasons
CHUNK_TARGET = 20  # chunks per run: progress moves in about 5 % steps and several workers share the work
CHUNK_MIN, CHUNK_MAX = 10, 250  # series per chunk
LEVEL_ORDER = [SeriesLevel.TOTAL, SeriesLevel.CATEGORY, SeriesLevel.PRODUCT, SeriesLevel.REGION, SeriesLevel.REP]
# A forecast point as a plain row for orders.ledger.bulk_insert: a run writes tens of thousands of them twice
# (the chunks' base forecasts, then the reconciled ones), where model instances and bulk_create cost more
# than the database does.
POINT_FIELDS = ("series_id", "period", "base", "forecast", "lo_80", "hi_80", "lo_95", "hi_95")
PLAN_PERCENT, CHUNKS_PERCENT = 5, 90  # the job's progress: listing the series, the chunks, then reconciling


class RunFailed(Exception):
    """A chunk or the reconciliation cannot go on: the run and its job fail with this message."""


# --- The calendar of a run ----------------------------------------------------------------------------


def month_add(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def months_between(first: date, last: date) -> int:
    """How many months from ``first`` to ``last`` (both first days): 0 for the same month."""
    return (last.year - first.year) * 12 + last.month - first.month


def last_closed_month(today: date | None = None) -> date:
    today = today or timezone.localdate()
    return month_add(today.replace(day=1), -1)


def next_fiscal_year(history_end: date, *, start_month: int | None = None) -> int:
    """The first fiscal year that starts after ``history_end``: the year being planned."""
    start = start_month or fiscal_start_month()
    return fiscal_year_of(month_add(history_end, 1), start_month=start) + (
        0 if month_add(history_end, 1).month == start else 1
    )


def run_calendar(history_end: date, *, start_month: int | None = None) -> tuple[int, int]:
    """(fiscal year, horizon in months) of a run whose history ends with the month ``history_end``."""
    start = start_month or fiscal_start_month()
    year = next_fiscal_year(history_end, start_month=start)
    last = fiscal_year_months(year, start_month=start)[-1]
    return year, months_between(history_end, last)


# --- Starting a run ----------------------------------------------------------------------------------


def _running_runs():
    """Runs whose job is still queued or going (a run made in process, by the demo, has no job)."""
    return ForecastRun.objects.filter(
        status__in=[ForecastRun.Status.PENDING, ForecastRun.Status.RUNNING],
        job__status__in=[JobStatus.QUEUED, JobStatus.RUNNING],
    )


def forecast_runs_close_orphans() -> int:
    """Fail the runs whose job ended without them (failed as stale by the jobs' housekeeping, cancelled
    before a chunk ran), with the job's reason, so no run shows "running" for ever. Returns how many."""
    closed = 0
    orphans = ForecastRun.objects.filter(
        status__in=[ForecastRun.Status.PENDING, ForecastRun.Status.RUNNING],
        job__status__in=[JobStatus.FAILED, JobStatus.CANCELLED],
    ).select_related("job")
    for run in orphans:
        reason = run.job.error or run.job.message or run.job.get_status_display()
        closed += ForecastRun.objects.filter(pk=run.pk, status=run.status).update(
            status=ForecastRun.Status.FAILED, error=f"The run's job ended: {reason}", finished_at=timezone.now()
        )
    return closed


@transaction.atomic
def forecast_run_create(*, actor: User | None, history_end: date | None = None) -> ForecastRun:
    """A pending run over the monthly facts up to ``history_end`` (default: the last closed month).

    ``history_end`` earlier than the last closed month makes a run "as of" then, whose forecasts can be
    compared with the months that have closed since (the demo's accuracy history starts that way).
    """
    latest_closed = last_closed_month()
    history_end = (history_end or latest_closed).replace(day=1)
    if history_end > latest_closed:
        raise ValidationError(
            {"history_end": f"{history_end:%B %Y} has not closed yet: the last closed month is {latest_closed:%B %Y}."}
        )
    span = SalesFact.objects.filter(grain=SalesFact.Grain.MONTH, period__lte=history_end).aggregate(
        first=Min("period"), last=Max("period")
    )
    if span["first"] is None:
        raise ValidationError("There are no sales to forecast from: the sales facts are empty up to that month.")
    months = months_between(span["first"], history_end) + 1
    if months < MIN_HISTORY_MONTHS:
        raise ValidationError(
            f"A forecast needs at least {MIN_HISTORY_MONTHS} months of sales history; there are {months} "
            f"({span['first']:%b %Y} to {history_end:%b %Y})."
        )
    from orders.services import order_settings

    start_month = fiscal_start_month()
    fiscal_year, horizon = run_calendar(history_end, start_month=start_month)
    run = ForecastRun.objects.create(
        created_by=actor if actor is not None and actor.is_authenticated else None,
        history_start=span["first"],
        history_end=history_end,
        horizon=horizon,
        fiscal_year=fiscal_year,
        levels=list(LEVELS),
        # Pages name the run's months by these, even if the company's fiscal calendar changes later.
        summary={"currency": order_settings().base_currency, "fiscal_start_month": start_month},
    )
    audit_record(
        actor=actor,
        instance=run,
        action=AuditAction.CREATE,
        changes={"history_end": [None, history_end.isoformat()], "fiscal_year": [None, fiscal_year]},
    )
    return run


@transaction.atomic
def forecast_run_start(*, actor: User, history_end: date | None = None) -> ForecastRun:
    """Start a forecast run as a background job; one run at a time."""
    require(actor, "add", ForecastRun)
    busy = _running_runs().select_for_update().first()
    if busy is not None:
        raise ValidationError(f"Forecast run {busy.pk} is still running: wait for it to finish.", code="busy")
    run = forecast_run_create(actor=actor, history_end=history_end)
    job = job_start(
        kind="forecast_run",
        title=f"Forecast FY{run.fiscal_year} (history to {run.history_end:%b %Y})",
        actor=actor,
        params={"run_id": run.pk},
    )
    run.job = job
    run.save(update_fields=["job"])
    return run


# --- The job: list the series, chunk them, fan out ----------------------------------------------------


def _label_maps(product_ids: Iterable[int], category_ids: Iterable[int], rep_ids: Iterable[int]):
    from catalog.models import Category, Product
    from sfa.models import User

    products = {
        p.pk: (p.name, p.category_id)
        for p in Product.objects.filter(pk__in=list(product_ids)).only("name", "category_id")
    }
    categories = dict(Category.objects.filter(pk__in=list(category_ids)).values_list("pk", "name"))
    reps = {u.pk: (u.get_full_name() or u.username) for u in User.objects.filter(pk__in=list(rep_ids))}
    return products, categories, reps


def run_series_list(run: ForecastRun) -> list[tuple[str, str, str, str]]:
    """Every series of the run as (level, key, label, parent_key): the total, categories, products, regions, reps.

    Only series with sales in the window; the order (level, then label) is the order of the chunks.
    """
    facts = SalesFact.objects.filter(
        grain=SalesFact.Grain.MONTH, period__gte=run.history_start, period__lte=run.history_end
    )
    product_ids = list(
        facts.values("product_id").annotate(r=Sum("revenue")).exclude(r=0).values_list("product_id", flat=True)
    )
    regions = sorted(facts.values("region").annotate(r=Sum("revenue")).exclude(r=0).values_list("region", flat=True))
    rep_ids = list(facts.values("rep_id").annotate(r=Sum("revenue")).exclude(r=0).values_list("rep_id", flat=True))
    products, categories, reps = _label_maps(product_ids, [], rep_ids)
    category_ids = {category for _, category in products.values()}
    _, categories, _ = _label_maps([], category_ids, [])
    series = [(SeriesLevel.TOTAL.value, "", "All sales", "")]
    series += sorted(
        ((SeriesLevel.CATEGORY.value, str(c), categories.get(c, f"Category {c}"), "") for c in category_ids),
        key=lambda s: s[2].lower(),
    )
    series += sorted(
        ((SeriesLevel.PRODUCT.value, str(p), name, str(category)) for p, (name, category) in products.items()),
        key=lambda s: (s[3], s[2].lower()),
    )
    series += [(SeriesLevel.REGION.value, region, region or "No region", "") for region in regions]
    series += sorted(
        ((SeriesLevel.REP.value, str(r), reps.get(r, f"User {r}"), "") for r in rep_ids), key=lambda s: s[2].lower()
    )
    return series


def chunk_size(n_series: int) -> int:
    return max(CHUNK_MIN, min(CHUNK_MAX, math.ceil(n_series / CHUNK_TARGET)))


@transaction.atomic
def forecast_run_plan(run: ForecastRun) -> list[ForecastChunk]:
    """Split the run's series into chunks (once: a retried job finds them made). Returns the chunks not done."""
    run = ForecastRun.objects.select_for_update().get(pk=run.pk)
    if not run.chunks.exists():
        series = run_series_list(run)
        size = chunk_size(len(series))
        ForecastChunk.objects.bulk_create(
            ForecastChunk(run=run, index=i, keys=[list(s) for s in series[start : start + size]])
            for i, start in enumerate(range(0, len(series), size))
        )
        run.series_total = len(series)
        run.chunks_total = math.ceil(len(series) / size)
    run.status = ForecastRun.Status.RUNNING
    run.error = ""
    run.finished_at = None
    run.save(update_fields=["series_total", "chunks_total", "status", "error", "finished_at"])
    return list(run.chunks.filter(done_at__isnull=True).order_by("index"))


def forecast_run_job(job_run: JobRun) -> dict[str, Any]:
    """The run's job: plan the chunks and queue a task for each one not done yet (a retried job resumes)."""
    from forecasting.tasks_runs import run_chunk

    run = ForecastRun.objects.get(pk=job_run.params["run_id"])
    if run.status == ForecastRun.Status.DONE:
        return {"message": "Done", "run_id": run.pk}
    pending = forecast_run_plan(run)
    run.refresh_from_db()
    job_run.progress(PLAN_PERCENT, f"{run.series_total} series in {run.chunks_total} chunks")
    if not pending:  # every chunk finished before (a retry after a failed reconciliation)
        transaction.on_commit(lambda: forecast_run_finalize(run_id=run.pk))
    for chunk in pending:
        transaction.on_commit(lambda chunk_id=chunk.pk: run_chunk.delay(chunk_id))
    return {FANNED_OUT: True}


# --- A chunk ------------------------------------------------------------------------------------------


def _series_id(level: str, key: str) -> str:
    return f"{level}:{key}"


def chunk_histories(run: ForecastRun, keys: list[list[str]]) -> dict[tuple[str, str], dict[date, float]]:
    """Monthly revenue of each (level, key) in ``keys`` over the run's window, read from the sales facts.

    One aggregate query per level present; categories are the sums of their products' facts.
    """
    facts = SalesFact.objects.filter(
        grain=SalesFact.Grain.MONTH, period__gte=run.history_start, period__lte=run.history_end
    )
    wanted: dict[str, list[str]] = defaultdict(list)
    for level, key, *_ in keys:
        wanted[level].append(key)
    out: dict[tuple[str, str], dict[date, float]] = defaultdict(dict)
    by_level = {
        SeriesLevel.PRODUCT: ("product_id", lambda ks: {"product_id__in": [int(k) for k in ks]}),
        SeriesLevel.CATEGORY: ("product__category_id", lambda ks: {"product__category_id__in": [int(k) for k in ks]}),
        SeriesLevel.REGION: ("region", lambda ks: {"region__in": ks}),
        SeriesLevel.REP: ("rep_id", lambda ks: {"rep_id__in": [int(k) for k in ks]}),
    }
    for level, ks in wanted.items():
        if level == SeriesLevel.TOTAL:
            for row in facts.values("period").annotate(v=Sum("revenue")).order_by():
                out[(level, "")][row["period"]] = float(row["v"])
            continue
        field, where = by_level[SeriesLevel(level)]
        rows = facts.filter(**where(ks)).values(field, "period").annotate(v=Sum("revenue")).order_by()
        for row in rows:
            out[(level, str(row[field]))][row["period"]] = float(row["v"])
    return out


def dense_history(values: dict[date, float], history_end: date) -> tuple[date | None, list[float]]:
    """From the first month with sales to ``history_end``, missing months as zero (no sale that month)."""
    months = sorted(m for m, v in values.items() if v != 0)
    if not months:
        return None, []
    start = months[0]
    return start, [
        round(values.get(month_add(start, i), 0.0), 2) for i in range(months_between(start, history_end) + 1)
    ]


def forecast_chunk_compute(run: ForecastRun, chunk: ForecastChunk):
    """The engine's forecasts of one chunk's series: (series rows, point rows) not yet saved."""
    import pandas as pd

    from forecasting import engine

    histories = chunk_histories(run, chunk.keys)
    rows, meta = [], {}
    for level, key, label, parent in chunk.keys:
        start, values = dense_history(histories.get((level, key), {}), run.history_end)
        sid = _series_id(level, key)
        meta[sid] = (level, key, label, parent, start, values)
        if values:
            rows.extend((sid, month_add(start, i), v) for i, v in enumerate(values))
    frame = pd.DataFrame(rows, columns=["series_id", "period", "value"])
    frame["period"] = pd.to_datetime(frame["period"])
    if len(frame):
        result = engine.forecast(
            frame, horizon=run.horizon, season_length=SEASON_LENGTH, levels=tuple(run.levels or LEVELS), freq="M"
        )
        models = {r.series_id: r for r in result.models.itertuples(index=False)}
        errors = {r.series_id: r.message for r in result.errors.itertuples(index=False)}
        forecasts = result.forecasts
    else:
        models, errors, forecasts = {}, {}, pd.DataFrame(columns=["series_id"])
    series_rows: dict[str, ForecastSeries] = {}
    for sid, (level, key, label, parent, start, values) in meta.items():
        model = models.get(sid)
        error = "" if values else "No sales in the history window."
        error = errors.get(sid, error)
        series_rows[sid] = ForecastSeries(
            run=run,
            level=level,
            key=key,
            label=label[:200],
            parent_key=parent,
            model=(getattr(model, "model", "") or "")[:40] if not error else "",
            mase=_finite(getattr(model, "mase", None)),
            smape=_finite(getattr(model, "smape", None)),
            n_obs=int(getattr(model, "n_obs", None) or len(values)),
            note=(getattr(model, "note", "") or "")[:200] if model is not None else "",
            error=str(error)[:300],
            history_start=start,
            history=values,
        )
    points: dict[str, list[tuple]] = defaultdict(list)  # POINT_FIELDS after the series id, per series
    first = month_add(run.history_end, 1)
    for row in forecasts.itertuples(index=False):
        if row.series_id not in series_rows or series_rows[row.series_id].error:
            continue
        period = pd.Timestamp(row.period).date().replace(day=1)
        if not first <= period <= month_add(run.history_end, run.horizon):
            raise RunFailed(f"The engine forecast {period:%b %Y} for {row.series_id}, outside the run's horizon.")
        base = float(row.forecast)
        points[row.series_id].append(
            (period, base, base, float(row.lo_80), float(row.hi_80), float(row.lo_95), float(row.hi_95))
        )
    for sid, series in series_rows.items():
        if not series.error and len(points[sid]) != run.horizon:
            series.error = f"The engine returned {len(points[sid])} of {run.horizon} months."
            points[sid] = []
    return series_rows, points


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def forecast_chunk_run(*, chunk_id: int) -> str:
    """Forecast one chunk and save it; safe to run twice. Returns what happened (for logs and tests).

    A chunk that fails for any reason other than the database fails its run with a message naming it.
    """
    chunk = ForecastChunk.objects.select_related("run").filter(pk=chunk_id).first()
    if chunk is None:
        return "missing"
    run = chunk.run
    if chunk.done_at is not None:
        forecast_run_finalize(run_id=run.pk)  # the last chunk may have died before finalising
        return "skipped"
    if run.status not in (ForecastRun.Status.RUNNING, ForecastRun.Status.PENDING):
        return "skipped"
    if run.job_id and not job_report(str(run.job_id), _percent(run)):
        forecast_run_fail(run_id=run.pk, message="The run's job was cancelled.")
        return "cancelled"
    try:
        series_rows, points = forecast_chunk_compute(run, chunk)
    except RunFailed as exc:
        forecast_run_fail(run_id=run.pk, message=f"Chunk {chunk.index + 1} of {run.chunks_total}: {exc}")
        return "failed"
    except Exception as exc:
        if _is_database_error(exc):
            raise
        logger.exception("forecast run %s chunk %s failed", run.pk, chunk.index)
        forecast_run_fail(
            run_id=run.pk,
            message=f"Chunk {chunk.index + 1} of {run.chunks_total} failed: {exc.__class__.__name__}: {exc}",
        )
        return "failed"
    last = _chunk_save(chunk, series_rows, points)
    if last is None:
        return "skipped"
    run.refresh_from_db(fields=["chunks_done", "chunks_total", "status"])
    if run.job_id:
        job_report(str(run.job_id), _percent(run), f"{run.chunks_done} of {run.chunks_total} chunks forecast")
    if last:
        forecast_run_finalize(run_id=run.pk)
    return "done"


def _is_database_error(exc: Exception) -> bool:
    from django.db import DatabaseError

    return isinstance(exc, DatabaseError)


def _percent(run: ForecastRun) -> float:
    if not run.chunks_total:
        return PLAN_PERCENT
    return PLAN_PERCENT + CHUNKS_PERCENT * run.chunks_done / run.chunks_total


@transaction.atomic
def _chunk_save(chunk: ForecastChunk, series_rows: dict[str, ForecastSeries], points) -> bool | None:
    """Write the chunk's rows and mark it done in one transaction. True when it was the run's last chunk,
    None when it was done meanwhile (another delivery of the same task) or its run no longer runs."""
    run = ForecastRun.objects.select_for_update().get(pk=chunk.run_id)
    locked = ForecastChunk.objects.select_for_update().get(pk=chunk.pk)
    if locked.done_at is not None or run.status != ForecastRun.Status.RUNNING:
        return None
    saved = ForecastSeries.objects.bulk_create(series_rows.values())
    by_sid = {_series_id(s.level, s.key): s for s in saved}
    if any(s.pk is None for s in saved):  # a database that does not return ids from bulk inserts
        ids = {
            _series_id(level, key): pk
            for level, key, pk in ForecastSeries.objects.filter(run=run).values_list("level", "key", "pk")
        }
        for sid, series in by_sid.items():
            series.pk = ids[sid]
    from orders.ledger import bulk_insert

    rows = [(by_sid[sid].pk, *point) for sid, series_points in points.items() for point in series_points]
    bulk_insert(ForecastPoint, POINT_FIELDS, rows)
    locked.done_at = timezone.now()
    locked.save(update_fields=["done_at"])
    ForecastRun.objects.filter(pk=run.pk).update(chunks_done=F("chunks_done") + 1)
    run.refresh_from_db(fields=["chunks_done", "chunks_total"])
    return run.chunks_done >= run.chunks_total


def forecast_run_fail(*, run_id: int, message: str) -> None:
    """Fail the run and its job with ``message`` (the chunks done stay: a retried job resumes after them)."""
    with transaction.atomic():
        run = ForecastRun.objects.select_for_update().get(pk=run_id)
        if run.status in (ForecastRun.Status.DONE, ForecastRun.Status.FAILED):
            return
        run.status = ForecastRun.Status.FAILED
        run.error = message
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "error", "finished_at"])
    if run.job_id:
        job_finish(str(run.job_id), error=message)


# --- Reconciliation and the end of a run --------------------------------------------------------------


def forecast_run_finalize(*, run_id: int) -> bool:
    """Reconcile a run whose chunks are all done and mark it done (forecasting.reconcile_runs says how).

    Does nothing when the run is not complete or no longer running, so any chunk may call it any number
    of times; the reconciled points replace the chunks' in one transaction that also marks the run done.
    """
    import numpy as np

    from forecasting.reconcile_runs import reconcile_tree
    from orders.ledger import bulk_insert

    run = ForecastRun.objects.get(pk=run_id)
    if run.status != ForecastRun.Status.RUNNING or run.chunks_done < run.chunks_total or not run.chunks_total:
        return False
    if run.job_id:
        job_report(str(run.job_id), PLAN_PERCENT + CHUNKS_PERCENT, "Reconciling")
    series = list(ForecastSeries.objects.filter(run=run).values("pk", "level", "key", "parent_key", "error"))
    point_rows = ForecastPoint.objects.filter(series__run=run).values_list(
        "series_id", "period", "base", "lo_80", "hi_80", "lo_95", "hi_95"
    )
    months = [month_add(run.history_end, i + 1) for i in range(run.horizon)]
    index = {m: i for i, m in enumerate(months)}
    blocks: dict[int, np.ndarray] = {}
    for sid, period, *values in point_rows.iterator(chunk_size=5000):
        block = blocks.get(sid)
        if block is None:
            block = blocks[sid] = np.full((5, run.horizon), np.nan)
        block[:, index[period]] = values
    nodes, by_node = {}, {}
    for s in series:
        block = blocks.get(s["pk"])
        usable = block is not None and not s["error"] and not np.isnan(block).any()
        nodes[(s["level"], s["key"])] = {"base": block if usable else None, "parent": s["parent_key"]}
        by_node[(s["level"], s["key"])] = s
    try:
        coherent = reconcile_tree(nodes, run.horizon, months)
    except Exception as exc:
        logger.exception("forecast run %s: reconciliation failed", run.pk)
        forecast_run_fail(run_id=run.pk, message=f"Reconciliation failed: {exc.__class__.__name__}: {exc}")
        return False
    new_points = []
    for node, block in coherent.items():
        s = by_node.get(node)
        if s is None or nodes[node]["base"] is None:
            continue  # a series the engine could not forecast gets no points of its own
        base = nodes[node]["base"][0].tolist()
        values = block.T.tolist()  # per month: forecast, lo_80, hi_80, lo_95, hi_95
        new_points.extend((s["pk"], month, base[i], *values[i]) for i, month in enumerate(months))
    summary = run_summary(run)
    with transaction.atomic():
        locked = ForecastRun.objects.select_for_update().get(pk=run.pk)
        if locked.status != ForecastRun.Status.RUNNING:
            return False
        ForecastPoint.objects.filter(series__run=locked).delete()
        bulk_insert(ForecastPoint, POINT_FIELDS, new_points)
        locked.status = ForecastRun.Status.DONE
        locked.finished_at = timezone.now()
        locked.summary = {**locked.summary, **summary}
        locked.save(update_fields=["status", "finished_at", "summary"])
    if locked.job_id:
        job_finish(
            str(locked.job_id),
            message=f"FY{locked.fiscal_year} forecast: {locked.series_total} series",
            result={"run_id": locked.pk, "series": locked.series_total},
        )
    from forecasting.accuracy import forecast_actuals_fill

    forecast_actuals_fill(run_ids=[locked.pk])
    return True


def run_summary(run: ForecastRun) -> dict[str, Any]:
    """Model counts, the median backtest MASE and sMAPE (series that have one) and the series that failed."""
    rows = list(ForecastSeries.objects.filter(run=run).values_list("level", "model", "mase", "smape", "error"))
    models = Counter(model for _, model, _, _, error in rows if not error)
    mase = [m for _, _, m, _, error in rows if m is not None and not error]
    smape = [s for _, _, _, s, error in rows if s is not None and not error]
    product_mase = [m for level, _, m, _, error in rows if m is not None and not error and level == "product"]
    return {
        "models": dict(models.most_common()),
        "median_mase": round(statistics.median(mase), 3) if mase else None,
        "median_smape": round(statistics.median(smape), 2) if smape else None,
        "median_mase_products": round(statistics.median(product_mase), 3) if product_mase else None,
        "failed": sum(1 for *_, error in rows if error),
        "reconciliation": "MinT (total and categories), variance-weighted within categories; regions and reps "
        "proportional to the total",
    }


# --- Running a whole run in this process (the demo) ----------------------------------------------------


def forecast_run_execute(run: ForecastRun) -> ForecastRun:
    """Plan, forecast every chunk and reconcile here, with the same steps the tasks take."""
    for chunk in forecast_run_plan(run):
        forecast_chunk_run(chunk_id=chunk.pk)
    forecast_run_finalize(run_id=run.pk)
    run.refresh_from_db()
    return run


@transaction.atomic
def forecast_run_delete(*, actor: User, run: ForecastRun) -> None:
    """Delete a finished run with its series and points (admins: a run made on wrong data)."""
    require(actor, "delete", run)
    if run.job is not None and not run.job.is_finished:
        raise ValidationError("A running forecast cannot be deleted: cancel its job first.")
    audit_record(actor=actor, instance=run, action=AuditAction.DELETE, changes={"fiscal_year": [run.fiscal_year, None]})
    run.delete()


@transaction.atomic
def fiscal_year_set(*, actor: User, start_month: int) -> FiscalYear:
    """Set the month the company's fiscal year starts in (admins). Runs made before keep their own calendar."""
    require(actor, "change", FiscalYear)
    if not 1 <= int(start_month) <= 12:
        raise ValidationError({"start_month": "Choose a month from 1 (January) to 12 (December)."})
    row = FiscalYear.objects.select_for_update().order_by("pk").first() or FiscalYear(start_month=1)
    before = row.start_month if row.pk else None
    row.start_month = int(start_month)
    row.save()
    if before != row.start_month:
        audit_record(
            actor=actor, instance=row, action=AuditAction.UPDATE, changes={"start_month": [before, row.start_month]}
        )
    return row
