"""Writes on leads and opportunities: creation through the matching engine, assignment, scoring,
status, conversion, and every change of an opportunity's stage recorded with who and when."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from catalog.models import Configuration, Product
from contacts.matching.engine import LINK, account_candidates, contact_candidates
from contacts.matching.score import PersonRecord
from contacts.models import Account, Contact
from contacts.normalize import PhoneError, phone_e164
from contacts.services import account_create, contact_create
from leads import scoring
from leads.assignment import Assigner
from leads.models import (
    AssignmentRule,
    ForecastCategory,
    Lead,
    LeadSource,
    Opportunity,
    OpportunityLine,
    Pipeline,
    ScoringModel,
    Stage,
    StageChange,
)
from sfa.audit import audit_record, diff, snapshot
from sfa.models import AuditAction, Role, User
from sfa.permissions import require
from sfa.services import model_create, model_delete, model_update

PERSON_FIELDS = ("first_name", "last_name", "title", "street", "city", "postcode", "region", "country", "birth_date")


def person_record(data: dict[str, Any]) -> PersonRecord:
    phones = []
    for raw in [data.get("phone"), *(data.get("phones") or [])]:
        if raw:
            try:
                phones.append(phone_e164(raw, (data.get("country") or "").upper() or None))
            except PhoneError:
                continue
    return PersonRecord(
        id=0,
        first_name=data.get("first_name", ""),
        last_name=data.get("last_name", ""),
        emails=[e for e in [data.get("email"), *(data.get("emails") or [])] if e],
        phones=phones,
        company=data.get("company", ""),
        street=data.get("street", ""),
        city=data.get("city", ""),
        postcode=data.get("postcode", ""),
        country=data.get("country", ""),
        birth_date=data.get("birth_date"),
    )


# --- Leads ---------------------------------------------------------------------------------------


@transaction.atomic
def lead_create(
    *,
    actor: User | None,
    person: dict[str, Any] | None = None,
    source: str = LeadSource.MANUAL,
    source_detail: str = "",
    company: str = "",
    interests: list[str] | None = None,
    buying_patterns: str = "",
    notes: str = "",
    owner: User | None = None,
    lead_import=None,
    assign: bool = True,
    contact: Contact | None = None,
) -> Lead:
    """A lead for the person described by ``person`` (first_name, last_name, email, phone, address …).

    The matching engine decides who the person is: a sure match (a customer or an earlier lead) gets the
    new lead on their existing record, so the timeline and the outreach guard see one person; otherwise a
    new prospect contact is made, and a possible match goes to the review queue. A caller that already
    knows the person (a customer found by a related-product rule) passes ``contact`` instead.
    """
    if actor is not None:
        require(actor, "add", Lead)
    if source not in LeadSource.values:
        raise ValidationError({"source": f"Unknown source {source!r}."})
    person = person or {}
    if contact is None and not (person.get("last_name") or "").strip():
        raise ValidationError({"last_name": "A lead needs at least a last name."})
    if contact is None:
        record = person_record({**person, "company": company})
        candidates = contact_candidates(record)
        if candidates and candidates[0].score >= LINK:
            contact = Contact.objects.get(pk=candidates[0].id)
        else:
            contact = contact_create(
                actor=actor,
                allow_duplicate=True,
                source="import" if lead_import else "create",
                is_prospect=True,
                owner=owner or actor or _fallback_owner(),
                emails=record.emails,
                phones=record.phones,
                **{k: person[k] for k in PERSON_FIELDS if person.get(k) not in (None, "")},
            )
    lead = Lead.objects.create(
        contact=contact,
        company=company.strip(),
        source=source,
        source_detail=source_detail,
        interests=sorted({i.strip().lower() for i in interests or [] if i.strip()}),
        buying_patterns=buying_patterns,
        notes=notes,
        owner=owner,
        assigned_at=timezone.now() if owner else None,
        lead_import=lead_import,
    )
    audit_record(actor=actor, instance=lead, action=AuditAction.CREATE, changes=diff({}, snapshot(lead)))
    if owner is None and assign:
        lead_assign(lead=lead, actor=None)
    lead_score(lead=lead)
    return lead


def _fallback_owner() -> User:
    owner = User.objects.filter(role=Role.ADMIN, is_active=True).order_by("pk").first()
    if owner is None:
        raise ValidationError("No active admin to own records created without a user.")
    return owner


def lead_assign(*, lead: Lead, actor: User | None, owner: User | None = None) -> Lead:
    """Give the lead to ``owner``, or to the rep the first matching assignment rule picks (else: unassigned)."""
    if actor is not None:
        require(actor, "assign", lead)
    rule = None
    if owner is None:
        rule, owner = _owner_by_rules(lead)
    if owner is None:
        return lead
    model_update(
        instance=lead,
        actor=actor,
        data={"owner": owner, "team": owner.team, "assigned_at": timezone.now()},
        note=f"assigned by rule {rule}" if rule else "",
    )
    if lead.contact.is_prospect and lead.contact.owner_id != owner.pk:
        model_update(instance=lead.contact, actor=actor, data={"owner": owner}, note="follows its lead")
    return lead


def _owner_by_rules(lead: Lead) -> tuple[AssignmentRule | None, User | None]:
    contact = lead.contact
    assigner = Assigner()
    rule, owner = assigner.pick(
        country=contact.country,
        region=contact.region,
        postcode=contact.postcode,
        interests=lead.interests or [],
        source=lead.source,
    )
    assigner.save()
    return rule, owner


def lead_score(*, lead: Lead) -> Lead:
    result = scoring.score(scoring.features(lead), scoring.active_model())
    Lead.objects.filter(pk=lead.pk).update(
        score=result.value, score_reasons=result.reasons, score_model=result.model, scored_at=timezone.now()
    )
    lead.score, lead.score_reasons, lead.score_model = result.value, result.reasons, result.model
    return lead


def scoring_retrain() -> ScoringModel | None:
    """Train on every converted and disqualified lead; activate the new model and rescore open leads."""
    closed = Lead.objects.filter(status__in=[Lead.Status.CONVERTED, Lead.Status.DISQUALIFIED]).select_related("contact")
    samples = [(scoring.features(lead), int(lead.status == Lead.Status.CONVERTED)) for lead in closed.iterator()]
    fitted = scoring.train(samples)
    if fitted is None:
        return None
    with transaction.atomic():
        ScoringModel.objects.update(is_active=False)
        model = ScoringModel.objects.create(
            version=fitted["version"],
            coefficients=fitted["coefficients"],
            samples=fitted["samples"],
            converted=fitted["converted"],
            accuracy=fitted["accuracy"],
        )
    for lead in Lead.objects.filter(
        status__in=[Lead.Status.NEW, Lead.Status.WORKING, Lead.Status.QUALIFIED]
    ).iterator():
        lead_score(lead=lead)
    return model


LEAD_FIELDS = ("company", "interests", "buying_patterns", "notes", "source_detail")


def lead_update(*, lead: Lead, actor: User, data: dict[str, Any]) -> list[str]:
    require(actor, "change", lead)
    unknown = set(data) - {*LEAD_FIELDS, "status"}
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, "This cannot be changed here."))
    if "status" in data:
        allowed = {
            Lead.Status.NEW: {"working", "qualified", "disqualified"},
            Lead.Status.WORKING: {"qualified", "disqualified", "new"},
            Lead.Status.QUALIFIED: {"working", "disqualified"},
            Lead.Status.DISQUALIFIED: {"working"},
        }
        if data["status"] != lead.status and data["status"] not in allowed.get(lead.status, set()):
            raise ValidationError(
                {
                    "status": f"A {lead.get_status_display().lower()} lead cannot become "
                    f"{data['status']} (conversion has its own step)."
                }
            )
        if data["status"] == Lead.Status.DISQUALIFIED and not (data.get("disqualify_reason") or lead.disqualify_reason):
            raise ValidationError({"disqualify_reason": "Say why the lead is disqualified."})
    changed = model_update(instance=lead, actor=actor, data=data)
    if changed:
        lead_score(lead=lead)
    return changed


def lead_disqualify(*, lead: Lead, actor: User, reason: str) -> Lead:
    require(actor, "change", lead)
    if not reason.strip():
        raise ValidationError({"disqualify_reason": "Say why the lead is disqualified."})
    model_update(
        instance=lead, actor=actor, data={"status": Lead.Status.DISQUALIFIED, "disqualify_reason": reason.strip()}
    )
    return lead


@transaction.atomic
def lead_convert(
    *,
    lead: Lead,
    actor: User,
    account: Account | None = None,
    new_account_name: str = "",
    opportunity: dict[str, Any] | None = None,
) -> Lead:
    """Lead -> account (the one given, an existing one the matching engine finds, or a new one) + contact
    (the lead's person, now a customer) + an optional opportunity. The lead stays, marked converted."""
    lead = Lead.objects.select_for_update().select_related("contact").get(pk=lead.pk)
    require(actor, "convert", lead)
    if lead.status == Lead.Status.CONVERTED:
        raise ValidationError("This lead was converted already.")
    if lead.status == Lead.Status.DISQUALIFIED:
        raise ValidationError("A disqualified lead cannot be converted; reopen it first.")
    contact = lead.contact
    name = (new_account_name or lead.company).strip()
    if account is None and contact.account_id:
        account = contact.account
    if account is None and name:
        found = account_candidates(name, contact.city)
        account = (
            Account.objects.get(pk=found[0].id)
            if found and found[0].score >= LINK
            else account_create(
                actor=actor,
                name=name,
                city=contact.city,
                country=contact.country,
                street=contact.street,
                postcode=contact.postcode,
                owner=lead.owner or actor,
                allow_duplicate=True,
                source="conversion",
            )
        )
    model_update(
        instance=contact,
        actor=actor,
        data={"is_prospect": False, "account": account or contact.account, "owner": lead.owner or contact.owner},
        note="lead converted",
    )
    opp = None
    if opportunity:
        opp = opportunity_create(
            actor=actor,
            account=account,
            contact=contact,
            lead=lead,
            owner=lead.owner or actor,
            via="conversion",
            **opportunity,
        )
    model_update(
        instance=lead,
        actor=actor,
        data={
            "status": Lead.Status.CONVERTED,
            "converted_at": timezone.now(),
            "converted_by": actor,
            "converted_account": account,
            "converted_opportunity": opp,
        },
    )
    return lead


# --- Pipelines and opportunities -----------------------------------------------------------------

DEFAULT_STAGES = (
    ("Prospecting", 10, ForecastCategory.PIPELINE),
    ("Qualification", 20, ForecastCategory.PIPELINE),
    ("Needs analysis", 40, ForecastCategory.BEST_CASE),
    ("Proposal", 60, ForecastCategory.BEST_CASE),
    ("Negotiation", 80, ForecastCategory.COMMIT),
    ("Closed won", 100, ForecastCategory.CLOSED_WON),
    ("Closed lost", 0, ForecastCategory.CLOSED_LOST),
)


def pipeline_default() -> Pipeline:
    """The default pipeline, created with the usual stages on first use."""
    pipeline = Pipeline.objects.filter(is_default=True).first()
    if pipeline is None:
        with transaction.atomic():
            pipeline = Pipeline.objects.create(name="Sales", is_default=True)
            Stage.objects.bulk_create(
                Stage(pipeline=pipeline, name=n, order=i, probability=p, forecast_category=c)
                for i, (n, p, c) in enumerate(DEFAULT_STAGES, start=1)
            )
    return pipeline


TRACKED = ("stage_id", "amount", "probability", "expected_close", "forecast_category", "lost_reason")


def _may_own(actor: User, owner: User) -> bool:
    """A rep owns their own deals; a manager hands deals within their teams; an admin to anyone."""
    from sfa.permissions import team_member_ids

    if not owner.is_active:
        return False
    if actor.is_admin or owner.pk == actor.pk:
        return True
    return actor.is_manager and owner.pk in team_member_ids(actor)


def _money(value: Any) -> Decimal:
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError) as exc:
        raise ValidationError({"amount": f"{value!r} is not an amount."}) from exc
    if amount < 0:
        raise ValidationError({"amount": "An amount cannot be negative."})
    return amount


