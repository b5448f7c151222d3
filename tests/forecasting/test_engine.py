"""The forecast engine on each awkward kind of series, its intervals, its parallel runs and its model code.

Pure engine tests: no database. The data are simulated with fixed seeds.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forecasting.engine import EngineResult, forecast
from forecasting.engine import core as C
from forecasting.engine import models as M

NON_SEASONAL = {"ETS(A,N,N)", "ETS(A,Ad,N)", "ETS(A,Ad,N) on logs", "ARIMA(1,1,1)", "naive", "Theta"}


def frame_of(series: dict, start: str = "2021-01-01", freq: str = "MS") -> pd.DataFrame:
    parts = []
    for sid, values in series.items():
        values = np.asarray(values, dtype=float)
        parts.append(
            pd.DataFrame(
                {
                    "series_id": sid,
                    "period": pd.date_range(start, periods=len(values), freq=freq),
                    "value": values,
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def seasonal_series(rng, n: int, level=100.0, amp=0.4, trend=0.0, noise=0.03) -> np.ndarray:
    t = np.arange(n)
    pattern = np.sin(2 * np.pi * t / 12) + 0.5 * np.cos(4 * np.pi * t / 12)
    return level * (1 + trend * t) * (1 + amp * pattern) * (1 + rng.normal(0, noise, n))


def model_row(res: EngineResult, sid) -> pd.Series:
    return res.models.set_index("series_id").loc[sid]


def rows_of(res: EngineResult, sid) -> pd.DataFrame:
    return res.forecasts[res.forecasts["series_id"] == sid]


# --------------------------------------------------------------------------- the result's shape
def test_result_columns_rows_and_future_periods():
    rng = np.random.default_rng(1)
    res = forecast(frame_of({"a": seasonal_series(rng, 48), "b": seasonal_series(rng, 40)}), horizon=6)
    assert list(res.forecasts.columns) == [
        "series_id",
        "period",
        "forecast",
        "lo_80",
        "hi_80",
        "lo_95",
        "hi_95",
        "model",
    ]
    assert list(res.models.columns) == ["series_id", "model", "mase", "smape", "n_obs", "note"]
    assert list(res.errors.columns) == ["series_id", "message"]
    assert res.errors.empty and len(res.forecasts) == 12
    a = rows_of(res, "a")
    assert list(a["period"]) == list(pd.date_range("2025-01-01", periods=6, freq="MS"))
    assert rows_of(res, "b")["period"].iloc[0] == pd.Timestamp("2024-05-01")
    assert res.freq == "M" and res.season_length == 12
    assert model_row(res, "a")["n_obs"] == 48
    assert np.isfinite(res.models["mase"]).all() and (res.models["smape"].between(0, 200)).all()
    assert {"series_id", "period", "residual"} <= set(res.residuals.columns) and len(res.residuals) > 50


def test_levels_name_the_interval_columns():
    rng = np.random.default_rng(2)
    res = forecast(frame_of({"a": seasonal_series(rng, 36)}), horizon=3, levels=(50, 90))
    assert [c for c in res.forecasts.columns if c.startswith(("lo_", "hi_"))] == ["lo_50", "hi_50", "lo_90", "hi_90"]
    f = res.forecasts
    assert (f["lo_90"] <= f["lo_50"]).all() and (f["hi_50"] <= f["hi_90"]).all()


def test_bad_arguments_and_frames_raise_value_error():
    good = frame_of({"a": np.arange(1, 30)})
    with pytest.raises(ValueError, match="missing column"):
        forecast(good.drop(columns="value"))
    with pytest.raises(ValueError, match="horizon"):
        forecast(good, horizon=0)
    with pytest.raises(ValueError, match="levels"):
        forecast(good, levels=(80, 120))
    with pytest.raises(ValueError, match="fill"):
        forecast(good, fill="mean")
    days = good.assign(period=pd.date_range("2021-01-03", periods=len(good), freq="D"))
    with pytest.raises(ValueError, match="frequency"):
        forecast(days)


# --------------------------------------------------------------------------- each awkward kind of series
def test_clearly_seasonal_series_get_seasonal_models_and_seasonal_forecasts():
    rng = np.random.default_rng(3)
    n, h = 48, 12
    truth = {f"s{i}": seasonal_series(rng, n + h, level=rng.uniform(50, 500), noise=0.02) for i in range(12)}
    res = forecast(frame_of({k: v[:n] for k, v in truth.items()}), horizon=h)
    assert res.errors.empty
    assert not set(res.models["model"]) & NON_SEASONAL, res.models["model"].tolist()
    for sid, values in truth.items():
        fc = rows_of(res, sid)["forecast"].to_numpy()
        assert np.corrcoef(fc, values[n:])[0, 1] > 0.9
        assert np.mean(np.abs(fc - values[n:]) / values[n:]) < 0.08


def test_trend_and_season_beat_seasonal_naive():
    rng = np.random.default_rng(4)
    n, h = 48, 12
    truth = {f"t{i}": seasonal_series(rng, n + h, amp=0.3, trend=0.02, noise=0.04) for i in range(10)}
    res = forecast(frame_of({k: v[:n] for k, v in truth.items()}), horizon=h)
    err_engine = err_naive = 0.0
    for sid, values in truth.items():
        fc = rows_of(res, sid)["forecast"].to_numpy()
        err_engine += np.abs(fc - values[n:]).mean()
        err_naive += np.abs(values[n - 12 : n] - values[n:]).mean()
    assert err_engine < 0.6 * err_naive


def test_short_series_uses_non_seasonal_models():
    rng = np.random.default_rng(5)
    res = forecast(frame_of({"short": 50 + np.cumsum(rng.normal(0, 2, 18))}), horizon=12)
    row = model_row(res, "short")
    assert "short series" in row["note"]
    assert row["model"] in NON_SEASONAL | {"combination (ETS, Theta, ARIMA)"}
    assert len(rows_of(res, "short")) == 12 and np.isfinite(res.forecasts["forecast"]).all()


def test_intermittent_demand_uses_croston_or_tsb_and_stays_non_negative():
    rng = np.random.default_rng(6)
    y = (rng.random(60) < 0.3) * rng.poisson(8, 60)
    res = forecast(frame_of({"spares": y}), horizon=6)
    row = model_row(res, "spares")
    assert row["model"] in {"SBA (Croston)", "TSB"} and "intermittent" in row["note"]
    f = rows_of(res, "spares")
    assert (f[["forecast", "lo_80", "lo_95"]] >= 0).all().all()
    assert 0.3 * y.mean() < f["forecast"].iloc[0] < 2.5 * y.mean()


def test_new_product_with_three_points():
    res = forecast(frame_of({"new": [4.0, 7.0, 9.0]}, start="2024-10-01"), horizon=4)
    row = model_row(res, "new")
    assert row["note"] == "new product (3 observations)" and row["model"] == "mean of last 3"
    f = rows_of(res, "new")
    assert np.allclose(f["forecast"], 20 / 3)
    assert (f["hi_95"] > f["forecast"]).all() and (f["lo_95"] >= 0).all()
    assert np.isnan(row["mase"])


def test_single_observation_is_forecast_not_failed():
    res = forecast(frame_of({"one": [12.0]}), horizon=2)
    assert res.errors.empty and list(rows_of(res, "one")["forecast"]) == [12.0, 12.0]


def test_missing_months_zero_or_interpolated():
    y = np.linspace(100, 147, 48)
    frame = frame_of({"gap": y})
    frame = frame.drop(index=[20, 21, 30]).reset_index(drop=True)
    zero = forecast(frame, horizon=3)
    assert "3 missing periods set to 0" in model_row(zero, "gap")["note"]
    inter = forecast(frame, horizon=3, fill="interpolate")
    assert "3 missing periods interpolated" in model_row(inter, "gap")["note"]
    fc = rows_of(inter, "gap")["forecast"].to_numpy()
    assert np.allclose(fc, [148, 149, 150], rtol=0.02)  # the straight line goes on


def test_end_extends_stopped_series_with_zeros():
    y = np.full(30, 10.0) + np.arange(30) % 3
    res = forecast(frame_of({"stopped": y}), horizon=3, end="2024-12-01")
    assert model_row(res, "stopped")["n_obs"] == 48
    assert rows_of(res, "stopped")["period"].iloc[0] == pd.Timestamp("2025-01-01")
    assert rows_of(res, "stopped")["forecast"].iloc[0] < 5  # 18 months of no sales


def test_outliers_are_cleaned_before_fitting():
    rng = np.random.default_rng(7)
    y = seasonal_series(rng, 48, noise=0.02)
    spiked = y.copy()
    spiked[30] *= 8
    res = forecast(frame_of({"clean": y, "spiked": spiked}), horizon=12)
    assert "outliers cleaned (1)" in model_row(res, "spiked")["note"]
    a, b = rows_of(res, "clean")["forecast"].to_numpy(), rows_of(res, "spiked")["forecast"].to_numpy()
    assert np.allclose(a, b, rtol=0.1)


def test_level_shift_is_not_cleaned_away():
    y = np.r_[np.full(30, 100.0), np.full(18, 160.0)] + np.random.default_rng(8).normal(0, 2, 48)
    res = forecast(frame_of({"shift": y}), horizon=3)
    assert "outliers" not in model_row(res, "shift")["note"]
    assert rows_of(res, "shift")["forecast"].mean() > 145


def test_constant_and_all_zero_series():
    res = forecast(frame_of({"flat": np.full(24, 7.5), "zero": np.zeros(24)}), horizon=3)
    flat, zero = rows_of(res, "flat"), rows_of(res, "zero")
    assert (flat[["forecast", "lo_80", "hi_80", "lo_95", "hi_95"]] == 7.5).all().all()
    assert (zero[["forecast", "lo_95", "hi_95"]] == 0).all().all()
    assert model_row(res, "flat")["note"] == "constant" and model_row(res, "zero")["note"] == "all zero"


def test_negative_values_are_forecast_without_clipping():
    rng = np.random.default_rng(9)
    y = -50 + np.cumsum(rng.normal(-1, 3, 40))  # returns exceeding sales: a negative, falling series
    res = forecast(frame_of({"net": y}), horizon=6)
    f = rows_of(res, "net")
    assert res.errors.empty and (f["forecast"] < 0).all() and (f["lo_95"] < f["forecast"]).all()


def test_non_negative_history_never_gets_negative_forecasts():
    y = np.maximum(0, 100 - 4.5 * np.arange(30)) + 1  # falling towards zero
    res = forecast(frame_of({"dying": y}), horizon=12)
    assert (res.forecasts[["forecast", "lo_80", "lo_95"]] >= 0).all().all()


def test_a_bad_series_is_reported_and_the_rest_forecast():
    good = frame_of({"ok": np.arange(1, 37, dtype=float)})
    odd = pd.DataFrame({"series_id": ["mid"] * 2, "period": pd.to_datetime(["2023-01-15", "2023-02-01"]), "value": 1.0})
    empty = pd.DataFrame({"series_id": ["blank"], "period": pd.to_datetime(["2023-01-01"]), "value": [np.nan]})
    res = forecast(pd.concat([good, odd, empty]), horizon=2)
    messages = dict(zip(res.errors["series_id"], res.errors["message"], strict=True))
    assert "2023-01-15 is not the first day of a month" in messages["mid"]
    assert "no values" in messages["blank"]
    assert set(res.forecasts["series_id"]) == {"ok"}


def test_quarterly_and_weekly_frequencies_are_recognised():
    rng = np.random.default_rng(10)
    q = frame_of({"q": seasonal_series(rng, 20)}, start="2020-01-01", freq="QS")
    res_q = forecast(q, horizon=4)
    assert res_q.freq == "Q" and res_q.season_length == 4
    assert list(res_q.forecasts["period"]) == list(pd.date_range("2025-01-01", periods=4, freq="QS"))
    w = frame_of({"w": 100 + rng.normal(0, 5, 60)}, start="2024-01-03", freq="W-WED")
    res_w = forecast(w, horizon=3)
    assert res_w.freq == "W" and res_w.season_length == 52
    assert list(res_w.forecasts["period"]) == list(pd.date_range(w["period"].max(), periods=4, freq="7D")[1:])
    # Monthly data whose months happen to fall on quarter starts, but one month apart, stay monthly.
    assert forecast(frame_of({"m": np.arange(1.0, 13.0)}), horizon=1).freq == "M"


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    values=st.lists(
        st.one_of(st.floats(-1e4, 1e5, allow_nan=False), st.just(0.0), st.just(float("nan"))),
        min_size=1,
        max_size=70,
    ),
    fill=st.sampled_from(["zero", "interpolate"]),
    horizon=st.integers(1, 14),
)
def test_any_history_gives_ordered_finite_forecasts_or_a_message(values, fill, horizon):
    res = forecast(frame_of({"x": values}), horizon=horizon, fill=fill)
    if res.errors.empty:
        f = res.forecasts
        assert len(f) == horizon and np.isfinite(f[["forecast", "lo_80", "hi_95"]].to_numpy()).all()
        assert (f["lo_95"] <= f["lo_80"] + 1e-6).all() and (f["hi_80"] <= f["hi_95"] + 1e-6).all()
        observed = np.array([v for v in values if not np.isnan(v)])
        if (observed >= 0).all():
            assert (f["lo_95"] >= 0).all()
    else:
        assert np.isnan(values).all() and "no values" in res.errors["message"].iloc[0], (values, res.errors.to_dict())


# --------------------------------------------------------------------------- intervals
def test_intervals_are_ordered_on_a_mixed_run():
    rng = np.random.default_rng(11)
    series = {
        "season": seasonal_series(rng, 48),
        "walk": 100 + np.cumsum(rng.normal(0, 5, 40)),
        "sparse": (rng.random(40) < 0.4) * rng.poisson(3, 40),
        "new": [3.0, 5.0],
        "neg": rng.normal(-5, 10, 30),
    }
    f = forecast(frame_of(series), horizon=8).forecasts
    assert (f["lo_95"] <= f["lo_80"] + 1e-9).all() and (f["lo_80"] <= f["forecast"] + 1e-9).all()
    assert (f["forecast"] <= f["hi_80"] + 1e-9).all() and (f["hi_80"] <= f["hi_95"] + 1e-9).all()


def test_interval_coverage_is_roughly_nominal_on_simulated_data():
    """Local level + seasonal series simulated from an additive ETS model; the truth is known."""
    rng = np.random.default_rng(12)
    n, h, count = 48, 12, 150
    series, future = {}, {}
    for i in range(count):
        level, season = rng.uniform(80, 120), rng.normal(0, 10, 12)
        season -= season.mean()
        sigma, alpha, gamma = rng.uniform(2, 6), rng.uniform(0.1, 0.4), rng.uniform(0.0, 0.2)
        y = np.empty(n + h)
        for t in range(n + h):
            e = rng.normal(0, sigma)
            y[t] = level + season[t % 12] + e
            level += alpha * e
            season[t % 12] += gamma * e
        series[i], future[i] = y[:n], y[n:]
    res = forecast(frame_of(series), horizon=h)
    f = res.forecasts
    actual = np.concatenate([future[i] for i in range(count)])
    cover80 = np.mean((actual >= f["lo_80"]) & (actual <= f["hi_80"]))
    cover95 = np.mean((actual >= f["lo_95"]) & (actual <= f["hi_95"]))
    assert 0.68 <= cover80 <= 0.92, cover80
    assert 0.86 <= cover95 <= 0.995, cover95
    assert set(res.calibration.columns) == {"family", "level", "ratio", "n"}


# --------------------------------------------------------------------------- parallel runs
def test_two_jobs_give_the_numbers_of_one():
    rng = np.random.default_rng(13)
    series = {f"s{i}": seasonal_series(rng, int(rng.integers(20, 60)), trend=rng.uniform(0, 0.02)) for i in range(30)}
    series.update({f"i{i}": (rng.random(40) < 0.3) * rng.poisson(5, 40) for i in range(6)})
    series["new"] = [1.0, 2.0]
    frame = frame_of(series)
    one = forecast(frame, horizon=6, jobs=1)
    for jobs in (2, 3):  # this process takes one chunk, the workers the others (packed both ways)
        many = forecast(frame, horizon=6, jobs=jobs)
        for part in ("forecasts", "models", "residuals", "calibration"):
            pd.testing.assert_frame_equal(getattr(one, part), getattr(many, part), check_exact=False, rtol=1e-10)
        assert len(many.worker_cpu_seconds) == jobs
        # The first chunk ran in this process: its CPU time is counted once.
        assert many.cpu_seconds >= sum(many.worker_cpu_seconds) > 0
    assert one.worker_cpu_seconds == ()


# --------------------------------------------------------------------------- the models against statsmodels
def test_ets_recursion_matches_statsmodels_holt_winters():
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    rng = np.random.default_rng(14)
    y = seasonal_series(rng, 40, amp=0.3, trend=0.01)
    form = M.EtsForm("ETS(A,Ad,A)", trend=True, season=True)
    l0, b0, s0 = M._ets_init(y[None, :], 12, True, 40)
    alpha, beta_star, gamma, phi = 0.3, 0.1, 0.2, 0.9
    values = {"alpha": alpha, "beta": alpha * beta_star, "gamma": gamma, "phi": phi}
    params = {k: np.array([[v]]) for k, v in values.items()}
    checks, _, _ = M.ets_pass(y[None, :], form, 12, params, (l0, b0, s0), checkpoints=(40,))
    model = ExponentialSmoothing(
        y,
        trend="add",
        damped_trend=True,
        seasonal="add",
        seasonal_periods=12,
        initialization_method="known",
        initial_level=l0[0],
        initial_trend=b0[0],
        initial_seasonal=s0[0],
    )
    fit = model.fit(
        smoothing_level=alpha, smoothing_trend=beta_star, smoothing_seasonal=gamma, damping_trend=phi, optimized=False
    )
    assert checks[40][0, 0] == pytest.approx(fit.sse, rel=1e-8)


def test_airline_css_estimates_agree_with_statsmodels_sarimax():
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    rng = np.random.default_rng(15)
    n, theta, theta_s = 120, -0.4, -0.6
    e = rng.normal(0, 1, n + 13)
    w = e[13:] + theta * e[12:-1] + theta_s * e[1:-12] + theta * theta_s * e[:-13]
    y = np.zeros(n)
    for t in range(n):
        y[t] = w[t] + (y[t - 1] if t >= 1 else 0) + (y[t - 12] if t >= 12 else 0) - (y[t - 13] if t >= 13 else 0)
    y += 500
    spec = M.Spec(n=n, m=12, h=12, hb=12, origins=(96, 102, 108))
    ours = M.arima(y[None, :], spec)
    assert ours.label[0] == "SARIMA(0,1,1)(0,1,1)[12]"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = SARIMAX(y, order=(0, 1, 1), seasonal_order=(0, 1, 1, 12)).fit(disp=False)
    fc_ref = ref.forecast(12)
    assert np.max(np.abs(ours.final[0] - fc_ref)) < 1.0  # sd of the noise is 1
    form = M.Airline(12)
    a, b = form.coefs(*M.AIRLINE_GRID)
    checks, _ = M.arima_pass(y[None, :], form, a, b, checkpoints=(n,))
    best = checks[n].argmin(axis=1)[0]
    assert abs(M.AIRLINE_GRID[0][best] - ref.params[0]) < 0.2
    assert abs(M.AIRLINE_GRID[1][best] - ref.params[1]) < 0.2


def test_theta_agrees_with_statsmodels_theta_model():
    from statsmodels.tsa.forecasting.theta import ThetaModel

    rng = np.random.default_rng(16)
    n = 60
    Y = np.stack([seasonal_series(rng, n, amp=0.3, trend=0.01, noise=0.03) for _ in range(5)])
    spec = C.plan(n, 12, 12)
    ours = M.theta(Y, spec)
    for i in range(5):
        series = pd.Series(Y[i], index=pd.date_range("2020-01-01", periods=n, freq="MS"))
        ref = ThetaModel(series, period=12).fit(use_mle=False).forecast(12).to_numpy()
        assert np.mean(np.abs(ours.final[i] - ref) / ref) < 0.05


def test_plan_keeps_the_backtest_inside_the_history():
    assert C.plan(48, 12, 12) == M.Spec(n=48, m=12, h=12, hb=12, origins=(30, 33, 36))
    long = C.plan(200, 12, 12)
    assert len(long.origins) == 5 and long.origins[-1] + long.hb == 200
    short = C.plan(20, 12, 12)
    assert short.m == 1 and short.origins[-1] + short.hb == 20
    assert C.plan(6, 12, 12) is None
