"""Hierarchical (and grouped) reconciliation: forecasts that add up.

The structure maps every node to the bottom nodes it sums (a bottom node maps to itself), so a product
can sit under a category and under a region at once; S is the resulting summing matrix. The reconciled
forecasts are S P yhat with

- ``bottom_up``: P picks the bottom forecasts;
- ``ols``: P = (S'S)^-1 S' (Hyndman et al. 2011);
- ``mint_shrink``: P = (S'W^-1 S)^-1 S'W^-1 with W the shrinkage estimate (Schäfer & Strimmer 2005, as in
  Wickramasuriya, Athanasopoulos & Hyndman 2019) of the one-step residuals' covariance. Without residuals,
  W is diagonal with each node's forecast variance read from its interval widths (so MinT becomes WLS).

Intervals: each node's reconciled variance is diag(S P W_h P' S') where W_h has the base variances of
that period (from the interval widths) and the residuals' correlations (or none); the base interval's
distances below and above the forecast are scaled by the ratio of the reconciled to the base standard
deviation, which keeps asymmetric (for example zero-clipped) intervals asymmetric. When every base
forecast and lower bound is non-negative, negative reconciled bottom forecasts are set to zero and the
upper levels summed again, which keeps the result coherent.
"""

from __future__ import annotations

import re
from statistics import NormalDist

import numpy as np
import pandas as pd

METHODS = ("mint_shrink", "ols", "bottom_up")


def summing_matrix(structure: dict) -> tuple[list, list, np.ndarray]:
    """Nodes (aggregates first, in the order given, then bottoms), bottom nodes, and S (nodes x bottoms)."""
    if not structure:
        raise ValueError("structure is empty")
    bottoms = [node for node, parts in structure.items() if list(parts) == [node]]
    if not bottoms:
        raise ValueError("structure has no bottom node (a bottom node maps to a list holding only itself)")
    position = {b: i for i, b in enumerate(bottoms)}
    nodes = [node for node in structure if node not in position] + bottoms
    S = np.zeros((len(nodes), len(bottoms)))
    for r, node in enumerate(nodes):
        parts = list(structure[node])
        if not parts:
            raise ValueError(f"node {node!r} has no bottom nodes")
        for part in parts:
            if part not in position:
                raise ValueError(f"node {node!r} lists {part!r}, which is not a bottom node (map it to itself)")
            S[r, position[part]] = 1.0
    return nodes, bottoms, S


def shrink_covariance(resid: np.ndarray) -> np.ndarray:
    """Schäfer-Strimmer shrinkage of the covariance towards its diagonal (residuals: periods x nodes)."""
    T, n = resid.shape
    x = resid - resid.mean(axis=0)
    cov = x.T @ x / T
    sd = np.sqrt(np.diag(cov))
    safe = np.where(sd > 0, sd, 1.0)
    xs = x / safe
    corr = xs.T @ xs / T
    w = np.einsum("ti,tj->tij", xs, xs)
    var_corr = T / (T - 1) ** 3 * ((w - corr[None]) ** 2).sum(axis=0)
    off = ~np.eye(n, dtype=bool)
    denom = (corr[off] ** 2).sum()
    lam = float(np.clip(var_corr[off].sum() / denom, 0, 1)) if denom > 0 else 1.0
    shrunk = corr * (1 - lam)
    np.fill_diagonal(shrunk, 1.0)
    return shrunk * np.outer(sd, sd)


def _levels(columns) -> list[int]:
    found = sorted({int(m.group(1)) for c in columns if (m := re.fullmatch(r"lo_(\d+)", str(c)))})
    return [lv for lv in found if f"hi_{lv}" in columns]


