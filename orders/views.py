"""Quotes, orders, stock, the fulfilment dashboard and the order settings for staff (HTML + HTMX).

Thin: ``orders.selectors`` read (scoped by the user), ``orders.services`` / ``orders.states`` /
``orders.stock`` write and decide; a refused step comes back as the service's own message.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Model
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from catalog.models import Configuration, Product
from contacts import selectors as contact_selectors
from contacts.models import Account, Contact
from leads import selectors as lead_selectors
from orders import forms, guards, selectors, services, states, stock
from orders.models import (
    ExchangeRate,
    Holiday,
    Order,
    OrderSettings,
    Quote,
    StockLevel,
    TaxRate,
    Warehouse,
)
from orders.payments import order_payment_record, order_payments
from orders.ui import order_panels
from sfa.listing import Sort, keyset_page
from sfa.permissions import can, get_object_for, require, scoped
from sfa.services import model_create, model_delete, model_update
from sfa.views import add_form_errors, render_page


def _bad_request(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    return render(request, "sfa/error.html", {"errors": exc.messages}, status=400)


def _messages_of(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    return str(exc)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# --- Quotes: list -----------------------------------------------------------------------------------

QUOTE_SORTS = [Sort("created", "created_at", "Created")]


@require_GET
def quote_list(request: HttpRequest) -> HttpResponse:
    params = request.GET.copy()
    tab = "approvals" if params.get("needs_my_approval") in ("true", "1", "on") else "all"
    try:
        qs = selectors.quote_list(actor=request.user, filters=params)
        page = keyset_page(qs, request.GET, sorts=QUOTE_SORTS, default="-created")
    except ValidationError as exc:
        return _bad_request(request, exc)
    context = {
        "page": page,
        "owners": selectors.owner_choices(actor=request.user),
        "statuses": Quote.Status.choices,
        "can_add": can(request.user, "add", Quote),
        "can_approve": _may_approve(request.user),
        "waiting": selectors.approvals_waiting(actor=request.user).count() if _may_approve(request.user) else 0,
        "tab": tab,
    }
    return render_page(request, "orders/quote_list.html", context, partial="results")


def _may_approve(user) -> bool:
    return can(user, "approve", Quote)


# --- Quotes: the editor -------------------------------------------------------------------------------


def _account_options(request: HttpRequest, query: str, selected: Account | None) -> list[Account]:
    accounts = contact_selectors.account_list(actor=request.user, filters={"q": query} if query else None)
    if not query:
        accounts = accounts.filter(owner=request.user)
    options = list(accounts.order_by("name_key", "id")[:60])
    if selected is not None and all(a.pk != selected.pk for a in options):
        options.insert(0, selected)
    return options


def _contact_options(request: HttpRequest, account: Account | None, selected: Contact | None) -> list[Contact]:
    options: list[Contact] = []
    if account is not None:
        options = list(
            contact_selectors.contact_list(actor=request.user).filter(account=account).order_by("last_key", "id")[:200]
        )
    if selected is not None and all(c.pk != selected.pk for c in options):
        options.insert(0, selected)
    return options


class EditorLine:
    """A line on the editor's screen: the typed numbers, and the service's pricing of them for the preview."""

    def __init__(self, row: forms.LineRow, product: Product, configuration: Configuration | None) -> None:
        self.row = row
        self.product = product
        self.configuration = configuration
        self.priced = None  # orders.services.PricedLine once priced
        self.errors = list(row.errors)

    @property
    def description(self) -> str:
        return self.priced.description if self.priced is not None else self.product.name

    @property
    def sku(self) -> str:
        return self.configuration.sku_code if self.configuration else self.product.sku

    @property
    def unit_price(self) -> Decimal | None:
        return self.priced.unit_price if self.priced is not None else None

    @property
    def net(self) -> Decimal:
        return self.priced.line_net if self.priced is not None else Decimal("0")


def _editor_lines(request: HttpRequest, rows: list[forms.LineRow], currency: str) -> list[EditorLine]:
    """The typed lines with their products (as the user may see them), each priced by the service's own
    ``lines_prepare`` so that the preview shows what saving will store; a line it refuses shows why."""
    wanted = [r.product for r in rows]
    products = {p.pk: p for p in scoped(request.user, Product.objects.select_related("category")).filter(pk__in=wanted)}
    config_ids = [r.configuration for r in rows if r.configuration]
    configurations = (
        {c.pk: c for c in scoped(request.user, Configuration.objects.all()).filter(pk__in=config_ids)}
        if config_ids
        else {}
    )
    lines = []
    for number, row in enumerate(rows, start=1):
        product = products.get(row.product)
        if product is None:
            continue
        configuration = configurations.get(row.configuration) if row.configuration else None
        line = EditorLine(row, product, configuration)
        if not line.errors:
            try:
                line.priced = services.lines_prepare(
                    [{**row.service_line(), "product": product, "configuration": configuration}], currency=currency
                )[0]
                # What this person may sell (orders.guards): said on the line, before they try to save.
                guards.quote_line_check(actor=request.user, product=product, configuration=configuration)
            except ValidationError as exc:
                line.errors.append(_messages_of(exc).replace("Line 1", f"Line {number}", 1))
        lines.append(line)
    return lines


def _totals(lines: list[EditorLine], discount_percent: Decimal, country: str):
    priced = [line.priced for line in lines if line.priced is not None]
    return services.totals_compute(priced, discount_percent=discount_percent, country=country)


def _needs_approval(lines: list[EditorLine], discount_percent: Decimal) -> bool:
    threshold = services.order_settings().approval_discount_percent
    return discount_percent > threshold or any(line.row.discount_percent > threshold for line in lines)


def _apply_op(request: HttpRequest, op: str, rows: list[forms.LineRow]) -> list[forms.LineRow]:
    """Add a product or a saved configuration, or remove a line: the editor's buttons."""
    kind, _, arg = op.partition(":")
    index = _int(arg)
    if kind == "remove" and index is not None and 0 <= index < len(rows):
        return rows[:index] + rows[index + 1 :]
    if kind == "add" and index is not None:
        product = scoped(request.user, Product.objects.filter(is_active=True)).filter(pk=index).first()
        if product is not None:
            for row in rows:  # the same product again: one more unit on its line
                if row.product == product.pk and not row.configuration:
                    row.quantity += 1
                    return rows
            return [*rows, forms.LineRow(product.pk, None, 1, Decimal("0"), [])]
    if kind == "config" and index is not None:
        config = scoped(request.user, Configuration.objects.all()).filter(pk=index).first()
        if config is not None:
            return [*rows, forms.LineRow(config.product_id, config.pk, 1, Decimal("0"), [])]
    return rows


