"""Measure the catalog issue's configurator targets on a generated product.

    .venv/bin/python -m bench.catalog_bench [--runs 1000] [--requests 500] [--database-url URL]

The product has 30 attributes of 10 values each (22 single choices shown as radio buttons, swatches
or drop-downs, 8 checkbox lists) and 300 rules (120 excludes, 80 requires, 30 conditional defaults,
50 conditional prices, 20 quantity limits), built through catalog.services with a fixed seed.

Targets (issue 6, item 7):

- validating and pricing one configuration (catalog.configurator.evaluate, with the reasons for every
  impossible option): <= 10 ms at p95;
- the public page's option-change round trip (an HTMX POST to /configure/<slug>/ that re-validates the
  posted choices and renders the partial with all 300 options): <= 50 ms server time at p95.

Both run in this process. The round trip goes through Django's test Client with CSRF checks on and
DEBUG off: middleware, session, CSRF, the rate limit, the engine and the template are in the figure;
the network and a WSGI server are not. The compiled model comes from the cache, as in production after
the first request (the cold compile is reported on its own line).

By default the product is built in a throwaway SQLite database in a temporary folder. With
``--database-url`` (e.g. the PostgreSQL database of bench/datagen.py) it is built there, measured and
deleted again. The sustained-throughput target (200 requests/s on 2 gunicorn workers) needs a load
generator against a running server and is not measured here.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

SLUG = "bench-configurable-30x10"
SEED = 2026
ATTRIBUTES, VALUES = 30, 10
MULTI_ATTRIBUTES = 8
RULES = {"excludes": 120, "requires": 80, "default": 30, "price": 50, "quantity": 20}
ENGINE_TARGET_MS, ROUND_TRIP_TARGET_MS = 10.0, 50.0


def django_setup(database_url: str | None) -> Path | None:
    """Settings with DEBUG off and no rate limit in the way; a fresh SQLite file unless a URL is given."""
    folder = None
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sfa.settings.base")
    os.environ["DEBUG"] = "False"
    os.environ["CONFIGURATOR_RATE_LIMIT"] = "1000000/min"
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    else:
        folder = Path(tempfile.mkdtemp(prefix="sfa-catalog-bench-"))
        os.environ["SFA_DATA_DIR"] = str(folder)
        os.environ["DATABASE_URL"] = f"sqlite:///{folder / 'bench.sqlite3'}"
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    call_command("migrate", verbosity=0, interactive=False)
    return folder


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    ordered = sorted(samples)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]

    return statistics.median(ordered), at(0.95), at(0.99)


# --- The generated product ---------------------------------------------------------------------------


def build_product(rng: random.Random):
    """30 × 10 values and 300 rules, through the services (each rule checked as a product manager's would be)."""
    from datetime import date

    from catalog import services
    from catalog.models import Category, PriceList, Product

    old = Product.objects.filter(slug=SLUG).first()
    if old is not None:
        delete_product(old)
    category = Category.objects.filter(slug="bench").first() or services.category_create(actor=None, name="Bench")
    price_list = PriceList.objects.filter(code="bench-eur").first() or services.price_list_create(
        actor=None, name="Bench EUR", code="bench-eur", currency="EUR", valid_from=date(2000, 1, 1)
    )
    product = services.product_create(
        actor=None, name="Bench configurable", sku="BENCH", slug=SLUG, category=category, is_configurable=True
    )
    services.price_set(product=product, price_list=price_list, amount=Decimal("10000"), actor=None)
    kinds = ["radio", "swatch", "select"]
    attributes, values = [], {}
    for index in range(ATTRIBUTES):
        multi = index >= ATTRIBUTES - MULTI_ATTRIBUTES
        attribute = services.attribute_create(
            product=product,
            actor=None,
            code=f"attr_{index:02d}",
            name=f"Attribute {index + 1}",
            kind="multi" if multi else kinds[index % 3],
            required=not multi,
            step=index // 6 + 1,
            step_title=f"Group {index // 6 + 1}",
            position=index,
        )
        attributes.append(attribute)
        values[attribute.pk] = [
            services.value_create(
                attribute=attribute,
                actor=None,
                code=f"V{n}",
                label=f"Option {index + 1}.{n + 1}",
                colour=f"#{rng.randrange(0x1000000):06x}" if attribute.kind == "swatch" else "",
                price_extra=Decimal(rng.randrange(0, 200_000)) / 100,
                lead_time_extra_days=rng.choice([0, 0, 0, 3, 7, 14]),
                is_default=(n == 0 and not multi),
                position=n,
            )
            for n in range(VALUES)
        ]
    # Conditions and targets avoid the defaults (value 0), so the default configuration is valid.
    choosable = [v for rows in values.values() for v in rows[1:]]
    multis = attributes[-MULTI_ATTRIBUTES:]
    made = 0
    for kind, count in RULES.items():
        done = 0
        while done < count:
            condition = rng.choice(choosable)
            others = [v for v in choosable if v.attribute_id != condition.attribute_id]
            data: dict[str, Any] = {"conditions": [condition]}
            if kind in ("excludes", "requires"):
                data["targets"] = rng.sample(others, rng.randint(1, 3))
            elif kind == "default":
                attribute = rng.choice(
                    [a for a in attributes[: ATTRIBUTES - MULTI_ATTRIBUTES] if a.pk != condition.attribute_id]
                )
                data["targets"] = [rng.choice(values[attribute.pk][1:])]
            elif kind == "price":
                data["conditions"].append(rng.choice(others))
                data["amount"] = Decimal(rng.randrange(-50_000, 150_000)) / 100 or Decimal("1")
            else:
                data = {"conditions": [] if rng.random() < 0.5 else [condition], "target_attribute": rng.choice(multis)}
                data["max_value"] = Decimal(rng.randint(2, 6))
            services.rule_create(product=product, actor=None, kind=kind, **data)
            done += 1
            made += 1
    product.refresh_from_db()
    return product


def delete_product(product) -> None:
    from catalog.models import Configuration

    Configuration.objects.filter(product=product).delete()
    product.rules.all().delete()
    product.attributes.all().delete()
    product.prices.all().delete()
    product.delete()


def random_choices(model, rng: random.Random) -> dict[str, Any]:
    """What a customer might have chosen: a third of the attributes, any value."""
    choices: dict[str, Any] = {}
    for attr in rng.sample(model.attributes, k=len(model.attributes) // 3):
        codes = [v.code for v in attr.values]
        if attr.shape == "multi":
            choices[attr.code] = rng.sample(codes, k=rng.randint(0, 3))
        else:
            choices[attr.code] = rng.choice(codes)
    return choices


# --- Measurements ----------------------------------------------------------------------------------------


@dataclass
class Figure:
    """Wall-clock samples (what a client waits for) and, beside them, this thread's CPU time per sample:
    on a shared machine the CPU time shows what the code costs when it is not waiting for a core."""

    operation: str
    samples: list[float]
    target: float | None = None
    note: str = ""
    cpu: list[float] | None = None

    def row(self) -> str:
        median, p95, p99 = percentiles(self.samples)
        cpu = "–"
        if self.cpu:
            cpu_median, cpu_p95, _ = percentiles(self.cpu)
            cpu = f"{cpu_median:.2f} / {cpu_p95:.2f}"
        verdict = ""
        if self.target is not None:
            verdict = f"≤ {self.target:g}: {'**pass**' if p95 <= self.target else '**MISS**'}"
        cells = [self.operation, str(len(self.samples)), f"{median:.2f}", f"{p95:.2f}", f"{p99:.2f}", cpu, verdict]
        return "| " + " | ".join([*cells, self.note]) + " |"


class Timer:
    """Wall and CPU milliseconds of a block: ``with timer: ...`` appends one sample to each list."""

    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []

    def __enter__(self) -> Timer:
        self._wall, self._cpu = time.perf_counter(), time.thread_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cpu.append((time.thread_time() - self._cpu) * 1000)
        self.wall.append((time.perf_counter() - self._wall) * 1000)

    def drop(self, count: int) -> None:
        """Forget the first ``count`` samples (warm-up)."""
        del self.wall[:count], self.cpu[:count]


def measure_engine(product, runs: int, rng: random.Random) -> list[Figure]:
    from catalog.configurator import compile_product, compiled_for, evaluate

    cold = Timer()
    for _ in range(5):
        with cold:
            compile_product(product)
    model = compiled_for(product)
    inputs = [random_choices(model, rng) for _ in range(runs)]
    for choices in inputs[:50]:
        evaluate(model, choices)
    full, lean, hits, valid = Timer(), Timer(), Timer(), 0
    for choices in inputs:
        with full:
            result = evaluate(model, choices)
        valid += result.valid
    for choices in inputs:
        with lean:
            evaluate(model, choices, options=False)
    for _ in range(200):
        with hits:
            compiled_for(product)
    return [
        Figure(
            "validate + price + reasons for every option (engine)",
            full.wall,
            ENGINE_TARGET_MS,
            f"{valid} of {runs} random configurations valid",
            full.cpu,
        ),
        Figure("validate + price, no option states (engine)", lean.wall, cpu=lean.cpu),
        Figure(
            "compile the model from the database (cold)", cold.wall, note="once per change of the product", cpu=cold.cpu
        ),
        Figure("compiled model from this process's cache", hits.wall, cpu=hits.cpu),
    ]


def measure_round_trip(product, requests: int, rng: random.Random) -> list[Figure]:
    from django.test import Client

    from catalog.configurator import compiled_for

    model = compiled_for(product)
    client = Client(enforce_csrf_checks=True, REMOTE_ADDR="192.0.2.10")
    url = f"/configure/{product.slug}/"
    page = client.get(url)
    assert page.status_code == 200, page.status_code
    token = client.cookies["csrftoken"].value
    change, sizes = Timer(), []
    for _ in range(requests + 20):
        choices = random_choices(model, rng)
        data: dict[str, Any] = {"csrfmiddlewaretoken": token, "_touched": list(choices), **choices}
        data["_changed"] = next(iter(choices), "")
        with change:
            response = client.post(url, data, headers={"HX-Request": "true"})
        assert response.status_code == 200, response.status_code
        sizes.append(len(response.content))
    change.drop(20)
    api, validate = Client(REMOTE_ADDR="192.0.2.11"), Timer()
    for _ in range(requests // 2 + 10):
        body = {"choices": random_choices(model, rng)}
        with validate:
            response = api.post(f"/api/configurator/{product.slug}/validate/", body, content_type="application/json")
        assert response.status_code == 200, response.content
    validate.drop(10)
    whole = Timer()
    for _ in range(50):
        with whole:
            client.get(url)
    return [
        Figure(
            "option change: HTMX POST /configure/<slug>/ (server time)",
            change.wall,
            ROUND_TRIP_TARGET_MS,
            f"partial of {statistics.median(sizes) / 1024:.0f} KB with all 300 options",
            change.cpu,
        ),
        Figure("whole page: GET /configure/<slug>/", whole.wall, cpu=whole.cpu),
        Figure("POST /api/configurator/<slug>/validate/ (server time)", validate.wall, cpu=validate.cpu),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1000, help="engine evaluations (default 1000)")
    parser.add_argument("--requests", type=int, default=500, help="page round trips (default 500)")
    parser.add_argument("--database-url", default=None, help="build the product there instead of a temporary SQLite")
    parser.add_argument("--keep", action="store_true", help="keep the generated product (with --database-url)")
    parser.add_argument("--json", help="also write the figures as JSON (for bench.run_all)")
    args = parser.parse_args(argv)

    folder = django_setup(args.database_url)
    from django.db import connection

    rng = random.Random(SEED)
    log(f"building the product ({ATTRIBUTES} attributes × {VALUES} values, {sum(RULES.values())} rules) …")
    started = time.perf_counter()
    product = build_product(rng)
    log(f"  built in {time.perf_counter() - started:.1f} s")
    try:
        log(f"engine: {args.runs} evaluations …")
        figures = measure_engine(product, args.runs, rng)
        log(f"round trip: {args.requests} option changes …")
        figures += measure_round_trip(product, args.requests, rng)
    finally:
        if args.database_url and not args.keep:
            delete_product(product)
    vendor = connection.vendor
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    lines = [
        f"Configurator benchmark ({ATTRIBUTES} attributes × {VALUES} values, {sum(RULES.values())} rules), "
        f"{vendor}, Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs, load {load}",
        "",
        "| operation | n | median ms | p95 ms | p99 ms | CPU median / p95 ms | target (p95) | note |",
        "|---|---:|---:|---:|---:|---:|---|---|",
        *(figure.row() for figure in figures),
    ]
    print("\n".join(lines))
    if folder is not None:
        import shutil

        shutil.rmtree(folder, ignore_errors=True)
    if args.json:
        from bench.common import figure, write_json

        rows = [
            figure(
                f"configurator: {f.operation}",
                median=percentiles(f.samples)[0],
                p95=percentiles(f.samples)[1],
                n=len(f.samples),
                target=f.target,
                note=f.note,
            )
            for f in figures
        ]
        write_json(args.json, "catalog", rows, database=vendor)
    misses = [f for f in figures if f.target is not None and percentiles(f.samples)[1] > f.target]
    return 1 if misses else 0


if __name__ == "__main__":
    raise SystemExit(main())
