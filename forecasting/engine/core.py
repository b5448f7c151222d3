"""Per-series kinds, the backtest, model choice and the worker that runs a chunk of series."""

from __future__ import annotations

import time
import warnings

import numpy as np

from forecasting.engine import models as M

MIN_REGULAR = 8  # fewer periods: a new product, forecast by the mean of its last periods
INTERMITTENT_ZEROS = 0.3  # share of zero periods from which demand counts as intermittent
BLOCK = 1000  # series per vectorised block (bounds the memory of the grid passes)
OUTLIER_Z = 5.0
# The combination stays unless a single model's backtest error is at least 35 % lower: with three to five
# origins the per-series ranking is noisy, and the mean of ETS, Theta and ARIMA is rarely far off (it
# lowered MASE by 2-4 % against plain selection in bench/forecast_bench.py, on real and generated series).
COMBINATION_EDGE = 0.65


def plan(n: int, m: int, horizon: int, allow_seasonal: bool = True) -> M.Spec | None:
    """Backtest layout for a history of n periods: three or five origins, the last ``hb`` periods before the end.

    Seasonal models need two full seasons before the first origin; when a series has fewer, it is planned
    without them (a "short series"). None when not even a non-seasonal backtest fits.
    """

    def spread(hb: int, floor: int) -> tuple[int, ...] | None:
        # Long histories: five origins half a backtest horizon apart; otherwise three, a quarter apart.
        for count, step in ((5, max(1, hb // 2)), (3, max(1, hb // 4))):
            t1 = n - hb - (count - 1) * step
            if t1 >= floor and (count == 3 or t1 >= n // 2):
                return tuple(t1 + k * step for k in range(count))
        return None

    if allow_seasonal and m > 1:
        hb = min(horizon, m)
        while hb >= 2:
            origins = spread(hb, 2 * m)
            if origins:
                return M.Spec(n=n, m=m, h=horizon, hb=hb, origins=origins)
            hb -= 1
    hb = max(1, min(horizon, n // 4, 12))
    origins = spread(hb, 4)
    if origins is None:
        return None
    return M.Spec(n=n, m=1, h=horizon, hb=hb, origins=origins)


def clean_outliers(Y: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Replace isolated extreme points by a robust fit; returns the cleaned block and the count per series.

    The fit is a centred running median (window m + 1, or 5) plus, for seasonal blocks, the median
    deviation from it at the same position in the two seasons before and after. A point counts as an
    outlier when its residual exceeds OUTLIER_Z robust standard deviations (1.4826 MAD) and its neighbours
    are not outliers in the same direction: a run of such points is a level shift, which the models must
    see. Positive series are judged on logs; the
    first and last half-window are left alone (a one-sided median cannot tell a new level from a spike).
    """
    S, n = Y.shape
    positive = (Y > 0).all(axis=1)
    work = np.where(positive[:, None], np.log(np.where(Y > 0, Y, 1.0)), Y)  # sales vary in proportion
    w = m + 1 if m > 1 else 5
    half = w // 2
    padded = np.concatenate([np.full((S, half), np.nan), work, np.full((S, half), np.nan)], axis=1)
    windows = np.lib.stride_tricks.sliding_window_view(padded, w, axis=1)
    trend = np.nanmedian(windows, axis=2)
    dev = work - trend
    flag = np.zeros((S, n), dtype=bool)
    for _ in range(2):  # the second round leaves the first round's outliers out of the seasonal profile
        smooth = trend.copy()
        if m > 1 and n >= 2 * m:
            # Seasonal deviation: median of the same position in the two seasons either side (local,
            # so that seasonality that changes over the years does not look like outliers).
            pad = np.full((S, 2 * m), np.nan)
            wide = np.concatenate([pad, np.where(flag, np.nan, dev), pad], axis=1)
            shifts = np.stack([wide[:, 2 * m + k * m : 2 * m + k * m + n] for k in (-2, -1, 1, 2)], axis=0)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # a position with no neighbour left
                profile = np.nanmedian(shifts, axis=0)
            smooth = trend + np.nan_to_num(profile)
        r = work - smooth
        mad = 1.4826 * np.median(np.abs(r - np.median(r, axis=1, keepdims=True)), axis=1)
        z = r / np.where(mad > 0, mad, np.inf)[:, None]
        flag = np.abs(z) > OUTLIER_Z
        flag[:, :half] = False  # where the running median is one-sided, a point cannot be judged
        flag[:, n - half :] = False
        sign = np.sign(z)
        run = np.zeros_like(flag)
        run[:, 1:] |= flag[:, :-1] & (sign[:, :-1] == sign[:, 1:])
        run[:, :-1] |= flag[:, 1:] & (sign[:, 1:] == sign[:, :-1])
        flag &= ~run
    smooth[positive] = np.exp(smooth[positive])
    return np.where(flag, smooth, Y), flag.sum(axis=1)


def _scores(fit: M.Fit, actual: np.ndarray, squared: bool) -> np.ndarray:
    err = actual - fit.bt
    score = np.mean(err * err if squared else np.abs(err), axis=(1, 2))
    bad = ~np.isfinite(fit.bt).all(axis=(1, 2)) | ~np.isfinite(fit.final).all(axis=1)
    return np.where(bad, np.inf, score)


def _clip(fit: M.Fit, nonneg: np.ndarray) -> M.Fit:
    if nonneg.any():
        fit.bt = np.where(nonneg[:, None, None], np.maximum(fit.bt, 0), fit.bt)
        fit.final = np.where(nonneg[:, None], np.maximum(fit.final, 0), fit.final)
    return fit


def _family(label: str) -> str:
    for key in ("ETS", "SARIMA", "ARIMA", "Theta", "combination", "seasonal naive", "naive", "SBA", "TSB"):
        if label.startswith(key):
            return key
    return label


def run_block(Y: np.ndarray, spec: M.Spec, kind: str) -> dict:
    """Fit every candidate family on a block, choose per series by backtest error, return the choice."""
    S = Y.shape[0]
    nonneg = (Y >= 0).all(axis=1)
    idx = np.array(spec.origins)[:, None] + np.arange(spec.hb)[None, :]  # (K, hb)
    actual = Y[:, idx]
    if kind == "intermittent":
        fits = [M.intermittent(Y, spec, "sba"), M.intermittent(Y, spec, "tsb")]
        squared = True  # absolute error would favour forecasting zero
    else:
        base = M.seasonal_naive(Y, spec)
        e, th, ar = M.ets(Y, spec), M.theta(Y, spec), M.arima(Y, spec)
        fits = [base, e, th, ar, M.combination([e, th, ar], spec)]
        squared = False
    fits = [_clip(f, nonneg) for f in fits]
    scores = np.stack([_scores(f, actual, squared) for f in fits], axis=1)  # (S, F)
    if kind != "intermittent":
        scores[:, -1] *= COMBINATION_EDGE
    choice = np.argmin(scores, axis=1)
    rows = np.arange(S)
    pick = lambda attr: np.stack([getattr(f, attr) for f in fits], axis=1)[rows, choice]  # noqa: E731
    return {
        "final": pick("final"),
        "sd": pick("sd"),
        "bt": pick("bt"),
        "bt_sd": pick("bt_sd"),
        "resid": pick("resid"),
        "label": pick("label"),
        "actual": actual,
        "idx": idx,
    }


def _metrics(raw: np.ndarray, bt: np.ndarray, idx: np.ndarray, t1: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    """MASE (scaled by the in-sample seasonal naive MAE before the first origin) and sMAPE, per series."""
    lag = m if m > 1 and t1 > m else 1
    scale = np.mean(np.abs(raw[:, lag:t1] - raw[:, : t1 - lag]), axis=1) if t1 > lag else np.full(len(raw), np.nan)
    actual = raw[:, idx]
    err = np.abs(actual - bt)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        mase = np.where(scale > 0, err.mean(axis=(1, 2)) / scale, np.nan)
        denom = np.abs(actual) + np.abs(bt)
        smape = np.where(denom > 0, 200 * err / np.where(denom > 0, denom, 1), 0.0).mean(axis=(1, 2))
    return mase, smape


def _simple(y: np.ndarray, horizon: int) -> tuple[np.ndarray, np.ndarray, str, str]:
    n = len(y)
    if np.all(y == 0):
        return np.zeros(horizon), np.zeros(horizon), "zero", "all zero"
    if np.all(y == y[0]):
        return np.full(horizon, y[0]), np.zeros(horizon), "constant", "constant"
    recent = y[-min(n, 3) :]
    level = float(recent.mean())
    spread = float(np.std(y, ddof=1)) if n >= 2 else 0.0
    if spread == 0:
        spread = 0.5 * abs(level)
    sd = spread * np.sqrt(1 + np.arange(horizon) / 3)
    return np.full(horizon, level), sd, f"mean of last {len(recent)}", f"new product ({n} observations)"


def forecast_chunk(values: list[np.ndarray], filled: list[int], season_length: int, horizon: int, fill: str) -> dict:
    """Forecast a list of regular histories (the worker function; top level so that spawn can pickle it).

    Returns arrays aligned with ``values``; numbers only, no dates and no ids.
    """
    N = len(values)
    cpu_start = time.process_time()
    out = {
        "final": np.full((N, horizon), np.nan),
        "sd": np.zeros((N, horizon)),
        "label": np.empty(N, dtype=object),
        "family": np.empty(N, dtype=object),
        "mase": np.full(N, np.nan),
        "smape": np.full(N, np.nan),
        "note": np.empty(N, dtype=object),
        "error": np.full(N, None, dtype=object),
        "z": [None] * N,
        "resid": [None] * N,
        "nonneg": np.zeros(N, dtype=bool),
    }
    notes: list[list[str]] = [[] for _ in range(N)]
    for i, k in enumerate(filled):
        if k:
            notes[i].append(
                f"{k} missing period{'s' if k > 1 else ''} {'set to 0' if fill == 'zero' else 'interpolated'}"
            )
    groups: dict[tuple, list[int]] = {}
    for i, y in enumerate(values):
        n = len(y)
        out["nonneg"][i] = bool((y >= 0).all())
        zeros = float(np.mean(y == 0))
        if np.all(y == y[0]) or n < MIN_REGULAR:
            final, sd, label, note = _simple(y, horizon)
            out["final"][i], out["sd"][i], out["label"][i], out["family"][i] = final, sd, label, label
            notes[i].append(note)
            out["resid"][i] = np.full(n, np.nan)
            continue
        intermittent = out["nonneg"][i] and zeros >= INTERMITTENT_ZEROS
        spec = plan(n, season_length, horizon, allow_seasonal=not intermittent)
        if spec is None:
            final, sd, label, note = _simple(y, horizon)
            out["final"][i], out["sd"][i], out["label"][i], out["family"][i] = final, sd, label, label
            notes[i].append(f"too short for a backtest ({n} periods)")
            out["resid"][i] = np.full(n, np.nan)
            continue
        if intermittent:
            notes[i].append(f"intermittent ({zeros:.0%} zero periods)")
        elif season_length > 1 and spec.m == 1:
            notes[i].append(f"short series ({n} periods, under two seasons before the backtest): non-seasonal models")
        groups.setdefault((spec, "intermittent" if intermittent else "regular"), []).append(i)

    for (spec, kind), members in groups.items():
        for start in range(0, len(members), BLOCK):
            rows = members[start : start + BLOCK]
            try:
                _fit_rows(rows, values, spec, kind, out, notes)
            except Exception:  # one bad series must not sink its block: retry one by one
                for r in rows:
                    try:
                        _fit_rows([r], values, spec, kind, out, notes)
                    except Exception as exc:
                        out["error"][r] = f"the models failed on this series ({type(exc).__name__}: {exc})"
    out["note"][:] = ["; ".join(n) for n in notes]
    out["cpu"] = np.array([time.process_time() - cpu_start])
    return out


def _pack(arrays: list) -> tuple[np.ndarray, np.ndarray]:
    """A list of 1-D arrays (None for none) as one flat array and the lengths (-1 for None)."""
    lengths = np.array([-1 if a is None else len(a) for a in arrays], dtype=np.int64)
    present = [a for a in arrays if a is not None]
    return (np.concatenate(present) if present else np.empty(0)), lengths


def _unpack(flat: np.ndarray, lengths: np.ndarray) -> list:
    parts = np.split(flat, np.cumsum(np.maximum(lengths, 0))[:-1]) if len(lengths) else []
    return [None if k < 0 else part for part, k in zip(parts, lengths, strict=True)]


def forecast_packed(
    flat: np.ndarray, lengths: np.ndarray, filled: list[int], season_length: int, horizon: int, fill: str
) -> dict:
    """``forecast_chunk`` for a worker process: histories in and ragged results out as flat arrays.

    One contiguous array pickles in a few milliseconds where a list of thousands of small arrays takes a
    tenth of a second or more each way, time the parent spends alone while the workers wait or idle.
    """
    out = forecast_chunk(_unpack(flat, lengths), filled, season_length, horizon, fill)
    out["z"], out["resid"] = _pack(out["z"]), _pack(out["resid"])
    return out


def unpack_result(out: dict) -> dict:
    """Undo the packing of ``forecast_packed``'s result (in the parent)."""
    out["z"], out["resid"] = _unpack(*out["z"]), _unpack(*out["resid"])
    return out


def _fit_rows(rows: list[int], values, spec: M.Spec, kind: str, out: dict, notes) -> None:
    raw = np.stack([values[r] for r in rows])
    Y = raw
    cleaned = np.zeros(len(rows), dtype=int)
    # Extreme histories (1e-300, 1e300) overflow here and there; what is not finite at the end is caught below.
    with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
        if kind == "regular":
            Y, cleaned = clean_outliers(raw, spec.m)
        res = run_block(Y, spec, kind)
    finite = np.isfinite(res["final"]).all(axis=1) & np.isfinite(res["sd"]).all(axis=1)
    mase, smape = _metrics(raw, res["bt"], res["idx"], spec.t1, spec.m)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        z = (res["actual"] - res["bt"]) / res["bt_sd"]
    for j, r in enumerate(rows):
        if not finite[j]:
            out["error"][r] = "no model gave finite forecasts for this series"
            continue
        out["final"][r] = res["final"][j]
        out["sd"][r] = res["sd"][j]
        out["label"][r] = res["label"][j]
        out["family"][r] = _family(res["label"][j])
        out["mase"][r], out["smape"][r] = mase[j], smape[j]
        out["z"][r] = z[j][np.isfinite(z[j])]
        out["resid"][r] = res["resid"][j]
        if cleaned[j]:
            notes[r].append(f"outliers cleaned ({cleaned[j]})")
