"""Exports of the latest run: CSV (streamed) and XLSX (next fiscal year by month, and the detail)."""

import csv
import io

import pytest
from openpyxl import load_workbook

from tests.forecasting.factories import stored_run


@pytest.fixture
def run(org):
    return stored_run(products=4, categories=2, regions=2, reps=[org.rep, org.rep_b])


@pytest.mark.django_db
def test_the_csv_streams_every_series_month_by_month(org, login, run):
    response = login(org.manager).get("/forecasting/export.csv")
    assert response.status_code == 200 and response.streaming
    assert response["Content-Disposition"] == f'attachment; filename="forecast-FY{run.fiscal_year}-run{run.pk}.csv"'
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == (1 + 2 + 4 + 2 + 2) * run.horizon
    assert [r["level"] for r in rows[:: run.horizon]][:4] == ["total", "category", "category", "product"]
    first = rows[0]
    assert first["fiscal_year"] == f"FY{run.fiscal_year - 1}" and first["model"] == "ETS(A,N,A)"
    assert float(first["lo_95"]) <= float(first["lo_80"]) <= float(first["forecast"]) <= float(first["hi_80"])
    product = next(r for r in rows if r["level"] == "product")
    assert product["category"].startswith("Category ")


@pytest.mark.django_db
def test_a_formula_in_a_name_is_not_run_by_the_spreadsheet(org, login, run):
    run.series.filter(level="region", key="Region 0").update(label="=HYPERLINK(1)")
    text = b"".join(login(org.admin).get("/forecasting/export.csv").streaming_content).decode()
    assert "'=HYPERLINK(1)" in text


@pytest.mark.django_db
def test_the_xlsx_has_the_next_fiscal_year_by_month_and_the_detail(org, login, run):
    response = login(org.manager).get("/forecasting/export.xlsx")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    assert book.sheetnames == [f"FY{run.fiscal_year}", "Detail"]
    wide = list(book[f"FY{run.fiscal_year}"].values)
    assert wide[0][:4] == ("Level", "Series", "Category", "Jan " + str(run.fiscal_year))
    assert len(wide) == 1 + 11  # header + total, 2 categories, 4 products, 2 regions, 2 reps
    total = wide[1]
    assert total[0] == "total" and total[15] == pytest.approx(sum(total[3:15]), abs=0.1)
    assert total[16] <= total[15] <= total[17]  # the year's 80 % range around its forecast
    detail = list(book["Detail"].values)
    assert len(detail) == 1 + 11 * run.horizon


@pytest.mark.django_db
def test_a_reps_export_holds_only_their_series(org, login, run):
    text = b"".join(login(org.rep).get("/forecasting/export.csv").streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {(r["level"], r["key"]) for r in rows} == {("rep", str(org.rep.pk))}
    book = load_workbook(io.BytesIO(b"".join(login(org.rep_b).get("/forecasting/export.xlsx").streaming_content)))
    assert [row[0] for row in list(book.worksheets[0].values)[1:]] == ["rep"]


@pytest.mark.django_db
def test_no_finished_run_no_export(org, login):
    assert login(org.manager).get("/forecasting/export.csv").status_code == 404
    assert login(org.manager).get("/forecasting/export.pdf").status_code == 404
