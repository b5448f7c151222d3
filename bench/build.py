"""Build the whole benchmark dataset of issue #10 in one PostgreSQL database, with COPY.

    .venv/bin/python -m bench.build                 # 1,000,000 contacts, 5,000,000 touches, 1,000,000 orders,
                                                    # 5,000,000 lines, 10,000 monthly sales series (× 48 months)
    .venv/bin/python -m bench.build --scale 0.01    # the same mix at 1 %: about a minute

``DATABASE_URL`` names the database (default ``postgres://postgres@127.0.0.1:5432/sfa_bench``; only names
starting with ``sfa_bench`` are accepted, since it is dropped and made again).

1. ``bench.datagen`` with the scaled sizes: the demo company, accounts, contacts, e-mails, phones, touches and
   the orders with their whole history (events, shipments, the sales ledger), loaded with COPY into bare tables
   whose indexes and constraints are recreated afterwards (bench/README.md says how);
2. the sales series the forecasting engine reads: ``--series`` products (SKU ``SER-…``, in the catalog's
   categories) each with ``--months`` monthly ``SalesFact`` rows (grain ``month``) up to the last closed month,
   one region and one rep per product (so the run's hierarchy also has region and rep series). The shapes are
   drawn with numpy: level, trend, yearly season and noise; 10 % intermittent, 10 % launched within the window.
   The rows go in with one COPY; the facts of the generated orders are not derived (that would be
   ``forecasting.facts.facts_rebuild()`` over the ledger, minutes at full size).

Every step's wall-clock time is printed at the end.
"""

from __future__ import annotations

import argparse
import io
import os
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime

import numpy as np

from bench import DEFAULT_DATABASE_URL

FULL = {"contacts": 1_000_000, "touches": 5_000_000, "orders": 1_000_000, "lines": 5_000_000, "series": 10_000}
REGIONS = ("North", "South", "East", "West", "Central", "Benelux", "Iberia", "Nordics", "UK & Ireland", "Italy")
SERIES_REPS = ("rep", "rep2", "rep3", "rep4", "manager", "manager2")
SERIES_SKU = "SER-"


def scaled(scale: float, what: str, floor: int) -> int:
    return max(floor, round(FULL[what] * scale))


def series_products(count: int, seed: int) -> list[tuple[int, int]]:
    """``count`` products for the series (made with bulk_create when missing): (id, category id) each."""
    from bench.datagen import BRAND_WORDS
    from catalog.models import Category, Product
    from catalog.normalize import name_key

    existing = Product.objects.filter(sku__startswith=SERIES_SKU).count()
    if existing != count:
        Product.objects.filter(sku__startswith=SERIES_SKU).delete()
        categories = list(Category.objects.order_by("id").values_list("id", flat=True))
        if not categories:
            raise SystemExit("The database has no catalog categories: run bench.datagen first.")
        rng = np.random.default_rng([seed, 10])
        nouns = ("kit", "module", "set", "pack", "unit", "refill", "adapter", "bundle", "licence", "spare")
        made = []
        for i in range(count):
            name = f"{BRAND_WORDS[i % len(BRAND_WORDS)]} {nouns[(i // len(BRAND_WORDS)) % len(nouns)]} {i + 1}"
            made.append(
                Product(
                    slug=f"series-{i + 1:05d}",
                    sku=f"{SERIES_SKU}{i + 1:05d}",
                    name=name,
                    name_key=name_key(name),
                    category_id=int(categories[int(rng.integers(0, len(categories)))]),
                    summary="A product with a generated sales history.",
                )
            )
        Product.objects.bulk_create(made, batch_size=2000)
    return list(Product.objects.filter(sku__startswith=SERIES_SKU).order_by("id").values_list("id", "category_id"))


