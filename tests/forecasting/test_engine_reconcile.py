"""Hierarchical reconciliation: whatever the structure and the numbers, the forecasts add up afterwards."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forecasting.engine import forecast, reconcile
from forecasting.engine.reconcile import shrink_covariance, summing_matrix

METHODS = ("mint_shrink", "ols", "bottom_up")


@st.composite
def hierarchies(draw):
    """Products under categories and under regions (a grouped structure), plus the total."""
    n_products = draw(st.integers(2, 7))
    products = [f"p{i}" for i in range(n_products)]
    n_cats = draw(st.integers(1, min(3, n_products)))
    cats = [draw(st.integers(0, n_cats - 1)) for _ in products]
    regions = [draw(st.integers(0, 1)) for _ in products]
    structure = {"total": products}
    for c in range(n_cats):
        members = [p for p, k in zip(products, cats, strict=True) if k == c]
        if members:
            structure[f"cat{c}"] = members
    for r in range(2):
        members = [p for p, k in zip(products, regions, strict=True) if k == r]
        if members:
            structure[f"region{r}"] = members
    for p in products:
        structure[p] = [p]
    return structure


def base_forecasts(structure, values, widths, periods=3) -> pd.DataFrame:
    rows = []
    for j, node in enumerate(structure):
        for p in range(periods):
            f = values[(j * periods + p) % len(values)]
            w = widths[(j * periods + p) % len(widths)]
            rows.append(
                {
                    "node": node,
                    "period": pd.Timestamp("2026-01-01") + pd.DateOffset(months=p),
                    "forecast": f,
                    "lo_80": max(f - w, 0.0),
                    "hi_80": f + w,
                    "lo_95": max(f - 1.6 * w, 0.0),
                    "hi_95": f + 1.6 * w,
                    "model": "test",
                }
            )
    return pd.DataFrame(rows)


def assert_coherent(out: pd.DataFrame, structure: dict) -> None:
    wide = out.pivot(index="node", columns="period", values="forecast")
    for node, parts in structure.items():
        np.testing.assert_allclose(wide.loc[node], wide.loc[parts].sum(axis=0), rtol=1e-9, atol=1e-7)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    structure=hierarchies(),
    values=st.lists(st.floats(0, 1000, allow_nan=False), min_size=1, max_size=30),
    widths=st.lists(st.floats(0.1, 200, allow_nan=False), min_size=1, max_size=30),
    method=st.sampled_from(METHODS),
)
def test_reconciled_forecasts_add_up(structure, values, widths, method):
    base = base_forecasts(structure, values, widths)
    out = reconcile(base, structure, method=method)
    assert len(out) == len(base) and list(out.columns) == list(base.columns)
    assert (out["model"] == "test").all()
    assert_coherent(out, structure)
    assert (out["forecast"] >= -1e-9).all()  # non-negative in, non-negative out
    for lv in (80, 95):
        assert (out[f"lo_{lv}"] <= out["forecast"] + 1e-9).all() and (out["forecast"] <= out[f"hi_{lv}"] + 1e-9).all()
    if method == "bottom_up":
        bottoms = [n for n, parts in structure.items() if parts == [n]]
        mine, theirs = out.set_index(["node", "period"]), base.set_index(["node", "period"])
        np.testing.assert_allclose(mine.loc[bottoms, "forecast"], theirs.loc[bottoms, "forecast"])


@settings(max_examples=15, deadline=None)
@given(structure=hierarchies(), seed=st.integers(0, 10_000))
def test_mint_with_residuals_adds_up_and_is_exact_on_coherent_input(structure, seed):
    rng = np.random.default_rng(seed)
    nodes, bottoms, S = summing_matrix(structure)
    bottom_fc = rng.uniform(10, 100, (len(bottoms), 3))
    coherent = S @ bottom_fc
    rows = []
    for i, node in enumerate(nodes):
        for p in range(3):
            f = coherent[i, p]
            rows.append({"node": node, "period": p, "forecast": f, "lo_95": f - 5, "hi_95": f + 5})
    base = pd.DataFrame(rows)
    resid = pd.DataFrame(
        [
            {"node": node, "period": t, "residual": r}
            for t in range(24)
            for node, r in zip(nodes, S @ rng.normal(0, 3, len(bottoms)), strict=True)
        ]
    )
    out = reconcile(base, structure, method="mint_shrink", residuals=resid)
    assert_coherent(out, structure)
    # Forecasts that already add up are left as they are (P is a projection onto coherent forecasts).
    np.testing.assert_allclose(out["forecast"], base["forecast"], rtol=1e-8)


def test_reconcile_on_engine_output_for_product_category_region_total():
    rng = np.random.default_rng(1)
    t = np.arange(36)
    bottoms = {}
    for i, (cat, region) in enumerate([("A", "N"), ("A", "S"), ("B", "N"), ("B", "S")]):
        bottoms[f"{cat}{region}"] = 50 + 10 * i + 8 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 2, 36)
    structure = {
        "total": list(bottoms),
        "cat:A": ["AN", "AS"],
        "cat:B": ["BN", "BS"],
        "region:N": ["AN", "BN"],
        "region:S": ["AS", "BS"],
        **{b: [b] for b in bottoms},
    }
    series = {node: sum(bottoms[b] for b in parts) for node, parts in structure.items()}
    frame = pd.concat(
        pd.DataFrame({"series_id": node, "period": pd.date_range("2023-01-01", periods=36, freq="MS"), "value": y})
        for node, y in series.items()
    )
    res = forecast(frame, horizon=6)
    base = res.forecasts.rename(columns={"series_id": "node"})
    for method in METHODS:
        out = reconcile(base, structure, method=method, residuals=res.residuals)
        assert_coherent(out, structure)
        assert (out["lo_95"] <= out["lo_80"]).all() and (out["hi_80"] <= out["hi_95"]).all()
    # The reconciled total stays close to the directly forecast one.
    mint = reconcile(base, structure, residuals=res.residuals).set_index(["node", "period"])["forecast"]
    direct = base.set_index(["node", "period"])["forecast"]
    assert np.allclose(mint.loc["total"], direct.loc["total"], rtol=0.05)


def test_bottom_up_builds_missing_aggregates():
    structure = {"total": ["a", "b"], "a": ["a"], "b": ["b"]}
    base = pd.DataFrame(
        {
            "node": ["a", "b"],
            "period": [1, 1],
            "forecast": [3.0, 4.0],
            "lo_80": [2.0, 3.0],
            "hi_80": [4.0, 5.0],
        }
    )
    out = reconcile(base, structure, method="bottom_up").set_index("node")
    assert out.loc["total", "forecast"] == 7.0
    assert out.loc["total", "lo_80"] < 7.0 < out.loc["total", "hi_80"]


def test_structure_and_input_errors_are_clear():
    base = pd.DataFrame({"node": ["a", "b", "total"], "period": 1, "forecast": [1.0, 2.0, 3.0]})
    good = {"total": ["a", "b"], "a": ["a"], "b": ["b"]}
    with pytest.raises(ValueError, match="method"):
        reconcile(base, good, method="magic")
    with pytest.raises(ValueError, match="not a bottom node"):
        reconcile(base, {"total": ["a", "x"], "a": ["a"], "b": ["b"]})
    with pytest.raises(ValueError, match="not in the structure"):
        reconcile(base, {"a": ["a"], "b": ["b"]})
    with pytest.raises(ValueError, match="no forecast"):
        reconcile(base[base["node"] != "total"], good, method="ols")
    with pytest.raises(ValueError, match="lacks the column"):
        reconcile(base.drop(columns="forecast"), good)


def test_shrinkage_covariance_is_positive_definite_with_few_periods():
    rng = np.random.default_rng(3)
    resid = rng.normal(size=(5, 8))  # fewer periods than nodes: the sample covariance is singular
    cov = shrink_covariance(resid)
    assert np.all(np.linalg.eigvalsh(cov) > 0)
