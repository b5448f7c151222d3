"""The commissions API over HTTP: statements scoped by role (a colleague's answers 404), approve and adjust,
the compute job, plans, splits, the opportunity estimate, and payments on orders."""

from decimal import Decimal

import pytest

from commissions import services
from commissions.models import CommissionSplit, Plan, Statement
from tests.commissions.factories import open_opportunity
from tests.commissions.test_services import THIS_MONTH, make_plan

D = Decimal


@pytest.fixture
def statements(org, shop, confirmed):
    make_plan(org, users=[org.rep, org.rep_b, org.rep_other])
    order = confirmed([(shop.aurora, 1), (shop.manual, 2)])
    return {
        "order": order,
        "mine": services.statement_compute(rep=org.rep, period=THIS_MONTH),
        "theirs": services.statement_compute(rep=org.rep_b, period=THIS_MONTH),
        "other": services.statement_compute(rep=org.rep_other, period=THIS_MONTH),
    }


def test_a_rep_lists_and_reads_their_own_statement_with_traceable_lines(api, org, statements):
    client = api(org.rep)
    listed = client.get("/api/commission-statements/").json()["results"]
    assert [row["id"] for row in listed] == [statements["mine"].pk]
    detail = client.get(f"/api/commission-statements/{statements['mine'].pk}/").json()
    assert detail["total"] == "31.20" and len(detail["lines"]) == 2
    line = detail["lines"][0]
    assert line["order"] == statements["order"].pk and line["order_number"] == statements["order"].number
    assert line["ledger_entry"] and line["order_line"] and line["rule"] == "base" and line["rate"] == "3.0000"


def test_a_rep_gets_404_on_a_colleagues_statement_and_403_on_actions(api, org, statements):
    client = api(org.rep)
    assert client.get(f"/api/commission-statements/{statements['theirs'].pk}/").status_code == 404
    assert client.get(f"/api/commission-statements/{statements['other'].pk}/").status_code == 404
    assert client.post(f"/api/commission-statements/{statements['mine'].pk}/approve/").status_code == 403
    response = client.post(f"/api/commission-statements/{statements['mine'].pk}/adjust/", {"amount": "5", "note": "x"})
    assert response.status_code == 403
    assert api(None).get("/api/commission-statements/").status_code == 401


def test_a_manager_approves_the_teams_statement_and_an_approved_one_is_locked(api, org, statements):
    client = api(org.manager)
    ids = {row["id"] for row in client.get("/api/commission-statements/").json()["results"]}
    assert ids == {statements["mine"].pk, statements["theirs"].pk}
    assert client.get(f"/api/commission-statements/{statements['other'].pk}/").status_code == 404
    url = f"/api/commission-statements/{statements['mine'].pk}/"
    response = client.post(f"{url}adjust/", {"amount": "-1.20", "note": "Rounding agreed with payroll"}, format="json")
    assert response.status_code == 201 and response.json()["total"] == "30.00"
    response = client.post(f"{url}adjust/", {"amount": "3"}, format="json")
    assert response.status_code == 400
    assert client.post(f"{url}approve/").json()["status"] == "approved"
    assert client.post(f"{url}approve/").status_code == 409
    assert client.post(f"{url}adjust/", {"amount": "1", "note": "late"}, format="json").status_code == 409


def test_filters_and_the_compute_job(api, org, statements, django_capture_on_commit_callbacks):
    admin = api(org.admin)
    rows = admin.get("/api/commission-statements/", {"period": f"{THIS_MONTH:%Y-%m}", "rep": org.rep_b.pk}).json()
    assert [row["id"] for row in rows["results"]] == [statements["theirs"].pk]
    assert admin.get("/api/commission-statements/", {"period": "soon"}).status_code == 400
    assert api(org.rep).post("/api/commission-statements/compute/", {}, format="json").status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        response = api(org.manager).post(
            "/api/commission-statements/compute/", {"first": str(THIS_MONTH), "last": str(THIS_MONTH)}, format="json"
        )
    assert response.status_code == 202
    job = api(org.manager).get(response.json()["url"]).json()
    assert job["status"] == "succeeded" and job["result"]["computed"] == 2