def month_starts(months: int) -> list[date]:
    """The first days of the ``months`` months up to the last closed one."""
    today = datetime.now(UTC).date()
    last = today.year * 12 + today.month - 2  # the month before this one, counted from year 0
    return [date(m // 12, m % 12 + 1, 1) for m in range(last - months + 1, last + 1)]


def load_series(count: int, months: int, seed: int) -> int:
    """COPY ``count`` × ``months`` monthly facts (fewer: intermittent zeros and late launches are left out)."""
    from django.db import connection

    from forecasting.models import SalesFact
    from sfa.models import User

    products = series_products(count, seed)
    reps = dict(User.objects.filter(username__in=SERIES_REPS).values_list("username", "id"))
    rep_ids = np.array([reps[name] for name in SERIES_REPS if name in reps])
    if not len(rep_ids):
        raise SystemExit("The database has none of the demo's sales users: run bench.datagen first.")
    rng = np.random.default_rng([seed, 11])
    n = len(products)
    t = np.arange(months)
    level = rng.lognormal(np.log(40), 1.0, n)  # units a month
    trend = rng.normal(0.004, 0.012, n)  # growth a month
    amplitude = rng.uniform(0, 0.45, n)
    phase = rng.integers(0, 12, n)
    units = (
        level[:, None]
        * np.exp(trend[:, None] * t[None, :])
        * (1 + amplitude[:, None] * np.cos(2 * np.pi * (t[None, :] - phase[:, None]) / 12))
        * rng.lognormal(0, 0.15, (n, months))
    )
    intermittent = rng.random(n) < 0.10
    units[intermittent] *= rng.random((int(intermittent.sum()), months)) < 0.3
    units = np.rint(units).astype(np.int64)
    launched = np.where(rng.random(n) < 0.10, rng.integers(1, months - 12, n), 0)
    units[t[None, :] < launched[:, None]] = 0
    price = np.exp(rng.uniform(np.log(15), np.log(900), n))  # EUR a unit
    revenue = units * price[:, None]
    region = rng.integers(0, len(REGIONS), n)
    rep = rep_ids[rng.integers(0, len(rep_ids), n)]
    periods = [d.isoformat() for d in month_starts(months)]

    keep = units > 0
    keep[np.arange(n), np.maximum(launched, 0)] = True  # every series has at least its launch month
    p_idx, m_idx = np.nonzero(keep)
    ids = np.array([p for p, _ in products])
    cats = np.array([c for _, c in products])
    buffer = io.StringIO()
    for p, m in zip(p_idx.tolist(), m_idx.tolist(), strict=True):
        buffer.write(
            f"month\t{periods[m]}\t{ids[p]}\t{cats[p]}\t{REGIONS[region[p]]}\t{rep[p]}\t\t"
            f"{revenue[p, m]:.2f}\t{units[p, m]}\n"
        )
    buffer.seek(0)
    table = SalesFact._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {table} WHERE product_id IN (SELECT id FROM catalog_product WHERE sku LIKE %s)",
            [SERIES_SKU + "%"],
        )
        cursor.copy_expert(
            f"COPY {table} (grain, period, product_id, category_id, region, rep_id, segment, revenue, units) "
            "FROM STDIN",
            buffer,
        )
        cursor.execute(f"ANALYZE {table}")
    return len(p_idx)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="share of the full sizes (0.01 = a quick one)")
    parser.add_argument("--series", type=int, help="sales series (default: 10,000 × scale, at least 100)")
    parser.add_argument("--months", type=int, default=48, help="months of history per series")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--series-only", action="store_true", help="keep the database, (re)load only the series")
    args = parser.parse_args(argv)
    if args.months < 24:
        parser.error("at least 24 months: the engine needs two seasons")
    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    series = args.series or scaled(args.scale, "series", 100)
    started = time.perf_counter()
    timings: dict[str, float] = {}
    if not args.series_only:
        from bench import datagen

        orders = scaled(args.scale, "orders", 200)
        datagen.main(
            [
                f"--contacts={scaled(args.scale, 'contacts', 1000)}",
                f"--touches={scaled(args.scale, 'touches', 5000)}",
                f"--orders={orders}",
                f"--lines={max(orders, scaled(args.scale, 'lines', 1000))}",
                f"--seed={args.seed}",
            ]
        )
        timings["bench.datagen: contacts, touches, orders (its steps above)"] = time.perf_counter() - started
    else:
        from bench import django_setup

        django_setup()
    from bench.datagen import database_settings

    _, name = database_settings()
    step = time.perf_counter()
    rows = load_series(series, args.months, args.seed)
    timings[f"sales series: {series:,} products × {args.months} months, {rows:,} SalesFact rows"] = (
        time.perf_counter() - step
    )
    print()
    print(f"bench.build into {name} (scale {args.scale:g}):")
    print("| step | seconds |\n|---|---:|")
    for label, seconds in timings.items():
        print(f"| {label} | {seconds:.1f} |")
    print(f"| **total** | **{time.perf_counter() - started:.1f}** |")


if __name__ == "__main__":
    main()
