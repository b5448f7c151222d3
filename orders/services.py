"""Writes on quotes and orders: prices, discounts, taxes, approval, numbering (see docs/orders.md for the flows).

Money is ``Decimal`` rounded half-up to cents at every stored step: a line's net after its own discount,
the order discount on the subtotal (spread over the lines so that the lines add up to the order), the tax
per line. The order's state machine lives in ``orders.states``; stock in ``orders.stock``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Model
from django.utils import timezone

from catalog.models import Category, Configuration, Product
from orders.guards import quote_lines_check
from orders.models import NumberSequence, Order, OrderLine, OrderSettings, Quote, QuoteLine, TaxRate
from sfa.audit import audit_record, diff, snapshot
from sfa.models import AuditAction
from sfa.permissions import require, team_member_ids

if TYPE_CHECKING:
    from contacts.models import Account, Contact
    from leads.models import Lead, Opportunity
    from sfa.models import User

CENT = Decimal("0.01")
HUNDRED = Decimal("100")
QUOTE_PREFIX, ORDER_PREFIX = "Q", "SO"
QUOTE_EDITABLE = (Quote.Status.DRAFT, Quote.Status.PENDING_APPROVAL, Quote.Status.APPROVED)
QUOTE_FIELDS = ("account", "contact", "currency", "country", "discount_percent", "valid_until", "notes")


def order_settings() -> OrderSettings:
    """The one row of order settings, made with the defaults the first time it is asked for."""
    settings, _ = OrderSettings.objects.get_or_create(pk=1)
    return settings


def money(value: Decimal | int | str) -> Decimal:
    """``value`` rounded half-up to cents."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def _decimal(value: Any, where: str, *, percent: bool = False) -> Decimal:
    try:
        number = Decimal(str(value if value not in (None, "") else 0))
    except (InvalidOperation, ValueError):
        raise ValidationError(f"{where}: {value!r} is not a number.") from None
    if not number.is_finite() or number < 0:
        raise ValidationError(f"{where}: {value!r} cannot be negative.")
    if percent and number > HUNDRED:
        raise ValidationError(f"{where}: a discount of {number} % is more than 100 %.")
    return number.quantize(CENT, rounding=ROUND_HALF_UP)


def _units(value: Any, where: str) -> int:
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationError(f"{where}: {value!r} is not a number of units.") from None
    if not number.is_finite() or number < 1 or number != number.to_integral_value():
        raise ValidationError(f"{where}: order whole units, at least 1 ({value!r} given).")
    return int(number)


# --- Taxes and prices --------------------------------------------------------------------------------


class TaxTable:
    """The tax rates of one country, loaded once: a category's own rate, else its nearest ancestor's, else
    the country's default row, else 0."""

    def __init__(self, country: str):
        self.country = (country or "").upper()
        self.rates: dict[int | None, Decimal] = dict(
            TaxRate.objects.filter(country=self.country).values_list("category_id", "rate")
        )
        self._parents: dict[int, int | None] | None = None

    def rate(self, category_id: int | None) -> Decimal:
        seen: set[int] = set()
        current = category_id
        while current is not None and current not in seen:
            if current in self.rates:
                return self.rates[current]
            seen.add(current)
            current = self._parent_of(current)
        return self.rates.get(None, Decimal("0"))

    def _parent_of(self, category_id: int) -> int | None:
        if self._parents is None:
            if len(self.rates) <= (1 if None in self.rates else 0):
                return None  # no category rates in this country: no need to read the tree
            self._parents = dict(Category.objects.values_list("id", "parent_id"))
        return self._parents.get(category_id)


def tax_rate_for(*, category: Category | int | None, country: str) -> Decimal:
    """The rate of ``category`` in ``country``, walking up the category tree, else the country's default, else 0."""
    category_id = category.pk if isinstance(category, Category) else category
    return TaxTable(country).rate(category_id)


def unit_price_for(*, product: Product, currency: str, on: date | None = None) -> Decimal:
    """The product's price in ``currency`` from the active price list on ``on`` (today); refused when none."""
    from catalog.selectors import current_price

    price = current_price(product=product, currency=currency, on=on)
    if price is None:
        raise ValidationError(
            f"{product.name} has no {currency} price on {on or timezone.localdate():%Y-%m-%d}: "
            "give the unit price, or add it to a price list."
        )
    return money(price)


# --- Lines and totals --------------------------------------------------------------------------------