def _quote_initial_rows(quote: Quote) -> list[forms.LineRow]:
    return [
        forms.LineRow(line.product_id, line.configuration_id, line.quantity, line.discount_percent, [])
        for line in quote.lines.all()
    ]


@require_http_methods(["GET", "POST"])
def quote_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """Create or change a quote: customer, lines (by product search or a saved configuration), discounts,
    validity and country, with live totals. The buttons of the editor (add, remove, recalculate) post
    the whole form back and get the editor again; "Save" goes to ``quote_create`` / ``quote_update``."""
    quote = selectors.quote_get(actor=request.user, pk=pk, action="change") if pk else None
    if quote is None:
        require(request.user, "add", Quote)
    elif quote.status not in (Quote.Status.DRAFT, Quote.Status.PENDING_APPROVAL, Quote.Status.APPROVED):
        messages.error(request, f"Quote {quote} is {quote.get_status_display().lower()}: it can no longer be changed.")
        return redirect("orders:quote-detail", pk=quote.pk)
    settings = services.order_settings()
    data = request.POST if request.method == "POST" else None
    source = data or request.GET

    if quote is not None:
        initial = {
            "currency": quote.currency,
            "country": quote.country,
            "discount_percent": quote.discount_percent,
            "valid_until": quote.valid_until,
            "notes": quote.notes,
        }
        account, contact = quote.account, quote.contact
        opportunity = quote.opportunity
        rows = _quote_initial_rows(quote)
        version = quote.version
    else:
        initial = {
            "currency": settings.base_currency,
            "valid_until": timezone.localdate() + timedelta(days=settings.quote_validity_days),
            "discount_percent": Decimal("0"),
        }
        account = contact = opportunity = None
        rows = []
        version = None
    # The customer: from the form, else from the link that opened the editor (?account= / ?contact= / ?opportunity=).
    if data is not None:
        account = _visible(request, Account, data.get("account"))
        contact = _visible(request, Contact, data.get("contact"))
        opportunity = _visible_opportunity(request, data.get("opportunity")) if quote is None else opportunity
        rows = forms.line_rows(data)
        version = _int(data.get("version")) if quote is not None else None
    elif quote is None:
        opportunity = _visible_opportunity(request, source.get("opportunity"))
        if opportunity is not None:
            account, contact = opportunity.account, opportunity.contact
            rows = [
                # A configured line keeps its configuration (its frozen price; the quote gate checks it).
                forms.LineRow(line.product_id, line.configuration_id, max(1, int(line.quantity)), Decimal("0"), [])
                for line in opportunity.lines.all()
                if line.product_id
            ]
        account = account or _visible(request, Account, source.get("account"))
        contact = contact or _visible(request, Contact, source.get("contact"))
        if contact is not None and account is None:
            account = contact.account
        if account is not None and not initial.get("country"):
            initial["country"] = (getattr(account, "country", "") or "").upper()[:2]
    if account is not None and contact is not None and contact.account_id not in (None, account.pk):
        contact = None

    op = (data or {}).get("op", "") if data is not None else ""
    if op and op not in ("save", "recalculate"):
        rows = _apply_op(request, op, rows)
    form = forms.QuoteHeaderForm(data if data is not None else None, initial=initial)
    header_ok = form.is_valid() if data is not None else False
    currency = (form.cleaned_data.get("currency") if header_ok else None) or initial.get("currency") or "EUR"
    country = (form.cleaned_data.get("country") if header_ok else None) or (initial.get("country") or "")
    if not country:  # the service ships to the customer's country when none is given: so does the preview
        country = ((account.country if account else "") or (contact.country if contact else "") or "").upper()
    discount = (
        (form.cleaned_data.get("discount_percent") if header_ok else None)
        or initial.get("discount_percent")
        or Decimal("0")
    )
    lines = _editor_lines(request, rows, currency)
    totals = _totals(lines, discount, country)
    status = 200

    if op == "save":
        problems = [e for line in lines for e in line.errors]
        if account is None and contact is None:
            form.add_error(None, "Choose the customer: an account, a person, or both.")
        elif not lines:
            form.add_error(None, "Add at least one line.")
        elif problems:
            form.add_error(None, problems)
        elif header_ok:
            payload = [line.row.service_line() for line in lines]
            try:
                if quote is None:
                    saved = services.quote_create(
                        actor=request.user,
                        account=account,
                        contact=contact,
                        opportunity=opportunity,
                        lines=payload,
                        **form.cleaned_data,
                    )
                    messages.success(request, f"Quote {saved} is saved as a draft.")
                else:
                    data_in = {**form.cleaned_data, "account": account, "contact": contact}
                    saved = services.quote_update(
                        quote=quote, actor=request.user, data=data_in, lines=payload, version=version
                    )
                    messages.success(request, f"Quote {saved} is saved.")
            except ValidationError as exc:
                add_form_errors(form, exc)
            except PermissionDenied as exc:
                form.add_error(None, str(exc))
            else:
                target = reverse("orders:quote-detail", args=[saved.pk])
                if request.htmx:
                    response = HttpResponse(status=204)
                    response["HX-Redirect"] = target
                    return response
                return redirect(target)
        status = 400

    query = source.get("account_q", "").strip()
    search = source.get("product_q", "").strip()
    context = {
        "quote": quote,
        "form": form,
        "lines": lines,
        "totals": totals,
        "currency": currency,
        "needs_approval": _needs_approval(lines, discount),
        "threshold": settings.approval_discount_percent,
        "account": account,
        "contact": contact,
        "opportunity": opportunity,
        "account_options": _account_options(request, query, account),
        "contact_options": _contact_options(request, account, contact),
        "account_q": query,
        "product_q": search,
        "products": selectors.product_search(actor=request.user, query=search) if search else [],
        "version": version,
        "stale": quote is not None and version is not None and version != quote.version,
    }
    part = source.get("part")
    if request.htmx and part in ("accounts", "contacts", "products"):
        return render(request, f"orders/quote_form.html#{part}", context)
    if request.htmx and data is not None:
        return render(request, "orders/quote_form.html#editor", context)  # htmx swaps 200 answers only
    return render(request, "orders/quote_form.html", context, status=status)


