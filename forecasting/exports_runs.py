"""Exports of a forecast run: every series the user may see, month by month, as CSV or XLSX.

Both stream: the CSV is written row by row as the database cursor yields points (``iterator``), and the
XLSX is built with openpyxl's write-only workbook in a temporary file that is then sent in blocks, so a
run of 10,000 series never sits in memory whole.

The XLSX has two sheets: "FY<year>" with one row per series and a column per month of the next fiscal
year (the forecast, then the year's sum and range), and "Detail" with every month of the horizon and
its intervals, as the CSV.
"""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Iterator
from typing import Any

from django.db.models import Case, IntegerField, QuerySet, Value, When

from forecasting.fiscal import fiscal_start_month, fiscal_year_of
from forecasting.models import ForecastPoint, ForecastRun, ForecastSeries
from forecasting.selectors_runs import RunYears, series_list

COLUMNS = [
    "level",
    "key",
    "label",
    "category",
    "period",
    "fiscal_year",
    "forecast",
    "lo_80",
    "hi_80",
    "lo_95",
    "hi_95",
    "base_forecast",
    "actual",
    "model",
    "mase",
    "smape",
]
LEVEL_ORDER = Case(
    When(series__level="total", then=Value(0)),
    When(series__level="category", then=Value(1)),
    When(series__level="product", then=Value(2)),
    When(series__level="region", then=Value(3)),
    When(series__level="rep", then=Value(4)),
    output_field=IntegerField(),
)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    """A spreadsheet runs a cell that starts like a formula: product and region names are quoted."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    if isinstance(value, float):
        return round(value, 2)
    return value


def export_points(*, actor, run: ForecastRun) -> QuerySet:
    series = series_list(actor=actor, run=run)
    return (
        ForecastPoint.objects.filter(series__in=series)
        .annotate(level_order=LEVEL_ORDER)
        .order_by("level_order", "series__label", "series_id", "period")
        .values_list(
            "series__level",
            "series__key",
            "series__label",
            "series__parent_key",
            "period",
            "forecast",
            "lo_80",
            "hi_80",
            "lo_95",
            "hi_95",
            "base",
            "actual",
            "series__model",
            "series__mase",
            "series__smape",
        )
    )


def export_rows(*, actor, run: ForecastRun) -> Iterator[list[Any]]:
    start = fiscal_start_month()
    categories = dict(
        ForecastSeries.objects.filter(run=run, level="category").values_list("key", "label")
    )  # names only: a rep's export names their products' categories without showing their figures
    for level, key, label, parent, period, *figures, base, actual, model, mase, smape in export_points(
        actor=actor, run=run
    ).iterator(chunk_size=2000):
        yield [
            level,
            key,
            label,
            categories.get(parent, ""),
            period.isoformat(),
            f"FY{fiscal_year_of(period, start_month=start)}",
            *figures,
            base,
            actual,
            model,
            mase,
            smape,
        ]


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_stream(*, actor, run: ForecastRun) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(COLUMNS)
    for row in export_rows(actor=actor, run=run):
        yield writer.writerow([_cell(v) for v in row])


def xlsx_file(*, actor, run: ForecastRun):
    """The workbook in a temporary file (deleted when closed), positioned at its start."""
    from openpyxl import Workbook

    years = RunYears.of(run)
    position = {m.isoformat(): i for i, m in enumerate(years.next_months)}
    book = Workbook(write_only=True)
    wide = book.create_sheet(f"FY{years.next_year}")
    wide.append(
        ["Level", "Series", "Category"]
        + [f"{m:%b %Y}" for m in years.next_months]
        + [f"FY{years.next_year}", "80 % low", "80 % high", "95 % low", "95 % high"]
    )
    detail = book.create_sheet("Detail")
    detail.append(COLUMNS)
    line: dict[str, Any] | None = None

    def write(line: dict[str, Any] | None) -> None:
        if line is not None:
            months = line["months"]
            total = round(sum(v for v in months if v is not None), 2)
            wide.append([*line["head"], *months, total, *(round(b, 2) for b in line["bands"])])

    for row in export_rows(actor=actor, run=run):
        detail.append([_cell(v) for v in row])
        if line is None or line["id"] != (row[0], row[1]):
            write(line)
            line = {"id": (row[0], row[1]), "head": [row[0], _cell(row[2]), _cell(row[3])], "months": [None] * 12}
            line["bands"] = [0.0] * 4
        index = position.get(row[4])
        if index is not None:
            line["months"][index] = round(row[6], 2)
            line["bands"] = [a + b for a, b in zip(line["bands"], row[7:11], strict=True)]
    write(line)
    handle = tempfile.TemporaryFile()  # noqa: SIM115 (returned open: the response streams and closes it)
    book.save(handle)
    handle.seek(0)
    return handle