@dataclass
class PricedLine:
    """A line as it will be stored on a quote or an order, with its frozen price and computed amounts."""

    product: Product
    category_id: int
    configuration: Configuration | None
    description: str
    sku: str
    quantity: int
    unit_price: Decimal
    discount_percent: Decimal
    lead_time_days: int
    tax_rate: Decimal | None = None  # None: from the tax table of the country
    line_net: Decimal = Decimal("0")  # after the line's discount
    net_amount: Decimal = Decimal("0")  # after the order discount too
    tax_amount: Decimal = Decimal("0")


@dataclass
class Totals:
    subtotal: Decimal = Decimal("0")
    discount_total: Decimal = Decimal("0")
    tax_total: Decimal = Decimal("0")
    total: Decimal = Decimal("0")
    lines: list[PricedLine] = field(default_factory=list)


def _model_by_id(model: type[Model], value: Any, where: str) -> Any:
    if value is None or isinstance(value, model):
        return value
    try:
        return model.objects.get(pk=value)
    except (model.DoesNotExist, ValueError, TypeError):
        raise ValidationError(f"{where}: there is no {model._meta.verbose_name} with id {value!r}.") from None


def lines_prepare(lines: list[dict[str, Any]], *, currency: str, on: date | None = None) -> list[PricedLine]:
    """Turn line dicts into priced lines: the product's price-list price or the configuration's frozen total.

    A line dict: ``product`` (Product or id; optional with a configuration), ``quantity``, optional
    ``configuration``, ``unit_price``, ``discount_percent``, ``description``; the copies of a quote's lines
    also carry ``sku``, ``lead_time_days`` and ``tax_rate``.
    """
    if not lines:
        raise ValidationError("Add at least one line.")
    out: list[PricedLine] = []
    for number, raw in enumerate(lines, start=1):
        where = f"Line {number}"
        configuration = _model_by_id(Configuration, raw.get("configuration"), where)
        product = _model_by_id(Product, raw.get("product") or (configuration and configuration.product_id), where)
        if product is None:
            raise ValidationError(f"{where}: choose a product.")
        where = f"Line {number} ({product.name})"
        if configuration is not None and configuration.product_id != product.pk:
            raise ValidationError(f"{where}: the configuration {configuration.sku_code} is of another product.")
        if configuration is None and product.is_configurable and raw.get("unit_price") in (None, ""):
            raise ValidationError(f"{where}: a configurable product is sold as a saved configuration.")
        quantity = _units(raw.get("quantity", 1), where)
        if raw.get("unit_price") not in (None, ""):
            unit_price = _decimal(raw["unit_price"], where)
        elif configuration is not None:
            if configuration.currency != currency:
                raise ValidationError(
                    f"{where}: the configuration is priced in {configuration.currency}, the quote in {currency}."
                )
            unit_price = money(configuration.total)
        else:
            unit_price = unit_price_for(product=product, currency=currency, on=on)
        if configuration is not None:
            sku, lead_time = configuration.sku_code, configuration.lead_time_days
        else:
            sku, lead_time = product.sku, product.base_lead_time_days
        description = (raw.get("description") or "").strip() or (
            f"{product.name} ({configuration.sku_code})" if configuration is not None else product.name
        )
        out.append(
            PricedLine(
                product=product,
                category_id=product.category_id,
                configuration=configuration,
                description=description[:300],
                sku=(raw.get("sku") or sku)[:400],
                quantity=quantity,
                unit_price=unit_price,
                discount_percent=_decimal(raw.get("discount_percent"), f"{where}, discount", percent=True),
                lead_time_days=int(raw.get("lead_time_days", lead_time)),
                tax_rate=(
                    None if raw.get("tax_rate") is None else _decimal(raw["tax_rate"], f"{where}, tax", percent=True)
                ),
            )
        )
    return out