def _visible(request: HttpRequest, model: type[Model], pk: Any) -> Any:
    pk = _int(pk)
    if pk is None:
        return None
    return scoped(request.user, model._default_manager.all()).filter(pk=pk).first()


def _visible_opportunity(request: HttpRequest, pk: Any):
    pk = _int(pk)
    if pk is None:
        return None
    return lead_selectors.opportunity_list(actor=request.user).filter(pk=pk).first()


# --- Quotes: one quote ----------------------------------------------------------------------------------

QUOTE_ACTIONS = {
    "request_approval": ("quote_request_approval", "Approval requested for quote {quote}."),
    "approve": ("quote_approve", "Quote {quote} is approved."),
    "decline": ("quote_decline", "Quote {quote} is back with its owner as a draft."),
    "send": ("quote_send", "Quote {quote} is marked as sent to the customer."),
    "accept": ("quote_accept", "Quote {quote} is accepted: order {order} is waiting for confirmation."),
    "reject": ("quote_reject", "Quote {quote} is marked as rejected."),
}


def _quote_buttons(request: HttpRequest, quote: Quote) -> list[str]:
    """Which steps to offer on the quote's page: by status and role (the services check again)."""
    user, status, S = request.user, quote.status, Quote.Status
    may_change = can(user, "change", quote)
    may_approve = can(user, "approve", quote) and quote.owner_id != user.pk
    needs = services.quote_needs_approval(quote)
    shown = []
    if may_change and status == S.DRAFT and needs:
        shown.append("request_approval")
    if may_approve and status == S.PENDING_APPROVAL:
        shown += ["approve", "decline"]
    if may_change and (status == S.APPROVED or (status == S.DRAFT and not needs)):
        shown.append("send")
    if may_change and (status in (S.SENT, S.APPROVED) or (status == S.DRAFT and not needs)):
        shown.append("accept")
    if may_change and status == S.SENT:
        shown.append("reject")
    return shown


@require_GET
def quote_detail(request: HttpRequest, pk: int) -> HttpResponse:
    quote = selectors.quote_get(actor=request.user, pk=pk)
    order = Order.objects.filter(quote=quote).first()
    needs = services.quote_needs_approval(quote)
    context = {
        "quote": quote,
        "lines": list(quote.lines.all()),
        "order": order if order is not None and can(request.user, "view", order) else None,
        "buttons": _quote_buttons(request, quote),
        "needs_approval": needs,
        "threshold": services.order_settings().approval_discount_percent,
        "can_edit": can(request.user, "change", quote)
        and quote.status in (Quote.Status.DRAFT, Quote.Status.PENDING_APPROVAL, Quote.Status.APPROVED),
        "taxes": _tax_rows(quote),
    }
    return render(request, "orders/quote_detail.html", context)