@transaction.atomic
def opportunity_create(
    *,
    actor: User,
    name: str,
    expected_close: date,
    owner: User | None = None,
    account: Account | None = None,
    contact: Contact | None = None,
    lead: Lead | None = None,
    pipeline: Pipeline | None = None,
    stage: Stage | None = None,
    amount: Any = 0,
    currency: str = "EUR",
    next_step: str = "",
    next_step_date: date | None = None,
    via: str = "form",
    at=None,
) -> Opportunity:
    require(actor, "add", Opportunity)
    pipeline = pipeline or pipeline_default()
    stage = stage or pipeline.stages.order_by("order").first()
    if stage.pipeline_id != pipeline.pk:
        raise ValidationError({"stage": f"{stage} is not a stage of the {pipeline} pipeline."})
    if owner is not None and not _may_own(actor, owner):
        raise PermissionDenied(f"You may not make {owner} the owner of an opportunity.")
    if stage.forecast_category == ForecastCategory.CLOSED_LOST:
        raise ValidationError({"stage": "A new opportunity cannot start lost."})
    if not name.strip():
        raise ValidationError({"name": "An opportunity needs a name."})
    opp = Opportunity.objects.create(
        name=name.strip(),
        account=account,
        contact=contact,
        lead=lead,
        owner=owner or actor,
        pipeline=pipeline,
        stage=stage,
        amount=_money(amount),
        currency=currency.upper()[:3],
        probability=stage.probability,
        forecast_category=stage.forecast_category,
        expected_close=expected_close,
        next_step=next_step,
        next_step_date=next_step_date,
        created_at=at or timezone.now(),
        closed_at=(at or timezone.now()) if stage.is_closed else None,
    )
    StageChange.objects.create(
        opportunity=opp,
        by=actor,
        via=via,
        from_stage=None,
        to_stage=stage,
        at=at or timezone.now(),
        changes={
            "stage_id": [None, stage.pk],
            "amount": [None, str(opp.amount)],
            "probability": [None, opp.probability],
            "expected_close": [None, expected_close.isoformat()],
        },
    )
    audit_record(actor=actor, instance=opp, action=AuditAction.CREATE, changes=diff({}, snapshot(opp)))
    return opp