def totals_compute(lines: list[PricedLine], *, discount_percent: Decimal, country: str) -> Totals:
    """Net, order discount, tax and total of ``lines`` (which get their amounts set).

    ``net = qty × unit × (1 − line %)`` per line; the order discount is taken off the subtotal and spread
    over the lines in proportion (the rounding remainder goes to the largest line), so that the lines'
    nets add up to the order's; the tax of each line is its rate on that net.
    """
    table = TaxTable(country) if any(line.tax_rate is None for line in lines) else None
    keep = (HUNDRED - discount_percent) / HUNDRED
    for line in lines:
        line.line_net = money(line.quantity * line.unit_price * (HUNDRED - line.discount_percent) / HUNDRED)
        line.net_amount = money(line.line_net * keep)
        if line.tax_rate is None:
            line.tax_rate = table.rate(line.category_id)
    subtotal = sum((line.line_net for line in lines), Decimal("0"))
    discount_total = money(subtotal * discount_percent / HUNDRED)
    remainder = (subtotal - discount_total) - sum((line.net_amount for line in lines), Decimal("0"))
    if remainder and lines:
        max(lines, key=lambda line: line.line_net).net_amount += remainder
    for line in lines:
        line.tax_amount = money(line.net_amount * line.tax_rate / HUNDRED)
    tax_total = sum((line.tax_amount for line in lines), Decimal("0"))
    return Totals(
        subtotal=subtotal,
        discount_total=discount_total,
        tax_total=tax_total,
        total=subtotal - discount_total + tax_total,
        lines=lines,
    )


# --- Shared helpers ------------------------------------------------------------------------------------


def numbers_next(prefix: str, count: int = 1) -> list[str]:
    """The next ``count`` numbers of a series (``SO-000042``), unique under concurrency.

    The series' row is locked until the caller's transaction ends, so a second transaction waits and then
    continues after the first one's numbers; a rollback gives its numbers back. The row is made the first
    time, starting after the highest number already used in that series (rows written before it existed).
    """
    if count < 1:
        return []
    with transaction.atomic():
        NumberSequence.objects.get_or_create(prefix=prefix, defaults={"last": _highest_used(prefix)})
        sequence = NumberSequence.objects.select_for_update().get(prefix=prefix)
        first = sequence.last + 1
        sequence.last += count
        sequence.save(update_fields=["last"])
    return [f"{prefix}-{n:06d}" for n in range(first, first + count)]


def _highest_used(prefix: str) -> int:
    model = {QUOTE_PREFIX: Quote, ORDER_PREFIX: Order}.get(prefix)
    if model is None:
        return 0
    numbers = model.objects.filter(number__startswith=f"{prefix}-").values_list("number", flat=True)
    return max((int(n[len(prefix) + 1 :]) for n in numbers if n[len(prefix) + 1 :].isdigit()), default=0)


def order_numbers_next(count: int = 1) -> list[str]:
    """The next ``count`` order numbers (bulk writers such as the history import call this)."""
    return numbers_next(ORDER_PREFIX, count)


def quote_numbers_next(count: int = 1) -> list[str]:
    return numbers_next(QUOTE_PREFIX, count)


def _customer(
    account: Account | None, contact: Contact | None, actor: User | None
) -> tuple[Account | None, Contact | None]:
    if account is None and contact is None:
        raise ValidationError("Choose the customer: an account or a contact.")
    if contact is not None and account is None and contact.account_id:
        account = contact.account
    if contact is not None and account is not None and contact.account_id not in (None, account.pk):
        raise ValidationError(f"{contact} does not work at {account}.")
    for record in (account, contact):
        if record is not None:
            if getattr(record, "merged_into_id", None):
                raise ValidationError(f"{record} was merged into another record: use that one.")
            if actor is not None:
                require(actor, "view", record)
    return account, contact


def _linked(
    *, opportunity: Opportunity | None, lead: Lead | None, account: Account | None, contact: Contact | None, actor
) -> None:
    """An opportunity or lead named on a quote or order must be this customer's, and visible to the actor."""
    if opportunity is not None:
        if actor is not None:
            require(actor, "view", opportunity)
        if opportunity.account_id and (account is None or account.pk != opportunity.account_id):
            raise ValidationError({"opportunity": f"{opportunity} is with {opportunity.account}, not this customer."})
        if (
            not opportunity.account_id
            and opportunity.contact_id
            and (contact is None or contact.pk != opportunity.contact_id)
        ):
            raise ValidationError({"opportunity": f"{opportunity} is with {opportunity.contact}, not this customer."})
    if lead is not None:
        if actor is not None:
            require(actor, "view", lead)
        same_person = contact is not None and contact.pk == lead.contact_id
        same_company = account is not None and lead.converted_account_id == account.pk
        if not (same_person or same_company):
            raise ValidationError({"lead": f"The lead of {lead.contact} is not this customer's."})


def _may_own(actor: User, owner: User) -> bool:
    """A rep sells for themselves; a manager for the members of their teams; an admin for anyone."""
    if not owner.is_active:
        return False
    if actor.is_admin or owner.pk == actor.pk:
        return True
    return actor.is_manager and owner.pk in team_member_ids(actor)


