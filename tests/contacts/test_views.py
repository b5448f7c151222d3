"""Contact and account pages, the touch form with its inline guard, follow-ups, search and the report."""

from datetime import timedelta

from django.utils import timezone

from contacts.models import GuardLog, Touch
from contacts.services import touch_log


def touch_form(chosen, **kw):
    return {
        "purpose": chosen.pk,
        "channel": "call",
        "direction": "out",
        "status": "done",
        "at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        "outcome": "",
        "notes": "",
        **kw,
    }


def test_lists_and_pages_render_for_every_role(org, login, anna, purposes):
    touch_log(actor=org.rep, contact=anna, purpose=purposes["cross_sell"], channel="email")
    for user in (org.rep, org.marketing, org.manager, org.admin):
        client = login(user)
        for url in (
            "/contacts/",
            "/accounts/",
            f"/contacts/{anna.pk}/",
            f"/accounts/{anna.account_id}/",
            "/followups/",
            f"/contacts/{anna.pk}/touch/",
            "/search/?q=anna",
            "/outreach/purposes/",
        ):
            response = client.get(url)
            assert response.status_code == 200, (user.username, url)


def test_the_contact_page_shows_every_departments_touches_and_filters_them(org, login, anna, purposes):
    touch_log(actor=org.rep, contact=anna, purpose=purposes["cross_sell"], channel="email", notes="Brochure sent")
    touch_log(actor=org.marketing, contact=anna, purpose=purposes["onboarding"], channel="call", notes="Welcome call")
    client = login(org.rep_other)
    page = client.get(f"/contacts/{anna.pk}/").content.decode()
    assert "Brochure sent" in page and "Welcome call" in page
    marketing = org.marketing.department_id
    partial = client.get(
        f"/contacts/{anna.pk}/?department={marketing}", headers={"HX-Request": "true"}
    ).content.decode()
    assert "Welcome call" in partial and "Brochure sent" not in partial and "<html" not in partial
    account_page = client.get(f"/accounts/{anna.account_id}/").content.decode()
    assert "Brochure sent" in account_page and "Welcome call" in account_page


def test_the_touch_form_warns_inline_and_saves_with_a_reason(org, login, anna, purposes):
    touch_log(
        actor=org.rep,
        contact=anna,
        purpose=purposes["cross_sell"],
        channel="email",
        at=timezone.now() - timedelta(days=3),
    )
    client = login(org.marketing)
    check = client.post(
        f"/contacts/{anna.pk}/touch/",
        {**touch_form(purposes["cross_sell"]), "check": "1"},
        headers={"HX-Request": "true"},
    )
    assert (
        check.status_code == 200
        and "already contacted" in check.content.decode()
        and str(org.rep) in check.content.decode()
    )
    refused = client.post(f"/contacts/{anna.pk}/touch/", touch_form(purposes["cross_sell"]))
    assert refused.status_code == 409 and Touch.objects.count() == 1
    saved = client.post(
        f"/contacts/{anna.pk}/touch/", touch_form(purposes["cross_sell"], override_reason="Asked by her")
    )
    assert saved.status_code == 302
    assert Touch.objects.get(user=org.marketing).override_reason == "Asked by her"
    report = login(org.manager).get("/outreach/report/").content.decode()
    assert "Marketing" in report and "Asked by her" in report


def test_the_report_is_for_managers(org, login):
    assert login(org.rep).get("/outreach/report/").status_code == 403
    assert login(org.manager).get("/outreach/report/").status_code == 200


def test_tampered_touch_forms_get_clear_errors(org, login, anna, purposes):
    client = login(org.rep)
    response = client.post(f"/contacts/{anna.pk}/touch/", touch_form(purposes["onboarding"], purpose=999999))
    assert response.status_code == 200 and b"Select a valid choice" in response.content
    response = client.post(f"/contacts/{anna.pk}/touch/", touch_form(purposes["onboarding"], channel="pigeon"))
    assert b"Select a valid choice" in response.content
    assert client.post("/contacts/999999/touch/", touch_form(purposes["onboarding"])).status_code == 404
    assert not Touch.objects.exists()


def test_contact_form_normalises_and_reports_bad_phones(org, login, acme):
    client = login(org.rep)
    form = {
        "first_name": "Eva",
        "last_name": "Klein",
        "owner": org.rep.pk,
        "account": acme.pk,
        "emails": "eva@acme.example",
        "phones": "030 7654321\nnot a phone",
        "tags": "Golf, wine",
    }
    response = client.post("/contacts/new/", form)
    assert response.status_code == 200 and b"not a phone" in response.content
    form["phones"] = "030 7654321"
    response = client.post("/contacts/new/", form)
    assert response.status_code == 302
    page = client.get(response.url).content.decode()
    assert "+49 30 7654321" in page and "golf" in page


def test_a_colleague_cannot_edit_my_contact(org, login, anna):
    assert login(org.rep_b).get(f"/contacts/{anna.pk}/edit/").status_code == 403
    assert (
        login(org.rep_b).post(f"/contacts/{anna.pk}/edit/", {"last_name": "Hacked", "owner": org.rep_b.pk}).status_code
        == 403
    )
    anna.refresh_from_db()
    assert anna.last_name == "Schmidt"


def test_search_box_answers_with_a_partial(org, login, anna):
    html = (
        login(org.support if hasattr(org, "support") else org.marketing)
        .get("/search/?q=030 1234", headers={"HX-Request": "true"})
        .content.decode()
    )
    assert "Anna Schmidt" in html and "<html" not in html


def test_followups_page_groups_and_closes(org, login, anna):
    from contacts.services import followup_create

    f = followup_create(
        actor=org.rep, contact=anna, due=timezone.localdate() - timedelta(days=1), note="Send the quote"
    )
    client = login(org.rep)
    page = client.get("/followups/").content.decode()
    assert "Overdue" in page and "Send the quote" in page
    assert login(org.rep_b).post(f"/followups/{f.pk}/close/", {"status": "done"}).status_code == 403
    client = login(org.rep)
    assert (
        client.post(f"/followups/{f.pk}/close/", {"status": "done", "next": "https://evil.example/"}).url
        == "/followups/"
    )
    f.refresh_from_db()
    assert f.status == "done"


def test_admins_manage_purposes_and_limits(org, login):
    client = login(org.admin)
    response = client.post(
        "/outreach/purposes/",
        {"save_purpose": "1", "p-name": "Upsell", "p-window_days": "21", "p-mode": "block", "p-scope": "account"},
    )
    assert response.status_code == 302
    page = client.get("/outreach/purposes/").content.decode()
    assert "Upsell" in page and "within 21 days" in page
    assert (
        login(org.rep)
        .post("/outreach/purposes/", {"save_purpose": "1", "p-name": "Rogue", "p-mode": "warn", "p-scope": "contact"})
        .status_code
        == 403
    )


def test_campaign_planning_from_the_list_filters(org, login, anna, bernd, purposes):
    client = login(org.marketing)
    page = client.get("/campaigns/new/?q=schm")
    assert b"<strong>1</strong>" in page.content
    response = client.post(
        "/campaigns/new/?q=schm",
        {
            "name": "Spring",
            "purpose": purposes["onboarding"].pk,
            "channel": "email",
            "planned_for": (timezone.localtime() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assert response.status_code == 302
    detail = client.get(response.url).content.decode()
    assert "Anna Schmidt" in detail and not GuardLog.objects.exists()
