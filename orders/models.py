"""Quotes, orders, shipments, stock and the sales ledger.

A quote becomes an order; an order walks a guarded state machine (``orders.states``) and every step is an
``OrderEvent`` with who and when. Prices, taxes and lead times are frozen on the lines when a quote or an
order is written, so later catalog changes never rewrite a sale. Stock is reserved on confirmation with
row locks (``orders.stock``). Every booking, delivery, cancellation and return writes signed rows to the
``SalesEntry`` ledger, which the forecasting facts and the commission statements read.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from catalog.models import CURRENCY_VALIDATOR

MONEY = {"max_digits": 14, "decimal_places": 2}
PERCENT = {
    "max_digits": 5,
    "decimal_places": 2,
    "validators": [MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
}


# --- Settings, calendar, taxes, warehouses ----------------------------------------------------------


class OrderSettings(models.Model):
    """The one row of order settings that admins manage (``orders.services.order_settings``)."""

    approval_discount_percent = models.DecimalField(
        default=Decimal("15"),
        help_text="A quote whose line or order discount is above this needs a manager's approval",
        **PERCENT,
    )
    quote_validity_days = models.PositiveSmallIntegerField(default=30)
    processing_days = models.PositiveSmallIntegerField(default=1, help_text="Working days to pick and pack")
    shipping_days = models.PositiveSmallIntegerField(default=2, help_text="Working days in transit")
    allocation_warning_days = models.PositiveSmallIntegerField(
        default=3, help_text="An order not allocated this many working days before its promise is at risk"
    )
    working_weekdays = models.CharField(
        max_length=7, default="12345", help_text="ISO weekdays we ship on: 1 = Monday … 7 = Sunday"
    )
    base_currency = models.CharField(max_length=3, default="EUR", validators=[CURRENCY_VALIDATOR])

    class Meta:
        verbose_name_plural = "order settings"

    def __str__(self) -> str:
        return "Order settings"


class Holiday(models.Model):
    """A non-working day of the delivery calendar."""

    date = models.DateField(unique=True)
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.name}"


class TaxRate(models.Model):
    """VAT or sales tax for a product category in a country; a row without category is the country's default."""

    country = models.CharField(max_length=2, help_text="ISO 3166 code, e.g. DE")
    category = models.ForeignKey(
        "catalog.Category", on_delete=models.CASCADE, null=True, blank=True, related_name="tax_rates"
    )
    rate = models.DecimalField(**PERCENT)

    class Meta:
        ordering = ["country", "category_id"]
        constraints = [
            models.UniqueConstraint(fields=["country", "category"], name="taxrate_one_per_category"),
            models.UniqueConstraint(
                fields=["country"], condition=Q(category__isnull=True), name="taxrate_one_default_per_country"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.country} {self.category or 'default'}: {self.rate} %"


class ExchangeRate(models.Model):
    """How many units of the base currency one unit of ``currency`` was worth from ``valid_from`` on."""

    currency = models.CharField(max_length=3, validators=[CURRENCY_VALIDATOR])
    rate = models.DecimalField(max_digits=14, decimal_places=6, validators=[MinValueValidator(Decimal("0.000001"))])
    valid_from = models.DateField()

    class Meta:
        ordering = ["currency", "-valid_from"]
        constraints = [models.UniqueConstraint(fields=["currency", "valid_from"], name="exchangerate_one_per_day")]

    def __str__(self) -> str:
        return f"{self.currency} {self.rate} from {self.valid_from}"


class Warehouse(models.Model):
    code = models.SlugField(max_length=20, unique=True)
    name = models.CharField(max_length=100)
    country = models.CharField(max_length=2, blank=True)
    priority = models.PositiveSmallIntegerField(default=0, help_text="Lower ships first")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["priority", "code"]

    def __str__(self) -> str:
        return self.name


class StockLevel(models.Model):
    """Units of a product in a warehouse. A product without any stock level is made to order."""

    product = models.ForeignKey("catalog.Product", on_delete=models.PROTECT, related_name="stock_levels")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="stock_levels")
    on_hand = models.PositiveIntegerField(default=0)
    reserved = models.PositiveIntegerField(default=0, help_text="Promised to confirmed orders, not shipped yet")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["product", "warehouse"]
        constraints = [
            models.UniqueConstraint(fields=["product", "warehouse"], name="stock_one_per_warehouse"),
            models.CheckConstraint(condition=Q(reserved__lte=F("on_hand")), name="stock_reserved_within_on_hand"),
        ]

    def __str__(self) -> str:
        return f"{self.product} @ {self.warehouse}: {self.on_hand} ({self.reserved} reserved)"

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


