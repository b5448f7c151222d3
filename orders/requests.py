"""The public configurator's "request a quote": one customer's request becomes a lead, a consent record, a
touch on their timeline and a draft quote, in one transaction, and a confirmation e-mail once it is committed.

The flow spans catalog, contacts, leads and orders, so it lives here, in the lowest app it touches
(DESIGN.md). Who the person is, the matching engine decides (``leads.services.lead_create``): a known
customer gets the lead, the touch and the quote on their existing record. Prices are the configuration's,
frozen when it was saved: nothing the browser sends is a price.
"""

from __future__ import annotations

import logging
import unicodedata
from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from catalog.configurator import MULTI, NUMBER, SINGLE, compiled_for
from catalog.formatting import delivery, money
from catalog.models import Configuration
from catalog.selectors import public_products
from contacts.models import Channel, ChannelConsent, Contact, Purpose, Touch
from contacts.normalize import PhoneError, phone_e164
from contacts.services import consent_set, purpose_save, touch_record
from leads.models import Lead, LeadSource
from leads.services import lead_create
from orders.models import Quote
from orders.services import quote_create
from sfa.models import Role, User

logger = logging.getLogger(__name__)

# A second request for the same configuration by the same person within this time is the same request
# (a double click, a reload that posts again, an impatient second try): it gets the first one's quote.
REPLAY_WINDOW = timedelta(minutes=10)
PURPOSE_CODE, PURPOSE_NAME = "quote-request", "Quote request"
NAME_MAX = 100


class _Replay(Exception):
    """Raised inside the savepoint to undo the lead of a request that was already made."""

    def __init__(self, quote: Quote):
        super().__init__(quote.number)
        self.quote = quote


def _one_line(value: str) -> str:
    text = "".join(ch for ch in value or "" if unicodedata.category(ch)[0] != "C" or ch in "\t\n")
    return " ".join(text.split())


def _name_parts(name: str) -> tuple[str, str]:
    """ "Anna Maria Schmidt" -> ("Anna Maria", "Schmidt"); "Schmidt, Anna" -> ("Anna", "Schmidt")."""
    if "," in name:
        last, _, first = name.partition(",")
        if last.strip() and first.strip():
            return first.strip(), last.strip()
        name = name.replace(",", " ")
    words = name.split()
    return " ".join(words[:-1]), words[-1]


def quote_request_clean(*, name: str, email: str, phone: str) -> dict[str, str]:
    """The person's details, checked: name, e-mail (as typed, trimmed) and phone in E.164 ("" when not given).

    Raises one ValidationError naming every field that is wrong, in words a customer understands.
    """
    errors: dict[str, str] = {}
    name = _one_line(name)
    if not name:
        errors["name"] = "Enter your name, so that we know whom to address the quote to."
    elif len(name) > NAME_MAX:
        errors["name"] = f"Your name has {len(name)} characters: we can take at most {NAME_MAX}."
    email = (email or "").strip()
    try:
        if not email:
            raise ValidationError("empty")
        validate_email(email)
    except ValidationError:
        errors["email"] = (
            "Enter your e-mail address, such as name@example.com: we send the quote there."
            if not email
            else f"“{email[:80]}” is not an e-mail address we can write to: check it (name@example.com)."
        )
    phone = _one_line(phone)
    if phone:
        try:
            phone = phone_e164(phone)
        except PhoneError:
            errors["phone"] = (
                f"“{phone[:40]}” is not a phone number we can call: write it with its area code, or with the "
                "country code from abroad (+44 20 7946 0958)."
            )
    if errors:
        raise ValidationError(errors)
    return {"name": name, "email": email, "phone": phone}


def _owner_for(lead: Lead) -> User:
    """The lead's owner after assignment; else the customer's own rep; else the first admin (as leads do)."""
    for candidate in (lead.owner, lead.contact.owner):
        if candidate is not None and candidate.is_active:
            return candidate
    admin = User.objects.filter(role=Role.ADMIN, is_active=True).order_by("pk").first()
    if admin is None:
        raise ValidationError("No active admin to own a quote requested in the configurator.")
    return admin


def quote_request_purpose() -> Purpose:
    """The purpose "Quote request" (made the first time it is needed, without a guard rule: it is inbound)."""
    lookup = Q(code=PURPOSE_CODE) | Q(name__iexact=PURPOSE_NAME)
    purpose = Purpose.objects.filter(lookup).order_by("pk").first()
    if purpose is not None:
        return purpose
    try:
        with transaction.atomic():
            return purpose_save(
                actor=None,
                name=PURPOSE_NAME,
                description="A customer asked for a quote (the public configurator writes these).",
            )
    except (IntegrityError, ValidationError):  # made by a request running at the same moment
        return Purpose.objects.filter(lookup).order_by("pk").get()


def _recent_request(configuration: Configuration, contact: Contact) -> Quote | None:
    return (
        Quote.objects.filter(
            source=Quote.Source.CONFIGURATOR,
            contact=contact,
            lines__configuration=configuration,
            created_at__gte=timezone.now() - REPLAY_WINDOW,
        )
        .order_by("-created_at", "-id")
        .first()
    )


