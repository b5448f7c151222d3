"""``manage.py forecast_csv``: CSV in, forecasts out, clear messages for bad files and bad series."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from io import StringIO

import numpy as np
import pytest
from django.core.management import CommandError, call_command

HEADER = ["series_id", "period", "forecast", "lo_80", "hi_80", "lo_95", "hi_95", "model"]


def write_csv(path, rows, header=("series_id", "period", "value")):
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def month_rows(sid, n, start=date(2022, 1, 1), seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        d = date(start.year + (start.month - 1 + i) // 12, (start.month - 1 + i) % 12 + 1, 1)
        rows.append((sid, d.isoformat(), round(100 + 20 * np.sin(2 * np.pi * i / 12) + rng.normal(0, 3), 2)))
    return rows


def run(tmp_path, rows, *args, header=("series_id", "period", "value")):
    src = write_csv(tmp_path / "in.csv", rows, header)
    dst = tmp_path / "out.csv"
    out, err = StringIO(), StringIO()
    call_command("forecast_csv", str(src), "--output", str(dst), *args, stdout=out, stderr=err)
    with dst.open(newline="") as handle:
        reader = csv.reader(handle)
        header_row = next(reader)
        body = list(reader)
    return header_row, body, out.getvalue(), err.getvalue()


def test_monthly_round_trip(tmp_path):
    rows = month_rows("007", 36) + month_rows("B", 30, seed=1)
    header, body, out, err = run(tmp_path, rows, "--horizon", "4")
    assert header == HEADER
    assert len(body) == 8 and err == ""
    first = [r for r in body if r[0] == "007"]  # ids are kept as text
    assert [r[1] for r in first] == ["2025-01-01", "2025-02-01", "2025-03-01", "2025-04-01"]
    for r in body:
        lo95, lo80, f, hi80, hi95 = float(r[5]), float(r[3]), float(r[2]), float(r[4]), float(r[6])
        assert lo95 <= lo80 <= f <= hi80 <= hi95
        assert r[7]
    assert "Wrote 8 rows for 2 series" in out and "monthly" in out


def test_quarterly_input_gives_quarterly_output(tmp_path):
    rows = []
    for i in range(20):
        d = date(2020 + i // 4, 3 * (i % 4) + 1, 1)
        rows.append(("q", d.isoformat(), 50 + 10 * (i % 4) + i))
    _, body, out, _ = run(tmp_path, rows, "--horizon", "3", "--season-length", "4")
    assert [r[1] for r in body] == ["2025-01-01", "2025-04-01", "2025-07-01"]
    assert "quarterly" in out


def test_weekly_input_gives_weekly_output(tmp_path):
    start = date(2024, 1, 1)  # a Monday
    rows = [("w", (start + timedelta(weeks=i)).isoformat(), 20 + (i % 5)) for i in range(40)]
    _, body, out, _ = run(tmp_path, rows, "--horizon", "2")
    last = start + timedelta(weeks=39)
    assert [r[1] for r in body] == [(last + timedelta(weeks=k)).isoformat() for k in (1, 2)]
    assert "weekly" in out


def test_levels_and_jobs_options(tmp_path):
    rows = [r for k in range(6) for r in month_rows(f"s{k}", 30, seed=k)]
    header, body, _, _ = run(tmp_path, rows, "--horizon", "2", "--levels", "50,90", "--jobs", "2")
    assert header == ["series_id", "period", "forecast", "lo_50", "hi_50", "lo_90", "hi_90", "model"]
    assert len(body) == 12


def test_series_that_cannot_be_forecast_go_to_stderr_and_the_rest_is_written(tmp_path):
    rows = [
        *month_rows("good", 24),
        ("odd", "2023-01-15", "4"),
        ("odd", "2023-02-01", "5"),
        ("blank", "2023-01-01", ""),
    ]
    _, body, out, err = run(tmp_path, rows, "--horizon", "2")
    assert {r[0] for r in body} == {"good"}
    assert "series odd: not forecast: period 2023-01-15 is not the first day of a month" in err
    assert "series blank: not forecast: no values" in err
    assert "2 series could not be forecast" in out


@pytest.mark.parametrize(
    ("rows", "header", "message"),
    [
        ([("a", "2024-01-01", "1")], ("series_id", "date", "value"), "missing column(s) period"),
        ([("a", "2024-01-01")], ("series_id", "period"), "missing column(s) value"),
        ([("a", "2024-01-01", "1"), ("a", "01/02/2024", "2")], None, "line 3: period '01/02/2024' is not an ISO date"),
        ([("a", "2024-01-01", "1"), ("a", "2024-02-01", "two")], None, "line 3: value 'two' is not a number"),
        ([("a", "2024-01-01", "1"), ("a", "2024-02-01", "inf")], None, "line 3: value 'inf' is not a finite number"),
        ([("", "2024-01-01", "1")], None, "line 2: empty series_id"),
        ([], None, "no data rows"),
    ],
)
def test_malformed_files_stop_with_the_line(tmp_path, rows, header, message):
    src = write_csv(tmp_path / "bad.csv", rows, header or ("series_id", "period", "value"))
    with pytest.raises(CommandError) as info:
        call_command("forecast_csv", str(src), "--horizon", "2", "--output", str(tmp_path / "o.csv"))
    assert message in str(info.value)
    assert not (tmp_path / "o.csv").exists()


def test_bad_options_and_undatable_files(tmp_path):
    src = write_csv(tmp_path / "in.csv", month_rows("a", 12))
    out = str(tmp_path / "o.csv")
    with pytest.raises(CommandError, match="horizon"):
        call_command("forecast_csv", str(src), "--horizon", "0", "--output", out)
    with pytest.raises(CommandError, match="levels"):
        call_command("forecast_csv", str(src), "--horizon", "1", "--levels", "80,x", "--output", out)
    with pytest.raises(CommandError, match="cannot read"):
        call_command("forecast_csv", str(tmp_path / "nope.csv"), "--horizon", "1", "--output", out)
    daily = write_csv(tmp_path / "daily.csv", [("a", f"2024-01-{d:02d}", d) for d in range(1, 20)])
    with pytest.raises(CommandError, match="cannot tell the frequency"):
        call_command("forecast_csv", str(daily), "--horizon", "1", "--output", out)