def _tax_rows(quote: Quote) -> list[dict[str, Any]]:
    """Tax per rate on the lines' net after the order discount, by the service's own arithmetic (so the
    rows add up to the quote's tax total)."""
    priced = [
        services.PricedLine(
            product=line.product,
            category_id=line.product.category_id,
            configuration=line.configuration,
            description=line.description,
            sku=line.sku,
            quantity=line.quantity,
            unit_price=line.unit_price,
            discount_percent=line.discount_percent,
            lead_time_days=line.lead_time_days,
            tax_rate=line.tax_rate,
        )
        for line in quote.lines.all()
    ]
    if not priced:
        return []
    services.totals_compute(priced, discount_percent=quote.discount_percent, country=quote.country)
    rates: dict[Decimal, dict[str, Any]] = {}
    for line in priced:
        row = rates.setdefault(line.tax_rate, {"rate": line.tax_rate, "base": Decimal("0"), "tax": Decimal("0")})
        row["base"] += line.net_amount
        row["tax"] += line.tax_amount
    return [row for rate, row in sorted(rates.items()) if rate]


@require_GET
def quote_print(request: HttpRequest, pk: int) -> HttpResponse:
    """The quote as the customer reads it: A4, company header, lines, totals, taxes, validity."""
    quote = selectors.quote_get(actor=request.user, pk=pk)
    from django.conf import settings as django_settings

    context = {
        "quote": quote,
        "lines": list(quote.lines.all()),
        "taxes": _tax_rows(quote),
        "company": getattr(django_settings, "SFA_COMPANY", None)
        or {"name": "SFA Demo GmbH", "address": ["Musterstraße 1", "10115 Berlin", "Germany"]},
    }
    return render(request, "orders/quote_print.html", context)


@require_POST
def quote_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    if action not in QUOTE_ACTIONS:
        return _bad_request(request, ValidationError(f"Unknown quote action {action!r}."))
    function_name, done = QUOTE_ACTIONS[action]
    quote = selectors.quote_get(actor=request.user, pk=pk)  # 404 for a quote the user may not see
    kwargs: dict[str, Any] = {"quote": quote, "actor": request.user}
    if action in ("decline", "reject"):
        form = forms.ReasonForm(request.POST)
        if not form.is_valid():
            what = "declining" if action == "decline" else "the rejection"
            messages.error(request, f"Quote {quote}: say why ({what} needs a reason).")
            return redirect("orders:quote-detail", pk=quote.pk)
        kwargs["note" if action == "decline" else "reason"] = form.cleaned_data["reason"]
    elif action == "approve":
        kwargs["note"] = request.POST.get("note", "").strip()[:300]
    if action in ("approve", "decline"):
        # The version the manager reviewed: a quote changed since is refused rather than approved unseen.
        try:
            kwargs["version"] = int(request.POST.get("version", ""))
        except ValueError:
            messages.error(request, f"Quote {quote}: the form was damaged; reload the page.")
            return redirect("orders:quote-detail", pk=quote.pk)
    try:
        result = getattr(services, function_name)(**kwargs)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, f"Quote {quote}: {_messages_of(exc)}")
        return redirect("orders:quote-detail", pk=quote.pk)
    if action == "accept":
        messages.success(request, done.format(quote=quote, order=result))
        return redirect("orders:order-detail", pk=result.pk)
    messages.success(request, done.format(quote=quote))
    return redirect("orders:quote-detail", pk=quote.pk)


# --- Orders: list ------------------------------------------------------------------------------------

ORDER_SORTS = [Sort("ordered", "ordered_on", "Ordered"), Sort("number", "number", "Number")]


@require_GET
def order_list(request: HttpRequest) -> HttpResponse:
    try:
        qs = selectors.order_list(actor=request.user, filters=request.GET)
        page = keyset_page(qs, request.GET, sorts=ORDER_SORTS, default="-ordered")
    except ValidationError as exc:
        return _bad_request(request, exc)
    today = timezone.localdate()
    for row in page.rows:
        row.is_late = bool(row.promised_date and row.promised_date < today and row.status in Order.OPEN)
    context = {
        "page": page,
        "owners": selectors.owner_choices(actor=request.user),
        "statuses": Order.Status.choices,
        "account": _visible(request, Account, request.GET.get("account")),
        "contact": _visible(request, Contact, request.GET.get("contact")),
        "tab": "orders",
    }
    return render_page(request, "orders/order_list.html", context, partial="results")


# --- Orders: one order -----------------------------------------------------------------------------

ORDER_ACTIONS = {
    "confirm": "Order {order} is confirmed: stock is reserved, promised for {promised}.",
    "allocate": "Order {order} is allocated: every line is ready to ship.",
    "ship": "Shipment {shipment} of order {order} is on its way.",
    "deliver": "Order {order}: delivery recorded.",
    "close": "Order {order} is closed.",
    "cancel": "Order {order} is cancelled; its reservations are released.",
    "return": "Order {order}: the return is recorded and the units are back in stock.",
}


def _available_actions(request: HttpRequest, order: Order) -> list[str]:
    return list(states.available_actions(order, request.user))


@require_GET
def order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    order = selectors.order_get(actor=request.user, pk=pk)
    return _order_page(request, order)


