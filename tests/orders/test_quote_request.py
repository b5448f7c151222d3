"""The public configurator's "request a quote" (orders.requests, orders.views_public).

The service: a new person becomes a prospect with a lead, a touch and a draft quote at the configuration's
frozen price; a known customer is matched to their record; consent only when ticked; the confirmation
e-mail. Over HTTP, anonymously: the button in the configurator, the form with its inline errors, the
honeypot, posted prices, unknown tokens, the rate limits and a double submit.
"""

from decimal import Decimal

import pytest
from django.core import mail, signing
from django.core.exceptions import ValidationError
from django.test import Client

from catalog import services as catalog_services
from catalog.models import Configuration
from contacts.models import ChannelConsent, Contact, Touch
from contacts.services import consent_set
from leads.models import AssignmentRule, Lead
from orders import views_public
from orders.models import Quote
from orders.requests import quote_request_create
from tests.catalog import conftest as catalog_fixtures

# The catalog's fixtures (the test car, the desk, their price lists), shared with these tests.
catalog, car, desk = catalog_fixtures.catalog, catalog_fixtures.car, catalog_fixtures.desk
SITE = "https://shop.example/"


@pytest.fixture
def saved(car):
    """The test car, long-wheelbase with leather: 20,000 + 5,000 + 2,000 + 400 + 300 heating = 27,700."""
    return catalog_services.configuration_save(
        product=car.product, choices={"line": "LWB", "interior": "LTH"}, actor=None
    )


@pytest.fixture
def request_quote(django_capture_on_commit_callbacks):
    """``request_quote(configuration, **fields)``: the service, with the after-commit e-mail really sent."""

    def _request(configuration, **fields):
        data = {"name": "Clara Weber", "email": "Clara.Weber@Example.org", "phone": "030 9876543", "consent": True}
        with django_capture_on_commit_callbacks(execute=True):
            return quote_request_create(configuration=configuration, site_url=SITE, **{**data, **fields})

    return _request


# --- The service ---------------------------------------------------------------------------------------


def test_a_new_person_gets_a_prospect_contact_a_lead_a_touch_and_a_draft_quote(org, saved, request_quote):
    quote = request_quote(saved, ip="203.0.113.5")

    contact = quote.contact
    assert contact.is_prospect and (contact.first_name, contact.last_name) == ("Clara", "Weber")
    assert list(contact.emails.values_list("email", flat=True)) == ["Clara.Weber@Example.org"]
    assert list(contact.phones.values_list("e164", flat=True)) == ["+49309876543"]
    lead = Lead.objects.get()
    assert quote.lead == lead and lead.contact == contact and lead.source == "configurator"
    assert "Clara.Weber@Example.org" in lead.notes and "consent given" in lead.notes

    assert (quote.status, quote.source, quote.currency) == ("draft", "configurator", "EUR")
    # No assignment rule picks a rep, so the quote follows the prospect's owner: the first admin, as leads do.
    assert lead.owner is None and quote.owner == contact.owner == org.admin
    line = quote.lines.get()
    assert line.configuration == saved and line.quantity == 1 and line.sku == saved.sku_code
    assert saved.total == Decimal("27700.00")
    assert line.unit_price == saved.total and quote.subtotal == saved.total
    assert quote.total == saved.total  # no country known yet: no tax
    assert line.lead_time_days == saved.lead_time_days

    touch = Touch.objects.get(contact=contact)
    assert (touch.direction, touch.channel, touch.status) == ("in", "web", "done")
    assert touch.purpose.name == "Quote request" and touch.user == quote.owner
    assert quote.number in touch.notes

    consent = ChannelConsent.objects.get(contact=contact)
    assert (consent.channel, consent.status) == ("email", "granted")
    assert quote.number in consent.source and "203.0.113.5" in consent.source


def test_the_confirmation_email_has_the_number_the_summary_and_the_share_link(org, saved, request_quote):
    quote = request_quote(saved)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["Clara.Weber@Example.org"]
    assert quote.number in message.subject and "Test car" in message.subject
    share_url = f"https://shop.example/configure/test-car/c/{saved.token}/"
    assert "Dear Clara Weber" in message.body and quote.number in message.body
    assert share_url in message.body and "€27,700" in message.body
    assert "Interior: Lth" in message.body  # the chosen options, by their labels
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert quote.number in html and f'href="{share_url}"' in html and "€27,700" in html


