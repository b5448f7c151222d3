"""The forecast engine: automatic per-series forecasts with intervals, and hierarchical reconciliation.

Pure pandas/numpy (no Django): the app's jobs, ``manage.py forecast_csv``, the benchmark and the tests all
call this module. Public API (stable; other code is written against these names)::

    from forecasting.engine import forecast, reconcile, EngineResult, pin_blas_threads

    res = forecast(frame, horizon=12, season_length=None, levels=(80, 95), jobs=1, freq=None, fill="zero",
                   end=None)

``frame``: a DataFrame with columns ``series_id`` (str or int), ``period`` (datetime64, date or ISO
string) and ``value`` (float). Frequency is inferred from the dates unless ``freq`` ("M", "Q", "W") is
given: first days of months are monthly, first days of quarters (Jan/Apr/Jul/Oct, no two dates of a series
closer than three months) quarterly, dates on one weekday weekly. ``season_length`` defaults to 12, 4, 52.
``fill="zero"`` reads a missing period inside a series as no sales; ``fill="interpolate"`` interpolates
it linearly. Each series runs from its own first to its own last period: a product that stopped selling
must have its zero periods in the frame, or pass ``end`` (a period, keyword only): every series is then
extended to ``end`` with zeros (or, interpolating, its last value) -- what a sales-facts table, which has
no rows for months without sales, needs. Several rows for one series and period add up. ``jobs`` > 1
fans the series out to that many processes.

``res.forecasts``: series_id, period, forecast, lo_80, hi_80, lo_95, hi_95, model -- one row per
    series and future period (the lo/hi names follow ``levels``).
``res.models``: series_id, model, mase, smape, n_obs, note -- the chosen model's rolling-origin backtest
    accuracy (MASE scaled by the in-sample seasonal naive error; sMAPE in percent, 0 to 200) and what was
    special about the series ("short series", "intermittent (45% zero periods)", "outliers cleaned (1)",
    "new product (3 observations)", "2 missing periods set to 0", "constant", "all zero").
``res.errors``: series_id, message -- series that could not be forecast (bad dates, no values, numerical
    failure); the rest of the run goes on.
``res.residuals``: series_id, period, residual -- in-sample one-step residuals of the chosen model
    (input for ``reconcile(..., residuals=...)``).
``res.calibration``: family, level, ratio, n -- how much the backtest widened or narrowed each model
    family's intervals (see below). ``res.freq``, ``res.season_length``: what was used.
    ``res.cpu_seconds``: CPU time of the run (this process and the worker processes);
    ``res.worker_cpu_seconds``: the CPU time of each chunk's forecasting (empty with ``jobs=1``; the
    first is this process's own chunk, already counted in ``cpu_seconds`` once).

    coherent = reconcile(forecasts_by_node, structure, method="mint_shrink", residuals=None)

``forecasts_by_node``: DataFrame node, period, forecast, lo_*, hi_* (other columns are kept);
``structure``: {node: [bottom nodes it sums]}, a bottom node maps to [itself]; ``method``: "mint_shrink",
"ols" or "bottom_up"; ``residuals``: optional DataFrame node (or series_id), period, residual. Returns the
same rows and columns with forecasts that add up (see ``forecasting.engine.reconcile``).

How a series is forecast (details in docs/forecasting-engine.md):

1. Kind: all zero or constant (the value repeated); new product (< 8 periods: mean of the last three);
   intermittent (non-negative, >= 30 % zeros: SBA-Croston or TSB); otherwise regular. A regular series
   with fewer than two seasons before its first backtest origin is a short series: non-seasonal models.
2. Regular series: isolated outliers (> 5 robust sd from a running median plus local seasonal profile)
   are replaced by that fit; runs of them (level shifts) stay.
3. Candidates, vectorised across all series of the same length: seasonal naive (naive when not
   seasonal); additive ETS (none/damped trend x none/additive season, also on logs for positive series,
   form by AICc); Theta; ARIMA by conditional least squares (SARIMA(0,1,1)(0,1,1)[m], or ARIMA(1,1,1));
   and the mean of ETS, Theta and ARIMA. Scored by mean absolute error over three (long series: five)
   rolling backtest origins, parameters estimated only on the data before the first origin; the
   combination stays unless a single model's error is at least 35 % lower. Intermittent series: the
   lower squared error of SBA and TSB.
4. Intervals: the model's analytic forecast standard deviation, scaled per model family by how the
   backtest errors were actually spread (pooled over the run's series; shrunk towards 1 with few
   points; within 0.8-3), normal quantiles. Non-negative history: forecasts and bounds are clipped at 0.

Parallelism: ``jobs=N`` splits the series into N contiguous chunks: this process forecasts the first
and N - 1 worker processes (forked from a fork server that has the engine imported, or spawned where
there is none) the others, each receiving its histories as one packed array; each one pins BLAS threads to one with
threadpoolctl first (``pin_blas_threads``). Without the pin every process starts as many BLAS threads as
there are cores and they fight over them: statsmodels in two processes ran 2.5-7.5 times slower here. A
Celery worker that calls ``forecast`` should call ``pin_blas_threads()`` once at process start
(``worker_process_init``). Results do not depend on ``jobs``.
"""