def test_plans_over_the_api(api, org, shop):
    body = {
        "name": "API plan",
        "basis": "delivery",
        "effective_from": "2026-01-01",
        "base_rate": "2.5",
        "users": [org.rep.pk],
        "tiers": [{"threshold": "0", "rate": "2"}, {"threshold": "80", "rate": "4"}],
        "category_rates": [{"category": shop.books.pk, "rate": "9"}],
        "spifs": [
            {"product": shop.aurora.pk, "amount_per_unit": "50", "starts_on": "2026-03-01", "ends_on": "2026-03-31"}
        ],
    }
    assert api(org.rep).post("/api/commission-plans/", body, format="json").status_code == 403
    assert api(org.rep).get("/api/commission-plans/").status_code == 403
    response = api(org.manager).post("/api/commission-plans/", body, format="json")
    assert response.status_code == 201, response.json()
    plan = response.json()
    assert plan["tiers"] == [{"threshold": "0.00", "rate": "2.000"}, {"threshold": "80.00", "rate": "4.000"}]
    assert plan["users"] == [org.rep.pk] and plan["spifs"][0]["amount_per_unit"] == "50.00"
    body["tiers"][1]["rate"] = "1"
    response = api(org.manager).put(f"/api/commission-plans/{plan['id']}/", body, format="json")
    assert response.status_code == 400 and "may only go up" in str(response.json())
    assert api(org.manager_b).put(f"/api/commission-plans/{plan['id']}/", body, format="json").status_code == 403
    assert Plan.objects.get(pk=plan["id"]).tiers.count() == 2


def test_splits_over_the_api(api, org, shop, confirmed):
    order = confirmed([(shop.aurora, 1)])
    body = {"order": order.pk, "splits": [{"rep": org.rep.pk, "percent": "75"}, {"rep": org.rep_b.pk, "percent": "25"}]}
    assert api(org.rep).post("/api/commission-splits/set/", body, format="json").status_code == 403
    assert api(org.manager_b).post("/api/commission-splits/set/", body, format="json").status_code == 404
    response = api(org.manager).post("/api/commission-splits/set/", body, format="json")
    assert response.status_code == 200 and [row["percent"] for row in response.json()] == ["75.00", "25.00"]
    bad = {**body, "splits": [{"rep": org.rep.pk, "percent": "75"}]}
    assert api(org.manager).post("/api/commission-splits/set/", bad, format="json").status_code == 400
    listed = api(org.rep).get("/api/commission-splits/", {"order": order.pk}).json()["results"]
    assert len(listed) == 2
    assert api(org.rep_other).get("/api/commission-splits/", {"order": order.pk}).json()["results"] == []
    assert CommissionSplit.objects.filter(order=order).count() == 2


def test_the_estimate_of_an_open_opportunity(api, org, shop):
    make_plan(org, base_rate=D("5"))
    opportunity = open_opportunity(org.rep, amount=D("1200"))
    response = api(org.rep).get(f"/api/commission-estimates/{opportunity.pk}/")
    assert response.status_code == 200
    data = response.json()
    assert data["total"] == "60.00" and data["plans"][0]["plan_name"] == "Plan" and data["rep"] == org.rep.pk
    assert api(org.rep_b).get(f"/api/commission-estimates/{opportunity.pk}/").status_code == 404
    assert api(org.manager).get(f"/api/commission-estimates/{opportunity.pk}/").json()["total"] == "60.00"


def test_payments_on_orders_over_the_api(api, org, shop, confirmed):
    order = confirmed([(shop.aurora, 1)])
    url = f"/api/orders/{order.pk}/payments/"
    body = {"amount": "100.00", "received_on": str(order.ordered_on), "reference": "SEPA 42"}
    assert api(org.rep).post(url, body, format="json").status_code == 403
    response = api(org.manager).post(url, body, format="json")
    assert response.status_code == 201 and response.json()["amount"] == "100.00"
    too_much = {**body, "amount": str(order.total)}
    response = api(org.manager).post(url, too_much, format="json")
    assert response.status_code == 400 and "open" in str(response.json())
    assert [p["reference"] for p in api(org.rep).get(url).json()] == ["SEPA 42"]
    assert api(org.rep_b).get(url).status_code == 404


def test_statement_status_choices_in_the_schema(api, org):
    schema = api(org.admin).get("/api/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    assert "/api/commission-statements/{id}/approve/" in schema.content.decode()
    assert Statement.Status.APPROVED in schema.content.decode()