class NumberSequence(models.Model):
    """The last number given out in one series (``Q`` quotes, ``SO`` orders): ``orders.services.numbers_next``
    locks the row, so two transactions never hand out the same number."""

    prefix = models.CharField(max_length=10, unique=True)
    last = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.prefix}-{self.last:06d}"


# --- Quotes -----------------------------------------------------------------------------------------


class Quote(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        PENDING_APPROVAL = "pending_approval", "Waiting for approval"
        APPROVED = "approved", "Approved"
        SENT = "sent", "Sent"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"
        EXPIRED = "expired", "Expired"

    class Source(models.TextChoices):
        REP = "rep", "Sales rep"
        OPPORTUNITY = "opportunity", "Opportunity"
        CONFIGURATOR = "configurator", "Configurator request"
        API = "api", "API"

    number = models.CharField(max_length=20, unique=True)
    account = models.ForeignKey(
        "contacts.Account", on_delete=models.PROTECT, null=True, blank=True, related_name="quotes"
    )
    contact = models.ForeignKey(
        "contacts.Contact", on_delete=models.PROTECT, null=True, blank=True, related_name="quotes"
    )
    opportunity = models.ForeignKey(
        "leads.Opportunity", on_delete=models.SET_NULL, null=True, blank=True, related_name="quotes"
    )
    lead = models.ForeignKey("leads.Lead", on_delete=models.SET_NULL, null=True, blank=True, related_name="quotes")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="quotes")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT, db_index=True)
    source = models.CharField(max_length=12, choices=Source.choices, default=Source.REP)
    currency = models.CharField(max_length=3, default="EUR", validators=[CURRENCY_VALIDATOR])
    country = models.CharField(max_length=2, blank=True, help_text="Where it ships: decides the tax rates")
    discount_percent = models.DecimalField(default=Decimal("0"), help_text="Order discount, on top of lines", **PERCENT)
    valid_until = models.DateField()
    notes = models.TextField(blank=True, help_text="Shown to the customer on the quote")
    subtotal = models.DecimalField(default=Decimal("0"), help_text="Lines after line discounts", **MONEY)
    discount_total = models.DecimalField(default=Decimal("0"), help_text="Order discount amount", **MONEY)
    tax_total = models.DecimalField(default=Decimal("0"), **MONEY)
    total = models.DecimalField(default=Decimal("0"), **MONEY)
    approval_requested_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    approval_note = models.CharField(max_length=300, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1, help_text="Raised by every change: a stale edit is refused")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["owner", "-created_at", "-id"], name="quote_owner_time_idx"),
            models.Index(fields=["-created_at", "-id"], name="quote_time_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(account__isnull=False) | Q(contact__isnull=False), name="quote_has_customer"
            ),
        ]

    def __str__(self) -> str:
        return self.number