OPPORTUNITY_FIELDS = (
    "name",
    "stage",
    "amount",
    "currency",
    "probability",
    "expected_close",
    "next_step",
    "next_step_date",
    "lost_reason",
    "owner",
    "forecast_category",
)


@transaction.atomic
def opportunity_update(
    *, opportunity: Opportunity, actor: User, data: dict[str, Any], via: str = "form", at=None
) -> list[str]:
    """Change an opportunity; a change of stage, amount, probability, forecast category or close date is
    recorded in its history. A new stage brings its probability and forecast category unless given."""
    opp = Opportunity.objects.select_for_update().get(pk=opportunity.pk)
    require(actor, "change", opp)
    unknown = set(data) - set(OPPORTUNITY_FIELDS)
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, "Unknown field."))
    data = dict(data)
    if "amount" in data:
        data["amount"] = _money(data["amount"])
    if "owner" in data and data["owner"] != opp.owner and not _may_own(actor, data["owner"]):
        raise PermissionDenied(f"You may not hand this opportunity to {data['owner']}.")
    stage = data.get("stage")
    if stage is not None and stage.pk != opp.stage_id:
        if stage.pipeline_id != opp.pipeline_id:
            raise ValidationError({"stage": f"{stage} is not a stage of the {opp.pipeline} pipeline."})
        data.setdefault("probability", stage.probability)
        data.setdefault("forecast_category", stage.forecast_category)
        if stage.forecast_category == ForecastCategory.CLOSED_LOST and not (data.get("lost_reason") or opp.lost_reason):
            raise ValidationError({"lost_reason": "Say why the opportunity was lost."})
        data["closed_at"] = (at or timezone.now()) if stage.is_closed else None
    before = {f: getattr(opp, f) for f in TRACKED}
    changed = model_update(instance=opp, actor=actor, data=data)
    after = {f: getattr(opp, f) for f in TRACKED}
    moved = {f: [_plain(before[f]), _plain(after[f])] for f in TRACKED if before[f] != after[f]}
    if moved:
        StageChange.objects.create(
            opportunity=opp,
            by=actor,
            via=via,
            at=at or timezone.now(),
            from_stage_id=before["stage_id"],
            to_stage_id=after["stage_id"],
            changes=moved,
        )
    opportunity.refresh_from_db()
    return changed


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def opportunity_move(
    *, opportunity: Opportunity, stage: Stage, actor: User, via: str = "board", lost_reason: str = ""
) -> Opportunity:
    """Drag and drop on the board: the same rules and history as any other change of stage."""
    data: dict[str, Any] = {"stage": stage}
    if lost_reason:
        data["lost_reason"] = lost_reason
    opportunity_update(opportunity=opportunity, actor=actor, data=data, via=via)
    return opportunity