def reconcile(
    forecasts_by_node: pd.DataFrame,
    structure: dict,
    method: str = "mint_shrink",
    residuals: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Coherent forecasts: see the module docstring. Returns the input's rows and columns, numbers replaced."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    frame = forecasts_by_node
    for col in ("node", "period", "forecast"):
        if col not in frame.columns:
            raise ValueError(f"forecasts_by_node lacks the column {col!r}")
    nodes, bottoms, S = summing_matrix(structure)
    levels = _levels(frame.columns)
    unknown = set(frame["node"]) - set(nodes)
    if unknown:
        raise ValueError(f"forecasts for nodes not in the structure: {sorted(map(str, unknown))[:5]}")
    if frame.duplicated(["node", "period"]).any():
        raise ValueError("more than one forecast for a node and period")
    need = bottoms if method == "bottom_up" else nodes
    periods = pd.Index(pd.unique(frame["period"]))
    wide = frame.pivot(index="node", columns="period", values="forecast").reindex(index=nodes, columns=periods)
    missing = wide.loc[need].isna().any(axis=1)
    if missing.any():
        raise ValueError(
            f"no forecast for node(s) {[str(x) for x in missing[missing].index[:5]]} in some period ({method} needs "
            + ("every bottom node" if method == "bottom_up" else "every node")
            + ")"
        )
    yhat = wide.to_numpy(dtype=float)  # nodes x periods
    n_agg = len(nodes) - len(bottoms)

    # Base standard deviations per node and period, from the widest interval present.
    base_sd = np.full(yhat.shape, np.nan)
    for lv in sorted(levels, reverse=True):
        z = NormalDist().inv_cdf(0.5 + lv / 200)
        lo = frame.pivot(index="node", columns="period", values=f"lo_{lv}").reindex(index=nodes, columns=periods)
        hi = frame.pivot(index="node", columns="period", values=f"hi_{lv}").reindex(index=nodes, columns=periods)
        width = (hi.to_numpy(dtype=float) - lo.to_numpy(dtype=float)) / (2 * z)
        base_sd = np.where(np.isnan(base_sd), width, base_sd)
    need_rows = [nodes.index(node) for node in need]
    have_sd = np.isfinite(base_sd[need_rows]).all(axis=0) if levels else np.zeros(yhat.shape[1], dtype=bool)

    corr = None
    if residuals is not None and method == "mint_shrink":
        key = "node" if "node" in residuals.columns else "series_id"
        value = "residual" if "residual" in residuals.columns else residuals.columns[-1]
        wide_res = residuals.pivot_table(index="period", columns=key, values=value, aggfunc="sum")
        wide_res = wide_res.reindex(columns=nodes).dropna(axis=0, how="any")
        if len(wide_res) >= 3:
            cov = shrink_covariance(wide_res.to_numpy(dtype=float))
            d = np.sqrt(np.diag(cov))
            if (d > 0).all():
                corr = cov / np.outer(d, d)

    def projection(w_diag: np.ndarray) -> np.ndarray:
        if method == "bottom_up":
            P = np.zeros((len(bottoms), len(nodes)))
            P[:, n_agg:] = np.eye(len(bottoms))
            return P
        if method == "ols":
            return np.linalg.solve(S.T @ S, S.T)
        sd = np.sqrt(np.maximum(w_diag, 1e-12))
        W = corr * np.outer(sd, sd) if corr is not None else np.diag(sd * sd)
        Winv_S = np.linalg.solve(W, S)
        return np.linalg.solve(S.T @ Winv_S, Winv_S.T)

    result = np.empty_like(yhat)
    rec_sd = np.full(yhat.shape, np.nan)
    variances = base_sd * base_sd
    counts = np.isfinite(variances).sum(axis=1)
    fallback = np.where(counts > 0, np.nansum(variances, axis=1) / np.maximum(counts, 1), np.nan)
    fallback = np.where(np.isfinite(fallback) & (fallback > 0), fallback, 1.0)
    for p in range(yhat.shape[1]):
        w_diag = base_sd[:, p] ** 2 if have_sd[p] else fallback
        if method == "mint_shrink" and not have_sd[p]:
            w_diag = fallback
        P = projection(w_diag)
        y = np.nan_to_num(yhat[:, p])
        result[:, p] = S @ (P @ y)
        if have_sd[p]:
            sd = np.nan_to_num(base_sd[:, p])  # a node without a base forecast has no weight here
            Wh = corr * np.outer(sd, sd) if corr is not None else np.diag(sd * sd)
            G = S @ P
            rec_sd[:, p] = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", G, Wh, G), 0))

    out = frame.copy()
    pos_node = {node: i for i, node in enumerate(nodes)}
    pos_period = {period: j for j, period in enumerate(periods)}
    r_idx = out["node"].map(pos_node).to_numpy()
    c_idx = out["period"].map(pos_period).to_numpy()
    nonneg = bool((frame["forecast"] >= 0).all()) and all((frame[f"lo_{lv}"] >= 0).all() for lv in levels)
    if nonneg and (result[n_agg:] < 0).any():
        bottom = np.maximum(result[n_agg:], 0)
        result = S @ bottom
    new = result[r_idx, c_idx]
    old = frame["forecast"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(base_sd[r_idx, c_idx] > 0, rec_sd[r_idx, c_idx] / base_sd[r_idx, c_idx], 1.0)
    ratio = np.where(np.isfinite(ratio), ratio, 1.0)
    out["forecast"] = new
    for lv in levels:
        below = old - frame[f"lo_{lv}"].to_numpy(dtype=float)
        above = frame[f"hi_{lv}"].to_numpy(dtype=float) - old
        lo = new - np.maximum(below, 0) * ratio
        hi = new + np.maximum(above, 0) * ratio
        if nonneg:
            lo = np.maximum(lo, 0)
        out[f"lo_{lv}"] = np.minimum(lo, new)
        out[f"hi_{lv}"] = np.maximum(hi, new)
    # Aggregate rows that were missing from the input (bottom_up may build them) are appended.
    have = set(zip(frame["node"], frame["period"], strict=True))
    extra = [(node, period) for node in nodes for period in periods if (node, period) not in have]
    if extra:
        add = pd.DataFrame(extra, columns=["node", "period"])
        add["forecast"] = [result[pos_node[nd], pos_period[pr]] for nd, pr in extra]
        sd = np.array([rec_sd[pos_node[nd], pos_period[pr]] for nd, pr in extra])
        for lv in levels:
            z = NormalDist().inv_cdf(0.5 + lv / 200)
            lo = add["forecast"].to_numpy() - z * sd
            add[f"lo_{lv}"] = np.maximum(lo, 0) if nonneg else lo
            add[f"hi_{lv}"] = add["forecast"].to_numpy() + z * sd
        out = pd.concat([out, add], ignore_index=True)
    return out