def _owner(actor: User | None, owner: User | None, *fallbacks: Any) -> User:
    if owner is not None:
        if actor is not None and not _may_own(actor, owner):
            raise PermissionDenied(f"You may not sell on behalf of {owner}.")
        return owner
    if actor is not None:
        return actor
    for record in fallbacks:
        if record is not None and getattr(record, "owner_id", None):
            return record.owner
    raise ValidationError("Say who owns this sale.")


def _currency(value: str) -> str:
    code = (value or "").strip().upper()
    if len(code) != 3 or not code.isalpha():
        raise ValidationError(f"{value!r} is not a currency: use a three-letter code such as EUR.")
    return code


def _lines_summary(lines: list[PricedLine]) -> list[str]:
    return [f"{line.quantity} × {line.sku} @ {line.unit_price} −{line.discount_percent} %" for line in lines]


# --- Quotes ----------------------------------------------------------------------------------------------


def _quote_lines_write(quote: Quote, priced: list[PricedLine]) -> None:
    quote.lines.all().delete()
    QuoteLine.objects.bulk_create(
        [
            QuoteLine(
                quote=quote,
                position=position,
                product=line.product,
                configuration=line.configuration,
                description=line.description,
                sku=line.sku,
                quantity=line.quantity,
                unit_price=line.unit_price,
                discount_percent=line.discount_percent,
                tax_rate=line.tax_rate,
                net_amount=line.line_net,
                lead_time_days=line.lead_time_days,
            )
            for position, line in enumerate(priced, start=1)
        ]
    )


def _set_totals(target: Quote | Order, totals: Totals) -> None:
    target.subtotal = totals.subtotal
    target.discount_total = totals.discount_total
    target.tax_total = totals.tax_total
    target.total = totals.total


def _quote_priced(quote: Quote, *, reprice_tax: bool) -> list[PricedLine]:
    """The stored lines of ``quote`` as priced lines (their prices kept; taxes again when the country changed)."""
    return [
        PricedLine(
            product=line.product,
            category_id=line.product.category_id,
            configuration=line.configuration,
            description=line.description,
            sku=line.sku,
            quantity=line.quantity,
            unit_price=line.unit_price,
            discount_percent=line.discount_percent,
            lead_time_days=line.lead_time_days,
            tax_rate=None if reprice_tax else line.tax_rate,
        )
        for line in quote.lines.select_related("product", "configuration")
    ]


@transaction.atomic
def quote_create(
    *,
    actor: User | None,
    account: Account | None = None,
    contact: Contact | None = None,
    opportunity: Opportunity | None = None,
    lead: Lead | None = None,
    currency: str = "EUR",
    country: str = "",
    discount_percent: Any = 0,
    valid_until: date | None = None,
    notes: str = "",
    source: str = Quote.Source.REP,
    lines: list[dict[str, Any]],
    owner: User | None = None,
) -> Quote:
    """A draft quote with its lines priced and taxed. ``actor`` None is the system (a configurator request):
    the quote then belongs to ``owner``, else to the owner of the lead, opportunity or customer."""
    if actor is not None:
        require(actor, "add", Quote)
    if source not in Quote.Source.values:
        raise ValidationError(f"Unknown quote source {source!r}.")
    account, contact = _customer(account, contact, actor)
    _linked(opportunity=opportunity, lead=lead, account=account, contact=contact, actor=actor)
    owner = _owner(actor, owner, lead, opportunity, account, contact)
    currency = _currency(currency)
    country = (country or (account.country if account else "") or (contact.country if contact else "")).upper()
    discount = _decimal(discount_percent, "Order discount", percent=True)
    today = timezone.localdate()
    valid_until = valid_until or today + timedelta(days=order_settings().quote_validity_days)
    if valid_until < today:
        raise ValidationError(f"A quote valid until {valid_until:%Y-%m-%d} would be expired already.")
    priced = lines_prepare(lines, currency=currency)
    quote_lines_check(actor=actor, lines=priced)  # what the person may sell (orders.guards)
    totals = totals_compute(priced, discount_percent=discount, country=country)
    quote = Quote(
        account=account,
        contact=contact,
        opportunity=opportunity,
        lead=lead,
        owner=owner,
        source=source,
        currency=currency,
        country=country,
        discount_percent=discount,
        valid_until=valid_until,
        notes=notes,
    )
    _set_totals(quote, totals)
    quote.number = quote_numbers_next()[0]
    quote.full_clean()
    quote.save()
    _quote_lines_write(quote, priced)
    audit_record(
        actor=actor,
        instance=quote,
        action=AuditAction.CREATE,
        changes={**diff({}, snapshot(quote)), "lines": [None, _lines_summary(priced)]},
    )
    return quote