def _order_page(request: HttpRequest, order: Order, *, error: str = "", status: int = 200) -> HttpResponse:
    detail = selectors.order_detail(actor=request.user, order=order)
    actions = _available_actions(request, order)
    today = timezone.localdate()
    context = {
        "order": order,
        "detail": detail,
        "actions": actions,
        "error": error,
        "is_late": bool(order.promised_date and order.promised_date < today and order.status in Order.OPEN),
        "open_shipments": [s for s in detail.shipments if s.delivered_at is None],
        "returnable": [line for line in detail.lines if line.quantity_kept > 0],
        "shippable": [line for line in detail.lines if line.quantity_open > 0],
        "quote": order.quote if order.quote_id and can(request.user, "view", order.quote) else None,
        "payments": order_payments(actor=request.user, order=order),
        "panels": order_panels(request, order),  # the apps above orders (orders.ui)
    }
    return render(request, "orders/order_detail.html", context, status=status)


@require_POST
def order_payment(request: HttpRequest, pk: int) -> HttpResponse:
    """Record a payment on the order (``orders.payments.order_payment_record``)."""
    order = selectors.order_get(actor=request.user, pk=pk)  # 404 for an order the user may not see
    form = forms.PaymentForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError([f"{field}: {' '.join(errors)}" for field, errors in form.errors.items()])
        payment = order_payment_record(order=order, actor=request.user, **form.cleaned_data)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, _messages_of(exc))
        return redirect(f"{reverse('orders:order-detail', args=[order.pk])}#payments")
    messages.success(request, f"Order {order}: payment of {payment.amount} {payment.currency} recorded.")
    return redirect(f"{reverse('orders:order-detail', args=[order.pk])}#payments")


def _quantities(request: HttpRequest, prefix: str, order: Order) -> dict[int, int] | None:
    """``{line id: units}`` from the per-line inputs ``<prefix>-<line id>``; empty inputs count as 0."""
    out: dict[int, int] = {}
    line_ids = set(order.lines.values_list("id", flat=True))
    for key, value in request.POST.items():
        if not key.startswith(f"{prefix}-"):
            continue
        line_id = _int(key.removeprefix(f"{prefix}-"))
        if line_id not in line_ids:
            continue
        value = (value or "").strip()
        if not value:
            continue
        units = _int(value)
        if units is None or units < 0:
            raise ValidationError(f"Order {order}: {value!r} is not a number of units.")
        if units:
            out[line_id] = units
    return out


@require_POST
def order_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """One step of the order's state machine through ``orders.states.order_transition``."""
    if action not in ORDER_ACTIONS:
        return _bad_request(request, ValidationError(f"Unknown order action {action!r}."))
    order = selectors.order_get(actor=request.user, pk=pk)  # 404 for an order the user may not see
    params: dict[str, Any] = {}
    try:
        if action in ("confirm", "allocate"):
            params["note"] = request.POST.get("note", "").strip()[:300]
        elif action == "ship":
            quantities = _quantities(request, "ship", order)
            if request.POST.get("everything") != "1":
                if not quantities:
                    raise ValidationError(f"Order {order}: enter the units to ship on at least one line.")
                params["quantities"] = quantities
            params["carrier"] = request.POST.get("carrier", "").strip()[:60]
            params["tracking"] = request.POST.get("tracking", "").strip()[:100]
        elif action == "deliver":
            shipment_id = _int(request.POST.get("shipment"))
            if shipment_id is not None:
                shipment = order.shipments.filter(pk=shipment_id).first()
                if shipment is None:
                    raise ValidationError(f"Order {order} has no shipment {shipment_id}.")
                params["shipment"] = shipment
        elif action in ("cancel", "return"):
            reason = request.POST.get("reason", "").strip()[:300]
            if not reason:
                raise ValidationError(f"Order {order}: say why ({action} needs a reason).")
            params["reason"] = reason
            if action == "return" and request.POST.get("everything") != "1":
                quantities = _quantities(request, "return", order)
                if not quantities:
                    raise ValidationError(f"Order {order}: enter the units coming back on at least one line.")
                params["quantities"] = quantities
        result = states.order_transition(order=order, actor=request.user, action=action, **params)
    except (ValidationError, PermissionDenied) as exc:
        order = selectors.order_get(actor=request.user, pk=pk)
        text = _messages_of(exc)
        if request.htmx:
            return _order_page(request, order, error=text, status=200)
        messages.error(request, text)
        return redirect("orders:order-detail", pk=order.pk)
    order.refresh_from_db()
    text = ORDER_ACTIONS[action].format(
        order=order,
        promised=order.promised_date.strftime("%-d %b %Y") if order.promised_date else "—",
        shipment=getattr(result, "number", ""),
    )
    messages.success(request, text)
    return redirect("orders:order-detail", pk=order.pk)


@require_POST
def order_from_opportunity(request: HttpRequest, pk: int) -> HttpResponse:
    """A won opportunity's lines become a draft order (``order_from_opportunity``)."""
    opportunity = lead_selectors.opportunity_get(actor=request.user, pk=pk)
    try:
        order = services.order_from_opportunity(opportunity=opportunity, actor=request.user)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, _messages_of(exc))
        return redirect("leads:opportunity-detail", pk=opportunity.pk)
    messages.success(request, f"Order {order} is drafted from “{opportunity}”: check it, then confirm it.")
    return redirect("orders:order-detail", pk=order.pk)


# --- Stock ------------------------------------------------------------------------------------------

STOCK_SORTS = [Sort("product", "product__name_key", "Product"), Sort("updated", "updated_at", "Updated")]


