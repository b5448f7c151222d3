"""From a long frame (series_id, period, value) to regular numeric histories, and back to dates.

Periods become integer steps on one calendar: months since 1970 for monthly and quarterly data (a quarter
is three months), days since 1970 for weekly data (a week is seven). Dates off that calendar (a monthly
series dated the 15th) make that series fail with a message; the others go on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

FREQ_ALIASES = {
    "m": "M",
    "ms": "M",
    "month": "M",
    "monthly": "M",
    "q": "Q",
    "qs": "Q",
    "quarter": "Q",
    "quarterly": "Q",
    "w": "W",
    "week": "W",
    "weekly": "W",
}
SEASON_LENGTH = {"M": 12, "Q": 4, "W": 52}
STEP = {"M": 1, "Q": 3, "W": 7}  # calendar units (months or days) per period
FILLS = ("zero", "interpolate")


@dataclass
class Prepared:
    """Regular histories, one per series that could be read, in the order the series first appear."""

    freq: str  # "M", "Q" or "W"
    ids: list = field(default_factory=list)  # series ids as given
    values: list = field(default_factory=list)  # one float array per series, oldest first
    starts: list = field(default_factory=list)  # calendar unit of each series' first period
    filled: list = field(default_factory=list)  # how many periods were missing and filled
    errors: list = field(default_factory=list)  # (series_id, message)


def normalise_freq(freq: str | None) -> str | None:
    if freq is None:
        return None
    key = str(freq).strip().lower()
    if key.startswith("w-"):
        key = "w"
    if key not in FREQ_ALIASES:
        raise ValueError(f"unknown frequency {freq!r}: use monthly, quarterly or weekly ('M', 'Q', 'W')")
    return FREQ_ALIASES[key]


def _to_datetime(period: pd.Series) -> np.ndarray:
    try:
        dates = pd.to_datetime(period, errors="raise")
    except (ValueError, TypeError) as exc:
        raise ValueError(f"period: not a date ({exc})") from exc
    if getattr(dates.dt, "tz", None) is not None:
        dates = dates.dt.tz_localize(None)
    return dates.to_numpy(dtype="datetime64[D]")


def infer_freq(days: np.ndarray, codes: np.ndarray) -> str:
    """Monthly, quarterly or weekly, from the dates alone.

    First days of months are monthly, unless every one is the first of a quarter and no series has two
    dates less than three months apart (then quarterly). Otherwise dates that (nearly) all fall on one
    weekday are weekly. A few stray dates do not change the verdict: their series fail on their own.
    """
    if len(days) == 0:
        raise ValueError("no rows")
    months = days.astype("datetime64[M]")
    first_of_month = months.astype("datetime64[D]") == days
    if first_of_month.mean() >= 0.9:
        month_no = months.astype(np.int64)[first_of_month]
        if np.all(month_no % 3 == 0):  # 1970-01 is month 0: quarters start at multiples of 3
            order = np.lexsort((month_no, codes[first_of_month]))
            same = np.diff(codes[first_of_month][order]) == 0
            gaps = np.diff(month_no[order])[same]
            if len(gaps) and gaps[gaps > 0].min(initial=3) >= 3:
                return "Q"
        return "M"
    weekday = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday (3 with Monday = 0)
    counts = np.bincount(weekday, minlength=7)
    if counts.max() / len(days) >= 0.9:
        return "W"
    raise ValueError(
        "cannot tell the frequency from the dates: use the first day of each month (monthly) or of each "
        "quarter (quarterly), or dates on one weekday (weekly)"
    )


def prepare(frame: pd.DataFrame, freq: str | None = None, fill: str = "zero", end=None) -> Prepared:
    """Validate and regularise the input frame (see the package docstring for the rules)."""
    if fill not in FILLS:
        raise ValueError(f"fill must be one of {FILLS}, not {fill!r}")
    missing = {"series_id", "period", "value"} - set(frame.columns)
    if missing:
        raise ValueError(f"missing column(s): {', '.join(sorted(missing))}")
    frame = frame[["series_id", "period", "value"]]
    frame = frame[frame["series_id"].notna()]
    days = _to_datetime(frame["period"])
    bad_dates = np.isnat(days)
    values = pd.to_numeric(frame["value"], errors="coerce").to_numpy(dtype=float)
    codes, uniques = pd.factorize(frame["series_id"], sort=False)
    freq = normalise_freq(freq) or infer_freq(days[~bad_dates], codes[~bad_dates])
    prepared = Prepared(freq=freq)

    if freq in ("M", "Q"):
        units = days.astype("datetime64[M]").astype(np.int64)
        on_grid = units.astype("datetime64[M]").astype("datetime64[D]") == days
        if freq == "Q":
            on_grid &= units % 3 == 0
    else:
        units = days.astype(np.int64)
        weekday = (units + 3) % 7
        valid = weekday[~bad_dates]
        main_day = np.bincount(valid, minlength=7).argmax() if len(valid) else 0
        on_grid = weekday == main_day
    on_grid &= ~bad_dates
    step = STEP[freq]
    phase = int(units[on_grid][0] % step) if on_grid.any() else 0  # weekly: days since 1970 of the weekday

    n_series = len(uniques)
    bad_series = np.zeros(n_series, dtype=bool)
    reasons: dict[int, str] = {}
    for code in np.unique(codes[~on_grid]):
        where = np.flatnonzero((codes == code) & ~on_grid)[0]
        raw = frame["period"].iloc[where]
        if not bad_dates[where]:
            raw = str(days[where])  # the date as parsed, without a time of day
        kind = {"M": "the first day of a month", "Q": "the first day of a quarter", "W": "the weekly weekday"}
        reasons[int(code)] = f"period {raw} is not {kind[freq]}"
        bad_series[code] = True
    infinite = np.isinf(values)
    for code in np.unique(codes[infinite]):
        reasons.setdefault(int(code), "infinite value")
        bad_series[code] = True

    keep = ~bad_series[codes] & ~np.isnan(values)
    k_codes, k_units, k_values = codes[keep], (units[keep] - phase) // step, values[keep]
    present = np.zeros(n_series, dtype=bool)
    present[k_codes] = True
    for code in np.flatnonzero(~present & ~bad_series):
        reasons[int(code)] = "no values (every value is empty or not a number)"
        bad_series[code] = True

    first = np.full(n_series, np.iinfo(np.int64).max)
    last = np.full(n_series, np.iinfo(np.int64).min)
    np.minimum.at(first, k_codes, k_units)
    np.maximum.at(last, k_codes, k_units)
    if end is not None and keep.any():
        # Periods up to ``end`` that have no row are no sales (fill="zero") or carry the last value on.
        end_day = _to_datetime(pd.Series([end]))[0]
        end_unit = int(
            end_day.astype("datetime64[M]").astype(np.int64) if freq in ("M", "Q") else end_day.astype(np.int64)
        )
        end_unit = (end_unit - phase) // step
        last[present] = np.maximum(last[present], end_unit)
    lengths = np.where(present, last - first + 1, 0)
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    flat = np.zeros(offsets[-1])
    seen = np.zeros(offsets[-1], dtype=bool)
    pos = offsets[k_codes] + (k_units - first[k_codes])
    np.add.at(flat, pos, k_values)  # duplicate periods add up
    seen[pos] = True

    for code in range(n_series):
        if bad_series[code]:
            prepared.errors.append((uniques[code], reasons[code]))
            continue
        y = flat[offsets[code] : offsets[code + 1]]
        observed = seen[offsets[code] : offsets[code + 1]]
        n_missing = int(len(y) - observed.sum())
        if n_missing and fill == "interpolate":
            idx = np.arange(len(y))
            y = np.interp(idx, idx[observed], y[observed])  # flat beyond the last observation
        prepared.ids.append(uniques[code])
        prepared.values.append(np.array(y, dtype=float))
        prepared.starts.append(int(first[code]) * step + phase)
        prepared.filled.append(n_missing)
    return prepared


def future_periods(freq: str, start_unit: np.ndarray, n_obs: np.ndarray, horizon: int) -> np.ndarray:
    """Dates of the next ``horizon`` periods after each history, shape (series, horizon)."""
    step = STEP[freq]
    units = start_unit[:, None] + (n_obs[:, None] + np.arange(horizon)[None, :]) * step
    if freq in ("M", "Q"):
        return units.astype("datetime64[M]").astype("datetime64[ns]")
    return units.astype("datetime64[D]").astype("datetime64[ns]")


def history_periods(freq: str, start_unit: int, n_obs: int) -> np.ndarray:
    units = start_unit + np.arange(n_obs) * STEP[freq]
    kind = "datetime64[M]" if freq in ("M", "Q") else "datetime64[D]"
    return units.astype(kind).astype("datetime64[ns]")
