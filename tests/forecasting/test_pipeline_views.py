"""The pipeline forecast page, its HTMX Adjust form, and the quota pages: what each role sees and may do."""

import json
import re
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from forecasting.models import Adjustment, Quota
from sfa.models import Team

PAGE = reverse("forecasting:pipeline")
ADJUST = reverse("forecasting:pipeline-adjust")
Q2 = "FY2026-Q2"


def page(client, **params):
    return client.get(PAGE, {"period": Q2, **params})


def test_the_manager_sees_charts_attainment_and_the_roll_up(pipeline_sales, login):
    org = pipeline_sales.org
    response = page(login(org.manager))
    assert response.status_code == 200
    html = response.content.decode()
    assert "vendor/plotly.min.js" in html and 'id="pl-stage-data"' in html and 'id="pl-trend-data"' in html
    stage_data = json.loads(re.search(r'id="pl-stage-data"[^>]*>(.*?)</script>', html, re.S).group(1))
    assert "Negotiation" in stage_data["stages"] and stage_data["won"]["amount"] == 3000.0
    for name in ("Rita Northrep", "Tomas Secondrep", "Marc Northboss", "North"):
        assert name in html
    assert "Lena Southrep" not in html
    assert "€13,600" in html and "€33,600" not in html  # North's commit, not Europe's
    assert 'aria-valuenow="50.0"' in html  # Rita: 15,000 of 30,000
    assert html.count("pl-adjust-btn") == 3  # Rita, Tomas and North; not the manager's own row
    assert "<caption" in html  # tables for screen readers beside the charts


def test_a_rep_never_sees_a_colleagues_numbers(pipeline_sales, login):
    org = pipeline_sales.org
    from forecasting.services_pipeline import adjustment_create

    adjustment_create(actor=org.manager, user=org.rep, period=pipeline_sales.period, amount=9000, note="Budget wait")
    adjustment_create(actor=org.manager, user=org.rep_b, period=pipeline_sales.period, amount=1234, note="Secret")
    html = page(login(org.rep)).content.decode()
    assert "Rita Northrep" in html and "€9,000" in html and "Budget wait" in html  # and who set it
    for hidden in (
        "Tomas Secondrep",
        "€3,600",
        "Secret",
        "€1,234",
        "Lena Southrep",
        "North</strong>",
    ):
        assert hidden not in html, hidden
    assert "pl-adjust-btn" not in html


def test_a_manager_of_another_team_sees_none_of_it(pipeline_sales, login):
    org = pipeline_sales.org
    html = page(login(org.manager_b)).content.decode()
    assert "Lena Southrep" in html
    for hidden in ("Rita Northrep", "Tomas Secondrep", "€10,000"):
        assert hidden not in html


def test_adjust_with_htmx_form_then_post_updates_the_roll_up(pipeline_sales, login):
    org = pipeline_sales.org
    client = login(org.manager)
    form = client.get(ADJUST, {"user": org.rep.pk, "period": Q2}, headers={"HX-Request": "true"})
    assert form.status_code == 200
    html = form.content.decode()
    assert html.lstrip().startswith('<tr id="adjust-form-user-')
    for field in ('name="category"', 'name="amount"', 'name="note"', 'name="user"', 'name="period"'):
        assert field in html
    assert 'value="10000.00"' in html  # starts from the standing number
    posted = client.post(
        ADJUST,
        {"user": org.rep.pk, "period": Q2, "category": "commit", "amount": "8500", "note": "PO expected in July"},
        headers={"HX-Request": "true"},
    )
    assert posted.status_code == 200
    body = posted.content.decode()
    assert 'id="pipeline-rollup"' in body and "€8,500" in body and "PO expected in July" in body
    assert 'id="pipeline-stats" hx-swap-oob="true"' in body
    adjustment = Adjustment.objects.get()
    assert (adjustment.user, adjustment.amount, adjustment.raw_amount) == (
        org.rep,
        Decimal("8500.00"),
        Decimal("10000.00"),
    )