@require_GET
def stock_list(request: HttpRequest) -> HttpResponse:
    require(request.user, "view", StockLevel)
    try:
        page = keyset_page(
            selectors.stock_list(actor=request.user, filters=request.GET),
            request.GET,
            sorts=STOCK_SORTS,
            default="product",
        )
    except ValidationError as exc:
        return _bad_request(request, exc)
    can_adjust = can(request.user, "change", StockLevel)
    context = {
        "page": page,
        "warehouses": selectors.warehouse_list(actor=request.user),
        "can_adjust": can_adjust,
        "adjust_form": forms.StockAdjustForm() if can_adjust else None,
        "add_form": forms.StockAddForm(prefix="add") if can(request.user, "add", StockLevel) else None,
        "tab": "stock",
    }
    return render_page(request, "orders/stock.html", context, partial="results")


@require_POST
def stock_adjust(request: HttpRequest, pk: int) -> HttpResponse:
    level = get_object_for(request.user, StockLevel.objects.select_related("product", "warehouse"), pk, "change")
    form = forms.StockAdjustForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"{level.product} @ {level.warehouse}: enter a whole number of units (0 or more).")
        return redirect(_back(request, "orders:stock"))
    quantity = form.cleaned_data["quantity"]
    try:
        if form.cleaned_data["mode"] == "set":
            stock.stock_set(product=level.product, warehouse=level.warehouse, on_hand=quantity, actor=request.user)
            text = f"{level.product} @ {level.warehouse}: {quantity} on hand."
        else:
            stock.stock_receive(product=level.product, warehouse=level.warehouse, quantity=quantity, actor=request.user)
            text = f"{level.product} @ {level.warehouse}: {quantity} received."
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, f"{level.product} @ {level.warehouse}: {_messages_of(exc)}")
    else:
        messages.success(request, text)
    return redirect(_back(request, "orders:stock"))


@require_POST
def stock_add(request: HttpRequest) -> HttpResponse:
    """Stock a product in a warehouse where it has no stock level yet (``stock_set``)."""
    require(request.user, "add", StockLevel)
    form = forms.StockAddForm(request.POST, prefix="add")
    if form.is_valid():
        product = Product.objects.filter(sku__iexact=form.cleaned_data["product"].strip()).first()
        if product is None:
            messages.error(request, f"No product has the SKU {form.cleaned_data['product']!r}.")
        else:
            try:
                stock.stock_set(
                    product=product,
                    warehouse=form.cleaned_data["warehouse"],
                    on_hand=form.cleaned_data["on_hand"],
                    actor=request.user,
                )
            except (ValidationError, PermissionDenied) as exc:
                messages.error(request, _messages_of(exc))
            else:
                messages.success(
                    request, f"{product} @ {form.cleaned_data['warehouse']}: {form.cleaned_data['on_hand']} on hand."
                )
    else:
        messages.error(request, "Give the product's SKU, the warehouse and the units on hand.")
    return redirect("orders:stock")


def _back(request: HttpRequest, fallback: str) -> str:
    from django.utils.http import url_has_allowed_host_and_scheme

    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return target
    return reverse(fallback)


# --- The fulfilment dashboard ------------------------------------------------------------------------

ROW_HEIGHT = 44
BAR_HEIGHT = 14


def _bars(chart_id: str, title: str, bars: list[dict[str, Any]], *, scale: float | None = None) -> dict[str, Any]:
    """Horizontal bars for templates/leads/pipeline/_chart.html (label and value on a line, bar below)."""
    top = scale or max([float(b.get("value") or 0) for b in bars] + [0]) or 1
    rows = []
    for index, bar in enumerate(bars):
        width = 100 * float(bar.get("value") or 0) / float(top)
        y = index * ROW_HEIGHT
        rows.append(
            {
                **bar,
                "x": "0.00",
                "w": f"{max(0.0, min(100.0, width)):.2f}",
                "label_y": y + 14,
                "bar_y": y + 22,
                "tone": bar.get("tone", "primary"),
            }
        )
    return {
        "id": chart_id,
        "title": title,
        "bars": rows,
        "height": len(bars) * ROW_HEIGHT,
        "bar_height": BAR_HEIGHT,
        "centred": False,
    }


def _columns(chart_id: str, title: str, points: list[dict[str, Any]], *, scale: float = 100) -> dict[str, Any]:
    """Vertical columns with a value on top and a label below (templates/orders/partials/_columns.html)."""
    width, height, top_pad, bottom = 640, 200, 22, 26
    plot = height - top_pad - bottom
    slot = width / max(1, len(points))
    out = []
    for index, point in enumerate(points):
        value = point.get("value")
        h = 0.0 if value is None else plot * min(1.0, float(value) / float(scale or 1))
        out.append(
            {
                **point,
                "x": f"{index * slot + slot * 0.18:.1f}",
                "w": f"{slot * 0.64:.1f}",
                "y": f"{top_pad + plot - h:.1f}",
                "h": f"{h:.1f}",
                "cx": f"{index * slot + slot / 2:.1f}",
                "value_y": f"{top_pad + plot - h - 6:.1f}",
                "tone": point.get("tone", "primary"),
            }
        )
    return {
        "id": chart_id,
        "title": title,
        "points": out,
        "width": width,
        "height": height,
        "base_y": top_pad + plot,
        "label_y": height - 8,
    }


