"""How a run's forecasts are made to add up (forecasting.reconcile_runs), on hand-made blocks."""

from datetime import date

import numpy as np
import pytest

from forecasting.reconcile_runs import reconcile_tree

H = 3
PERIODS = [date(2027, 1, 1), date(2027, 2, 1), date(2027, 3, 1)]


def block(value, sd):
    """forecast, lo_80, hi_80, lo_95, hi_95 for a normal forecast of ``value`` with standard deviation ``sd``."""
    value, sd = np.full(H, float(value)), np.full(H, float(sd))
    return np.stack([value, value - 1.2816 * sd, value + 1.2816 * sd, value - 1.96 * sd, value + 1.96 * sd])


def tree(overrides=None):
    nodes = {
        ("total", ""): {"base": block(1000, 50), "parent": ""},
        ("category", "a"): {"base": block(600, 40), "parent": ""},
        ("category", "b"): {"base": block(300, 30), "parent": ""},
        ("product", "a1"): {"base": block(400, 30), "parent": "a"},
        ("product", "a2"): {"base": block(150, 10), "parent": "a"},
        ("product", "b1"): {"base": block(300, 30), "parent": "b"},
        ("region", "north"): {"base": block(500, 40), "parent": ""},
        ("region", "south"): {"base": block(300, 40), "parent": ""},
        ("rep", "1"): {"base": block(700, 40), "parent": ""},
    }
    nodes.update(overrides or {})
    return nodes


def test_products_add_up_to_categories_and_categories_to_the_total():
    out = reconcile_tree(tree(), H, PERIODS)
    total = out[("total", "")][0]
    assert out[("category", "a")][0] + out[("category", "b")][0] == pytest.approx(total)
    assert out[("product", "a1")][0] + out[("product", "a2")][0] == pytest.approx(out[("category", "a")][0])
    assert out[("product", "b1")][0] == pytest.approx(out[("category", "b")][0])
    # MinT lands between the total's own 1000 and the categories' 900, nearer the more certain side.
    assert 900 < total[0] < 1000


def test_within_a_category_the_less_certain_product_moves_more():
    out = reconcile_tree(tree(), H, PERIODS)
    move_a1 = out[("product", "a1")][0][0] - 400  # sd 30
    move_a2 = out[("product", "a2")][0][0] - 150  # sd 10
    assert move_a1 == pytest.approx(9 * move_a2)  # shares in proportion to the variances (900 : 100)


def test_regions_and_reps_are_scaled_to_the_total_with_their_intervals():
    out = reconcile_tree(tree(), H, PERIODS)
    total = out[("total", "")][0]
    north, south = out[("region", "north")], out[("region", "south")]
    assert north[0] + south[0] == pytest.approx(total)
    assert north[0] / south[0] == pytest.approx(500 / 300)
    factor = north[0][0] / 500
    assert north[2][0] == pytest.approx((500 + 1.2816 * 40) * factor)  # the 80 % bound scales too
    assert out[("rep", "1")][0] == pytest.approx(total)


def test_intervals_stay_nested_and_never_below_zero():
    out = reconcile_tree(tree({("product", "a2"): {"base": block(5, 40), "parent": "a"}}), H, PERIODS)
    for f, lo80, hi80, lo95, hi95 in out.values():
        assert (lo95 >= 0).all() and (lo95 <= lo80).all() and (lo80 <= f).all()
        assert (f <= hi80).all() and (hi80 <= hi95).all()


def test_a_product_pushed_below_zero_is_zero_and_the_tree_still_adds_up():
    nodes = tree({("category", "a"): {"base": block(100, 5), "parent": ""}})  # far below its products
    out = reconcile_tree(nodes, H, PERIODS)
    products = out[("product", "a1")][0] + out[("product", "a2")][0]
    assert (out[("product", "a2")][0] >= 0).all()
    assert out[("category", "a")][0] == pytest.approx(products)
    assert out[("total", "")][0] == pytest.approx(out[("category", "a")][0] + out[("category", "b")][0])


def test_series_the_engine_could_not_forecast_count_from_below():
    nodes = tree({("category", "b"): {"base": None, "parent": ""}, ("product", "a2"): {"base": None, "parent": "a"}})
    out = reconcile_tree(nodes, H, PERIODS)
    assert out[("product", "a2")][0] == pytest.approx(np.zeros(H))
    assert out[("category", "b")][0] == pytest.approx(out[("product", "b1")][0])
    assert out[("total", "")][0] == pytest.approx(out[("category", "a")][0] + out[("category", "b")][0])
