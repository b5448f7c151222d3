"""The model families, each vectorised across a block of series of the same length.

Every family takes ``Y`` (series x periods, already cleaned) and a :class:`Spec`, and returns a :class:`Fit`:
the final forecasts and their standard deviations, the forecasts made at each backtest origin with the
parameters estimated on the data before the first origin, and the in-sample one-step residuals.

Parameters are estimated by evaluating every point of a fixed parameter grid at once, as a
(series x grid) matrix, in a single pass over time. The sum of squared one-step errors is read at two
checkpoints in that pass: at the first backtest origin (the parameters the backtest uses, so it never
sees the periods it is scored on) and at the end (the parameters of the final forecast). A second,
one-column pass with the chosen parameters gives the states at the origins and the residuals. This is
what makes model selection affordable: statsmodels fits one series and one model at a time with a
numerical optimiser (about 0.4 s for one Holt-Winters fit here); a grid pass costs a few microseconds per
series, model and period. Initial states are not optimised: they come from a regression on the first
two seasons (the classical heuristic), so that the grid has only the smoothing parameters to cover.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TINY = 1e-12


@dataclass(frozen=True)
class Spec:
    n: int  # periods in every history of the block
    m: int  # season length (1 when seasonal models are not used)
    h: int  # forecast horizon
    hb: int  # backtest horizon
    origins: tuple[int, ...]  # backtest origins: forecasts for y[o : o + hb] from y[:o]

    @property
    def t1(self) -> int:
        return self.origins[0]

    @property
    def seasonal(self) -> bool:
        return self.m > 1


@dataclass
class Fit:
    final: np.ndarray  # (S, h) point forecasts
    sd: np.ndarray  # (S, h) standard deviation of the forecast error, before calibration
    bt: np.ndarray  # (S, K, hb) backtest forecasts
    bt_sd: np.ndarray  # (S, K, hb) their standard deviations (parameters of the first origin)
    resid: np.ndarray  # (S, n) in-sample one-step residuals of the final fit (nan where there is none)
    label: np.ndarray  # (S,) model name per series


def _grid(*axes: list[float]) -> list[np.ndarray]:
    mesh = np.meshgrid(*[np.asarray(a, dtype=float) for a in axes], indexing="ij")
    return [g.ravel() for g in mesh]


def _pick(values: np.ndarray, best: np.ndarray) -> np.ndarray:
    """values (G,) or (S, G) -> (S, 1) at each series' best grid index."""
    if values.ndim == 1:
        return values[best][:, None]
    return np.take_along_axis(values, best[:, None], axis=1)


def _sd_path(sigma: np.ndarray, v: np.ndarray) -> np.ndarray:
    return np.sqrt(np.maximum(v, 0.0)) * sigma[:, None]