def _money_text(values: dict[str, Decimal]) -> str:
    from catalog.formatting import money

    shown = [(c, v) for c, v in sorted(values.items(), key=lambda cv: -cv[1]) if v]
    return " + ".join(money(v.quantize(Decimal("1")), c) for c, v in shown) or "—"


@require_GET
def fulfilment(request: HttpRequest) -> HttpResponse:
    require(request.user, "view", Order)
    summary = selectors.fulfilment_summary(actor=request.user)
    months = summary["months"]
    on_time_chart = _columns(
        "chart-on-time",
        "On-time deliveries per month (%)",
        [
            {
                "label": f"{m.month:%b}",
                "value": m.rate,
                "display": f"{m.rate:g}%" if m.rate is not None else "",
                "title": f"{m.month:%B %Y}: {m.on_time} of {m.deliveries} on time"
                if m.deliveries
                else f"{m.month:%B %Y}: no delivery",
                "tone": "ok" if (m.rate or 0) >= 90 else "warn" if (m.rate or 0) >= 75 else "danger",
            }
            for m in months
        ],
    )
    days_top = max([m.avg_days or 0 for m in months] + [1])
    days_chart = _columns(
        "chart-days",
        "Average days from order to delivery per month",
        [
            {
                "label": f"{m.month:%b}",
                "value": m.avg_days,
                "display": f"{m.avg_days:g}" if m.avg_days is not None else "",
                "title": f"{m.month:%B %Y}: {m.avg_days} days on average"
                if m.deliveries
                else f"{m.month:%B %Y}: no delivery",
                "tone": "neutral",
            }
            for m in months
        ],
        scale=days_top,
    )
    backlog = summary["backlog"]
    status_chart = _bars(
        "chart-backlog-status",
        "Open orders by status",
        [
            {"label": row["label"], "value": row["count"], "display": f"{row['count']} · {_money_text(row['value'])}"}
            for row in backlog.by_status
        ],
    )
    week_chart = _bars(
        "chart-backlog-week",
        "Open orders by promised week",
        [
            {
                "label": row["label"],
                "value": row["count"],
                "display": f"{row['count']} · {_money_text(row['value'])}" if row["count"] else "none",
                "tone": "danger" if row["key"] == "overdue" else "primary",
            }
            for row in backlog.by_week
        ],
    )
    products = summary["products"]
    context = {
        "summary": summary,
        "on_time_chart": on_time_chart,
        "days_chart": days_chart,
        "status_chart": status_chart,
        "week_chart": week_chart,
        "backlog_value": _money_text(backlog.value),
        "products": products,
        "tab": "fulfilment",
    }
    return render(request, "orders/fulfilment.html", context)


# --- Order settings (admins) -------------------------------------------------------------------------

SETTINGS_TABLES = {
    "holiday": (Holiday, forms.HolidayForm),
    "taxrate": (TaxRate, forms.TaxRateForm),
    "warehouse": (Warehouse, forms.WarehouseForm),
    "exchangerate": (ExchangeRate, forms.ExchangeRateForm),
}


def _settings_context(request: HttpRequest, **bound: Any) -> dict[str, Any]:
    current = services.order_settings()
    return {
        "settings_form": bound.get("settings") or forms.OrderSettingsForm(instance=current, prefix="settings"),
        "forms": {
            kind: bound.get(kind) or form_class(prefix=kind) for kind, (_model, form_class) in SETTINGS_TABLES.items()
        },
        "holidays": scoped(request.user, Holiday.objects.filter(date__gte=timezone.localdate() - timedelta(days=31))),
        "tax_rates": scoped(request.user, TaxRate.objects.select_related("category")),
        "warehouses": scoped(request.user, Warehouse.objects.all()),
        "exchange_rates": scoped(request.user, ExchangeRate.objects.all())[:100],
        "can_change": can(request.user, "change", OrderSettings),
    }


@require_http_methods(["GET", "POST"])
def order_settings_page(request: HttpRequest) -> HttpResponse:
    """The approval threshold, validity, processing and shipping days, the calendar, taxes, warehouses and
    exchange rates. Admins change them; every change is audited (``sfa.services.model_*``)."""
    require(request.user, "view", OrderSettings)
    if request.method == "GET":
        return render(request, "orders/settings.html", _settings_context(request))
    current = services.order_settings()
    require(request.user, "change", current)
    kind = request.POST.get("table", "settings")
    if kind == "settings":
        form = forms.OrderSettingsForm(
            request.POST, instance=OrderSettings.objects.get(pk=current.pk), prefix="settings"
        )
        if form.is_valid():
            data = {name: form.cleaned_data[name] for name in form.changed_data}
            changed = model_update(instance=current, actor=request.user, data=data) if data else []
            messages.success(request, "Order settings saved." if changed else "Nothing changed.")
            return redirect("orders:settings")
        return render(request, "orders/settings.html", _settings_context(request, settings=form), status=400)
    if kind not in SETTINGS_TABLES:
        return _bad_request(request, ValidationError(f"Unknown settings table {kind!r}."))
    model, form_class = SETTINGS_TABLES[kind]
    require(request.user, "add", model)
    form = form_class(request.POST, prefix=kind)
    if form.is_valid():
        try:
            created = model_create(model=model, actor=request.user, data=form.cleaned_data)
        except ValidationError as exc:
            add_form_errors(form, exc)
        else:
            messages.success(request, f"Added: {created}.")
            return redirect(f"{reverse('orders:settings')}#{kind}")
    return render(request, "orders/settings.html", _settings_context(request, **{kind: form}), status=400)