from __future__ import annotations

import contextlib
import itertools
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from statistics import NormalDist

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from forecasting.engine.core import forecast_chunk, forecast_packed, unpack_result
from forecasting.engine.frame import SEASON_LENGTH, STEP, future_periods, prepare
from forecasting.engine.reconcile import reconcile

__all__ = ["EngineResult", "forecast", "pin_blas_threads", "reconcile"]

CALIBRATION_FULL_WEIGHT = 200  # backtest errors a family needs before its own spread counts fully
CALIBRATION_BOUNDS = (0.8, 3.0)


def pin_blas_threads() -> None:
    """Limit BLAS/OpenMP pools of this process to one thread (call once per worker process)."""
    threadpool_limits(1)


@dataclass
class EngineResult:
    forecasts: pd.DataFrame
    models: pd.DataFrame
    errors: pd.DataFrame
    residuals: pd.DataFrame = field(default_factory=pd.DataFrame)
    calibration: pd.DataFrame = field(default_factory=pd.DataFrame)
    freq: str = "M"
    season_length: int = 12
    cpu_seconds: float = 0.0  # CPU time of the run: this process plus, with jobs > 1, the workers
    worker_cpu_seconds: tuple[float, ...] = ()  # CPU time of each worker process (jobs > 1)


def _mp_context():
    """Fork server with the engine preloaded where there is one, else spawn; never a bare fork.

    A bare fork copies whatever threads the caller runs (a Celery worker, BLAS pools) into the children.
    Spawned children start clean but import numpy and pandas again at every run (about a second each);
    the fork server imports them once per process and forks clean children from itself.
    """
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["forecasting.engine"])
        return ctx
    return multiprocessing.get_context("spawn")


def _split(n: int, parts: int) -> list[tuple[int, int]]:
    bounds = np.linspace(0, n, parts + 1).round().astype(int)
    return [(int(a), int(b)) for a, b in itertools.pairwise(bounds) if b > a]


def _merge(chunks: list[dict]) -> dict:
    merged = {}
    for key in chunks[0]:
        if isinstance(chunks[0][key], list):
            merged[key] = [x for c in chunks for x in c[key]]
        else:
            merged[key] = np.concatenate([c[key] for c in chunks])
    return merged


def _calibrate(out: dict, levels: tuple[int, ...]) -> tuple[dict, pd.DataFrame]:
    """Per family and level: quantile of |backtest error / forecast sd| over the normal quantile."""
    ratios, rows = {}, []
    for fam in sorted({f for f in out["family"] if f is not None}):
        members = [i for i, f in enumerate(out["family"]) if f == fam and out["z"][i] is not None]
        z = np.abs(np.concatenate([out["z"][i] for i in members])) if members else np.empty(0)
        weight = min(1.0, len(z) / CALIBRATION_FULL_WEIGHT)
        for lv in levels:
            q = NormalDist().inv_cdf(0.5 + lv / 200)
            raw = float(np.quantile(z, lv / 100)) / q if len(z) else 1.0
            ratio = float(np.clip(1 + weight * (raw - 1), *CALIBRATION_BOUNDS))
            ratios[(fam, lv)] = ratio
            rows.append({"family": fam, "level": lv, "ratio": ratio, "n": len(z)})
    return ratios, pd.DataFrame(rows, columns=["family", "level", "ratio", "n"])


def _forecast_all(prep, m: int, horizon: int, fill: str, jobs: int, pool) -> tuple[dict, tuple[float, ...]]:
    """Forecast every prepared history: in this process alone, or split with the pool's workers.

    With workers, this process forecasts the first chunk itself while jobs - 1 workers take the others:
    one process fewer to start and that chunk never crosses a pipe.
    """
    n_series = len(prep.ids)
    if pool is None or n_series < 2 * jobs:
        with threadpool_limits(1):
            return forecast_chunk(prep.values, prep.filled, m, horizon, fill), ()
    parts = _split(n_series, jobs)
    futures = [
        pool.submit(
            forecast_packed,
            np.concatenate(prep.values[a:b]),
            np.array([len(v) for v in prep.values[a:b]], dtype=np.int64),
            prep.filled[a:b],
            m,
            horizon,
            fill,
        )
        for a, b in parts[1:]
    ]
    a, b = parts[0]
    with threadpool_limits(1):
        own = forecast_chunk(prep.values[a:b], prep.filled[a:b], m, horizon, fill)
    out = _merge([own, *(unpack_result(f.result()) for f in futures)])
    return out, tuple(float(x) for x in out["cpu"])