def test_a_known_customer_is_matched_to_their_record(org, anna, acme, saved, request_quote):
    contacts_before = Contact.objects.count()
    quote = request_quote(saved, name="Anna Schmidt", email="anna.schmidt@ACME.example", phone="")
    assert Contact.objects.count() == contacts_before
    assert quote.contact == anna and quote.account == acme and quote.lead.contact == anna
    assert not Contact.objects.get(pk=anna.pk).is_prospect
    # The lead is not assigned by any rule: the quote goes to the customer's own rep.
    assert quote.owner == anna.owner == org.rep
    assert Touch.objects.filter(contact=anna, direction="in", channel="web").count() == 1


def test_the_quote_belongs_to_the_rep_the_assignment_rules_give_the_lead(org, saved, request_quote):
    AssignmentRule.objects.create(name="Configurator", source="configurator", team=org.rep.team)
    quote = request_quote(saved)
    assert quote.lead.owner in (org.rep, org.rep_b)
    assert quote.owner == quote.lead.owner
    assert Touch.objects.get(contact=quote.contact).user == quote.owner


def test_without_the_consent_box_no_consent_is_recorded_and_an_earlier_answer_stays(org, anna, saved, request_quote):
    quote = request_quote(saved, consent=False)
    assert not ChannelConsent.objects.filter(contact=quote.contact).exists()
    assert "consent not given" in quote.lead.notes

    consent_set(contact=anna, actor=None, channel="email", status="withdrawn", source="phone call")
    request_quote(saved, name="Anna Schmidt", email="anna.schmidt@acme.example", consent=False)
    assert ChannelConsent.objects.get(contact=anna).status == "withdrawn"


def test_the_same_request_again_within_minutes_is_the_same_quote(org, saved, request_quote):
    first = request_quote(saved)
    again = request_quote(saved, name="  Clara   Weber ")
    assert again == first
    assert (Quote.objects.count(), Lead.objects.count(), Touch.objects.count()) == (1, 1, 1)
    assert len(mail.outbox) == 1
    other = request_quote(saved, name="Dora Vogel", email="dora@example.org", phone="")
    assert other != first and Quote.objects.count() == 2


@pytest.mark.parametrize(
    ("fields", "field", "says"),
    [
        ({"email": "clara.example.org"}, "email", "is not an e-mail address"),
        ({"email": ""}, "email", "Enter your e-mail address"),
        ({"name": "   "}, "name", "Enter your name"),
        ({"name": "x" * 101}, "name", "at most 100"),
        ({"phone": "12"}, "phone", "is not a phone number we can call"),
    ],
)
def test_bad_details_are_refused_by_field_and_write_nothing(org, saved, request_quote, fields, field, says):
    with pytest.raises(ValidationError) as caught:
        request_quote(saved, **fields)
    assert says in " ".join(caught.value.message_dict[field])
    assert not (Quote.objects.exists() or Lead.objects.exists() or Touch.objects.exists())
    assert not mail.outbox


def test_a_configuration_of_a_product_taken_off_the_configurator_is_refused(org, car, saved, request_quote):
    catalog_services.product_update(product=car.product, actor=None, data={"is_active": False})
    with pytest.raises(ValidationError, match="can no longer be configured"):
        request_quote(saved)
    assert not Quote.objects.exists()


def test_a_failed_confirmation_email_is_logged_and_the_request_stays(org, saved, request_quote, monkeypatch, caplog):
    def broken(self, fail_silently=False):
        raise ConnectionRefusedError("no mail server")

    monkeypatch.setattr("django.core.mail.EmailMultiAlternatives.send", broken)
    quote = request_quote(saved)
    assert Quote.objects.filter(pk=quote.pk).exists()
    assert "was not sent" in caplog.text


# --- Over HTTP, anonymously ------------------------------------------------------------------------------


def form_url(configuration) -> str:
    return f"/configure/{configuration.product.slug}/c/{configuration.token}/quote/"


FORM = {"name": "Clara Weber", "email": "clara@example.org", "phone": "", "consent": "on"}


def test_the_configurator_offers_a_quote_request_that_saves_first(org, car, client):
    page = client.get("/configure/test-car/").content.decode()
    assert 'id="cfg-quote"' in page and 'name="then" value="quote"' in page
    response = client.post("/configure/test-car/save/", {"_touched": ["line"], "line": "LWB", "then": "quote"})
    saved = Configuration.objects.get()
    assert response.status_code == 302 and response.url == form_url(saved)
    shared = client.get(f"/configure/test-car/c/{saved.token}/").content.decode()
    assert f'href="{form_url(saved)}"' in shared  # the saved configuration links to its quote request