# --------------------------------------------------------------------------- naive and seasonal naive
def seasonal_naive(Y: np.ndarray, spec: Spec) -> Fit:
    """Last season repeated (lag m); the random walk (lag 1) when the block is not seasonal."""
    S, n = Y.shape
    lag = spec.m if spec.seasonal else 1
    diffs = Y[:, lag:] - Y[:, :-lag]

    def sigma(end: int) -> np.ndarray:
        d = diffs[:, : max(end - lag, 1)]
        return np.sqrt(np.mean(d * d, axis=1))

    def path(end: int, H: int) -> tuple[np.ndarray, np.ndarray]:
        j = np.arange(H)
        idx = end - lag + (j % lag)
        return Y[:, idx], (j // lag + 1).astype(float)

    final, v = path(n, spec.h)
    K = len(spec.origins)
    bt = np.empty((S, K, spec.hb))
    bt_v = None
    for k, o in enumerate(spec.origins):
        bt[:, k], bt_v = path(o, spec.hb)
    resid = np.full((S, n), np.nan)
    resid[:, lag:] = diffs
    name = "seasonal naive" if spec.seasonal else "naive"
    return Fit(
        final=final,
        sd=_sd_path(sigma(n), np.broadcast_to(v, (S, spec.h))),
        bt=bt,
        bt_sd=np.broadcast_to(_sd_path(sigma(spec.t1), np.broadcast_to(bt_v, (S, spec.hb)))[:, None], bt.shape),
        resid=resid,
        label=np.full(S, name, dtype=object),
    )


# --------------------------------------------------------------------------- exponential smoothing
ETS_ALPHA = [0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.65, 0.8, 0.95]
ETS_ALPHA_S = [0.02, 0.05, 0.1, 0.2, 0.3, 0.45, 0.65, 0.9]
ETS_BETA = [0.02, 0.08, 0.25]  # as a share of alpha (beta < alpha)
ETS_PHI = [0.8, 0.9, 0.98]
ETS_GAMMA = [0.02, 0.1, 0.25, 0.5]  # as a share of 1 - alpha (gamma < 1 - alpha)


@dataclass(frozen=True)
class EtsForm:
    name: str
    trend: bool
    season: bool
    log: bool = False  # fitted to log(y): multiplicative trend and season, for positive series only

    def grid(self) -> dict[str, np.ndarray]:
        alphas = ETS_ALPHA_S if (self.trend or self.season) else ETS_ALPHA
        betas = ETS_BETA if self.trend else [0.0]
        phis = ETS_PHI if self.trend else [1.0]
        gammas = ETS_GAMMA if self.season else [0.0]
        a, bs, p, gs = _grid(alphas, betas, phis, gammas)
        return {"alpha": a, "beta": a * bs, "phi": p, "gamma": (1 - a) * gs}

    def n_params(self, m: int) -> int:
        """Smoothing parameters and initial states, as AICc counts them."""
        k = 2  # alpha, level
        if self.trend:
            k += 3  # beta, phi, slope
        if self.season:
            k += m  # gamma and m - 1 free seasonal states
        return k


ETS_FORMS = (
    EtsForm("ETS(A,N,N)", trend=False, season=False),
    EtsForm("ETS(A,Ad,N)", trend=True, season=False),
    EtsForm("ETS(A,N,A)", trend=False, season=True),
    EtsForm("ETS(A,Ad,A)", trend=True, season=True),
    EtsForm("ETS(A,Ad,N) on logs", trend=True, season=False, log=True),
    EtsForm("ETS(A,N,A) on logs", trend=False, season=True, log=True),
    EtsForm("ETS(A,Ad,A) on logs", trend=True, season=True, log=True),
)


def _ets_init(Y: np.ndarray, m: int, season: bool, end: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Level, slope and seasonal states before the first period, by least squares on the first periods."""
    S = Y.shape[0]
    if season:
        T = min(2 * m, end) if end >= 2 * m else min(m + 1, end)
        t = np.arange(T, dtype=float)
        X = np.zeros((T, 1 + 1 + (m - 1)))
        X[:, 0] = 1.0
        X[:, 1] = t
        pos = np.arange(T) % m
        for j in range(m - 1):
            X[:, 2 + j] = (pos == j).astype(float) - (pos == m - 1).astype(float)
        coef = np.linalg.lstsq(X, Y[:, :T].T, rcond=None)[0].T  # (S, m + 1)
        s0 = np.empty((S, m))
        s0[:, : m - 1] = coef[:, 2:]
        s0[:, m - 1] = -coef[:, 2:].sum(axis=1)
        return coef[:, 0] - coef[:, 1], coef[:, 1], s0
    T = max(2, min(10, end))
    t = np.arange(T, dtype=float)
    X = np.column_stack([np.ones(T), t])
    coef = np.linalg.lstsq(X, Y[:, :T].T, rcond=None)[0].T
    return coef[:, 0] - coef[:, 1], coef[:, 1], np.zeros((S, max(m, 1)))


def ets_pass(
    Y: np.ndarray,
    form: EtsForm,
    m: int,
    params: dict[str, np.ndarray],
    init: tuple[np.ndarray, np.ndarray, np.ndarray],
    checkpoints: tuple[int, ...] = (),
    snapshots: tuple[int, ...] = (),
    keep_resid: bool = False,
):
    """One pass of the additive ETS recursions over (series x parameter sets).

    ``params`` hold arrays of shape (G,) for a grid, or (S, 1) for one set per series. Returns the sums
    of squared one-step errors over ``y[:c]`` for each checkpoint c, the states after ``y[:o]`` for each
    snapshot o, and optionally the residuals.
    """
    S, n = Y.shape
    a, b_, g, phi = (np.atleast_1d(params[k]) for k in ("alpha", "beta", "gamma", "phi"))
    if a.ndim == 1:
        a, b_, g, phi = (x[None, :] for x in (a, b_, g, phi))
    G = a.shape[1]
    l0, s_b0, s0 = init
    level = np.repeat(l0[:, None], G, axis=1)
    slope = np.repeat(s_b0[:, None], G, axis=1) if form.trend else None
    seas = np.repeat(s0.T[:, :, None], G, axis=2) if form.season else None  # (m, S, G)
    sse = np.zeros((S, G))
    at_check: dict[int, np.ndarray] = {}
    at_snap: dict[int, tuple] = {}
    resid = np.full((S, n), np.nan) if keep_resid else None
    check, snap = set(checkpoints), set(snapshots)
    for t in range(n + 1):
        if t in check:
            at_check[t] = sse.copy()
        if t in snap:
            at_snap[t] = (
                level.copy(),
                slope.copy() if slope is not None else None,
                seas.copy() if seas is not None else None,
            )
        if t == n:
            break
        base = level
        if slope is not None:
            damped = phi * slope
            base = level + damped
        fitted = base
        if seas is not None:
            st = seas[t % m]
            fitted = base + st
        e = Y[:, t, None] - fitted
        sse += e * e
        if resid is not None:
            resid[:, t] = e[:, 0]
        level = base + a * e
        if slope is not None:
            slope = damped + b_ * e
        if seas is not None:
            seas[t % m] = st + g * e
    return at_check, at_snap, resid


def _ets_forecast(state, params, form: EtsForm, m: int, origin: int, H: int) -> np.ndarray:
    level, slope, seas = state
    S = level.shape[0]
    f = np.repeat(level[:, :1], H, axis=1)
    if form.trend:
        phi = params["phi"][:, :1]
        steps = np.cumsum(phi ** np.arange(1, H + 1)[None, :], axis=1)
        f = f + steps * slope[:, :1]
    if form.season:
        pos = (origin + np.arange(H)) % m
        f = f + seas[pos, :, 0].T
    return f.reshape(S, H)


def _ets_variance(params, form: EtsForm, m: int, H: int) -> np.ndarray:
    """Forecast variance multipliers of the additive ETS class: 1 + sum of c_j^2 (Hyndman et al. 2008)."""
    a = params["alpha"][:, :1]
    j = np.arange(1, H)[None, :]
    c = np.repeat(a, H - 1, axis=1)
    if form.trend:
        phi = params["phi"][:, :1]
        c = c + params["beta"][:, :1] * np.cumsum(phi ** np.arange(1, H)[None, :], axis=1)
    if form.season:
        c = c + params["gamma"][:, :1] * (j % m == 0)
    v = np.ones((a.shape[0], H))
    v[:, 1:] += np.cumsum(c * c, axis=1)
    return v


def _aicc(sse: np.ndarray, n_obs: int, k: int) -> np.ndarray:
    if n_obs - k - 1 <= 0:
        return np.full(sse.shape, np.inf)
    return n_obs * np.log(np.maximum(sse, TINY) / n_obs) + 2 * k + 2 * k * (k + 1) / (n_obs - k - 1)


def ets(Y: np.ndarray, spec: Spec) -> Fit:
    """Additive ETS: the form (none/damped trend, none/additive season) chosen by AICc, as AutoETS does."""
    S, n = Y.shape
    forms = [f for f in ETS_FORMS if spec.seasonal or not f.season]
    positive = (Y > 0).all(axis=1)
    if positive.any():
        logY = np.log(np.where(Y > 0, Y, 1.0))
        # The likelihood of y from that of log y: add the Jacobian, 2 * sum(log y), to the AICc.
        jac = 2 * np.concatenate([np.zeros((S, 1)), np.cumsum(logY, axis=1)], axis=1)
    else:
        forms = [f for f in forms if not f.log]
    best_trunc = np.full(S, np.inf)
    best_full = np.full(S, np.inf)
    # Series with no finite AICc (too short for every form) keep the simplest form.
    chosen = {"trunc": np.zeros(S, dtype=int), "full": np.zeros(S, dtype=int)}
    per_form = []
    for form in forms:
        grid = form.grid()
        data = logY if form.log else Y
        init = _ets_init(data, spec.m, form.season, spec.t1)
        checks, _, _ = ets_pass(data, form, spec.m, grid, init, checkpoints=(spec.t1, n))
        k = form.n_params(spec.m)
        a_trunc = _aicc(checks[spec.t1], spec.t1, k)
        a_full = _aicc(checks[n], n, k)
        if form.log:
            a_trunc = np.where(positive[:, None], a_trunc + jac[:, spec.t1, None], np.inf)
            a_full = np.where(positive[:, None], a_full + jac[:, n, None], np.inf)
        i_trunc, i_full = a_trunc.argmin(axis=1), a_full.argmin(axis=1)
        v_trunc, v_full = a_trunc[np.arange(S), i_trunc], a_full[np.arange(S), i_full]
        per_form.append((form, grid, init, i_trunc, i_full))
        better_t, better_f = v_trunc < best_trunc, v_full < best_full
        best_trunc = np.where(better_t, v_trunc, best_trunc)
        best_full = np.where(better_f, v_full, best_full)
        chosen["trunc"] = np.where(better_t, len(per_form) - 1, chosen["trunc"])
        chosen["full"] = np.where(better_f, len(per_form) - 1, chosen["full"])

    K = len(spec.origins)
    final = np.empty((S, spec.h))
    sd = np.empty((S, spec.h))
    bt = np.empty((S, K, spec.hb))
    bt_sd = np.empty((S, K, spec.hb))
    resid = np.full((S, n), np.nan)
    label = np.empty(S, dtype=object)
    for f_idx, (form, grid, init, i_trunc, i_full) in enumerate(per_form):
        for which in ("trunc", "full"):
            rows = np.flatnonzero(chosen[which] == f_idx)
            if not len(rows):
                continue
            best = (i_trunc if which == "trunc" else i_full)[rows]
            params = {key: _pick(val, best) for key, val in grid.items()}
            sub_init = tuple(x[rows] for x in init)
            data = (logY if form.log else Y)[rows]
            if which == "trunc":
                checks, snaps, _ = ets_pass(
                    data, form, spec.m, params, sub_init, checkpoints=(spec.t1,), snapshots=spec.origins
                )
                sigma = np.sqrt(checks[spec.t1][:, 0] / max(spec.t1, 1))
                v = _ets_variance(params, form, spec.m, spec.hb)
                for k, o in enumerate(spec.origins):
                    f = _ets_forecast(snaps[o], params, form, spec.m, o, spec.hb)
                    s_ = _sd_path(sigma, v)
                    bt[rows, k], bt_sd[rows, k] = (np.exp(f), np.exp(f) * s_) if form.log else (f, s_)
            else:
                checks, snaps, res = ets_pass(
                    data, form, spec.m, params, sub_init, checkpoints=(n,), snapshots=(n,), keep_resid=True
                )
                sigma = np.sqrt(checks[n][:, 0] / n)
                f = _ets_forecast(snaps[n], params, form, spec.m, n, spec.h)
                s_ = _sd_path(sigma, _ets_variance(params, form, spec.m, spec.h))
                if form.log:  # median forecast; the deviation by the delta method
                    f, s_, res = np.exp(f), np.exp(f) * s_, Y[rows] * (1 - np.exp(-res))
                final[rows], sd[rows] = f, s_
                resid[rows] = res
                label[rows] = form.name
    return Fit(final=final, sd=sd, bt=bt, bt_sd=bt_sd, resid=resid, label=label)


# --------------------------------------------------------------------------- Theta
THETA_ALPHA = np.round(np.linspace(0.05, 0.99, 24), 4)


def seasonal_test(Y: np.ndarray, m: int) -> np.ndarray:
    """True where the autocorrelation at lag m is significant at 90 % (the Theta method's test)."""
    S, n_obs = Y.shape
    if m <= 1 or n_obs < 2 * m:
        return np.zeros(S, dtype=bool)
    d = Y - Y.mean(axis=1, keepdims=True)
    denom = np.maximum((d * d).sum(axis=1), TINY)
    r = np.stack([(d[:, k:] * d[:, :-k]).sum(axis=1) / denom for k in range(1, m + 1)], axis=1)
    # As statsmodels' ThetaModel: n r_m^2 / (1 + sum_{k<m} r_k^2) against chi2(1) at 10 %.
    return n_obs * r[:, m - 1] ** 2 / (1 + (r[:, : m - 1] ** 2).sum(axis=1)) > 2.705543454095404


def seasonal_indices(Y: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Classical decomposition (centred moving average): indices (S, m) and whether they multiply."""
    w = np.full(m + 1, 1.0 / m) if m % 2 == 0 else np.full(m, 1.0 / m)
    if m % 2 == 0:
        w[0] = w[-1] = 0.5 / m
    half = len(w) // 2
    trend = np.lib.stride_tricks.sliding_window_view(Y, len(w), axis=1) @ w
    mult = (Y > 0).all(axis=1) & (trend > 0).all(axis=1)
    body = Y[:, half : half + trend.shape[1]]
    ratio = np.where(mult[:, None], body / np.where(trend > 0, trend, 1.0), body - trend)
    pos = np.arange(half, half + trend.shape[1]) % m
    idx = np.stack([ratio[:, pos == p].mean(axis=1) for p in range(m)], axis=1)
    idx = np.where(mult[:, None], idx / idx.mean(axis=1, keepdims=True), idx - idx.mean(axis=1, keepdims=True))
    return idx, mult


def _ses_pass(X: np.ndarray, alpha: np.ndarray, checkpoints=(), keep_levels=False):
    S, n = X.shape
    a = alpha[None, :] if alpha.ndim == 1 else alpha
    level = np.repeat(X[:, :1], a.shape[1], axis=1)
    sse = np.zeros_like(level)
    out: dict[int, np.ndarray] = {}
    levels = np.empty((S, n + 1)) if keep_levels else None
    resid = np.full((S, n), np.nan) if keep_levels else None
    for t in range(n + 1):
        if t in checkpoints:
            out[t] = sse.copy()
        if levels is not None:
            levels[:, t] = level[:, 0]
        if t == n:
            break
        e = X[:, t, None] - level
        if t > 0:
            sse += e * e
        if resid is not None and t > 0:
            resid[:, t] = e[:, 0]
        level = level + a * e
    return out, levels, resid


def _ols_slope(X: np.ndarray) -> np.ndarray:
    """Slope of the least-squares line through X[:, :t] for every t (S, n + 1); 0 for t < 2."""
    S, n = X.shape
    t = np.arange(n, dtype=float)
    cx = np.concatenate([np.zeros((S, 1)), np.cumsum(X, axis=1)], axis=1)
    ctx = np.concatenate([np.zeros((S, 1)), np.cumsum(X * t, axis=1)], axis=1)
    N = np.arange(n + 1, dtype=float)
    st = N * (N - 1) / 2
    stt = (N - 1) * N * (2 * N - 1) / 6
    den = N * stt - st * st
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = (N * ctx - st * cx) / den
    slope[:, :2] = 0.0
    return slope


def theta(Y: np.ndarray, spec: Spec) -> Fit:
    """The Theta method: SES with drift (half the OLS slope) on seasonally adjusted data (Hyndman & Billah).

    Seasonal adjustment (classical decomposition, multiplicative for positive series) only where the
    autocorrelation at lag m passes statsmodels' ThetaModel test.
    """
    S, n = Y.shape
    K = len(spec.origins)
    out = {}
    for end, origins, H in ((spec.t1, spec.origins, spec.hb), (n, (n,), spec.h)):
        if spec.seasonal:
            seasonal = seasonal_test(Y[:, :end], spec.m)
            idx, mult = seasonal_indices(Y[:, :end], spec.m)
            idx = np.where(seasonal[:, None], idx, np.where(mult[:, None], 1.0, 0.0))
            pos_all = np.arange(n + H) % spec.m
            full_idx = idx[:, pos_all]
            with np.errstate(divide="ignore", invalid="ignore"):
                X = np.where(mult[:, None], Y / full_idx[:, :n], Y - full_idx[:, :n])
        else:
            mult = np.zeros(S, dtype=bool)
            full_idx = np.zeros((S, n + H))
            X = Y
        checks, _, _ = _ses_pass(X, THETA_ALPHA, checkpoints=(end,))
        best = checks[end].argmin(axis=1)
        alpha = THETA_ALPHA[best][:, None]
        checks, levels, resid = _ses_pass(X, alpha, checkpoints=(end,), keep_levels=True)
        sigma = np.sqrt(checks[end][:, 0] / max(end - 1, 1))
        slope = _ols_slope(X)
        fc = np.empty((S, len(origins), H))
        sds = np.empty((S, len(origins), H))
        j = np.arange(H)[None, :]
        for k, o in enumerate(origins):
            drift = slope[:, o, None] / 2 * (j + (1 - (1 - alpha) ** o) / alpha)
            x = levels[:, o, None] + drift
            seas = full_idx[:, o : o + H]
            fc[:, k] = np.where(mult[:, None], x * seas, x + seas)
            sds[:, k] = sigma[:, None] * np.sqrt(1 + j * alpha**2) * np.where(mult[:, None], seas, 1.0)
        res_y = np.where(mult[:, None], resid * full_idx[:, :n], resid)
        out[end] = (fc, sds, res_y)
    fc_t, sd_t, _ = out[spec.t1]
    fc_f, sd_f, res = out[n]
    assert fc_t.shape[1] == K
    return Fit(final=fc_f[:, 0], sd=sd_f[:, 0], bt=fc_t, bt_sd=sd_t, resid=res, label=np.full(S, "Theta", dtype=object))


# --------------------------------------------------------------------------- (S)ARIMA by conditional least squares
@dataclass(frozen=True)
class ArimaForm:
    """y_t = sum_i a_i y_{t - ar_lag_i} + e_t + sum_j b_j e_{t - ma_lag_j}, with the differencing folded into a."""

    name: str
    ar_lags: tuple[int, ...]
    ma_lags: tuple[int, ...]

    def coefs(self, p1: np.ndarray, p2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError


class Airline(ArimaForm):
    """SARIMA(0,1,1)(0,1,1)[m]: (1 - B)(1 - B^m) y = (1 + theta B)(1 + Theta B^m) e."""

    def __init__(self, m: int):
        super().__init__(f"SARIMA(0,1,1)(0,1,1)[{m}]", (1, m, m + 1), (1, m, m + 1))

    def coefs(self, theta1, theta_s):
        a = np.stack(np.broadcast_arrays(np.ones_like(theta1), np.ones_like(theta1), -np.ones_like(theta1)), -1)
        b = np.stack([theta1, theta_s, theta1 * theta_s], axis=-1)
        return a, b


class Arima111(ArimaForm):
    """ARIMA(1,1,1): (1 - phi B)(1 - B) y = (1 + theta B) e."""

    def __init__(self):
        super().__init__("ARIMA(1,1,1)", (1, 2), (1,))

    def coefs(self, phi, theta1):
        return np.stack([1 + phi, -phi], axis=-1), theta1[..., None]


AIRLINE_GRID = _grid(np.linspace(-0.9, 0.6, 16), np.linspace(-0.9, 0.5, 15))
ARIMA111_GRID = _grid(np.linspace(-0.8, 0.9, 18), np.linspace(-0.9, 0.8, 18))


def arima_pass(Y: np.ndarray, form: ArimaForm, a: np.ndarray, b: np.ndarray, checkpoints=(), keep_resid=False):
    """Conditional sum of squares: residuals from the first period that has every AR lag, earlier ones 0.

    ``a``, ``b``: (G, p) for a grid or (S, 1, p) per series.
    """
    S, n = Y.shape
    if a.ndim == 2:
        a, b = a[None], b[None]
    G = max(a.shape[1], b.shape[1])
    t0 = max(form.ar_lags)
    L = max(form.ma_lags) + 1
    ring = np.zeros((L, S, G))
    sse = np.zeros((S, G))
    out = {}
    resid = np.full((S, n), np.nan) if keep_resid else None
    for t in range(n + 1):
        if t in checkpoints:
            out[t] = sse.copy()
        if t == n:
            break
        if t < t0:
            continue
        pred = np.zeros((S, G))
        for i, lag in enumerate(form.ar_lags):
            pred = pred + a[:, :, i] * Y[:, t - lag, None]
        for j, lag in enumerate(form.ma_lags):
            if t - lag >= t0:
                pred = pred + b[:, :, j] * ring[(t - lag) % L]
        e = Y[:, t, None] - pred
        ring[t % L] = e
        sse += e * e
        if resid is not None:
            resid[:, t] = e[:, 0]
    return out, resid


def _arima_forecast(Y, resid, form: ArimaForm, a, b, origin: int, H: int) -> np.ndarray:
    S = Y.shape[0]
    yy = np.concatenate([Y[:, :origin], np.zeros((S, H))], axis=1)
    ee = np.concatenate([np.nan_to_num(resid[:, :origin]), np.zeros((S, H))], axis=1)
    for t in range(origin, origin + H):
        pred = np.zeros(S)
        for i, lag in enumerate(form.ar_lags):
            pred += a[:, 0, i] * yy[:, t - lag]
        for j, lag in enumerate(form.ma_lags):
            pred += b[:, 0, j] * ee[:, t - lag]
        yy[:, t] = pred
    return yy[:, origin:]


def _arima_variance(form: ArimaForm, a, b, H: int) -> np.ndarray:
    S = a.shape[0]
    psi = np.zeros((S, H))
    psi[:, 0] = 1.0
    ma = dict(zip(form.ma_lags, range(len(form.ma_lags)), strict=True))
    for k in range(1, H):
        val = b[:, 0, ma[k]].copy() if k in ma else np.zeros(S)
        for i, lag in enumerate(form.ar_lags):
            if k - lag >= 0:
                val += a[:, 0, i] * psi[:, k - lag]
        psi[:, k] = val
    return np.cumsum(psi * psi, axis=1)


def arima(Y: np.ndarray, spec: Spec) -> Fit:
    """Fixed small orders, parameters by conditional least squares over a grid.

    Seasonal blocks: the airline model SARIMA(0,1,1)(0,1,1)[m]; otherwise ARIMA(1,1,1). No automatic
    order search (auto.arima style) -- the backtest decides whether ARIMA is used at all.
    """
    S, n = Y.shape
    if spec.seasonal and spec.t1 >= spec.m + 10:
        form, (g1, g2) = Airline(spec.m), AIRLINE_GRID
    else:
        form, (g1, g2) = Arima111(), ARIMA111_GRID
    ga, gb = form.coefs(g1, g2)
    checks, _ = arima_pass(Y, form, ga, gb, checkpoints=(spec.t1, n))
    t0 = max(form.ar_lags)
    K = len(spec.origins)
    bt = np.empty((S, K, spec.hb))
    bt_sd = np.empty((S, K, spec.hb))
    result = {}
    for end in (spec.t1, n):
        best = checks[end].argmin(axis=1)
        a, b = ga[best][:, None, :], gb[best][:, None, :]
        sub_checks, res = arima_pass(Y, form, a, b, checkpoints=(end,), keep_resid=True)
        sigma = np.sqrt(sub_checks[end][:, 0] / max(end - t0, 1))
        result[end] = (a, b, res, sigma)
    a, b, res, sigma = result[spec.t1]
    v = _arima_variance(form, a, b, spec.hb)
    for k, o in enumerate(spec.origins):
        bt[:, k] = _arima_forecast(Y, res, form, a, b, o, spec.hb)
        bt_sd[:, k] = _sd_path(sigma, v)
    a, b, res, sigma = result[n]
    final = _arima_forecast(Y, res, form, a, b, n, spec.h)
    sd = _sd_path(sigma, _arima_variance(form, a, b, spec.h))
    return Fit(final=final, sd=sd, bt=bt, bt_sd=bt_sd, resid=res, label=np.full(S, form.name, dtype=object))


# --------------------------------------------------------------------------- combination
def combination(fits: list[Fit], spec: Spec) -> Fit:
    """The plain mean of ETS, Theta and ARIMA (forecasts, residuals; the deviations averaged, a bound)."""
    S = fits[0].final.shape[0]
    mean = lambda attr: np.mean([getattr(f, attr) for f in fits], axis=0)  # noqa: E731
    return Fit(
        final=mean("final"),
        sd=mean("sd"),
        bt=mean("bt"),
        bt_sd=mean("bt_sd"),
        resid=mean("resid"),
        label=np.full(S, "combination (ETS, Theta, ARIMA)", dtype=object),
    )


# --------------------------------------------------------------------------- intermittent demand
SBA_ALPHA = np.array([0.05, 0.1, 0.15, 0.2, 0.3, 0.4])
TSB_GRID = _grid([0.05, 0.1, 0.2, 0.3], [0.02, 0.05, 0.1, 0.2, 0.3])


def _intermittent_pass(Y, kind: str, p1, p2, init_end: int, checkpoints=(), snapshots=(), keep_resid=False):
    """Croston with the Syntetos-Boylan correction ("sba") or Teunter-Syntetos-Babai ("tsb")."""
    S, n = Y.shape
    a = p1[None, :] if p1.ndim == 1 else p1
    G = a.shape[1]
    head = Y[:, :init_end]
    nz = head > 0
    count = np.maximum(nz.sum(axis=1), 1)
    size0 = np.where(nz, head, 0).sum(axis=1) / count
    size = np.repeat(size0[:, None], G, axis=1)
    if kind == "sba":
        interval = np.repeat((init_end / count)[:, None], G, axis=1)
        since = np.ones((S, G))
    else:
        beta = p2[None, :] if p2.ndim == 1 else p2
        prob = np.repeat((nz.sum(axis=1) / max(init_end, 1))[:, None], G, axis=1)
    sse = np.zeros((S, G))
    checks, snaps = {}, {}
    resid = np.full((S, n), np.nan) if keep_resid else None
    for t in range(n + 1):
        fc = (1 - a / 2) * size / np.maximum(interval, 1.0) if kind == "sba" else prob * size
        if t in checkpoints:
            checks[t] = sse.copy()
        if t in snapshots:
            snaps[t] = fc.copy()
        if t == n:
            break
        y = Y[:, t, None]
        e = y - fc
        sse += e * e
        if resid is not None:
            resid[:, t] = e[:, 0]
        pos = y > 0
        if kind == "sba":
            size = np.where(pos, size + a * (y - size), size)
            interval = np.where(pos, interval + a * (since - interval), interval)
            since = np.where(pos, 1.0, since + 1.0)
        else:
            size = np.where(pos, size + a * (y - size), size)
            prob = prob + beta * (pos - prob)
    return checks, snaps, resid


def intermittent(Y: np.ndarray, spec: Spec, kind: str) -> Fit:
    S, n = Y.shape
    if kind == "sba":
        g1, g2, name = SBA_ALPHA, SBA_ALPHA, "SBA (Croston)"
    else:
        g1, g2, name = TSB_GRID[0], TSB_GRID[1], "TSB"
    checks, _, _ = _intermittent_pass(Y, kind, g1, g2, spec.t1, checkpoints=(spec.t1, n))
    K = len(spec.origins)
    bt = np.empty((S, K, spec.hb))
    bt_sd = np.empty((S, K, spec.hb))
    out = {}
    for end, origins in ((spec.t1, spec.origins), (n, (n,))):
        best = checks[end].argmin(axis=1)
        p1, p2 = g1[best][:, None], g2[best][:, None]
        c, snaps, res = _intermittent_pass(
            Y, kind, p1, p2, spec.t1, checkpoints=(end,), snapshots=origins, keep_resid=True
        )
        sigma = np.sqrt(c[end][:, 0] / max(end, 1))
        out[end] = (p1, snaps, res, sigma)
    p1, snaps, _, sigma = out[spec.t1]
    j = np.arange(spec.hb)[None, :]
    for k, o in enumerate(spec.origins):
        bt[:, k] = np.repeat(snaps[o], spec.hb, axis=1)
        bt_sd[:, k] = sigma[:, None] * np.sqrt(1 + j * p1**2)
    p1, snaps, res, sigma = out[n]
    j = np.arange(spec.h)[None, :]
    return Fit(
        final=np.repeat(snaps[n], spec.h, axis=1),
        sd=sigma[:, None] * np.sqrt(1 + j * p1**2),
        bt=bt,
        bt_sd=bt_sd,
        resid=res,
        label=np.full(S, name, dtype=object),
    )
