"""The commission pages: who sees which statement, the actions, the CSV exports, the plan editor and the panels
on the order and opportunity pages."""

import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from commissions import calculator, services
from commissions.models import Plan, Statement
from orders.models import Payment
from tests.commissions.factories import open_opportunity
from tests.commissions.test_services import THIS_MONTH, make_plan

D = Decimal


@pytest.fixture
def statements(org, shop, confirmed):
    """A plan for rep and rep_b; a statement each (rep has one sale, rep_b none)."""
    make_plan(org, users=[org.rep, org.rep_b, org.rep_other])
    order = confirmed([(shop.aurora, 1)])
    mine = services.statement_compute(rep=org.rep, period=THIS_MONTH)
    theirs = services.statement_compute(rep=org.rep_b, period=THIS_MONTH)
    other = services.statement_compute(rep=org.rep_other, period=THIS_MONTH)
    return {"mine": mine, "theirs": theirs, "other": other, "order": order}


def test_a_rep_sees_their_statement_with_its_lines_and_links_to_the_order(login, org, statements):
    page = login(org.rep).get(reverse("commissions:statement-detail", args=[statements["mine"].pk]))
    assert page.status_code == 200
    html = page.content.decode()
    order = statements["order"]
    assert reverse("orders:order-detail", args=[order.pk]) in html
    assert "€30.00" in html and "Base rate" in html
    assert "Approve and lock" not in html and "Add an adjustment" not in html


def test_a_rep_cannot_open_a_colleagues_statement_nor_find_it_in_the_list(login, org, statements):
    client = login(org.rep)
    assert client.get(reverse("commissions:statement-detail", args=[statements["theirs"].pk])).status_code == 404
    assert client.get(reverse("commissions:statement-detail", args=[statements["other"].pk])).status_code == 404
    listing = client.get(reverse("commissions:statement-list")).content.decode()
    assert reverse("commissions:statement-detail", args=[statements["mine"].pk]) in listing
    assert reverse("commissions:statement-detail", args=[statements["theirs"].pk]) not in listing
    assert client.post(reverse("commissions:statement-approve", args=[statements["theirs"].pk])).status_code == 404


def test_a_manager_sees_the_teams_statements_only_and_approves_them(login, org, statements):
    client = login(org.manager)
    listing = client.get(reverse("commissions:statement-list")).content.decode()
    for key in ("mine", "theirs"):
        assert reverse("commissions:statement-detail", args=[statements[key].pk]) in listing
    assert reverse("commissions:statement-detail", args=[statements["other"].pk]) not in listing
    assert client.get(reverse("commissions:statement-detail", args=[statements["other"].pk])).status_code == 404
    page = client.get(reverse("commissions:statement-detail", args=[statements["mine"].pk])).content.decode()
    assert "Approve and lock" in page
    response = client.post(reverse("commissions:statement-approve", args=[statements["mine"].pk]), follow=True)
    assert "approved" in response.content.decode()
    statements["mine"].refresh_from_db()
    assert statements["mine"].status == Statement.Status.APPROVED
    assert (
        "Approve and lock"
        not in client.get(reverse("commissions:statement-detail", args=[statements["mine"].pk])).content.decode()
    )


def test_a_rep_cannot_approve_their_own_statement(login, org, statements):
    client = login(org.rep)
    response = client.post(reverse("commissions:statement-approve", args=[statements["mine"].pk]), follow=True)
    assert response.status_code == 200
    statements["mine"].refresh_from_db()
    assert statements["mine"].status == Statement.Status.DRAFT


def test_an_adjustment_needs_a_note_and_lands_on_the_statement(login, org, statements):
    client = login(org.manager)
    url = reverse("commissions:statement-adjust", args=[statements["mine"].pk])
    response = client.post(url, {"amount": "15", "note": ""})
    assert response.status_code == 400
    client.post(url, {"amount": "-5.50", "note": "Demo unit returned to stock"})
    statements["mine"].refresh_from_db()
    assert statements["mine"].adjustments == D("-5.50") and statements["mine"].total == D("24.50")
    page = client.get(reverse("commissions:statement-detail", args=[statements["mine"].pk])).content.decode()
    assert "Demo unit returned to stock" in page


def test_compute_starts_a_job_for_managers_only(login, org, statements, django_capture_on_commit_callbacks):
    url = reverse("commissions:statement-compute")
    month = f"{THIS_MONTH:%Y-%m}"
    rep = login(org.rep)
    rep.post(url, {"first": month, "last": month})
    from sfa.models import Job

    assert not Job.objects.filter(kind=services.JOB_KIND).exists()
    manager = login(org.manager)
    with django_capture_on_commit_callbacks(execute=True):
        response = manager.post(url, {"first": month, "last": month})
    job = Job.objects.get(kind=services.JOB_KIND)
    assert response.status_code == 302 and response.url == reverse("job-detail", args=[job.pk])
    job.refresh_from_db()
    assert job.status == "succeeded" and job.result["computed"] == 2  # rep and rep_b: the manager's team


def test_payroll_and_lines_csv_follow_the_statements_the_user_sees(login, org, statements):
    client = login(org.rep)
    payroll = client.get(reverse("commissions:export-payroll"))
    rows = list(csv.reader(io.StringIO(b"".join(payroll.streaming_content).decode())))
    assert rows[0][:3] == ["rep_username", "rep_name", "period"]
    assert [r[0] for r in rows[1:]] == ["rep"] and rows[1][-3] == "30.00"
    lines = client.get(reverse("commissions:export-lines"))
    rows = list(csv.reader(io.StringIO(b"".join(lines.streaming_content).decode())))
    header, body = rows[0], rows[1:]
    assert len(body) == 1
    line = dict(zip(header, body[0], strict=True))
    assert line["order"] == statements["order"].number and line["rule"] == "base" and line["amount"] == "30.00"
    assert line["ledger_entry_id"] and line["order_line_id"]
    admin = login(org.admin)
    everyone = list(
        csv.reader(io.StringIO(b"".join(admin.get(reverse("commissions:export-payroll")).streaming_content).decode()))
    )
    assert {r[0] for r in everyone[1:]} == {"rep", "rep_b", "rep_other"}