def test_the_form_is_public_labelled_and_shows_the_frozen_configuration(org, saved, client):
    response = client.get(form_url(saved))
    assert response.status_code == 200
    page = response.content.decode()
    for label in ('for="id_name"', 'for="id_email"', 'for="id_phone"', 'for="id_consent"'):
        assert label in page
    assert 'autocomplete="email"' in page and 'inputmode="tel"' in page
    assert "€27,700" in page and saved.sku_code in page and "Test car" in page
    assert 'name="cfg_extra_note"' in page  # the honeypot


def test_a_request_over_http_redirects_to_its_confirmation(org, saved, client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(form_url(saved), FORM, REMOTE_ADDR="198.51.100.7")
    quote = Quote.objects.get()
    assert response.status_code == 302 and response.url.startswith(f"{form_url(saved)}sent/")
    page = client.get(response.url).content.decode()
    assert quote.number in page and f"http://testserver/configure/test-car/c/{saved.token}/" in page
    assert "€27,700" in page
    assert len(mail.outbox) == 1 and "http://testserver/configure/test-car/c/" in mail.outbox[0].body
    assert "198.51.100.7" in ChannelConsent.objects.get(contact=quote.contact).source


def test_a_double_submit_shows_the_same_confirmation(org, saved, client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(form_url(saved), FORM)
        second = client.post(form_url(saved), FORM)
    assert first.status_code == second.status_code == 302
    quote = Quote.objects.get()
    for response in (first, second):
        assert quote.number in client.get(response.url).content.decode()
    assert Lead.objects.count() == 1 and len(mail.outbox) == 1


def test_bad_details_show_inline_errors_and_write_nothing(org, saved, client):
    response = client.post(form_url(saved), {**FORM, "email": "clara(at)example", "name": ""})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Your request was not sent yet" in page
    assert "is not an e-mail address we can write to" in page or "Enter your name" in page
    assert 'aria-invalid="true"' in page and 'id="id_name_error"' in page
    assert 'value="clara(at)example"' in page  # what was typed stays, to be corrected
    response = client.post(form_url(saved), {**FORM, "email": "clara(at)example"})
    page = response.content.decode()
    assert response.status_code == 400 and "is not an e-mail address we can write to" in page
    assert 'id="id_email_error"' in page and 'href="#id_email"' in page
    assert not Quote.objects.exists() and not Lead.objects.exists()


def test_the_honeypot_turns_bots_away(org, saved, client):
    response = client.post(form_url(saved), {**FORM, "cfg_extra_note": "http://spam.example"})
    assert response.status_code == 400 and "could not take this request" in response.content.decode()
    assert not Quote.objects.exists() and not mail.outbox


@pytest.mark.parametrize("field", ["price", "total", "currency"])
def test_a_posted_price_is_refused(org, saved, client, field):
    response = client.post(form_url(saved), {**FORM, field: "1.00"})
    assert response.status_code == 400 and "Prices are worked out by us" in response.content.decode()
    assert not Quote.objects.exists()


def test_unknown_tokens_and_other_products_are_not_found(org, saved, desk, client):
    assert client.get("/configure/test-car/c/not-a-token/quote/").status_code == 404
    assert client.post("/configure/test-car/c/not-a-token/quote/", FORM).status_code == 404
    assert client.get(f"/configure/{desk.slug}/c/{saved.token}/quote/").status_code == 404
    assert client.get("/configure/nothing/c/x/quote/").status_code == 404
    assert not Quote.objects.exists()


def test_a_tampered_or_foreign_receipt_is_not_found(org, saved, car, client):
    client.post(form_url(saved), FORM)
    quote = Quote.objects.get()
    good = signing.dumps(quote.pk, salt=views_public.RECEIPT_SALT)
    assert client.get(f"{form_url(saved)}sent/{good}/").status_code == 200
    assert client.get(f"{form_url(saved)}sent/{good[:-2]}xx/").status_code == 404
    forged = signing.dumps(quote.pk, salt="another purpose")
    assert client.get(f"{form_url(saved)}sent/{forged}/").status_code == 404
    other = catalog_services.configuration_save(product=car.product, choices={}, actor=None)
    assert client.get(f"{form_url(other)}sent/{good}/").status_code == 404


def test_the_configurator_rate_limit_applies(org, saved, client, settings):
    settings.CONFIGURATOR_RATE_LIMIT = "2/min"
    assert client.get(form_url(saved)).status_code == 200
    assert client.get(form_url(saved)).status_code == 200
    refused = client.post(form_url(saved), FORM)
    assert refused.status_code == 429 and "Please slow down" in refused.content.decode()
    assert int(refused["Retry-After"]) >= 1
    assert not Quote.objects.exists()
    assert Client(REMOTE_ADDR="10.0.0.9").get(form_url(saved)).status_code == 200


def test_new_requests_per_address_are_limited_too(org, saved, client, monkeypatch):
    monkeypatch.setattr(views_public, "NEW_REQUESTS_PER_HOUR", 1)
    assert client.post(form_url(saved), FORM).status_code == 302
    refused = client.post(form_url(saved), {**FORM, "email": "someone.else@example.org"})
    assert refused.status_code == 429 and Quote.objects.count() == 1
    assert "Please slow down" in refused.content.decode() and 1 <= int(refused["Retry-After"]) <= 3600
    # the API spends from the same hourly budget of the address
    api = _api_post(client, saved.product.slug, {"configuration": saved.token, "name": "C W", "email": "c@example.org"})
    assert api.status_code == 429 and 1 <= int(api["Retry-After"]) <= 3600
    other = Client(REMOTE_ADDR="10.0.0.9")
    assert other.post(form_url(saved), {**FORM, "email": "third@example.org"}).status_code == 302


def test_csrf_is_enforced(org, saved):
    browser = Client(enforce_csrf_checks=True)
    assert browser.post(form_url(saved), FORM).status_code == 403
    browser.get(form_url(saved))
    token = browser.cookies["csrftoken"].value
    assert browser.post(form_url(saved), {**FORM, "csrfmiddlewaretoken": token}).status_code == 302
    assert Quote.objects.count() == 1


# --- The API -------------------------------------------------------------------------------------------


def _api_post(client, slug, body):
    return client.post(f"/api/configurator/{slug}/quote-requests/", body, content_type="application/json")


def test_the_api_takes_choices_saves_the_configuration_and_makes_the_quote(
    org, car, django_capture_on_commit_callbacks
):
    client = Client()
    body = {"choices": {"line": "LWB", "interior": "LTH"}, "name": "Clara Weber", "email": "clara@example.org"}
    with django_capture_on_commit_callbacks(execute=True):
        response = _api_post(client, car.product.slug, {**body, "consent": True})
    assert response.status_code == 201, response.content
    data = response.json()
    quote = Quote.objects.get(number=data["quote"])
    configuration = Configuration.objects.get(token=data["configuration"])
    assert (
        configuration.source == "api" and Decimal(data["total"]) == Decimal("27700.00") == quote.lines.get().unit_price
    )
    assert data["share_url"].endswith(f"/configure/{car.product.slug}/c/{configuration.token}/")
    assert Lead.objects.get(contact=quote.contact).source == "configurator"
    assert len(mail.outbox) == 1
    # The same request again (a client retrying) is the same quote.
    person = {"name": "Clara Weber", "email": "clara@example.org", "consent": True}
    again = _api_post(client, car.product.slug, {"configuration": configuration.token, **person})
    assert again.status_code == 201 and again.json()["quote"] == data["quote"]


def test_the_api_refuses_bad_requests_clearly(org, car, saved):
    client = Client()
    person = {"name": "Clara Weber", "email": "clara@example.org"}
    impossible = _api_post(client, car.product.slug, {"choices": {"line": "COM", "extras": ["TOW"]}, **person})
    assert impossible.status_code == 400 and "towbar" in impossible.content.decode().lower()
    priced = _api_post(client, car.product.slug, {"choices": {}, "total": "1.00", **person})
    assert priced.status_code == 400 and "computed by the server" in priced.content.decode()
    both = _api_post(client, car.product.slug, {"choices": {}, "configuration": saved.token, **person})
    assert both.status_code == 400 and "either" in both.content.decode()
    bad_email = _api_post(client, car.product.slug, {"configuration": saved.token, "name": "C W", "email": "nope"})
    assert bad_email.status_code == 400 and "email" in bad_email.json()
    assert _api_post(client, "no-such-car", {"choices": {}, **person}).status_code == 404
    assert _api_post(client, car.product.slug, {"configuration": "unknown", **person}).status_code == 404
    assert not Quote.objects.exists()
