"""Review: the payroll CSVs go to payroll's spreadsheet; text typed by people must not run as a formula there."""

import csv
import io

import pytest
from django.urls import reverse

from commissions import services
from commissions.models import StatementLine
from tests.commissions.test_views import statements  # noqa: F401  (shared fixture)


def _rows(response) -> list[dict[str, str]]:
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


@pytest.mark.django_db
def test_text_that_starts_like_a_formula_is_quoted_in_the_lines_csv(login, org, statements):  # noqa: F811
    # An order line's description is typed by the rep on the quote; an adjustment's note by a manager.
    StatementLine.objects.filter(statement=statements["mine"]).update(description='=HYPERLINK("http://x","pay")')
    services.statement_adjust(
        statement=statements["mine"], amount="5", note="+1 bonus=cmd|' /C calc'!A0", actor=org.manager
    )
    lines = _rows(login(org.admin).get(reverse("commissions:export-lines")))
    mine = [row for row in lines if row["rep_username"] == "rep"]
    descriptions = {row["description"] for row in mine if row["rule"] == "base"}
    assert descriptions == {'\'=HYPERLINK("http://x","pay")'}
    details = {row["detail"] for row in mine if row["rule"] == "adjustment"}
    assert details == {"'+1 bonus=cmd|' /C calc'!A0"}
    # Amounts stay numbers (a negative amount is not text to quote).
    assert all(not row["amount"].startswith("'") for row in lines)