def open_opportunities_q() -> Q:
    return ~Q(forecast_category__in=[ForecastCategory.CLOSED_WON, ForecastCategory.CLOSED_LOST])


# --- Opportunity lines -----------------------------------------------------------------------------


def _line_quantity(value: Any, where: str) -> Decimal:
    try:
        quantity = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise ValidationError({"quantity": f"{where}: {value!r} is not a quantity."}) from exc
    # Lines become order lines (orders.services.order_from_opportunity), which count whole units.
    if not quantity.is_finite() or quantity < 1 or quantity != quantity.to_integral_value():
        raise ValidationError({"quantity": f"{where}: the quantity must be a whole number of units, 1 or more."})
    return quantity


def _line_price(value: Any, where: str) -> Decimal:
    try:
        return _money(value)
    except ValidationError as exc:
        raise ValidationError({"unit_price": f"{where}: {' '.join(exc.messages)}"}) from exc


def _amount_follows_lines(*, opportunity: Opportunity, actor: User, via: str) -> None:
    """The deal's amount becomes its lines' total, through opportunity_update (so the history records it)."""
    rows = OpportunityLine.objects.filter(opportunity=opportunity).values_list("quantity", "unit_price")
    total = sum((quantity * unit_price for quantity, unit_price in rows), Decimal("0"))
    opportunity_update(opportunity=opportunity, actor=actor, data={"amount": total}, via=via)