def _quote_locked(quote: Quote) -> Quote:
    return Quote.objects.select_for_update().get(pk=quote.pk)


def _quote_refuse_stale(locked: Quote, version: int | None) -> None:
    if version is not None and int(version) != locked.version:
        raise ValidationError(
            f"Quote {locked.number} was changed by someone else meanwhile (it is at version {locked.version}, "
            f"you edited version {version}): reload it and make your change again.",
            code="stale",
        )


def _back_from(quote: Quote, to: str) -> None:
    quote.status = to
    quote.approved_by = None
    quote.approved_at = None
    quote.approval_requested_at = None


@transaction.atomic
def quote_update(
    *,
    quote: Quote,
    actor: User | None,
    data: dict[str, Any],
    lines: list[dict[str, Any]] | None = None,
    version: int | None = None,
) -> Quote:
    """Change a quote that is still open for changes; ``lines`` when given replace all lines.

    A change after approval (or while waiting for it) sends the quote back to draft: what the manager
    approved is not what would be sent. ``version`` is the version the user edited: a stale one is refused.
    """
    locked = _quote_locked(quote)
    if actor is not None:
        require(actor, "change", locked)
    _quote_refuse_stale(locked, version)
    if locked.status not in QUOTE_EDITABLE:
        raise ValidationError(f"Quote {locked.number} is {locked.get_status_display().lower()}: it cannot be changed.")
    unknown = set(data) - set(QUOTE_FIELDS)
    if unknown:
        raise ValidationError(dict.fromkeys(sorted(unknown), "This cannot be changed on a quote."))
    before = snapshot(locked)
    data = dict(data)
    if "account" in data or "contact" in data:
        data["account"], data["contact"] = _customer(
            data.get("account", locked.account), data.get("contact", locked.contact), actor
        )
    if "currency" in data:
        data["currency"] = _currency(data["currency"])
        if data["currency"] != locked.currency and lines is None:
            raise ValidationError(
                f"Quote {locked.number}: give the lines again with the new currency (their prices are in "
                f"{locked.currency})."
            )
    if "country" in data:
        data["country"] = (data["country"] or "").upper()
    if "discount_percent" in data:
        data["discount_percent"] = _decimal(data["discount_percent"], "Order discount", percent=True)
    if "valid_until" in data and data["valid_until"] < timezone.localdate():
        raise ValidationError(f"Quote {locked.number}: a validity date in the past would expire it.")
    for name, value in data.items():
        setattr(locked, name, value)
    old_lines = _lines_summary(_quote_priced(locked, reprice_tax=False))
    if lines is not None:
        priced = lines_prepare(lines, currency=locked.currency)
        quote_lines_check(actor=actor, lines=priced)  # the person editing is checked, whoever made the quote
    else:
        priced = _quote_priced(locked, reprice_tax=before["country"] != locked.country)
    totals = totals_compute(priced, discount_percent=locked.discount_percent, country=locked.country)
    _set_totals(locked, totals)
    changes = diff(before, snapshot(locked))
    new_lines = _lines_summary(priced)
    if new_lines != old_lines:
        changes["lines"] = [old_lines, new_lines]
    if not changes:
        return locked
    if lines is not None or before["country"] != locked.country:
        # A new country changes the lines' tax rates: they are written again, so that lines, header and
        # the order made from them agree.
        _quote_lines_write(locked, priced)
    if locked.status != Quote.Status.DRAFT:
        _back_from(locked, Quote.Status.DRAFT)
        changes["status"] = [before["status"], Quote.Status.DRAFT]
    locked.version += 1
    locked.full_clean()
    locked.save()
    audit_record(actor=actor, instance=locked, action=AuditAction.UPDATE, changes=changes)
    return locked


