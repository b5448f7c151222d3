"""The quote gate: a rep without a valid certification (or override) for a product line cannot put its configurable
products on a quote, in the services, the quote editor and the API; the system's configurator request is not
gated, the rep who edits that quote is; an override lets the rep through and is audited; an expired
certification blocks again."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from orders.models import Order, Quote
from orders.services import order_create, quote_create, quote_update
from sfa.models import AuditEvent
from tests.training.factories import CertificationFactory, OverrideFactory, ResponsibilityFactory
from training import services

MESSAGE = "Aurora is in the product line Cars: quoting it needs a valid certification “Cars certification”"


def aurora_line(line, **extra):
    return {"product": line.aurora, "configuration": line.config, "quantity": 1, **extra}


def quote_for(actor, acme, line, lines=None):
    return quote_create(actor=actor, account=acme, lines=lines or [aurora_line(line)])


# --- The services ---------------------------------------------------------------------------------------------


def test_a_rep_without_the_certification_cannot_quote_a_configurable_product_of_the_line(org, acme, line):
    with pytest.raises(ValidationError) as refused:
        quote_for(org.rep, acme, line)
    text = " ".join(refused.value.messages)
    assert text.startswith("Line 1 (Aurora): " + MESSAGE)
    assert "Ask your manager to assign you its course" in text
    assert not Quote.objects.exists()


def test_the_gate_names_the_open_course_and_a_plain_product_or_another_line_is_not_gated(org, acme, line, due):
    services.assignment_create(course=line.course, user=org.rep, due_on=due, actor=org.manager)
    with pytest.raises(ValidationError, match="Complete the course “Aurora sales”"):
        quote_for(org.rep, acme, line)
    mats_and_desk = [
        {"product": line.mats, "quantity": 4},
        {"product": line.desk, "configuration": line.desk_config, "quantity": 1},
    ]
    assert quote_for(org.rep, acme, line, lines=mats_and_desk).lines.count() == 2


def test_a_sub_category_of_the_line_is_gated_too(org, acme, line):
    from tests.catalog.factories import CategoryFactory, ConfigurationFactory, ProductFactory

    estates = CategoryFactory(name="Estates", slug="estates", parent=line.cars)
    wagon = ProductFactory(name="Aurora Wagon", sku="AUW", category=estates, is_configurable=True)
    config = ConfigurationFactory(product=wagon, sku_code="AUW-1", token="t-wagon")
    with pytest.raises(ValidationError, match="Aurora Wagon is in the product line Cars"):
        quote_for(org.rep, acme, line, lines=[{"product": wagon, "configuration": config}])


def test_passing_the_quiz_ungates_and_an_expired_certification_blocks_again(org, acme, line, due):
    assignment = services.assignment_create(course=line.course, user=org.rep, due_on=due, actor=org.manager)
    services.quiz_submit(assignment=assignment, actor=org.rep, answers=line.right())
    quote = quote_for(org.rep, acme, line)
    assert quote.lines.get().configuration == line.config
    # A year later the certification has run out: the same rep is refused again, and told since when.
    yesterday = timezone.localdate() - timedelta(days=1)
    line.cert.certifications.update(granted_on=yesterday - timedelta(days=365), valid_until=yesterday)
    with pytest.raises(ValidationError, match=f"yours expired on {yesterday:%Y-%m-%d}"):
        quote_for(org.rep, acme, line)


def test_a_revoked_certification_or_an_inactive_responsibility(org, acme, line):
    cert = CertificationFactory(user=org.rep, responsibility=line.cert, course=line.course)
    services.certification_revoke(certification=cert, actor=org.manager, reason="Wrong configurations")
    with pytest.raises(ValidationError, match="yours was revoked"):
        quote_for(org.rep, acme, line)
    line.cert.is_active = False
    line.cert.save(update_fields=["is_active"])
    assert quote_for(org.rep, acme, line)  # an inactive certification gates nothing


def test_a_second_rep_certified_does_not_ungate_the_first(org, acme, line):
    CertificationFactory(user=org.rep_b, responsibility=line.cert, course=line.course)
    assert quote_for(org.rep_b, acme, line).owner == org.rep_b
    with pytest.raises(ValidationError):
        quote_for(org.rep, acme, line)


def test_an_override_lets_the_rep_through_and_is_audited_until_it_ends(org, acme, line):
    override = services.override_grant(
        user=org.rep,
        responsibility=line.cert,
        actor=org.manager,
        reason="Fleet deal: Marc checks the configuration",
        valid_until=timezone.localdate() + timedelta(days=7),
    )
    event = AuditEvent.objects.get(verb="override granted")
    assert (event.actor, event.object_id, event.note) == (
        org.manager,
        str(override.pk),
        "Fleet deal: Marc checks the configuration",
    )
    assert quote_for(org.rep, acme, line)
    override.valid_until = timezone.localdate() - timedelta(days=1)
    override.save(update_fields=["valid_until"])
    with pytest.raises(ValidationError, match="Cars certification"):
        quote_for(org.rep, acme, line)


def test_managers_admins_and_the_system_are_not_gated(org, acme, line):
    assert quote_create(actor=org.manager, account=acme, lines=[aurora_line(line)], owner=org.rep)
    assert quote_create(actor=org.admin, account=acme, lines=[aurora_line(line)])
    assert quote_create(actor=None, account=acme, owner=org.rep, lines=[aurora_line(line)])


def test_the_configurator_request_is_not_gated_but_the_rep_who_edits_its_lines_is(org, line):
    from orders.requests import quote_request_create
    from tests.catalog.factories import PriceFactory

    PriceFactory(product=line.aurora, amount="30000.00")  # the public configurator shows priced products only
    quote = quote_request_create(
        configuration=line.config, name="Jana Kranz", email="jana@example.com", phone="", consent=False
    )
    assert quote.lines.get().product == line.aurora
    quote.owner = org.rep
    quote.save(update_fields=["owner"])
    # The header alone may change; the lines may not while the rep lacks the certification.
    quote_update(quote=quote, actor=org.rep, data={"notes": "Call on Monday"})
    with pytest.raises(ValidationError, match=MESSAGE):
        quote_update(quote=quote, actor=org.rep, data={}, lines=[aurora_line(line, quantity=2)])
    CertificationFactory(user=org.rep, responsibility=line.cert, course=line.course)
    quote = quote_update(quote=quote, actor=org.rep, data={}, lines=[aurora_line(line, quantity=2)])
    assert quote.lines.get().quantity == 2


def test_lines_copied_from_an_opportunity_are_gated(org, acme, line):
    from leads.services import opportunity_create, opportunity_line_add

    deal = opportunity_create(
        actor=org.rep, name="Fleet", account=acme, expected_close=timezone.localdate() + timedelta(days=30)
    )
    opportunity_line_add(opportunity=deal, actor=org.rep, configuration=line.config, quantity=2)
    copied = [
        {"product": ln.product, "configuration": ln.configuration, "quantity": int(ln.quantity)}
        for ln in deal.lines.all()
    ]
    with pytest.raises(ValidationError, match=MESSAGE):
        quote_create(actor=org.rep, account=acme, opportunity=deal, lines=copied)


def test_an_order_from_a_won_opportunity_is_gated_too(org, acme, line):
    from leads.models import ForecastCategory
    from leads.services import opportunity_create, opportunity_line_add
    from orders.services import order_from_opportunity

    deal = opportunity_create(
        actor=org.rep, name="Fleet", account=acme, expected_close=timezone.localdate() + timedelta(days=30)
    )
    opportunity_line_add(opportunity=deal, actor=org.rep, configuration=line.config, quantity=2)
    won = deal.pipeline.stages.get(forecast_category=ForecastCategory.CLOSED_WON)
    type(deal).objects.filter(pk=deal.pk).update(stage=won, forecast_category=ForecastCategory.CLOSED_WON)
    with pytest.raises(ValidationError, match=MESSAGE):
        order_from_opportunity(opportunity=deal, actor=org.rep)
    assert not Order.objects.exists()
    CertificationFactory(user=org.rep, responsibility=line.cert, course=line.course)
    assert order_from_opportunity(opportunity=deal, actor=org.rep).lines.get().configuration == line.config


def test_a_direct_order_cannot_get_round_the_gate_but_an_accepted_quote_becomes_its_order(org, acme, line):
    with pytest.raises(ValidationError, match=MESSAGE):
        order_create(actor=org.rep, account=acme, lines=[aurora_line(line)], source=Order.Source.API)
    quote = quote_create(actor=None, account=acme, owner=org.rep, lines=[aurora_line(line)])
    from orders.services import quote_accept

    order = quote_accept(quote=quote, actor=org.rep)  # the quote's lines were written by the system
    assert order.lines.get().configuration == line.config


def test_two_lines_of_the_same_product_line_need_one_certification(org, acme, line):
    second = ResponsibilityFactory(name="Vehicles certification", category=line.vehicles)
    CertificationFactory(user=org.rep, responsibility=line.cert, course=line.course)
    with pytest.raises(ValidationError, match="Vehicles certification"):
        quote_for(org.rep, acme, line)  # a certification above (Vehicles) is needed too
    OverrideFactory(user=org.rep, responsibility=second)
    assert quote_for(org.rep, acme, line)


# --- The quote editor (UI) --------------------------------------------------------------------------------------


def editor_post(acme, line, **extra):
    return {
        "account": acme.pk,
        "currency": "EUR",
        "country": "DE",
        "discount_percent": "0",
        "valid_until": (timezone.localdate() + timedelta(days=30)).isoformat(),
        "line_product": [line.aurora.pk],
        "line_configuration": [line.config.pk],
        "line_quantity": ["1"],
        "line_discount": ["0"],
        "op": "save",
        **extra,
    }


def test_the_quote_editor_shows_the_gate_on_the_line_and_refuses_to_save(org, login, acme, line):
    client = login(org.rep)
    response = client.post(reverse("orders:quote-create"), editor_post(acme, line))
    assert response.status_code == 400
    page = response.content.decode()
    assert "Aurora is in the product line Cars" in page and "Cars certification" in page
    assert not Quote.objects.exists()
    # Adding the configuration by its button shows the refusal on the line at once (before saving).
    preview = client.post(
        reverse("orders:quote-create"), {**editor_post(acme, line), "op": f"config:{line.config.pk}"}
    ).content.decode()
    assert "Aurora is in the product line Cars" in preview


def test_the_quote_editor_saves_once_the_rep_is_certified(org, login, acme, line):
    CertificationFactory(user=org.rep, responsibility=line.cert, course=line.course)
    response = login(org.rep).post(reverse("orders:quote-create"), editor_post(acme, line))
    assert response.status_code == 302
    assert Quote.objects.get().lines.get().configuration == line.config


def test_a_quote_opened_from_an_opportunity_shows_the_gate_on_its_configured_line(org, login, acme, line):
    from leads.services import opportunity_create, opportunity_line_add

    deal = opportunity_create(
        actor=org.rep, name="Fleet", account=acme, expected_close=timezone.localdate() + timedelta(days=30)
    )
    opportunity_line_add(opportunity=deal, actor=org.rep, configuration=line.config, quantity=1)
    page = login(org.rep).get(reverse("orders:quote-create") + f"?opportunity={deal.pk}").content.decode()
    assert "Aurora is in the product line Cars" in page


# --- The API ------------------------------------------------------------------------------------------------------


def api_quote(acme, line):
    return {"account": acme.pk, "lines": [{"product": line.aurora.pk, "configuration": line.config.pk, "quantity": 1}]}


def test_the_api_answers_400_with_the_message_and_201_with_an_override(org, api, acme, line):
    client = api(org.rep)
    response = client.post("/api/quotes/", api_quote(acme, line), format="json")
    assert response.status_code == 400
    assert MESSAGE in " ".join(response.json()["detail"])
    services.override_grant(
        user=org.rep,
        responsibility=line.cert,
        actor=org.manager,
        reason="Key account",
        valid_until=timezone.localdate() + timedelta(days=3),
    )
    response = client.post("/api/quotes/", api_quote(acme, line), format="json")
    assert response.status_code == 201, response.json()


def test_the_api_gates_a_patch_of_the_lines_and_a_direct_order(org, api, acme, line):
    quote = quote_create(actor=org.rep, account=acme, lines=[{"product": line.mats, "quantity": 1}])
    client = api(org.rep)
    lines = api_quote(acme, line)["lines"]
    response = client.patch(f"/api/quotes/{quote.pk}/", {"lines": lines, "version": quote.version}, format="json")
    assert response.status_code == 400 and MESSAGE in str(response.json())
    response = client.post("/api/orders/", {"account": acme.pk, "lines": lines}, format="json")
    assert response.status_code == 400 and MESSAGE in str(response.json())
    assert not Order.objects.exists()