def forecast(
    frame: pd.DataFrame,
    horizon: int = 12,
    season_length: int | None = None,
    levels: tuple[int, ...] = (80, 95),
    jobs: int = 1,
    freq: str | None = None,
    fill: str = "zero",
    *,
    end=None,
) -> EngineResult:
    """Forecast every series of ``frame`` ``horizon`` periods ahead (see the module docstring)."""
    horizon = int(horizon)
    if horizon < 1:
        raise ValueError("horizon must be at least 1")
    levels = tuple(int(lv) for lv in levels)
    if not levels or any(not 0 < lv < 100 for lv in levels):
        raise ValueError("levels must be percentages between 0 and 100, e.g. (80, 95)")
    jobs = max(1, int(jobs))
    cpu_start = time.process_time()
    with contextlib.ExitStack() as stack:
        pool = None
        if jobs > 1 and len(frame) >= 2 * jobs:
            # Start the workers first: they come up while this process reads the frame.
            pool = stack.enter_context(
                ProcessPoolExecutor(max_workers=jobs - 1, mp_context=_mp_context(), initializer=pin_blas_threads)
            )
            for _ in range(jobs - 1):
                pool.submit(int)
        try:
            prep = prepare(frame, freq=freq, fill=fill, end=end)
            m = int(season_length) if season_length else SEASON_LENGTH[prep.freq]
            if m < 1:
                raise ValueError("season_length must be at least 1")
            n_series = len(prep.ids)
            if pool is not None and n_series < 2 * jobs:
                pool.shutdown(wait=False, cancel_futures=True)  # a few long series: this process alone
                pool = None
            out, worker_cpu = _forecast_all(prep, m, horizon, fill, jobs, pool) if n_series else (None, ())
        except BaseException:
            if pool is not None:  # a bad frame or a failed chunk: drop the work not started, do not wait for it
                pool.shutdown(wait=False, cancel_futures=True)
            raise

    errors = list(prep.errors)
    lv_cols = [c for lv in levels for c in (f"lo_{lv}", f"hi_{lv}")]
    if out is None:
        empty = pd.DataFrame(columns=["series_id", "period", "forecast", *lv_cols, "model"])
        return EngineResult(
            forecasts=empty,
            models=pd.DataFrame(columns=["series_id", "model", "mase", "smape", "n_obs", "note"]),
            errors=pd.DataFrame(errors, columns=["series_id", "message"]),
            residuals=pd.DataFrame(columns=["series_id", "period", "residual"]),
            freq=prep.freq,
            season_length=m,
        )

    ratios, calibration = _calibrate(out, levels)
    ok = np.array([e is None for e in out["error"]])
    ids = np.empty(n_series, dtype=object)
    ids[:] = prep.ids
    for i in np.flatnonzero(~ok):
        errors.append((prep.ids[i], out["error"][i]))
    n_obs = np.array([len(v) for v in prep.values])
    starts = np.array(prep.starts, dtype=np.int64)

    good = np.flatnonzero(ok)
    final = out["final"][good]
    sd = out["sd"][good]
    nonneg = out["nonneg"][good]
    if nonneg.any():
        final = np.where(nonneg[:, None], np.maximum(final, 0), final)
    periods = future_periods(prep.freq, starts[good], n_obs[good], horizon)
    fc = pd.DataFrame(
        {
            "series_id": np.repeat(ids[good], horizon),
            "period": periods.ravel(),
            "forecast": final.ravel(),
        }
    )
    for lv in levels:
        q = NormalDist().inv_cdf(0.5 + lv / 200)
        scale = np.array([ratios.get((out["family"][i], lv), 1.0) for i in good])
        half = q * scale[:, None] * sd
        lo, hi = final - half, final + half
        lo = np.where(nonneg[:, None], np.maximum(lo, 0), lo)
        fc[f"lo_{lv}"] = lo.ravel()
        fc[f"hi_{lv}"] = hi.ravel()
    fc["model"] = np.repeat(out["label"][good], horizon)

    models = pd.DataFrame(
        {
            "series_id": ids[good],
            "model": out["label"][good],
            "mase": out["mase"][good],
            "smape": out["smape"][good],
            "n_obs": n_obs[good],
            "note": out["note"][good],
        }
    )
    resid_rows = [(i, r) for i in good if (r := out["resid"][i]) is not None]
    if resid_rows:
        lengths = np.array([len(r) for _, r in resid_rows])
        values = np.concatenate([r for _, r in resid_rows])
        sid = np.repeat(ids[[i for i, _ in resid_rows]], lengths)
        offset = np.arange(len(values)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        unit = np.repeat(starts[[i for i, _ in resid_rows]], lengths) + offset * STEP[prep.freq]
        kind = "datetime64[M]" if prep.freq in ("M", "Q") else "datetime64[D]"
        residuals = pd.DataFrame(
            {"series_id": sid, "period": unit.astype(kind).astype("datetime64[ns]"), "residual": values}
        )
        residuals = residuals[np.isfinite(values)].reset_index(drop=True)
    else:
        residuals = pd.DataFrame(columns=["series_id", "period", "residual"])
    return EngineResult(
        forecasts=fc,
        models=models,
        errors=pd.DataFrame(errors, columns=["series_id", "message"]),
        residuals=residuals,
        calibration=calibration,
        freq=prep.freq,
        season_length=m,
        cpu_seconds=time.process_time() - cpu_start + sum(worker_cpu[1:]),
        worker_cpu_seconds=worker_cpu,
    )