def quote_needs_approval(quote: Quote) -> bool:
    """True when the order discount or any line's discount is above ``OrderSettings.approval_discount_percent``.

    A line's discount is measured against its list price (the price list, or the configuration's frozen
    total), so a unit price typed below the list counts as a discount: otherwise a rep could lower the
    price instead of writing a discount and never need a manager. A typed price with no list price to
    compare with needs approval too.
    """
    limit = order_settings().approval_discount_percent
    if quote.discount_percent > limit:
        return True
    for line in quote.lines.select_related("product", "configuration"):
        if line.discount_percent > limit:
            return True
        if line.configuration is not None and line.configuration.currency == quote.currency:
            list_price = money(line.configuration.total)
        else:
            try:
                list_price = unit_price_for(product=line.product, currency=quote.currency)
            except ValidationError:
                return True
        if list_price <= 0:
            continue
        paid = line.unit_price * (HUNDRED - line.discount_percent) / HUNDRED
        if (HUNDRED - paid * HUNDRED / list_price) > limit:
            return True
    return False


def _quote_move(
    quote: Quote,
    *,
    actor: User | None,
    to: str,
    allowed: tuple[str, ...],
    verb: str,
    action: str = "change",
    note: str = "",
    version: int | None = None,
    **values: Any,
) -> Quote:
    locked = _quote_locked(quote)
    if actor is not None:
        require(actor, action, locked)
    _quote_refuse_stale(locked, version)
    if locked.status not in allowed:
        raise ValidationError(
            f"Quote {locked.number} is {locked.get_status_display().lower()}: it cannot be {verb} "
            f"(only a quote that is {' or '.join(Quote.Status(s).label.lower() for s in allowed)})."
        )
    before = snapshot(locked)
    locked.status = to
    for name, value in values.items():
        setattr(locked, name, value)
    locked.version += 1
    locked.save()
    audit_record(
        actor=actor,
        instance=locked,
        action=AuditAction.ACTION,
        verb=f"quote {verb}",
        changes=diff(before, snapshot(locked)),
        note=note,
    )
    return locked


def _quote_refuse_expired(quote: Quote, verb: str) -> None:
    if quote.valid_until < timezone.localdate():
        raise ValidationError(
            f"Quote {quote.number} was valid until {quote.valid_until:%Y-%m-%d}: it cannot be {verb}; "
            "extend its validity first."
        )


@transaction.atomic
def quote_request_approval(*, quote: Quote, actor: User | None) -> Quote:
    """draft → pending_approval, for a quote whose discount is above the threshold."""
    if not quote_needs_approval(quote):
        limit = order_settings().approval_discount_percent
        raise ValidationError(f"Quote {quote.number} needs no approval: no discount is above {limit} %.")
    return _quote_move(
        quote,
        actor=actor,
        to=Quote.Status.PENDING_APPROVAL,
        allowed=(Quote.Status.DRAFT,),
        verb="sent for approval",
        approval_requested_at=timezone.now(),
        approval_note="",
    )


def _refuse_own_approval(quote: Quote, actor: User) -> None:
    if quote.owner_id == actor.pk:
        raise PermissionDenied(f"Quote {quote.number} is yours: someone else must approve or decline its discount.")


@transaction.atomic
def quote_approve(*, quote: Quote, actor: User, note: str = "", version: int | None = None) -> Quote:
    """pending_approval → approved, by a manager of the quote's owner or an admin (never the owner).

    ``version`` is the one the manager reviewed: a quote changed since (and asked again) is refused, so an
    approval never covers a discount the manager did not see.
    """
    require(actor, "approve", quote)
    _refuse_own_approval(quote, actor)
    return _quote_move(
        quote,
        actor=actor,
        to=Quote.Status.APPROVED,
        allowed=(Quote.Status.PENDING_APPROVAL,),
        verb="approved",
        action="approve",
        note=note,
        version=version,
        approved_by=actor,
        approved_at=timezone.now(),
        approval_note=note.strip()[:300],
    )


@transaction.atomic
def quote_decline(*, quote: Quote, actor: User, note: str, version: int | None = None) -> Quote:
    """pending_approval → draft, with the manager's note saying what to change."""
    require(actor, "approve", quote)
    _refuse_own_approval(quote, actor)
    if not (note or "").strip():
        raise ValidationError(f"Quote {quote.number}: say why the discount is declined.")
    return _quote_move(
        quote,
        actor=actor,
        to=Quote.Status.DRAFT,
        allowed=(Quote.Status.PENDING_APPROVAL,),
        verb="declined",
        action="approve",
        note=note,
        version=version,
        approval_note=note.strip()[:300],
        approval_requested_at=None,
    )


