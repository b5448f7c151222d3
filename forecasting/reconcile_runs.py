"""How a run's forecasts are made to add up: products -> categories -> total, and regions and reps to the total.

The run's tree is total <- categories <- products (a product under its catalog category). Reconciling it
in one piece with MinT means solving a system as large as the number of products for each month, which
grows with the cube of that number (minutes for 2,000 products), so it is done in two steps that each
stay small or linear:

1. **Total and categories: MinT** (``forecasting.engine.reconcile``, ``mint_shrink``). The categories are
   the bottom level; their weights are the forecast variances read from the 95 % interval widths (the
   residuals are not kept across chunks, so MinT runs with a diagonal W: WLS by variance).
2. **Products within a category: the category's reconciled forecast is kept and the gap between it and
   the sum of its products' forecasts is shared out in proportion to each product's forecast variance.**
   This is the weighted least squares solution with the category fixed: the products the engine is least
   sure of move most. A product below zero after that is set to zero and its category and the total are
   summed again, so the tree always adds up exactly.

Regions and reps split the same total another way (a product sells in many regions), so each month their
base forecasts are scaled by one factor to add up to the reconciled total (a proportional top-down split).

Intervals move with the forecast: a product's, category's or total's interval is shifted by the change of
its forecast (the engine rescales the categories' and the total's to their reconciled variance); a
region's or rep's is scaled by its factor. Lower bounds never go below zero.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
import pandas as pd

Z95 = 1.959963984540054
BANDS = ("forecast", "lo_80", "hi_80", "lo_95", "hi_95")
TOTAL, CATEGORY, PRODUCT, REGION, REP = "total", "category", "product", "region", "rep"
METHOD = "mint_shrink"

Node = tuple[str, str]


def _variance(block: np.ndarray) -> np.ndarray:
    return ((block[4] - block[3]) / (2 * Z95)) ** 2


def _summed(blocks: list[np.ndarray], horizon: int) -> np.ndarray:
    return np.sum(blocks, axis=0) if blocks else np.zeros((len(BANDS), horizon))


def _top(total: np.ndarray, categories: dict[Node, np.ndarray], periods: list) -> tuple[np.ndarray, dict]:
    """Step 1: MinT of the total over the categories (the engine's reconcile)."""
    from forecasting import engine

    if not categories:
        return total, {}
    periods = list(pd.to_datetime(periods))
    rows = []
    names = {node: f"{CATEGORY}:{node[1]}" for node in categories}
    for name, block in [("total", total), *((names[n], b) for n, b in categories.items())]:
        for i, period in enumerate(periods):
            rows.append((name, period, *block[:, i]))
    frame = pd.DataFrame(rows, columns=["node", "period", *BANDS])
    structure = {"total": list(names.values()), **{name: [name] for name in names.values()}}
    out = engine.reconcile(frame, structure, method=METHOD)
    wide = {
        name: group.set_index("period").reindex(periods)[list(BANDS)].to_numpy().T
        for name, group in out.groupby("node")
    }
    return wide["total"], {node: wide[name] for node, name in names.items()}


def reconcile_tree(nodes: dict[Node, dict[str, Any]], horizon: int, periods: list) -> dict[Node, np.ndarray]:
    """Coherent (forecast, lo_80, hi_80, lo_95, hi_95) per node, each an array of ``horizon`` months.

    ``nodes``: (level, key) -> {"base": the engine's 5 x horizon block or None (it could not forecast the
    series), "parent": the category key of a product}. A missing product counts as zero; a missing
    category or total as the sum of what is below it.
    """
    zeros = np.zeros((len(BANDS), horizon))
    products: dict[str, dict[Node, np.ndarray]] = defaultdict(dict)
    for node, info in nodes.items():
        if node[0] == PRODUCT:
            base = info["base"]
            products[info["parent"]][node] = base if base is not None else zeros
    categories: dict[Node, np.ndarray] = {}
    for node, info in nodes.items():
        if node[0] == CATEGORY:
            base = info["base"]
            categories[node] = base if base is not None else _summed(list(products[node[1]].values()), horizon)
    total_node = (TOTAL, "")
    total = nodes.get(total_node, {}).get("base")
    if total is None:
        total = _summed(list(categories.values()), horizon)

    out: dict[Node, np.ndarray] = {}
    total_rec, categories_rec = _top(total, categories, periods)
    total_sum = np.zeros(horizon)
    for node, category in categories_rec.items():
        members = products[node[1]]
        if not members:
            out[node] = category
            total_sum += category[0]
            continue
        stacked = np.stack(list(members.values()))  # products x bands x months
        variance = np.stack([_variance(b) for b in members.values()])  # products x months
        gap = category[0] - stacked[:, 0].sum(axis=0)
        weights = variance.sum(axis=0)
        share = np.divide(variance, weights, out=np.full_like(variance, 1 / len(members)), where=weights > 0)
        adjusted = np.maximum(stacked[:, 0] + share * gap, 0)
        shift = adjusted - stacked[:, 0]
        for (member, block), move, value in zip(members.items(), shift, adjusted, strict=True):
            out[member] = _moved(block, value, move)
        summed = adjusted.sum(axis=0)
        out[node] = _moved(category, summed, summed - category[0])
        total_sum += summed
    if categories_rec:
        out[total_node] = _moved(total_rec, total_sum, total_sum - total_rec[0])
    else:
        out[total_node] = _moved(total, np.maximum(total[0], 0), np.maximum(total[0], 0) - total[0])

    target = out[total_node][0]
    for level in (REGION, REP):
        members = {n: info["base"] for n, info in nodes.items() if n[0] == level and info["base"] is not None}
        if not members:
            continue
        stacked = np.maximum(np.stack(list(members.values())), 0)
        sums = stacked[:, 0].sum(axis=0)
        factor = np.divide(target, sums, out=np.zeros(horizon), where=sums > 0)
        for node, block in zip(members, stacked, strict=True):
            out[node] = _bounded(block * factor)
    return out


def _moved(block: np.ndarray, value: np.ndarray, shift: np.ndarray) -> np.ndarray:
    moved = block + shift
    moved[0] = value
    return _bounded(moved)


def _bounded(block: np.ndarray) -> np.ndarray:
    """Intervals around the forecast, nested (95 % outside 80 %), never below zero."""
    f, lo80, hi80, lo95, hi95 = block
    lo80 = np.maximum(np.minimum(lo80, f), 0)
    hi80 = np.maximum(hi80, f)
    lo95 = np.maximum(np.minimum(lo95, lo80), 0)
    hi95 = np.maximum(hi95, hi80)
    return np.stack([f, lo80, hi80, lo95, hi95])
