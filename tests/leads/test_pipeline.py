"""The pipeline: stage history through every entry path (form, API, board), the rules of a move, the
board, list, opportunity and report pages over HTTP, the API, and the report arithmetic."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from leads import reports
from leads.models import ForecastCategory, Opportunity, OpportunityLine, Pipeline, Stage, StageChange
from leads.services import opportunity_create, opportunity_move, opportunity_update

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def at(year: int, month: int, day: int, hour: int = 10) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def history(opportunity: Opportunity) -> list[StageChange]:
    return list(opportunity.history.order_by("at", "id"))


# --- Services: every tracked change is recorded, whatever the entry path ----------------------------


def test_every_tracked_change_is_recorded_with_who_when_and_via(org, pipeline_deal, pipeline_stages):
    deal = pipeline_deal("Fleet of 10 Aurora", amount=100_000)
    (created,) = history(deal)
    assert (created.via, created.by, created.from_stage, created.to_stage) == (
        "form",
        org.rep,
        None,
        pipeline_stages["Prospecting"],
    )
    assert created.changes["amount"] == [None, "100000.00"]

    opportunity_update(opportunity=deal, actor=org.rep, data={"amount": "95000"}, via="api")
    opportunity_update(opportunity=deal, actor=org.rep, data={"probability": 15}, via="form")
    opportunity_update(opportunity=deal, actor=org.rep, data={"expected_close": date(2027, 3, 1)}, via="form")
    opportunity_update(opportunity=deal, actor=org.rep, data={"forecast_category": "best_case"}, via="api")
    opportunity_move(opportunity=deal, stage=pipeline_stages["Qualification"], actor=org.rep, via="board")
    opportunity_update(opportunity=deal, actor=org.rep, data={"next_step": "Demo", "name": "Fleet"}, via="form")

    rows = history(deal)
    assert [(r.via, list(r.changes)) for r in rows[1:]] == [
        ("api", ["amount"]),
        ("form", ["probability"]),
        ("form", ["expected_close"]),
        ("api", ["forecast_category"]),
        ("board", ["stage_id", "probability", "forecast_category"]),  # the stage brings both
    ]
    assert rows[1].changes["amount"] == ["100000.00", "95000.00"]
    assert rows[3].changes["expected_close"][1] == "2027-03-01"
    move = rows[-1]
    assert (move.from_stage, move.to_stage, move.by) == (
        pipeline_stages["Prospecting"],
        pipeline_stages["Qualification"],
        org.rep,
    )
    assert move.changes["probability"] == [15, 20]
    assert all(r.by == org.rep for r in rows)  # the untracked next step and name made no row


def test_a_move_brings_the_stage_probability_and_category_unless_given(org, pipeline_deal, pipeline_stages):
    deal = pipeline_deal("Desks")
    opportunity_update(opportunity=deal, actor=org.rep, data={"stage": pipeline_stages["Negotiation"]})
    deal.refresh_from_db()
    assert (deal.probability, deal.forecast_category) == (80, ForecastCategory.COMMIT)
    opportunity_update(opportunity=deal, actor=org.rep, data={"stage": pipeline_stages["Proposal"], "probability": 75})
    deal.refresh_from_db()
    assert (deal.probability, deal.forecast_category) == (75, ForecastCategory.BEST_CASE)


def test_a_lost_deal_needs_a_reason(org, pipeline_deal, pipeline_stages):
    deal = pipeline_deal("Chairs")
    with pytest.raises(ValidationError) as caught:
        opportunity_move(opportunity=deal, stage=pipeline_stages["Closed lost"], actor=org.rep)
    assert "lost_reason" in caught.value.message_dict
    deal.refresh_from_db()
    assert deal.stage == pipeline_stages["Prospecting"]
    assert len(history(deal)) == 1

    opportunity_move(
        opportunity=deal, stage=pipeline_stages["Closed lost"], actor=org.rep, lost_reason="Chose a competitor"
    )
    deal.refresh_from_db()
    assert (deal.stage, deal.lost_reason, deal.probability) == (pipeline_stages["Closed lost"], "Chose a competitor", 0)
    assert deal.closed_at is not None
    assert history(deal)[-1].via == "board"


def test_a_stage_of_another_pipeline_is_refused(org, pipeline_deal, pipeline_stages):
    service = Pipeline.objects.create(name="Service contracts")
    other = Stage.objects.create(
        pipeline=service, name="Quoted", order=1, probability=50, forecast_category=ForecastCategory.BEST_CASE
    )
    deal = pipeline_deal("Wallboxes")
    with pytest.raises(ValidationError) as caught:
        opportunity_move(opportunity=deal, stage=other, actor=org.rep)
    assert "stage" in caught.value.message_dict
    with pytest.raises(ValidationError):
        opportunity_create(
            actor=org.rep, name="Mixed", expected_close=date(2027, 1, 1), pipeline=pipeline_stages["Proposal"].pipeline,
            stage=other,
        )  # fmt: skip
    assert len(history(deal)) == 1


def test_a_rep_cannot_move_a_colleagues_opportunity(org, pipeline_deal, pipeline_stages):
    deal = pipeline_deal("Their deal", owner=org.rep_b)
    with pytest.raises(PermissionDenied):
        opportunity_move(opportunity=deal, stage=pipeline_stages["Qualification"], actor=org.rep)
    deal.refresh_from_db()
    assert deal.stage == pipeline_stages["Prospecting"]
    assert len(history(deal)) == 1


def test_a_manager_moves_their_teams_opportunity_and_not_another_teams(org, pipeline_deal, pipeline_stages):
    mine = pipeline_deal("North deal", owner=org.rep)
    south = pipeline_deal("South deal", owner=org.rep_other)
    opportunity_move(opportunity=mine, stage=pipeline_stages["Proposal"], actor=org.manager)
    assert history(mine)[-1].by == org.manager
    with pytest.raises(PermissionDenied):
        opportunity_move(opportunity=south, stage=pipeline_stages["Proposal"], actor=org.manager)
    opportunity_move(opportunity=south, stage=pipeline_stages["Proposal"], actor=org.director)  # Europe: both
    assert history(south)[-1].by == org.director


def test_at_back_dates_the_history_and_the_close(org, pipeline_deal, pipeline_stages):
    deal = pipeline_deal("Old deal", at=at(2025, 6, 1))
    opportunity_update(
        opportunity=deal, actor=org.rep, data={"stage": pipeline_stages["Closed won"]}, at=at(2025, 7, 15)
    )
    deal.refresh_from_db()
    assert deal.created_at == at(2025, 6, 1)
    assert deal.closed_at == at(2025, 7, 15)
    assert [r.at for r in history(deal)] == [at(2025, 6, 1), at(2025, 7, 15)]


# --- The board -------------------------------------------------------------------------------------


def _column(html: str, stage: Stage) -> str:
    start = html.index(f'id="col-{stage.pk}"')
    end = html.find("</section>", start)
    return html[start:end]


def test_the_board_shows_each_stage_with_its_totals_and_only_the_users_deals(
    org, login, pipeline_deal, pipeline_stages
):
    pipeline_deal("Alpha", amount=1000)
    pipeline_deal("Bravo", amount=3000)
    pipeline_deal("Charlie", stage="Proposal", amount=2000)
    pipeline_deal("Colleague's", owner=org.rep_b, amount=9000)

    response = login(org.rep).get(reverse("leads:board"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Colleague&#x27;s" not in html and "Colleague's" not in html
    prospecting = _column(html, pipeline_stages["Prospecting"])
    assert "Alpha" in prospecting and "Bravo" in prospecting
    assert '<dd class="board-count">2</dd>' in prospecting
    assert "€4,000" in prospecting and "€400" in prospecting  # weighted at 10 %
    proposal = _column(html, pipeline_stages["Proposal"])
    assert "€2,000" in proposal and "€1,200" in proposal  # weighted at 60 %
    assert "3</strong> open deals" in html
    assert 'draggable="true"' in html and 'name="stage"' in html  # drag and drop, and the "Move to…" menu
    assert "js/pipeline.js" in html


def test_a_manager_sees_the_teams_board_and_filters_it_by_owner_and_close_date(
    org, login, pipeline_deal, pipeline_stages
):
    pipeline_deal("Rita's", owner=org.rep, expected_close=date(2027, 1, 10))
    pipeline_deal("Tom's", owner=org.rep_b, expected_close=date(2027, 5, 10))
    pipeline_deal("South's", owner=org.rep_other)
    client = login(org.manager)
    html = client.get(reverse("leads:board")).content.decode()
    assert "Rita&#x27;s" in html and "Tom&#x27;s" in html and "South&#x27;s" not in html
    assert f'<option value="{org.rep_b.pk}"' in html  # the owner filter offers the team

    html = client.get(reverse("leads:board"), {"owner": org.rep_b.pk}).content.decode()
    assert "Tom&#x27;s" in html and "Rita&#x27;s" not in html
    html = client.get(reverse("leads:board"), {"close_before": "2027-02-01"}, **HTMX).content.decode()
    assert "Rita&#x27;s" in html and "Tom&#x27;s" not in html
    assert "<html" not in html  # HTMX gets the board area only


def test_the_board_hides_old_closed_deals_unless_asked(org, login, pipeline_deal, pipeline_stages):
    old = pipeline_deal("Won long ago", at=at(2024, 1, 1))
    opportunity_update(opportunity=old, actor=org.rep, data={"stage": pipeline_stages["Closed won"]}, at=at(2024, 2, 1))
    client = login(org.rep)
    assert "Won long ago" not in client.get(reverse("leads:board")).content.decode()
    assert "Won long ago" in client.get(reverse("leads:board"), {"closed": 0}).content.decode()
    assert client.get(reverse("leads:board"), {"closed": 7}).status_code == 400


def test_a_move_on_the_board_answers_the_two_columns_and_records_via_board(org, login, pipeline_deal, pipeline_stages):
    deal = pipeline_deal("Alpha", amount=1000)
    response = login(org.rep).post(
        reverse("leads:opportunity-move", args=[deal.pk]),
        {"stage": pipeline_stages["Qualification"].pk, "from_stage": pipeline_stages["Prospecting"].pk},
        **HTMX,
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Moved “Alpha” to Qualification." in html
    assert f'id="col-{pipeline_stages["Prospecting"].pk}"' in html
    assert f'id="col-{pipeline_stages["Qualification"].pk}"' in html
    assert html.count('hx-swap-oob="true"') == 4  # two columns, the summary, the (empty) dialog slot
    assert "Alpha" in _column(html, pipeline_stages["Qualification"])
    assert f'data-focus="opp-{deal.pk}"' in html
    last = history(deal)[-1]
    assert (last.via, last.by, last.to_stage) == ("board", org.rep, pipeline_stages["Qualification"])


def test_closed_lost_asks_for_the_reason_in_a_dialog_then_moves(org, login, pipeline_deal, pipeline_stages):
    deal = pipeline_deal("Bravo")
    client = login(org.rep)
    url = reverse("leads:opportunity-move", args=[deal.pk])
    lost = pipeline_stages["Closed lost"]

    response = client.post(url, {"stage": lost.pk}, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<dialog" in html and 'name="lost_reason"' in html
    assert "Bravo" in _column(html, pipeline_stages["Prospecting"])  # the card goes back until a reason is given
    assert "Bravo" not in _column(html, lost)
    assert len(history(deal)) == 1

    response = client.post(url, {"stage": lost.pk, "lost_reason": "  "}, **HTMX)
    assert "Say why the opportunity was lost." in response.content.decode()

    response = client.post(url, {"stage": lost.pk, "lost_reason": "No budget this year"}, **HTMX)
    assert response.status_code == 200
    assert "Bravo" in _column(response.content.decode(), lost)
    deal.refresh_from_db()
    assert (deal.stage, deal.lost_reason) == (lost, "No budget this year")
    assert history(deal)[-1].via == "board"


def test_a_refused_move_snaps_back_with_a_clear_message(org, login, pipeline_deal, pipeline_stages):
    theirs = pipeline_deal("Tom's deal", owner=org.rep_b)
    client = login(org.rep)
    response = client.post(
        reverse("leads:opportunity-move", args=[theirs.pk]),
        {"stage": pipeline_stages["Proposal"].pk, "from_stage": pipeline_stages["Prospecting"].pk},
        **HTMX,
    )
    assert response.status_code == 404
    html = response.content.decode()
    assert "message-error" in html and "not on your board" in html
    assert f'id="col-{pipeline_stages["Proposal"].pk}"' in html  # re-rendered: the optimistic card disappears
    assert len(history(theirs)) == 1

    other = Stage.objects.create(
        pipeline=Pipeline.objects.create(name="Service"), name="Quoted", order=1, probability=50,
        forecast_category=ForecastCategory.BEST_CASE,
    )  # fmt: skip
    mine = pipeline_deal("Rita's deal")
    response = client.post(reverse("leads:opportunity-move", args=[mine.pk]), {"stage": other.pk}, **HTMX)
    assert response.status_code == 400
    assert "Not moved:" in response.content.decode()
    assert "Rita&#x27;s deal" in _column(response.content.decode(), pipeline_stages["Prospecting"])
    assert len(history(mine)) == 1


def test_the_move_to_menu_works_without_javascript(org, login, pipeline_deal, pipeline_stages):
    deal = pipeline_deal("Charlie")
    client = login(org.rep)
    url = reverse("leads:opportunity-move", args=[deal.pk])
    board = reverse("leads:board") + "?closed=90"

    response = client.post(url, {"stage": pipeline_stages["Proposal"].pk, "next": board})
    assert response.status_code == 302 and response["Location"] == board
    assert "Moved “Charlie” to Proposal." in client.get(board).content.decode()

    response = client.post(url, {"stage": pipeline_stages["Closed lost"].pk, "next": board})
    assert response.status_code == 200
    assert "Mark as lost" in response.content.decode() and "<dialog" not in response.content.decode()
    response = client.post(url, {"stage": pipeline_stages["Closed lost"].pk, "lost_reason": "Too late", "next": board})
    assert response.status_code == 302
    assert response["Location"] == board
    response = client.post(url, {"stage": pipeline_stages["Proposal"].pk, "next": "https://evil.example/"})
    assert response["Location"].startswith("/pipeline/")
    assert [r.via for r in history(deal)] == ["form", "board", "board", "board"]


# --- List, opportunity page, new opportunity ------------------------------------------------------


def test_the_list_filters_sorts_and_pages_by_keyset(org, login, pipeline_deal, pipeline_stages):
    for index, amount in enumerate([500, 4000, 1500, 3000, 2500]):
        pipeline_deal(f"Deal {index}", amount=amount)
    won = pipeline_deal("Closed one", amount=9000)
    opportunity_update(opportunity=won, actor=org.rep, data={"stage": pipeline_stages["Closed won"]})
    pipeline_deal("Not mine", owner=org.rep_b, amount=7000)
    client = login(org.rep)
    url = reverse("leads:opportunity-list")

    page_one = client.get(url, {"sort": "-amount", "page_size": 2}).content.decode()
    assert page_one.index("Deal 1") < page_one.index("Deal 3")  # 4,000 before 3,000
    assert "Closed one" not in page_one and "Not mine" not in page_one  # open deals by default, own only
    cursor = page_one.split("cursor=")[1].split('"')[0].split("&")[0]
    page_two = client.get(url, {"sort": "-amount", "page_size": 2, "cursor": cursor}, **HTMX).content.decode()
    assert "Deal 4" in page_two and "Deal 2" in page_two and "Deal 1" not in page_two

    assert "Closed one" in client.get(url, {"is_open": "false"}).content.decode()
    assert "Closed one" in client.get(url, {"is_open": "all"}).content.decode()
    found = client.get(url, {"q": "deal 3"}).content.decode()
    assert "Deal 3" in found and "Deal 4" not in found
    found = client.get(url, {"q": "velo log"}).content.decode()  # the account's name
    assert "Deal 3" in found
    assert client.get(url, {"sort": "owner"}).status_code == 400


def test_the_opportunity_page_shows_details_lines_and_the_full_history(org, login, pipeline_deal, pipeline_stages):
    deal = pipeline_deal("Fleet of 3 Aurora", amount=98_700, at=at(2026, 1, 5))
    OpportunityLine.objects.create(opportunity=deal, description="Aurora", quantity=3, unit_price=Decimal("32900"))
    opportunity_update(
        opportunity=deal, actor=org.rep, data={"stage": pipeline_stages["Qualification"]}, at=at(2026, 1, 15)
    )
    opportunity_update(opportunity=deal, actor=org.manager, data={"amount": 90_000}, via="api", at=at(2026, 1, 20))
    opportunity_update(
        opportunity=deal, actor=org.rep, data={"stage": pipeline_stages["Proposal"]}, via="board", at=at(2026, 2, 4)
    )

    response = login(org.rep).get(reverse("leads:opportunity-detail", args=[deal.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Velo Logistik GmbH" in html
    assert "€98,700" in html  # the line total
    assert "Prospecting" in html and "Qualification" in html
    assert "Created in" in html
    assert "10 days" in html and "20 days" in html  # in Prospecting, then in Qualification
    assert '€98,700</span> → <span class="after">€90,000' in html
    assert "via api" in html and "via board" in html and "via form" in html
    assert str(org.manager.get_full_name()) in html

    assert login(org.rep_b).get(reverse("leads:opportunity-detail", args=[deal.pk])).status_code == 404


def test_the_edit_form_changes_the_deal_through_the_service_via_form(org, login, pipeline_deal, pipeline_stages):
    deal = pipeline_deal("Desks", amount=5000)
    client = login(org.rep)
    url = reverse("leads:opportunity-detail", args=[deal.pk])
    form = {
        "name": "Desks",
        "stage": pipeline_stages["Negotiation"].pk,
        "amount": "5500.00",
        "currency": "eur",
        "probability": deal.probability,  # untouched: the new stage brings its own
        "expected_close": deal.expected_close.isoformat(),
        "next_step": "Final price call",
        "next_step_date": "",
        "lost_reason": "",
    }
    response = client.post(url, form)
    assert response.status_code == 302
    deal.refresh_from_db()
    assert (deal.stage, deal.amount, deal.probability, deal.next_step) == (
        pipeline_stages["Negotiation"],
        Decimal("5500.00"),
        80,
        "Final price call",
    )
    last = history(deal)[-1]
    assert last.via == "form" and set(last.changes) == {"stage_id", "amount", "probability", "forecast_category"}

    response = client.post(url, {**form, "stage": pipeline_stages["Closed lost"].pk})
    assert response.status_code == 400
    assert "Say why the opportunity was lost." in response.content.decode()
    assert login(org.rep_b).post(url, form).status_code == 404


def test_a_rep_cannot_hand_a_deal_over_but_a_manager_can(org, login, pipeline_deal):
    deal = pipeline_deal("Desks")
    assert (
        'name="owner"' not in login(org.rep).get(reverse("leads:opportunity-detail", args=[deal.pk])).content.decode()
    )
    client = login(org.manager)
    page = client.get(reverse("leads:opportunity-detail", args=[deal.pk])).content.decode()
    assert 'name="owner"' in page and f'value="{org.rep_other.pk}"' not in page  # the manager's team only


def test_a_new_opportunity_is_made_through_the_service(org, login, pipeline_account, pipeline_stages):
    client = login(org.rep)
    url = reverse("leads:opportunity-create")
    page = client.get(url, {"account": pipeline_account.pk})
    assert page.status_code == 200
    assert "Jana" in page.content.decode() and "Kranz" in page.content.decode()
    contact = pipeline_account.contacts.get()

    response = client.post(
        url,
        {
            "account": pipeline_account.pk,
            "contact": contact.pk,
            "name": "12 Volt Trek",
            "amount": "41880",
            "currency": "EUR",
            "stage": pipeline_stages["Qualification"].pk,
            "expected_close": "2027-03-31",
            "next_step": "Test rides",
        },
    )
    assert response.status_code == 302
    deal = Opportunity.objects.get(name="12 Volt Trek")
    assert (deal.owner, deal.account, deal.contact, deal.stage) == (
        org.rep,
        pipeline_account,
        contact,
        pipeline_stages["Qualification"],
    )
    assert [(r.via, r.by) for r in history(deal)] == [("form", org.rep)]

    response = client.post(url, {"name": "Nobody", "amount": "1", "currency": "EUR", "stage": deal.stage_id,
                                 "expected_close": "2027-03-31"})  # fmt: skip
    assert response.status_code == 400
    assert "Choose the account, the person, or both." in response.content.decode()
    response = client.post(url, {"find": "1", "account_q": "velo", "name": ""})
    assert response.status_code == 200 and "Velo Logistik GmbH" in response.content.decode()
    assert "This field is required" not in response.content.decode()
    part = client.get(url, {"part": "contacts", "account": pipeline_account.pk}, **HTMX).content.decode()
    assert part.strip().startswith('<div class="field') and "Kranz" in part and "<html" not in part


def test_the_reports_page_shows_the_figures(org, login, pipeline_deal, pipeline_stages):
    deal = pipeline_deal("Won deal", amount=12_000, at=at(2026, 1, 5))
    opportunity_update(
        opportunity=deal, actor=org.rep, data={"stage": pipeline_stages["Closed won"]}, at=at(2026, 2, 5)
    )
    response = login(org.rep).get(reverse("leads:pipeline-reports"), {"start": "2026-01-01", "end": "2026-03-31"})
    assert response.status_code == 200
    html = response.content.decode()
    for text in ("Pipeline movement", "Win rates", "Stage durations", "Funnel", "<svg", "€12,000", "100%"):
        assert text in html
    backwards = {"start": "2026-05-01", "end": "2026-01-01"}
    assert login(org.rep).get(reverse("leads:pipeline-reports"), backwards).status_code == 400


# --- API ------------------------------------------------------------------------------------------


def test_the_api_lists_each_reps_own_opportunities(org, api, pipeline_deal):
    mine = pipeline_deal("Rita's deal")
    theirs = pipeline_deal("Tom's deal", owner=org.rep_b)
    rows = api(org.rep).get("/api/opportunities/").json()["results"]
    assert [r["name"] for r in rows] == ["Rita's deal"]
    rows = api(org.rep_b).get("/api/opportunities/").json()["results"]
    assert [r["name"] for r in rows] == ["Tom's deal"]
    assert api(org.rep).get(f"/api/opportunities/{theirs.pk}/").status_code == 404
    assert api(org.rep_b).get(f"/api/opportunities/{mine.pk}/history/").status_code == 404
    names = {r["name"] for r in api(org.manager).get("/api/opportunities/").json()["results"]}
    assert names == {"Rita's deal", "Tom's deal"}
    assert api().get("/api/opportunities/").status_code == 401


def test_the_api_creates_and_changes_through_the_services_via_api(org, api, pipeline_account, pipeline_stages):
    client = api(org.rep)
    response = client.post(
        "/api/opportunities/",
        {"name": "API deal", "account": pipeline_account.pk, "amount": "2500.00", "expected_close": "2027-02-01"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["stage_name"], body["amount"], body["owner"], body["probability"]) == (
        "Prospecting",
        "2500.00",
        org.rep.pk,
        10,
    )
    pk = body["id"]

    response = client.patch(
        f"/api/opportunities/{pk}/",
        {"stage": pipeline_stages["Proposal"].pk, "amount": "2750", "next_step": "Send it"},
        format="json",
    )
    assert response.status_code == 200
    assert (response.json()["stage_name"], response.json()["probability"]) == ("Proposal", 60)
    response = client.patch(f"/api/opportunities/{pk}/", {"stage": pipeline_stages["Closed lost"].pk}, format="json")
    assert response.status_code == 400 and "lost_reason" in response.json()

    rows = client.get(f"/api/opportunities/{pk}/history/").json()
    assert [(r["via"], r["by"]) for r in rows] == [("api", org.rep.pk), ("api", org.rep.pk)]
    assert rows[1]["changes"]["amount"] == ["2500.00", "2750.00"]
    assert rows[1]["from_stage"] == pipeline_stages["Prospecting"].pk
    assert rows[1]["to_stage"] == pipeline_stages["Proposal"].pk


def test_the_api_refuses_what_the_user_may_not_do(org, api, pipeline_deal, pipeline_stages, pipeline_account):
    deal = pipeline_deal("Rita's deal")
    patch = {"stage": pipeline_stages["Qualification"].pk}
    assert api(org.rep_b).patch(f"/api/opportunities/{deal.pk}/", patch, format="json").status_code == 404
    assert api(org.manager_b).patch(f"/api/opportunities/{deal.pk}/", patch, format="json").status_code == 404
    assert api(org.manager).patch(f"/api/opportunities/{deal.pk}/", patch, format="json").status_code == 200
    assert history(deal)[-1].by == org.manager

    response = api(org.rep).patch(f"/api/opportunities/{deal.pk}/", {"owner": org.rep_b.pk}, format="json")
    assert response.status_code == 400 and "owner" in response.json()
    response = api(org.rep).post(
        "/api/opportunities/",
        {"name": "For Tom", "account": pipeline_account.pk, "expected_close": "2027-02-01", "owner": org.rep_b.pk},
        format="json",
    )
    assert response.status_code == 400 and "owner" in response.json()
    response = api(org.rep).post(
        "/api/opportunities/",
        {"name": "Lost at birth", "stage": pipeline_stages["Closed lost"].pk, "expected_close": "2027-02-01"},
        format="json",
    )
    assert response.status_code == 400 and "stage" in response.json()
    assert api(org.rep).delete(f"/api/opportunities/{deal.pk}/").status_code == 403
    assert api(org.admin).delete(f"/api/opportunities/{deal.pk}/").status_code == 405  # only the admin could, not here


def test_the_api_filters_opportunities(org, api, pipeline_deal, pipeline_stages):
    pipeline_deal("Volt Trek fleet", stage="Proposal", expected_close=date(2027, 1, 10))
    won = pipeline_deal("Aurora fleet", expected_close=date(2027, 6, 10))
    opportunity_update(opportunity=won, actor=org.rep, data={"stage": pipeline_stages["Closed won"]})
    client = api(org.rep)

    def names(**params):
        return [r["name"] for r in client.get("/api/opportunities/", params).json()["results"]]

    assert names(stage=pipeline_stages["Proposal"].pk) == ["Volt Trek fleet"]
    assert names(is_open="false") == ["Aurora fleet"]
    assert names(close_before="2027-02-01") == ["Volt Trek fleet"]
    assert names(search="aurora") == ["Aurora fleet"]
    assert names(forecast_category="closed_won") == ["Aurora fleet"]


def test_the_api_lists_pipelines_with_their_stages_in_order(org, api, pipeline_stages):
    body = api(org.rep).get("/api/pipelines/").json()
    (sales,) = body["results"]
    assert sales["is_default"] is True
    assert [s["name"] for s in sales["stages"]] == list(pipeline_stages)
    assert sales["stages"][-1] == {
        "id": pipeline_stages["Closed lost"].pk,
        "name": "Closed lost",
        "order": 7,
        "probability": 0,
        "forecast_category": "closed_lost",
        "is_closed": True,
    }
    assert api(org.rep).post("/api/pipelines/", {"name": "Mine"}, format="json").status_code == 403
    assert api(org.admin).post("/api/pipelines/", {"name": "Mine"}, format="json").status_code == 405


# --- Report arithmetic on a small hand-made history ---------------------------------------------------

SINCE, UNTIL = at(2026, 1, 1, 0), at(2026, 4, 1, 0)


@pytest.fixture
def hand_made_history(org, pipeline_deal, pipeline_stages):
    """Five deals around the first quarter of 2026 (the period of the report):

    A (rep, 1,000): created 1 Dec 2025; Qualification 11 Jan; Proposal 21 Jan; won 20 Feb.
    B (rep, 2,000): created 5 Jan; Qualification 25 Jan; lost 1 Mar.
    C (rep_b, 4,000): created 1 Feb; amount 5,000 on 10 Feb; close 31 Mar → 31 May on 15 Mar; still open.
    D (rep_b, 3,000): created 1 Nov 2025; Qualification 11 Nov; won 10 Mar.
    E (rep, 500): created 1 Oct 2025; lost 1 Dec 2025 (before the period).
    """
    s = pipeline_stages

    def step(deal, actor, when, **data):
        opportunity_update(opportunity=deal, actor=actor, data=data, at=when)

    a = pipeline_deal("A", amount=1000, at=at(2025, 12, 1), expected_close=date(2026, 3, 1))
    step(a, org.rep, at(2026, 1, 11), stage=s["Qualification"])
    step(a, org.rep, at(2026, 1, 21), stage=s["Proposal"])
    step(a, org.rep, at(2026, 2, 20), stage=s["Closed won"])
    b = pipeline_deal("B", amount=2000, at=at(2026, 1, 5), expected_close=date(2026, 4, 1))
    step(b, org.rep, at(2026, 1, 25), stage=s["Qualification"])
    step(b, org.rep, at(2026, 3, 1), stage=s["Closed lost"], lost_reason="Price")
    c = pipeline_deal("C", owner=org.rep_b, amount=4000, at=at(2026, 2, 1), expected_close=date(2026, 3, 31))
    step(c, org.rep_b, at(2026, 2, 10), amount=5000)
    step(c, org.rep_b, at(2026, 3, 15), expected_close=date(2026, 5, 31))
    d = pipeline_deal("D", owner=org.rep_b, amount=3000, at=at(2025, 11, 1), expected_close=date(2026, 2, 1))
    step(d, org.rep_b, at(2025, 11, 11), stage=s["Qualification"])
    step(d, org.rep_b, at(2026, 3, 10), stage=s["Closed won"])
    e = pipeline_deal("E", amount=500, at=at(2025, 10, 1))
    step(e, org.rep, at(2025, 12, 1), stage=s["Closed lost"], lost_reason="Silent")
    pipeline_deal("After the period", amount=700, at=at(2026, 4, 2))
    return {"A": a, "B": b, "C": c, "D": d, "E": e}


def _report(actor, pipeline_stages):
    pipeline = pipeline_stages["Prospecting"].pipeline
    return reports.pipeline_report(actor=actor, pipeline=pipeline, since=SINCE, until=UNTIL)


def test_stage_durations_are_the_medians_of_the_stays_that_ended_in_the_period(org, hand_made_history, pipeline_stages):
    report = _report(org.manager, pipeline_stages)
    durations = {d.stage.name: d for d in report.durations}
    assert [d.stage.name for d in report.durations] == [
        "Prospecting",
        "Qualification",
        "Needs analysis",
        "Proposal",
        "Negotiation",
    ]
    assert (durations["Prospecting"].completed, durations["Prospecting"].median_days) == (2, 30.5)  # A 41, B 20
    assert (durations["Qualification"].completed, durations["Qualification"].median_days) == (3, 35)  # 10, 35, 119
    assert durations["Qualification"].mean_days == round((10 + 35 + 119) / 3, 1)
    assert (durations["Proposal"].completed, durations["Proposal"].median_days) == (1, 30)
    assert durations["Needs analysis"].median_days is None
    assert (durations["Prospecting"].open_now, durations["Prospecting"].open_median_days) == (1, 58.6)  # C


def test_win_rates_per_owner_and_overall(org, hand_made_history, pipeline_stages):
    report = _report(org.manager, pipeline_stages)
    by_owner = {r.owner: r for r in report.win_rates}
    assert (by_owner[org.rep].won, by_owner[org.rep].lost, by_owner[org.rep].rate) == (1, 1, 50.0)
    assert (by_owner[org.rep_b].won, by_owner[org.rep_b].lost, by_owner[org.rep_b].rate) == (1, 0, 100.0)
    assert report.win_rates[0].owner == org.rep_b  # best rate first
    overall = report.overall
    assert (overall.won, overall.lost, overall.rate) == (2, 1, 66.7)
    assert (overall.won_amount, overall.lost_amount, overall.amount_rate) == (Decimal(4000), Decimal(2000), 66.7)
    assert by_owner[org.rep].median_cycle_days == 81  # A: 1 Dec -> 20 Feb

    mine = _report(org.rep, pipeline_stages)  # a rep's report holds only their own deals
    assert [r.owner for r in mine.win_rates] == [org.rep]
    assert (mine.overall.won, mine.overall.lost) == (1, 1)


def test_pipeline_movement_explains_the_open_pipeline_from_start_to_end(org, hand_made_history, pipeline_stages):
    movement = _report(org.manager, pipeline_stages).movement
    rows = {r.kind: r for r in movement.rows}
    summary = {kind: (r.count, r.amount) for kind, r in rows.items()}
    assert summary == {
        "entered": (2, Decimal(6000)),  # B 2,000, C 4,000
        "advanced": (2, Decimal(3000)),  # A (twice, counted once) 1,000, B 2,000
        "moved_back": (0, Decimal(0)),
        "slipped": (1, Decimal(5000)),  # C, by then 5,000
        "pulled_in": (0, Decimal(0)),
        "won": (2, Decimal(4000)),  # A 1,000, D 3,000
        "lost": (1, Decimal(2000)),  # B
    }
    assert rows["slipped"].days == 61
    assert (movement.open_start, movement.open_start_amount) == (2, Decimal(4000))  # A, D
    assert (movement.open_end, movement.open_end_amount) == (1, Decimal(5000))  # C
    assert movement.other_change == Decimal(1000)  # C's revision: 4,000 + 6,000 - 4,000 - 2,000 + 1,000 = 5,000


def test_the_funnel_counts_how_far_the_deals_created_in_the_period_got(org, hand_made_history, pipeline_stages):
    funnel = {step.stage.name: (step.reached, step.share) for step in _report(org.manager, pipeline_stages).funnel}
    assert funnel["Prospecting"] == (2, 100.0)  # B and C
    assert funnel["Qualification"] == (1, 50.0)  # B
    assert funnel["Proposal"] == (0, 0.0)
    assert "Closed lost" not in funnel


def test_replay_and_stays_on_rows_written_by_hand():
    p, q, w = 1, 2, 3
    created = {"stage_id": [None, p], "amount": [None, "100.00"], "expected_close": [None, "2026-02-01"]}
    rows = [
        (7, at(2026, 1, 1), None, p, created),
        (7, at(2026, 1, 4), p, q, {"stage_id": [p, q]}),
        (7, at(2026, 1, 5), q, q, {"amount": ["100.00", "150.00"]}),
        (7, at(2026, 1, 9), q, w, {"stage_id": [q, w], "expected_close": ["2026-02-01", "2026-01-09"]}),
    ]
    (timeline,) = reports.replay([(7, "Deal", 1, "EUR")], rows)
    assert timeline.state_before(at(2026, 1, 5, 12)).amount == Decimal("150.00")
    assert timeline.state_before(at(2026, 1, 1)) is None
    assert timeline.events[-1].state.expected_close == date(2026, 1, 9)
    stays = reports.stays([timeline])
    assert [(s.stage_id, (s.left - s.entered).days if s.left else None) for s in stays] == [(p, 3), (q, 5), (w, None)]


def test_money_is_never_added_across_currencies():
    total = reports.Money()
    total.add("EUR", Decimal("1200.40"))
    total.add("GBP", Decimal("300"))
    total.add("EUR", Decimal("800"))
    assert str(total) == "€2,000 + £300"
    assert str(reports.Money()) == "€0"
    assert reports.format_money(Decimal("-1500"), "SEK") == "−SEK 1,500"


def test_a_board_totals_each_currency_apart(org, login, pipeline_deal, pipeline_stages):
    pipeline_deal("Euro deal", amount=1000)
    pipeline_deal("Pound deal", amount=500, currency="GBP")
    columns = reports.board_columns(actor=org.rep, pipeline=pipeline_stages["Prospecting"].pipeline)
    prospecting = columns[0]
    assert prospecting.count == 2
    assert str(prospecting.amount) == "€1,000 + £500"
    assert str(prospecting.weighted) == "€100 + £50"


def test_open_deal_history_times_add_up(org, pipeline_deal, pipeline_stages):
    deal = pipeline_deal("Timed", at=at(2026, 1, 1))
    opportunity_update(
        opportunity=deal, actor=org.rep, data={"stage": pipeline_stages["Qualification"]}, at=at(2026, 1, 3)
    )
    opportunity_update(
        opportunity=deal, actor=org.rep, data={"stage": pipeline_stages["Prospecting"]}, at=at(2026, 1, 4)
    )
    rows, times = reports.opportunity_history(actor=org.rep, opportunity=deal, now=at(2026, 1, 10))
    assert [r.time_in_previous for r in rows] == ["24 hours", "2 days", ""]  # newest first
    assert {t.stage.name: (t.duration.days, t.visits, t.current) for t in times} == {
        "Prospecting": (8, 2, True),
        "Qualification": (1, 1, False),
    }
    assert timedelta(days=8) == times[0].duration