def _sendable(quote: Quote) -> tuple[str, ...]:
    """The statuses from which ``quote`` may be sent or accepted: approved, or draft when it needs no approval."""
    if quote.status == Quote.Status.DRAFT and quote_needs_approval(quote):
        limit = order_settings().approval_discount_percent
        raise ValidationError(f"Quote {quote.number} has a discount above {limit} %: a manager must approve it first.")
    return (Quote.Status.DRAFT, Quote.Status.APPROVED)


@transaction.atomic
def quote_send(*, quote: Quote, actor: User | None) -> Quote:
    """draft (needing no approval) or approved → sent."""
    locked = _quote_locked(quote)
    _quote_refuse_expired(locked, "sent")
    return _quote_move(locked, actor=actor, to=Quote.Status.SENT, allowed=_sendable(locked), verb="sent")


@transaction.atomic
def quote_accept(*, quote: Quote, actor: User | None) -> Order:
    """sent / approved (or draft needing no approval) → accepted; the draft order is made from it."""
    locked = _quote_locked(quote)
    allowed = (Quote.Status.SENT, *_sendable(locked)) if locked.status != Quote.Status.SENT else (Quote.Status.SENT,)
    _quote_refuse_expired(locked, "accepted")
    accepted = _quote_move(
        locked, actor=actor, to=Quote.Status.ACCEPTED, allowed=allowed, verb="accepted", accepted_at=timezone.now()
    )
    return order_from_quote(quote=accepted, actor=actor)


@transaction.atomic
def quote_reject(*, quote: Quote, actor: User | None, reason: str) -> Quote:
    """sent → rejected: the customer said no (the reason is kept in the audit trail)."""
    if not (reason or "").strip():
        raise ValidationError(f"Quote {quote.number}: say why the customer rejected it.")
    return _quote_move(
        quote, actor=actor, to=Quote.Status.REJECTED, allowed=(Quote.Status.SENT,), verb="rejected", note=reason
    )


def quotes_expire(*, today: date | None = None) -> int:
    """Beat job: open quotes past their validity date become expired. Safe to run twice."""
    today = today or timezone.localdate()
    open_statuses = (*QUOTE_EDITABLE, Quote.Status.SENT)
    expired = 0
    for pk in Quote.objects.filter(status__in=open_statuses, valid_until__lt=today).values_list("pk", flat=True):
        with transaction.atomic():
            quote = Quote.objects.select_for_update().filter(pk=pk, status__in=open_statuses).first()
            if quote is None or quote.valid_until >= today:
                continue  # moved on meanwhile
            _quote_move(
                quote,
                actor=None,
                to=Quote.Status.EXPIRED,
                allowed=open_statuses,
                verb="expired",
                note=f"valid until {quote.valid_until:%Y-%m-%d}",
            )
            expired += 1
    return expired


# --- Orders ------------------------------------------------------------------------------------------------


def _order_lines_write(order: Order, priced: list[PricedLine]) -> None:
    OrderLine.objects.bulk_create(
        [
            OrderLine(
                order=order,
                position=position,
                product=line.product,
                category_id=line.category_id,
                configuration=line.configuration,
                description=line.description,
                sku=line.sku,
                quantity=line.quantity,
                unit_price=line.unit_price,
                discount_percent=line.discount_percent,
                tax_rate=line.tax_rate,
                net_amount=line.net_amount,
                tax_amount=line.tax_amount,
                lead_time_days=line.lead_time_days,
            )
            for position, line in enumerate(priced, start=1)
        ]
    )