def configuration_from_reference(*, actor: User, reference: str) -> Configuration:
    """A saved configuration from its share token or the configurator link that carries it.

    The one parsing rule for the HTML form and the API: the token is the path segment after ``/c/``.
    """
    from catalog.selectors import configuration_list

    text = (reference or "").strip()
    token = text.split("?", 1)[0].split("#", 1)[0].rstrip("/")
    if "/c/" in token:
        token = token.rsplit("/c/", 1)[1]
    token = token.rsplit("/", 1)[-1]
    found = configuration_list(actor=actor).filter(token=token).first() if token and len(token) <= 43 else None
    if found is None:
        raise ValidationError({"configuration": f"No saved configuration has the token or link {text!r}."})
    return found


@transaction.atomic
def opportunity_line_add(
    *,
    opportunity: Opportunity,
    actor: User,
    product: Product | None = None,
    configuration: Configuration | None = None,
    quantity: Any = 1,
    unit_price: Any = None,
    description: str = "",
    via: str = "form",
) -> OpportunityLine:
    """Add a catalog product or a saved configuration to a deal; the deal's amount becomes the lines' total.

    A configuration gives the product, its frozen total as the unit price (in the deal's currency) and its
    SKU code in the description; a product without a price takes its current price-list price in the
    deal's currency. An explicit ``unit_price`` wins over both.
    """
    opp = Opportunity.objects.select_for_update().get(pk=opportunity.pk)
    require(actor, "change", opp)
    where = f"Opportunity {opp}"
    if configuration is not None:
        require(actor, "view", configuration)
        if product is not None and product.pk != configuration.product_id:
            raise ValidationError(
                {"configuration": f"{where}: the configuration {configuration.sku_code} is not of {product.name}."}
            )
        product = configuration.product
    if product is None:
        raise ValidationError({"product": f"{where}: choose a product or a saved configuration."})
    require(actor, "view", product)
    where = f"{where}, {product.name}"
    if not product.is_active:
        raise ValidationError({"product": f"{where}: the product is no longer sold."})
    quantity = _line_quantity(quantity, where)
    if unit_price not in (None, ""):
        price = _line_price(unit_price, where)
    elif configuration is not None:
        if configuration.currency != opp.currency:
            raise ValidationError(
                {
                    "configuration": f"{where}: the configuration {configuration.sku_code} is priced in "
                    f"{configuration.currency}, the opportunity in {opp.currency}; give the unit price."
                }
            )
        price = _line_price(configuration.total, where)
    elif product.is_configurable:
        raise ValidationError(
            {"product": f"{where}: a configurable product is sold as a saved configuration (or give the unit price)."}
        )
    else:
        from catalog.selectors import current_price

        found = current_price(product=product, currency=opp.currency)
        if found is None:
            raise ValidationError(
                {
                    "unit_price": f"{where}: no {opp.currency} price on {timezone.localdate():%Y-%m-%d}; "
                    "give the unit price, or add the product to a price list."
                }
            )
        price = _line_price(found, where)
    text = description.strip() or product.name
    if configuration is not None and configuration.sku_code not in text:
        text = f"{text} ({configuration.sku_code})"
    last = OpportunityLine.objects.filter(opportunity=opp).order_by("-position").values_list("position", flat=True)
    line = model_create(
        model=OpportunityLine,
        actor=actor,
        data={
            "opportunity": opp,
            "position": (last.first() or 0) + 1,
            "product": product,
            "configuration": configuration,
            "description": text[:300],
            "quantity": quantity,
            "unit_price": price,
        },
    )
    _amount_follows_lines(opportunity=opp, actor=actor, via=via)
    opportunity.refresh_from_db()
    return line


@transaction.atomic
def opportunity_line_remove(*, line: OpportunityLine, actor: User, via: str = "form") -> None:
    """Take a line off its deal; the deal's amount becomes the remaining lines' total."""
    opp = Opportunity.objects.select_for_update().get(pk=line.opportunity_id)
    require(actor, "change", opp)
    model_delete(instance=line, actor=actor, note=f"line of opportunity {opp.pk}")
    _amount_follows_lines(opportunity=opp, actor=actor, via=via)