@require_POST
def order_settings_delete(request: HttpRequest, table: str, pk: int) -> HttpResponse:
    if table not in SETTINGS_TABLES:
        return _bad_request(request, ValidationError(f"Unknown settings table {table!r}."))
    model, _form = SETTINGS_TABLES[table]
    row = get_object_for(request.user, model.objects.all(), pk, "delete")
    text = str(row)
    try:
        model_delete(instance=row, actor=request.user)
    except Exception as exc:  # a warehouse with stock is protected
        from django.db.models import ProtectedError

        if not isinstance(exc, ProtectedError):
            raise
        messages.error(request, f"{text} is still in use (stock or shipments): make it inactive instead.")
    else:
        messages.success(request, f"Removed: {text}.")
    return redirect(f"{reverse('orders:settings')}#{table}")


# --- Panels on other apps' pages and the dashboard widget (registered in OrdersConfig.ready) -----------


def customer_panel(request: HttpRequest, record: Account | Contact) -> dict[str, Any] | None:
    """The customer's latest quotes and orders on the account or contact page (contacts.ui)."""
    if not (can(request.user, "view", Quote) or can(request.user, "view", Order)):
        return None
    is_account = isinstance(record, Account)
    sales = selectors.customer_sales(
        actor=request.user, account=record if is_account else None, contact=None if is_account else record
    )
    key = "account" if is_account else "contact"
    return {
        **sales,
        "new_quote_url": f"{reverse('orders:quote-create')}?{key}={record.pk}"
        if can(request.user, "add", Quote)
        else "",
        "all_orders_url": f"{reverse('orders:order-list')}?{key}={record.pk}",
        "all_quotes_url": f"{reverse('orders:quote-list')}?{key}={record.pk}",
    }


def opportunity_panel(request: HttpRequest, opportunity) -> dict[str, Any] | None:
    """The deal's quotes and orders on the opportunity page (leads.ui), with "New quote" while it is open
    and "Create order" once it is won and has no order yet."""
    sales = selectors.opportunity_sales(actor=request.user, opportunity=opportunity)
    may_change = can(request.user, "change", opportunity)
    won = opportunity.forecast_category == "closed_won"
    is_open = opportunity.forecast_category not in ("closed_won", "closed_lost")
    has_lines = opportunity.lines.filter(product__isnull=False).exists()
    return {
        **sales,
        "won": won,
        "can_order": may_change and won and not sales["orders"] and can(request.user, "add", Order),
        "has_lines": has_lines,
        "new_quote_url": f"{reverse('orders:quote-create')}?opportunity={opportunity.pk}"
        if may_change and is_open and can(request.user, "add", Quote)
        else "",
        "order_url": reverse("orders:order-from-opportunity", args=[opportunity.pk]),
    }


def product_panel(request: HttpRequest, product: Product) -> dict[str, Any] | None:
    """What sells with the product and which accounts bought it, on the rep's product page (catalog.ui)."""
    if not can(request.user, "view", Order):
        return None
    return selectors.product_sales(actor=request.user, product=product)


def dashboard_widget(request: HttpRequest) -> dict[str, Any] | None:
    """The orders at risk that I see (mine; my teams' for a manager), and the quotes waiting for my approval."""
    user = request.user
    if not can(user, "view", Order):
        return None
    at_risk = list(
        selectors.order_list(actor=user, filters={"at_risk": "true"})
        .select_related(None)
        .select_related("account", "contact")
        .order_by("promised_date", "id")[:5]
    )
    waiting = (
        list(selectors.approvals_waiting(actor=user).order_by("created_at", "id")[:5]) if _may_approve(user) else []
    )
    return {"at_risk": at_risk, "waiting": waiting, "can_approve": _may_approve(user)}


staff_urlpatterns: list = [
    path("quotes/", quote_list, name="quote-list"),
    path("quotes/new/", quote_edit, name="quote-create"),
    path("quotes/<int:pk>/", quote_detail, name="quote-detail"),
    path("quotes/<int:pk>/edit/", quote_edit, name="quote-edit"),
    path("quotes/<int:pk>/print/", quote_print, name="quote-print"),
    path("quotes/<int:pk>/do/<slug:action>/", quote_action, name="quote-action"),
    path("orders/", order_list, name="order-list"),
    path("orders/<int:pk>/", order_detail, name="order-detail"),
    path("orders/<int:pk>/do/<slug:action>/", order_action, name="order-action"),
    path("orders/<int:pk>/payments/", order_payment, name="order-payment"),
    path("orders/from-opportunity/<int:pk>/", order_from_opportunity, name="order-from-opportunity"),
    path("stock/", stock_list, name="stock"),
    path("stock/add/", stock_add, name="stock-add"),
    path("stock/<int:pk>/adjust/", stock_adjust, name="stock-adjust"),
    path("fulfilment/", fulfilment, name="fulfilment"),
    path("settings/orders/", order_settings_page, name="settings"),
    path("settings/orders/<slug:table>/<int:pk>/delete/", order_settings_delete, name="settings-delete"),
]