@transaction.atomic
def order_create(
    *,
    actor: User | None,
    account: Account | None = None,
    contact: Contact | None = None,
    lines: list[dict[str, Any]],
    currency: str = "EUR",
    country: str = "",
    discount_percent: Any = 0,
    source: str = Order.Source.MANUAL,
    opportunity: Opportunity | None = None,
    quote: Quote | None = None,
    notes: str = "",
    allow_backorder: bool = False,
    owner: User | None = None,
) -> Order:
    """A draft order: lines priced and frozen, taxes per line, region and segment frozen from the customer."""
    if actor is not None:
        require(actor, "add", Order)
    if source not in Order.Source.values:
        raise ValidationError(f"Unknown order source {source!r}.")
    account, contact = _customer(account, contact, actor)
    _linked(opportunity=opportunity, lead=None, account=account, contact=contact, actor=actor)
    owner = _owner(actor, owner, quote, opportunity, account, contact)
    currency = _currency(currency)
    country = (country or (account.country if account else "") or (contact.country if contact else "")).upper()
    discount = _decimal(discount_percent, "Order discount", percent=True)
    priced = lines_prepare(lines, currency=currency)
    if source in (Order.Source.MANUAL, Order.Source.API, Order.Source.OPPORTUNITY):
        # An order typed in directly, or made from a won opportunity's lines (nothing checked those), must
        # not get round the quote's gate; an accepted quote's lines were checked when they were written.
        quote_lines_check(actor=actor, lines=priced)
    totals = totals_compute(priced, discount_percent=discount, country=country)
    order = Order(
        account=account,
        contact=contact,
        owner=owner,
        quote=quote,
        opportunity=opportunity,
        source=source,
        currency=currency,
        country=country,
        region=(account.region if account else "") or (contact.region if contact else ""),
        segment=account.segment if account else "",
        discount_percent=discount,
        allow_backorder=allow_backorder,
        notes=notes,
    )
    _set_totals(order, totals)
    order.number = order_numbers_next()[0]
    order.full_clean()
    order.save()
    _order_lines_write(order, priced)
    audit_record(
        actor=actor,
        instance=order,
        action=AuditAction.CREATE,
        changes={**diff({}, snapshot(order)), "lines": [None, _lines_summary(priced)]},
    )
    return order


@transaction.atomic
def order_from_quote(*, quote: Quote, actor: User | None) -> Order:
    """The draft order of an accepted quote: its lines, prices, discounts and taxes exactly as quoted."""
    quote = _quote_locked(quote)
    if quote.status != Quote.Status.ACCEPTED:
        raise ValidationError(
            f"Quote {quote.number} is {quote.get_status_display().lower()}: only an accepted quote becomes an order."
        )
    if Order.objects.filter(quote=quote).exists():
        raise ValidationError(f"Quote {quote.number} already has its order {quote.order.number}.")
    lines = [
        {
            "product": line.product,
            "configuration": line.configuration,
            "quantity": line.quantity,
            "unit_price": line.unit_price,
            "discount_percent": line.discount_percent,
            "description": line.description,
            "sku": line.sku,
            "lead_time_days": line.lead_time_days,
            "tax_rate": line.tax_rate,
        }
        for line in quote.lines.select_related("product", "configuration")
    ]
    return order_create(
        actor=actor,
        account=quote.account,
        contact=quote.contact,
        lines=lines,
        currency=quote.currency,
        country=quote.country,
        discount_percent=quote.discount_percent,
        source=Order.Source.QUOTE,
        opportunity=quote.opportunity,
        quote=quote,
        notes=quote.notes,
        owner=quote.owner if actor is None or _may_own(actor, quote.owner) else None,
    )


@transaction.atomic
def order_from_opportunity(*, opportunity: Opportunity, actor: User | None) -> Order:
    """A won opportunity's lines (those with a product) become a draft order owned by the opportunity's owner."""
    from leads.models import ForecastCategory, Opportunity

    opp = Opportunity.objects.select_for_update().select_related("stage").get(pk=opportunity.pk)
    if actor is not None:
        require(actor, "view", opp)
    won = opp.forecast_category == ForecastCategory.CLOSED_WON and opp.stage.is_closed
    if not won:
        state = "lost" if opp.forecast_category == ForecastCategory.CLOSED_LOST else "still open"
        raise ValidationError(f"Opportunity {opp} is {state}: only a won opportunity becomes an order.")
    existing = Order.objects.filter(opportunity=opp).exclude(status=Order.Status.CANCELLED).first()
    if existing is not None:
        raise ValidationError(f"Opportunity {opp} already has its order {existing.number}.")
    lines = []
    for line in opp.lines.select_related("product", "configuration").filter(product__isnull=False):
        if line.quantity != line.quantity.to_integral_value():
            raise ValidationError(f"Opportunity {opp}, {line.description}: {line.quantity} is not a number of units.")
        lines.append(
            {
                "product": line.product,
                "configuration": line.configuration,  # its SKU code and lead time follow onto the order line
                "quantity": int(line.quantity),
                "unit_price": line.unit_price,
                "description": line.description,
            }
        )
    if not lines:
        raise ValidationError(f"Opportunity {opp} has no line with a product: enter the order by hand.")
    return order_create(
        actor=actor,
        account=opp.account,
        contact=opp.contact,
        lines=lines,
        currency=opp.currency,
        source=Order.Source.OPPORTUNITY,
        opportunity=opp,
        owner=opp.owner if actor is None or _may_own(actor, opp.owner) else None,
    )