def test_an_adjustment_without_a_note_comes_back_with_the_error(pipeline_sales, login):
    org = pipeline_sales.org
    response = login(org.manager).post(
        ADJUST,
        {"user": org.rep.pk, "period": Q2, "category": "commit", "amount": "8500", "note": " "},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 400
    assert response["HX-Retarget"] == f"#adjust-form-user-{org.rep.pk}"
    assert "note" in response.content.decode().lower() and not Adjustment.objects.exists()


def test_adjust_without_javascript_redirects_to_the_page(pipeline_sales, login):
    org = pipeline_sales.org
    client = login(org.director)
    north = Team.objects.get(name="North")
    assert client.get(ADJUST, {"team": north.pk, "period": Q2}).status_code == 200
    response = client.post(
        ADJUST, {"team": north.pk, "period": Q2, "category": "best_case", "amount": "6000", "note": "Tender likely"}
    )
    assert response.status_code == 302 and response.url == f"{PAGE}?period={Q2}"
    assert Adjustment.objects.get().team == north


@pytest.mark.parametrize(
    ("actor", "params", "status"),
    [
        ("rep", {"user": "rep"}, 403),
        ("rep", {"user": "rep_b"}, 404),
        ("manager", {"user": "manager"}, 403),
        ("manager", {"user": "rep_other"}, 404),
        ("manager", {"team": "South"}, 404),
        ("manager_b", {"user": "rep"}, 404),
    ],
)
def test_adjust_is_refused_outside_ones_teams(pipeline_sales, login, actor, params, status):
    org = pipeline_sales.org
    ids = {k: (getattr(org, v).pk if k == "user" else Team.objects.get(name=v).pk) for k, v in params.items()}
    client = login(getattr(org, actor))
    assert client.get(ADJUST, {**ids, "period": Q2}).status_code == status
    data = {**ids, "period": Q2, "category": "commit", "amount": "1", "note": "x"}
    assert client.post(ADJUST, data).status_code == status
    assert not Adjustment.objects.exists()


def test_a_bad_period_answers_400(org, login):
    assert login(org.rep).get(PAGE, {"period": "2026-13"}).status_code == 400


def test_the_page_takes_few_queries_and_the_default_period_renders(
    pipeline_sales, login, django_assert_max_num_queries
):
    org = pipeline_sales.org
    client = login(org.admin)
    assert client.get(PAGE).status_code == 200
    with django_assert_max_num_queries(18):
        assert page(client).status_code == 200


def test_quota_pages_list_create_edit_delete(pipeline_sales, login):
    org = pipeline_sales.org
    client = login(org.manager)
    listing = client.get(reverse("forecasting:quota-list"), {"year": "FY2026"})
    html = listing.content.decode()
    assert listing.status_code == 200 and "Rita Northrep" in html and "Lena Southrep" not in html
    assert "50%" in html  # Rita booked 15,000 of 30,000 in Q2
    created = client.post(
        reverse("forecasting:quota-create"), {"target": f"user-{org.rep_b.pk}", "period": "FY2027", "amount": "200000"}
    )
    assert created.status_code == 302
    quota = Quota.objects.get(user=org.rep_b)
    assert (quota.period_start, quota.period_end) == (date(2027, 1, 1), date(2027, 12, 31))
    refused = client.post(
        reverse("forecasting:quota-create"), {"target": f"user-{org.rep_other.pk}", "period": "FY2027", "amount": "1"}
    )
    assert refused.status_code == 400 and not Quota.objects.filter(user=org.rep_other, amount=1).exists()
    edit = reverse("forecasting:quota-edit", args=[quota.pk])
    assert client.post(edit, {"amount": "210000", "note": "More"}).status_code == 302
    quota.refresh_from_db()
    assert quota.amount == Decimal("210000.00")
    assert client.post(reverse("forecasting:quota-delete", args=[quota.pk])).status_code == 302
    assert not Quota.objects.filter(pk=quota.pk).exists()


def test_a_rep_reads_their_quota_and_changes_nothing(pipeline_sales, login):
    org = pipeline_sales.org
    client = login(org.rep)
    own = Quota.objects.get(user=org.rep)
    other = Quota.objects.get(user=org.rep_other)
    html = client.get(reverse("forecasting:quota-list"), {"year": "FY2026"}).content.decode()
    assert "Rita Northrep" in html and "Lena Southrep" not in html and "New quota" not in html
    assert client.get(reverse("forecasting:quota-create")).status_code == 403
    assert client.post(reverse("forecasting:quota-edit", args=[own.pk]), {"amount": "1"}).status_code == 403
    assert client.post(reverse("forecasting:quota-delete", args=[other.pk])).status_code == 404


@pytest.mark.parametrize("role", ["rep", "manager", "director", "admin", "marketing"])
@pytest.mark.parametrize("url", [PAGE, reverse("forecasting:quota-list")])
def test_the_pages_render_for_every_role_with_no_data(org, login, role, url):
    response = login(getattr(org, role)).get(url)
    assert response.status_code == 200 and b"Pipeline forecast" in response.content
