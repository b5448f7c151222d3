"""Factories of the forecasting tests. Each part appends its own below, with names that say whose they are."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal

from django.utils import timezone

from forecasting.models import SalesFact
from tests.catalog.factories import ProductFactory

# --- pipeline forecast and quotas (tests/forecasting/test_pipeline_*.py, test_quotas*.py) -------------------


def pipeline_stage(category: str):
    """The default pipeline's first stage of ``category`` (commit, best_case, pipeline, closed_won, closed_lost)."""
    from leads.services import pipeline_default

    return pipeline_default().stages.filter(forecast_category=category).order_by("order").first()


def pipeline_deal(owner, *, category: str = "commit", amount="1000", close: date = date(2026, 5, 15), **kwargs):
    """An opportunity made directly (fast): in the first stage of ``category``, with that stage's probability
    unless ``probability`` is given; a won deal is closed at noon on its close date unless ``closed_at`` is."""
    from leads.models import Opportunity

    stage = kwargs.pop("stage", None) or pipeline_stage(category)
    if category == "omitted":
        stage = pipeline_stage("pipeline")
    closed_at = kwargs.pop("closed_at", None)
    if closed_at is None and category in ("closed_won", "closed_lost"):
        closed_at = timezone.make_aware(datetime.combine(close, time(12)))
    return Opportunity.objects.create(
        name=kwargs.pop("name", f"Deal of {owner.username}"),
        owner=owner,
        pipeline=stage.pipeline,
        stage=stage,
        amount=Decimal(str(amount)),
        currency=kwargs.pop("currency", "EUR"),
        probability=kwargs.pop("probability", stage.probability),
        forecast_category=category,
        expected_close=close,
        closed_at=closed_at,
        **kwargs,
    )


def pipeline_fact(rep, month: date, revenue) -> SalesFact:
    """A month of booked revenue for ``rep`` (one product, its own category)."""
    product = ProductFactory()
    return SalesFact.objects.create(
        grain=SalesFact.Grain.MONTH,
        period=month,
        product=product,
        category=product.category,
        rep=rep,
        revenue=Decimal(str(revenue)),
        units=1,
    )


# --- forecast runs and dashboards (tests/forecasting/test_runs.py, test_dashboards.py, test_api_runs.py ...) --


def run_sales(org, *, months: int = 30, products_per_category: int = 3, seed: int = 7):
    """Monthly sales facts up to the last closed month: two categories of products, two regions, three reps.

    Trend, a yearly season and noise, so the engine has something to forecast; one product is launched
    late (a short series) and one sells only some months (intermittent). Returns (products, categories).
    """
    import math
    import random

    from forecasting.services_runs import last_closed_month, month_add
    from tests.catalog.factories import CategoryFactory

    rng = random.Random(seed)
    categories = [
        CategoryFactory(name="E-bikes", slug="run-e-bikes"),
        CategoryFactory(name="Helmets", slug="run-helmets"),
    ]
    products = [
        ProductFactory(name=f"{category.name} {i + 1}", category=category)
        for category in categories
        for i in range(products_per_category)
    ]
    reps = [org.rep, org.rep_b, org.rep_other]
    end = last_closed_month()
    facts = []
    for m in range(months):
        month = month_add(end, m - months + 1)
        season = 1 + 0.3 * math.sin(2 * math.pi * (month.month - 3) / 12)
        for index, product in enumerate(products):
            if index == 1 and m < months - 6:
                continue  # launched six months ago
            if index == 2 and rng.random() < 0.5:
                continue  # intermittent
            base = (1000 + 400 * index) * (1 + 0.01 * m) * season
            for rep_index, rep in enumerate(reps):
                revenue = Decimal(str(round(base * (0.5 + 0.25 * rep_index) * rng.uniform(0.85, 1.15), 2)))
                facts.append(
                    SalesFact(
                        grain=SalesFact.Grain.MONTH,
                        period=month,
                        product=product,
                        category=product.category,
                        region="North" if rep_index < 2 else "South",
                        rep=rep,
                        revenue=revenue,
                        units=1,
                    )
                )
    SalesFact.objects.bulk_create(facts)
    return products, categories