@transaction.atomic
def quote_request_create(
    *,
    configuration: Configuration,
    name: str,
    email: str,
    phone: str,
    consent: bool,
    ip: str | None = None,
    site_url: str = "",
) -> Quote:
    """A customer's request for a quote on a saved configuration: lead, consent, touch and draft quote.

    The lead goes through the matching engine, so a known customer gets it on their existing record; the
    quote carries the configuration at its frozen price and belongs to the lead's owner after assignment
    (else the customer's rep, else the first admin). E-mail consent is recorded only when ``consent`` is
    ticked: leaving it unticked changes nothing the customer said before. The same request again within
    ``REPLAY_WINDOW`` returns the first quote and writes nothing. ``site_url`` ("https://shop.example")
    makes the links in the confirmation e-mail absolute; the e-mail is sent after the commit.
    """
    person = quote_request_clean(name=name, email=email, phone=phone)
    product = public_products().filter(pk=configuration.product_id).first()
    if product is None:
        raise ValidationError(
            f"{configuration.product} can no longer be configured, so we cannot quote configuration "
            f"{configuration.sku_code}: please contact us directly."
        )
    # Two requests for one configuration wait for each other here, so a double click cannot make two quotes.
    configuration = Configuration.objects.select_for_update().get(pk=configuration.pk)
    first_name, last_name = _name_parts(person["name"])
    try:
        with transaction.atomic():
            lead = lead_create(
                actor=None,
                person={
                    "first_name": first_name,
                    "last_name": last_name,
                    "email": person["email"],
                    "phone": person["phone"],
                },
                source=LeadSource.CONFIGURATOR,
                source_detail=f"Quote request: {product.name}"[:200],
                interests=[product.name, product.category.name],
                notes=(
                    f"Asked for a quote on {product.name} ({configuration.sku_code}, "
                    f"{money(configuration.total, configuration.currency)}) in the configurator.\n"
                    f"As entered: {person['name']}, {person['email']}, {person['phone'] or 'no phone'}; "
                    f"e-mail consent {'given' if consent else 'not given'}."
                ),
            )
            earlier = _recent_request(configuration, lead.contact)
            if earlier is not None:
                raise _Replay(earlier)
    except _Replay as replay:
        return replay.quote
    contact = lead.contact
    owner = _owner_for(lead)
    quote = quote_create(
        actor=None,
        contact=contact,
        lead=lead,
        owner=owner,
        currency=configuration.currency,
        source=Quote.Source.CONFIGURATOR,
        lines=[{"product": product, "configuration": configuration, "quantity": 1}],
    )
    if consent:
        where = f" from {ip}" if ip else ""
        consent_set(
            contact=contact,
            actor=None,
            channel=Channel.EMAIL,
            status=ChannelConsent.Status.GRANTED,
            source=f"Configurator quote request {quote.number}{where}"[:200],
        )
    touch_record(
        contact=contact,
        purpose=quote_request_purpose(),
        channel=Channel.WEB,
        direction=Touch.Direction.IN,
        user=owner,
        notes=f"Asked for a quote on {product.name} ({configuration.sku_code}) in the configurator: {quote.number}.",
    )
    mail = {"quote_id": quote.pk, "to": person["email"], "name": person["name"], "site_url": site_url}
    transaction.on_commit(lambda: quote_request_confirmation_send(**mail))
    return quote


# --- What the customer reads: the confirmation page and e-mail ------------------------------------------


def configuration_choices_shown(configuration: Configuration) -> list[tuple[str, str]]:
    """(attribute, what was chosen) of a saved configuration, as the configurator's summary shows them."""
    model = compiled_for(configuration.product)
    shown = []
    for attr in model.attributes:
        value = configuration.choices.get(attr.code)
        if attr.shape == SINGLE:
            text = model.label((attr.code, value)) if value else "None"
        elif attr.shape == MULTI:
            text = ", ".join(model.label((attr.code, code)) for code in value or ()) or "None"
        elif attr.shape == NUMBER:
            text = f"{value} {attr.unit}".strip() if value not in (None, "") else "—"
        else:
            text = str(value) if value else "—"
        shown.append((attr.name, text))
    return shown


def quote_request_context(*, quote: Quote | None, configuration: Configuration, site_url: str = "") -> dict[str, Any]:
    """What the request form, the confirmation page and the e-mail show: the configuration, its frozen prices,
    its share link and (once made) the quote."""
    share_path = reverse(
        "catalog:configure-shared", kwargs={"slug": configuration.product.slug, "token": configuration.token}
    )
    return {
        "quote": quote,
        "configuration": configuration,
        "product": configuration.product,
        "choices": configuration_choices_shown(configuration),
        "price_lines": [
            {"label": line["label"], "amount": money(line["amount"], configuration.currency)}
            for line in configuration.price_breakdown
        ],
        "total": money(configuration.total, configuration.currency),
        "delivery": delivery(configuration.lead_time_days),
        "share_url": f"{site_url.rstrip('/')}{share_path}",
    }


def quote_request_confirmation_send(*, quote_id: int, to: str, name: str, site_url: str = "") -> None:
    """E-mail the customer their request's confirmation (plain text and HTML); a failure is logged, not raised.

    The request is already committed when this runs: the rep follows it up whether or not the mail went out.
    """
    try:
        quote = Quote.objects.select_related("owner").get(pk=quote_id)
        line = quote.lines.select_related("configuration__product").exclude(configuration=None).first()
        context = {
            **quote_request_context(quote=quote, configuration=line.configuration, site_url=site_url),
            "name": name,
        }
        subject = f"Your quote request {quote.number}: {line.configuration.product.name}"
        message = EmailMultiAlternatives(
            subject=subject,
            body=render_to_string("orders/public/email/quote_request.txt", context),
            to=[to],
        )
        message.attach_alternative(render_to_string("orders/public/email/quote_request.html", context), "text/html")
        message.send()
    except Exception:
        logger.exception("The confirmation e-mail of quote request %s was not sent", quote_id)