class QuoteLine(models.Model):
    quote = models.ForeignKey(Quote, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(default=0)
    product = models.ForeignKey("catalog.Product", on_delete=models.PROTECT, related_name="+")
    configuration = models.ForeignKey(
        "catalog.Configuration", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    description = models.CharField(max_length=300)
    sku = models.CharField(max_length=400)
    quantity = models.PositiveIntegerField(default=1, validators=[MinValueValidator(1)])
    unit_price = models.DecimalField(**MONEY)
    discount_percent = models.DecimalField(default=Decimal("0"), **PERCENT)
    tax_rate = models.DecimalField(default=Decimal("0"), **PERCENT)
    net_amount = models.DecimalField(default=Decimal("0"), help_text="quantity × price − line discount", **MONEY)
    lead_time_days = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["quote", "position", "id"]

    def __str__(self) -> str:
        return self.description


# --- Orders -----------------------------------------------------------------------------------------


class Order(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        CONFIRMED = "confirmed", "Confirmed"
        ALLOCATED = "allocated", "Allocated"
        PARTIALLY_SHIPPED = "partially_shipped", "Partially shipped"
        SHIPPED = "shipped", "Shipped"
        DELIVERED = "delivered", "Delivered"
        CLOSED = "closed", "Closed"
        CANCELLED = "cancelled", "Cancelled"
        RETURNED = "returned", "Returned"

    class Source(models.TextChoices):
        QUOTE = "quote", "Quote"
        OPPORTUNITY = "opportunity", "Won opportunity"
        MANUAL = "manual", "Entered by hand"
        API = "api", "API"
        IMPORT = "import", "Imported history"

    number = models.CharField(max_length=20, unique=True)
    quote = models.OneToOneField(Quote, on_delete=models.PROTECT, null=True, blank=True, related_name="order")
    opportunity = models.ForeignKey(
        "leads.Opportunity", on_delete=models.SET_NULL, null=True, blank=True, related_name="orders"
    )
    account = models.ForeignKey(
        "contacts.Account", on_delete=models.PROTECT, null=True, blank=True, related_name="orders"
    )
    contact = models.ForeignKey(
        "contacts.Contact", on_delete=models.PROTECT, null=True, blank=True, related_name="orders"
    )
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    source = models.CharField(max_length=12, choices=Source.choices, default=Source.MANUAL)
    currency = models.CharField(max_length=3, default="EUR", validators=[CURRENCY_VALIDATOR])
    country = models.CharField(max_length=2, blank=True)
    region = models.CharField(max_length=100, blank=True, help_text="Sales region, frozen from the customer")
    segment = models.CharField(max_length=20, blank=True, help_text="Customer segment, frozen from the account")
    discount_percent = models.DecimalField(default=Decimal("0"), **PERCENT)
    subtotal = models.DecimalField(default=Decimal("0"), **MONEY)
    discount_total = models.DecimalField(default=Decimal("0"), **MONEY)
    tax_total = models.DecimalField(default=Decimal("0"), **MONEY)
    total = models.DecimalField(default=Decimal("0"), **MONEY)
    allow_backorder = models.BooleanField(
        default=False, help_text="Confirm even when stock is short: the missing units follow their lead time"
    )
    ordered_on = models.DateField(default=timezone.localdate, help_text="The booking date of the sale")
    promised_date = models.DateField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    allocated_at = models.DateTimeField(null=True, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True, help_text="When the last units left")
    delivered_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    returned_at = models.DateTimeField(null=True, blank=True)
    risk = models.CharField(max_length=200, blank=True, help_text="Why the order is at risk; empty when it is not")
    risk_flagged_at = models.DateTimeField(null=True, blank=True)
    order_import = models.ForeignKey(
        "orders.OrderImport", on_delete=models.SET_NULL, null=True, blank=True, related_name="orders"
    )
    external_ref = models.CharField(max_length=60, blank=True, help_text="The order number in the old system")
    notes = models.TextField(blank=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    OPEN = (Status.CONFIRMED, Status.ALLOCATED, Status.PARTIALLY_SHIPPED, Status.SHIPPED)

    class Meta:
        ordering = ["-ordered_on", "-id"]
        indexes = [
            models.Index(fields=["-ordered_on", "-id"], name="order_time_idx"),
            models.Index(fields=["owner", "-ordered_on", "-id"], name="order_owner_time_idx"),
            models.Index(fields=["status", "-ordered_on", "-id"], name="order_status_time_idx"),
            models.Index(fields=["account", "-ordered_on"], name="order_account_idx"),
            models.Index(fields=["contact", "-ordered_on"], name="order_contact_idx"),
            models.Index(
                fields=["promised_date", "id"],
                name="order_open_promise_idx",
                condition=Q(status__in=["confirmed", "allocated", "partially_shipped", "shipped"]),
            ),
            models.Index(fields=["risk_flagged_at"], name="order_risk_idx", condition=~Q(risk="")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(account__isnull=False) | Q(contact__isnull=False), name="order_has_customer"
            ),
            models.UniqueConstraint(
                fields=["order_import", "external_ref"],
                condition=Q(order_import__isnull=False),
                name="order_import_ref_unique",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def customer(self):
        return self.account or self.contact


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(default=0)
    product = models.ForeignKey("catalog.Product", on_delete=models.PROTECT, related_name="order_lines")
    category = models.ForeignKey(
        "catalog.Category", on_delete=models.PROTECT, related_name="+", help_text="Frozen: the product's category"
    )
    configuration = models.ForeignKey(
        "catalog.Configuration", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    description = models.CharField(max_length=300)
    sku = models.CharField(max_length=400)
    quantity = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    unit_price = models.DecimalField(**MONEY)
    discount_percent = models.DecimalField(default=Decimal("0"), **PERCENT)
    tax_rate = models.DecimalField(default=Decimal("0"), **PERCENT)
    net_amount = models.DecimalField(default=Decimal("0"), help_text="After line and order discounts", **MONEY)
    tax_amount = models.DecimalField(default=Decimal("0"), **MONEY)
    lead_time_days = models.PositiveSmallIntegerField(default=0)
    quantity_reserved = models.PositiveIntegerField(default=0)
    quantity_shipped = models.PositiveIntegerField(default=0)
    quantity_returned = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["order", "position", "id"]
        indexes = [models.Index(fields=["product", "order"], name="orderline_product_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(quantity_shipped__lte=F("quantity")), name="orderline_ship_within"),
            models.CheckConstraint(
                condition=Q(quantity_returned__lte=F("quantity_shipped")), name="orderline_return_within"
            ),
        ]

    def __str__(self) -> str:
        return self.description


class Reservation(models.Model):
    """Units of one order line held in one warehouse (a line may draw from several)."""

    line = models.ForeignKey(OrderLine, on_delete=models.CASCADE, related_name="reservations")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["line", "warehouse"], name="reservation_one_per_warehouse")]

    def __str__(self) -> str:
        return f"{self.quantity} × line {self.line_id} @ {self.warehouse_id}"


class OrderEvent(models.Model):
    """One transition of an order: who moved it from which status to which, when, and why."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(default=timezone.now)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20)
    note = models.CharField(max_length=300, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["order", "at", "id"]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.from_status or '∅'} → {self.to_status}"


class Shipment(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="shipments")
    number = models.PositiveSmallIntegerField(help_text="1, 2 … within the order")
    shipped_at = models.DateTimeField(default=timezone.now)
    carrier = models.CharField(max_length=60, blank=True)
    tracking = models.CharField(max_length=100, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")

    class Meta:
        ordering = ["order", "number"]
        constraints = [models.UniqueConstraint(fields=["order", "number"], name="shipment_number_unique")]

    def __str__(self) -> str:
        return f"{self.order} / {self.number}"


class ShipmentLine(models.Model):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="lines")
    line = models.ForeignKey(OrderLine, on_delete=models.CASCADE, related_name="shipment_lines")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    quantity = models.PositiveIntegerField(validators=[MinValueValidator(1)])

    def __str__(self) -> str:
        return f"{self.quantity} × line {self.line_id} in shipment {self.shipment_id}"


# --- The sales ledger -------------------------------------------------------------------------------


class SalesEntry(models.Model):
    """A signed movement of sales from one order line: booked, delivered, or the reversal of either.

    Confirmation books the line; delivery records what was delivered; a cancellation or a return writes
    the same amounts negated, so that any sum over the ledger is net of what was undone. Forecasting's
    sales facts and the commission statements read only this table.
    """

    class Kind(models.TextChoices):
        BOOKED = "booked", "Booked"
        DELIVERED = "delivered", "Delivered"
        CANCELLED = "cancelled", "Cancelled (reverses booked)"
        RETURNED = "returned", "Returned (reverses booked and delivered)"

    class Basis(models.TextChoices):
        BOOKING = "booking", "Booking"
        DELIVERY = "delivery", "Delivery"

    line = models.ForeignKey(OrderLine, on_delete=models.CASCADE, related_name="sales_entries")
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="sales_entries")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    basis = models.CharField(max_length=10, choices=Basis.choices, help_text="Which total this row counts in")
    on = models.DateField(db_index=True)
    product = models.ForeignKey("catalog.Product", on_delete=models.PROTECT, related_name="+")
    category = models.ForeignKey("catalog.Category", on_delete=models.PROTECT, related_name="+")
    rep = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="sales_entries")
    region = models.CharField(max_length=100, blank=True)
    segment = models.CharField(max_length=20, blank=True)
    account = models.ForeignKey("contacts.Account", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    units = models.IntegerField()
    amount = models.DecimalField(help_text="Net of discounts, without tax, in the order's currency", **MONEY)
    currency = models.CharField(max_length=3)
    amount_base = models.DecimalField(help_text="The amount in the base currency", **MONEY)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["on", "id"]
        verbose_name_plural = "sales entries"
        indexes = [
            models.Index(fields=["basis", "on"], name="salesentry_basis_on_idx"),
            models.Index(fields=["rep", "on"], name="salesentry_rep_on_idx"),
            models.Index(fields=["product", "on"], name="salesentry_product_on_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.units} × {self.product_id} on {self.on}"


class DeliveryStat(models.Model):
    """Deliveries per product, owner and month: the rollup the fulfilment dashboard reads (kept by the services).

    The owner dimension lets a rep's or a manager's figures read a few rollup rows of their people instead of
    counting their orders; company-wide figures sum over the owners.
    """

    month = models.DateField(help_text="First day of the month of delivery")
    product = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="+")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, related_name="+")
    deliveries = models.PositiveIntegerField(default=0)
    on_time = models.PositiveIntegerField(default=0)
    days_total = models.PositiveIntegerField(default=0, help_text="Sum of order-to-delivery days")

    class Meta:
        ordering = ["month", "product"]
        constraints = [
            # The name is kept from the per-product rollup (the benchmark's plans name it).
            models.UniqueConstraint(fields=["month", "product", "owner"], name="deliverystat_one_per_month")
        ]
        indexes = [models.Index(fields=["owner", "month"], name="deliverystat_owner_month_idx")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.product_id} {self.owner_id}: {self.on_time}/{self.deliveries} on time"


# --- Historical imports --------------------------------------------------------------------------------


class OrderImport(models.Model):
    """One upload of historical orders: its file, mapping, counts and report; undone as a whole."""

    class Status(models.TextChoices):
        UPLOADED = "uploaded", "Uploaded"
        MAPPED = "mapped", "Mapped"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        UNDONE = "undone", "Undone"

    file = models.FileField(upload_to="order_imports/%Y/%m/")
    filename = models.CharField(max_length=255)
    encoding = models.CharField(max_length=40, blank=True)
    delimiter = models.CharField(max_length=1, blank=True)
    headers = models.JSONField(default=list)
    mapping = models.JSONField(default=dict, help_text="{column: field}")
    row_count = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.UPLOADED)
    counts = models.JSONField(default=dict, blank=True)
    rejects = models.JSONField(default=list, blank=True, help_text="[{row, reasons, values}] of rejected rows")
    job = models.ForeignKey("sfa.Job", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="order_imports")
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    undone_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.filename


# --- Payments ---------------------------------------------------------------------------------------


class Payment(models.Model):
    """Money the customer paid on an order (in the order's currency), as billing recorded it.

    Written by ``orders.payments.order_payment_record`` only; never edited (a wrong entry is answered by the
    admin in the admin site). Commission plans that earn on payment read these rows.
    """

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="payments")
    amount = models.DecimalField(validators=[MinValueValidator(Decimal("0.01"))], **MONEY)
    currency = models.CharField(max_length=3, validators=[CURRENCY_VALIDATOR])
    received_on = models.DateField(db_index=True)
    reference = models.CharField(max_length=100, blank=True, help_text="Bank reference, cheque number …")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["order", "received_on", "id"]
        indexes = [models.Index(fields=["order", "received_on"], name="payment_order_idx")]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive")]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} on {self.received_on:%Y-%m-%d}"