def stored_run(
    *, products: int = 20, categories: int = 4, regions: int = 5, reps=(), history: int = 36, horizon: int | None = None
):
    """A done forecast run written straight into the tables (no engine): every product, its categories, the
    total, regions and reps, with ``history`` months of history and points with intervals to the end of the
    next fiscal year (14 months when run in November), or ``horizon`` months.

    For the dashboards, exports and API tests and bench/dashboards_bench.py: bulk inserts, so 2,000 products
    take a second or two. Figures add up: products to categories to the total; regions and reps share it.
    """
    from catalog.models import Product
    from forecasting.models import ForecastPoint, ForecastRun, ForecastSeries
    from forecasting.services_runs import last_closed_month, month_add, run_calendar
    from tests.catalog.factories import CategoryFactory

    end = last_closed_month()
    start = month_add(end, 1 - history)
    fiscal_year, months_to_year_end = run_calendar(end, start_month=1)
    horizon = horizon or months_to_year_end
    run = ForecastRun.objects.create(
        status=ForecastRun.Status.DONE,
        history_start=start,
        history_end=end,
        horizon=horizon,
        fiscal_year=fiscal_year,
        levels=[80, 95],
        summary={"currency": "EUR", "fiscal_start_month": 1, "models": {"ETS(A,N,A)": products}, "median_mase": 0.8},
        finished_at=timezone.now(),
    )
    cats = [CategoryFactory(name=f"Category {run.pk}-{c}", slug=f"stored-{run.pk}-{c}") for c in range(categories)]
    Product.objects.bulk_create(
        Product(
            name=f"Product {run.pk}-{p:05d}",
            name_key=f"product {run.pk}-{p:05d}",
            slug=f"stored-{run.pk}-{p}",
            sku=f"S{run.pk}-{p:05d}",
            category=cats[p % categories],
        )
        for p in range(products)
    )
    product_rows = Product.objects.filter(slug__startswith=f"stored-{run.pk}-").values_list("pk", "name", "category_id")
    per_product = 1000.0
    nodes = [("total", "", "All sales", "", per_product * products)]
    for c, cat in enumerate(cats):
        count = len(range(c, products, categories))
        nodes.append(("category", str(cat.pk), cat.name, "", per_product * count))
    nodes += [("product", str(pk), name, str(category), per_product) for pk, name, category in product_rows]
    nodes += [("region", f"Region {r}", f"Region {r}", "", per_product * products / regions) for r in range(regions)]
    nodes += [
        ("rep", str(rep.pk), rep.get_full_name() or rep.username, "", per_product * products / len(reps))
        for rep in reps
    ]
    ForecastSeries.objects.bulk_create(
        (
            ForecastSeries(
                run=run,
                level=level,
                key=key,
                label=label,
                parent_key=parent,
                model="ETS(A,N,A)",
                mase=0.8,
                smape=20.0,
                n_obs=history,
                history_start=start,
                history=[round(scale * (1 + 0.01 * i), 2) for i in range(history)],
            )
            for level, key, label, parent, scale in nodes
        ),
        batch_size=2000,
    )
    scale_of = {(level, key): scale for level, key, _, _, scale in nodes}
    points = []
    for pk, level, key in ForecastSeries.objects.filter(run=run).values_list("pk", "level", "key"):
        scale = scale_of[(level, key)]
        for i in range(horizon):
            value = scale * (1.3 + 0.01 * i)
            points.append(
                ForecastPoint(
                    series_id=pk,
                    period=month_add(end, i + 1),
                    base=value,
                    forecast=value,
                    lo_80=value * 0.8,
                    hi_80=value * 1.2,
                    lo_95=value * 0.7,
                    hi_95=value * 1.3,
                )
            )
    ForecastPoint.objects.bulk_create(points, batch_size=5000)
    run.series_total = len(nodes)
    run.save(update_fields=["series_total"])
    return run
