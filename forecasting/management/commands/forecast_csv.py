"""Forecast the series of a CSV file with the forecast engine (the same one the app's runs use).

    python manage.py forecast_csv sales.csv --horizon 12 --output forecast.csv [--season-length 12]
        [--levels 80,95] [--jobs 2] [--fill zero|interpolate]

Input: a header with ``series_id,period,value`` (other columns are ignored), one row per series and
period; the period is an ISO date: the first day of the month (monthly), of the quarter (quarterly) or
one weekday (weekly). An empty value is a missing period (``--fill``). Output: ``series_id,period,
forecast,lo_80,hi_80,lo_95,hi_95,model``, one row per series and future period, dated like the input.
A series the engine cannot forecast is reported on stderr and left out; the others are written. A
malformed file (missing columns, a bad date or number) stops the command and names the line.
"""

from __future__ import annotations

import csv
import math
from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

REQUIRED = ("series_id", "period", "value")


def read_series_csv(path: Path) -> tuple[list[str], list[date], list[float]]:
    """Rows of the input file, validated; CommandError names the first bad line (the header is line 1)."""
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc.strerror or exc}") from exc
    ids: list[str] = []
    periods: list[date] = []
    values: list[float] = []
    with handle:
        reader = csv.DictReader(handle)
        header = [h.strip() for h in (reader.fieldnames or [])]
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            raise CommandError(
                f"{path}: missing column(s) {', '.join(missing)} (the header must name series_id, period, value)"
            )
        reader.fieldnames = header
        try:
            for row in reader:
                line = reader.line_num
                if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
                    continue  # a blank line
                sid = (row.get("series_id") or "").strip()
                if not sid:
                    raise CommandError(f"line {line}: empty series_id")
                raw_period = (row.get("period") or "").strip()
                try:
                    period = date.fromisoformat(raw_period)
                except ValueError:
                    raise CommandError(f"line {line}: period {raw_period!r} is not an ISO date (YYYY-MM-DD)") from None
                raw_value = (row.get("value") or "").strip()
                if raw_value == "":
                    value = math.nan
                else:
                    try:
                        value = float(raw_value)
                    except ValueError:
                        raise CommandError(f"line {line}: value {raw_value!r} is not a number") from None
                    if not math.isfinite(value):
                        raise CommandError(f"line {line}: value {raw_value!r} is not a finite number")
                ids.append(sid)
                periods.append(period)
                values.append(value)
        except csv.Error as exc:
            raise CommandError(f"line {reader.line_num}: {exc}") from exc
        except UnicodeDecodeError as exc:
            raise CommandError(f"{path}: not UTF-8 text ({exc.reason})") from exc
    if not ids:
        raise CommandError(f"{path}: no data rows")
    return ids, periods, values


def parse_levels(text: str) -> tuple[int, ...]:
    try:
        levels = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise CommandError(f"--levels: {text!r} is not a list of whole percentages like 80,95") from None
    if not levels or any(not 0 < lv < 100 for lv in levels):
        raise CommandError("--levels: each level must be between 1 and 99")
    return levels


class Command(BaseCommand):
    help = "Forecast every series of a CSV file (series_id, period, value) and write the forecasts as CSV."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("input", type=Path, help="CSV with series_id, period (ISO date), value")
        parser.add_argument("--horizon", type=int, required=True, help="periods to forecast")
        parser.add_argument("--output", type=Path, required=True, help="CSV file to write")
        parser.add_argument("--season-length", type=int, default=None, help="default 12, 4 or 52 by frequency")
        parser.add_argument("--levels", default="80,95", help="prediction interval levels, default 80,95")
        parser.add_argument("--jobs", type=int, default=1, help="processes to use (default 1)")
        parser.add_argument(
            "--fill", choices=["zero", "interpolate"], default="zero", help="missing periods: no sales or interpolated"
        )

    def handle(self, *args, **options) -> None:
        import pandas as pd

        from forecasting.engine import forecast

        horizon = options["horizon"]
        if horizon < 1:
            raise CommandError("--horizon must be at least 1")
        if options["jobs"] < 1:
            raise CommandError("--jobs must be at least 1")
        if options["season_length"] is not None and options["season_length"] < 1:
            raise CommandError("--season-length must be at least 1")
        levels = parse_levels(options["levels"])
        ids, periods, values = read_series_csv(options["input"])
        frame = pd.DataFrame({"series_id": ids, "period": pd.to_datetime(periods), "value": values})
        try:
            result = forecast(
                frame,
                horizon=horizon,
                season_length=options["season_length"],
                levels=levels,
                jobs=options["jobs"],
                fill=options["fill"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc

        for row in result.errors.itertuples(index=False):
            self.stderr.write(f"series {row.series_id}: not forecast: {row.message}")
        out = result.forecasts.copy()
        out["period"] = pd.to_datetime(out["period"]).dt.strftime("%Y-%m-%d")
        numbers = [c for c in out.columns if c == "forecast" or c.startswith(("lo_", "hi_"))]
        out[numbers] = out[numbers].round(4)
        try:
            out.to_csv(options["output"], index=False, lineterminator="\n")
        except OSError as exc:
            raise CommandError(f"cannot write {options['output']}: {exc.strerror or exc}") from exc
        n_series = out["series_id"].nunique()
        failed = len(result.errors)
        kind = {"M": "monthly", "Q": "quarterly", "W": "weekly"}[result.freq]
        summary = f"Wrote {len(out)} rows for {n_series} series to {options['output']} ({kind}, horizon {horizon})"
        if failed:
            summary += f"; {failed} series could not be forecast (see above)"
        self.stdout.write(summary + ".")