def test_a_negative_month_shows_its_carried_balance_on_the_page_and_in_payroll(login, org, statements):
    services.statement_adjust(statement=statements["mine"], amount="-50", note="Advance", actor=org.manager)
    client = login(org.manager)
    page = client.get(reverse("commissions:statement-detail", args=[statements["mine"].pk])).content.decode()
    assert "Carried forward" in page and "Negative balance of -20.00 carried to the next statement" in page
    payroll = client.get(reverse("commissions:export-payroll"))
    rows = list(csv.reader(io.StringIO(b"".join(payroll.streaming_content).decode())))
    row = dict(zip(rows[0], next(r for r in rows[1:] if r[0] == "rep"), strict=True))
    assert (row["adjustments"], row["carried_in"], row["carried_out"], row["total"]) == (
        "-50.00",
        "0.00",
        "20.00",
        "0.00",
    )


def test_plans_are_for_managers_and_admins(login, org):
    assert login(org.rep).get(reverse("commissions:plan-list")).status_code == 403
    client = login(org.manager)
    assert client.get(reverse("commissions:plan-list")).status_code == 200
    data = {
        "name": "Autumn push",
        "description": "",
        "basis": "booking",
        "effective_from": "2026-09-01",
        "effective_to": "",
        "base_rate": "3",
        "cap_amount": "",
        "clawback_days": "60",
        "is_active": "on",
        "users": [org.rep.pk],
        "teams": [],
        "tiers-TOTAL_FORMS": "2",
        "tiers-INITIAL_FORMS": "0",
        "tiers-0-threshold": "0",
        "tiers-0-rate": "2",
        "tiers-1-threshold": "100",
        "tiers-1-rate": "1",
        "rates-TOTAL_FORMS": "0",
        "rates-INITIAL_FORMS": "0",
        "spifs-TOTAL_FORMS": "0",
        "spifs-INITIAL_FORMS": "0",
    }
    response = client.post(reverse("commissions:plan-create"), data)
    assert response.status_code == 400 and "may only go up" in response.content.decode()
    data["tiers-1-rate"] = "6"
    response = client.post(reverse("commissions:plan-create"), data)
    assert response.status_code == 302
    plan = Plan.objects.get(name="Autumn push")
    assert [(t.threshold, t.rate) for t in plan.tiers.order_by("threshold")] == [(0, 2), (100, 6)]
    assert client.get(reverse("commissions:plan-edit", args=[plan.pk])).status_code == 200
    assert login(org.manager_b).get(reverse("commissions:plan-edit", args=[plan.pk])).status_code == 403


def test_the_order_page_shows_the_split_and_payments_and_the_manager_splits_the_deal(login, org, shop, confirmed):
    order = confirmed([(shop.aurora, 1)])
    page = login(org.rep).get(reverse("orders:order-detail", args=[order.pk])).content.decode()
    assert "Commission" in page and "credited in full" in page
    assert "Split this deal" not in page and "Record payment" not in page
    client = login(org.manager)
    page = client.get(reverse("orders:order-detail", args=[order.pk])).content.decode()
    assert "Split this deal" in page and "Record payment" in page
    client.post(
        reverse("commissions:order-split", args=[order.pk]),
        {
            "rep-1": org.rep.pk,
            "percent-1": "60",
            "rep-2": org.rep_b.pk,
            "percent-2": "40",
            "rep-3": "",
            "percent-3": "",
        },
    )
    assert sorted(order.commission_splits.values_list("percent", flat=True)) == [D("40"), D("60")]
    client.post(
        reverse("orders:order-payment", args=[order.pk]),
        {"amount": "500.00", "received_on": f"{order.ordered_on:%Y-%m-%d}", "reference": "TX-1"},
    )
    assert Payment.objects.get(order=order).amount == D("500.00")
    assert login(org.manager_b).post(reverse("commissions:order-split", args=[order.pk]), {}).status_code == 404


def test_the_opportunity_page_tells_the_rep_what_the_deal_would_earn(login, org, shop, confirmed):
    make_plan(org, base_rate=D("4"))
    opportunity = open_opportunity(org.rep, lines=[(shop.aurora, 2, D("1000"))])
    page = login(org.rep).get(reverse("leads:opportunity-detail", args=[opportunity.pk])).content.decode()
    assert "If it closes this month" in page and "€80.00" in page
    page = login(org.rep_b).get(reverse("leads:opportunity-detail", args=[opportunity.pk]))
    assert page.status_code == 404


def test_the_list_filters_by_month_and_refuses_a_bad_one(login, org, statements):
    client = login(org.admin)
    month = f"{THIS_MONTH:%Y-%m}"
    last = f"{calculator.month_add(THIS_MONTH, -1):%Y-%m}"
    assert (
        "No statement matches" in client.get(reverse("commissions:statement-list"), {"period": last}).content.decode()
    )
    html = client.get(reverse("commissions:statement-list"), {"period": month}).content.decode()
    assert html.count("badge-statement-draft") == 3
    assert client.get(reverse("commissions:statement-list"), {"period": "March"}).status_code == 400
