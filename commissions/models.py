"""Commission plans, deal splits, and the monthly statements computed from the orders' sales ledger.

A ``Plan`` says who takes part (reps, or teams: their members), from when to when, on which event it earns
(booking, delivery or payment), at which rates (base, tiers by quota attainment, per product category),
which SPIFs it pays, the cap per rep and month and the clawback window. A ``CommissionSplit`` shares one
order between reps. A ``Statement`` is one rep's month: its ``StatementLine`` rows each point at the order
line, the ledger entry (and the payment) they come from and name the rule that applied. Approving a
statement locks it; what the ledger says later lands on the next open month.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

MONEY = {"max_digits": 14, "decimal_places": 2}
RATE = {
    "max_digits": 6,
    "decimal_places": 3,
    "validators": [MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
}


class Basis(models.TextChoices):
    BOOKING = "booking", "Booking (order confirmed)"
    DELIVERY = "delivery", "Delivery"
    PAYMENT = "payment", "Payment"


class Plan(models.Model):
    """How a group of reps earns commission over a period (see docs/commissions.md for the arithmetic)."""

    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    basis = models.CharField(max_length=10, choices=Basis.choices, default=Basis.BOOKING)
    effective_from = models.DateField()
    effective_to = models.DateField(null=True, blank=True, help_text="Empty: open-ended")
    base_rate = models.DecimalField(
        help_text="Percent of the credited sales; the tiers and category rates replace it", **RATE
    )
    cap_amount = models.DecimalField(
        null=True, blank=True, help_text="Most the plan pays one rep in one month (empty: no cap)", **MONEY
    )
    clawback_days = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        default=90,
        help_text="A cancellation or return this many days after the earning event takes the commission back "
        "(empty: never)",
    )
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-effective_from", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(effective_to__isnull=True) | Q(effective_to__gte=F("effective_from")),
                name="plan_period_order",
            ),
            models.CheckConstraint(
                condition=Q(cap_amount__isnull=True) | Q(cap_amount__gte=0), name="plan_cap_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class PlanParticipant(models.Model):
    """A rep, or a team (its members and the members of the teams below it), on a plan."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="participants")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    team = models.ForeignKey("sfa.Team", on_delete=models.CASCADE, null=True, blank=True, related_name="+")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False, team__isnull=True) | Q(user__isnull=True, team__isnull=False),
                name="participant_user_xor_team",
            ),
            models.UniqueConstraint(fields=["plan", "user"], name="participant_user_once"),
            models.UniqueConstraint(fields=["plan", "team"], name="participant_team_once"),
        ]

    def __str__(self) -> str:
        return str(self.user or self.team)


class PlanTier(models.Model):
    """From ``threshold`` percent of the month's quota on, the sales earn ``rate`` (marginal, like tax bands)."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="tiers")
    threshold = models.DecimalField(
        max_digits=7,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0"))],
        help_text="Attainment (percent of quota) where the tier starts; the first tier starts at 0",
    )
    rate = models.DecimalField(**RATE)

    class Meta:
        ordering = ["plan", "threshold"]
        constraints = [models.UniqueConstraint(fields=["plan", "threshold"], name="tier_threshold_once")]

    def __str__(self) -> str:
        return f"from {self.threshold} %: {self.rate} %"


class PlanCategoryRate(models.Model):
    """Sales of a product category (and the categories below it) earn this rate instead of the base or tiers."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="category_rates")
    category = models.ForeignKey("catalog.Category", on_delete=models.CASCADE, related_name="+")
    rate = models.DecimalField(**RATE)

    class Meta:
        ordering = ["plan", "category__name"]
        constraints = [models.UniqueConstraint(fields=["plan", "category"], name="category_rate_once")]

    def __str__(self) -> str:
        return f"{self.category_id}: {self.rate} %"


class Spif(models.Model):
    """A bonus per unit of a product sold (earned, as the plan's basis says) between two dates."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="spifs")
    product = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="+")
    amount_per_unit = models.DecimalField(validators=[MinValueValidator(Decimal("0.01"))], **MONEY)
    starts_on = models.DateField()
    ends_on = models.DateField()

    class Meta:
        ordering = ["plan", "starts_on", "id"]
        verbose_name = "SPIF"
        constraints = [models.CheckConstraint(condition=Q(ends_on__gte=F("starts_on")), name="spif_period_order")]

    def __str__(self) -> str:
        return f"{self.amount_per_unit} per unit of {self.product_id}"


class CommissionSplit(models.Model):
    """One rep's share of an order's credit. An order without split rows credits its owner in full; with rows,
    the percents add up to 100 (``commissions.services.order_splits_set`` keeps them so)."""

    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="commission_splits")
    rep = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="commission_splits")
    percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal("100"))],
    )

    class Meta:
        ordering = ["order", "-percent", "rep_id"]
        constraints = [
            models.UniqueConstraint(fields=["order", "rep"], name="split_rep_once"),
            models.CheckConstraint(condition=Q(percent__gt=0) & Q(percent__lte=100), name="split_percent_range"),
        ]

    def __str__(self) -> str:
        return f"{self.percent} % to {self.rep_id}"


class Statement(models.Model):
    """One rep's commission for one month, in the base currency."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        APPROVED = "approved", "Approved"

    rep = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="commission_statements")
    period = models.DateField(help_text="First day of the month")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True)
    currency = models.CharField(max_length=3, default="EUR")
    credited = models.DecimalField(default=Decimal("0"), help_text="Sales credited to the rep this month", **MONEY)
    quota = models.DecimalField(null=True, blank=True, **MONEY)
    commission = models.DecimalField(default=Decimal("0"), help_text="Base, category and tier lines", **MONEY)
    spif = models.DecimalField(default=Decimal("0"), **MONEY)
    cap = models.DecimalField(default=Decimal("0"), help_text="What the caps took off (≤ 0)", **MONEY)
    clawback = models.DecimalField(default=Decimal("0"), **MONEY)
    adjustments = models.DecimalField(default=Decimal("0"), **MONEY)
    carried_in = models.DecimalField(
        default=Decimal("0"),
        help_text="Balance of earlier months settled here: ≤ 0 recovers a negative month, > 0 refunds an over-recovery",
        **MONEY,
    )
    carried_out = models.DecimalField(
        default=Decimal("0"), help_text="This month's negative balance, carried to the next statement (≥ 0)", **MONEY
    )
    total = models.DecimalField(
        default=Decimal("0"), help_text="What payroll pays; a negative balance is carried forward instead", **MONEY
    )
    summary = models.JSONField(default=list, blank=True, help_text="Per plan: basis, quota, attainment, tiers")
    computed_at = models.DateTimeField(null=True, blank=True)
    job = models.ForeignKey("sfa.Job", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-period", "rep_id"]
        constraints = [models.UniqueConstraint(fields=["rep", "period"], name="statement_one_per_month")]
        indexes = [models.Index(fields=["period", "status"], name="statement_period_idx")]

    def __str__(self) -> str:
        return f"{self.period:%b %Y} · {self.rep}"

    @property
    def is_locked(self) -> bool:
        return self.status == self.Status.APPROVED

    @property
    def earned(self) -> Decimal:
        """Commission and SPIFs, before the cap and clawbacks."""
        return self.commission + self.spif

    @property
    def deductions(self) -> Decimal:
        """What the cap and the clawbacks took off (≤ 0)."""
        return self.cap + self.clawback

    @property
    def attainment(self) -> Decimal | None:
        if not self.quota:
            return None
        return (self.credited * 100 / self.quota).quantize(Decimal("0.1"))


class Rule(models.TextChoices):
    BASE = "base", "Base rate"
    CATEGORY = "category", "Category rate"
    TIER = "tier", "Tier"
    SPIF = "spif", "SPIF"
    CAP = "cap", "Cap"
    CLAWBACK = "clawback", "Clawback"
    ADJUSTMENT = "adjustment", "Adjustment"
    CARRY_IN = "carry_in", "Brought forward"  # earlier months' negative balance, recovered
    CARRY_OUT = "carry_out", "Carried forward"  # this month's negative balance, to the next statement


EARNING_RULES = (Rule.BASE, Rule.CATEGORY, Rule.TIER, Rule.SPIF)


class StatementLine(models.Model):
    """One figure of a statement and where it comes from.

    ``entry`` is the ledger row (for payment plans: the line's booking row; ``payment`` is the payment). The
    ledger is rebuilt after bulk writes (``orders.ledger.ledger_rebuild``), which gives its rows new ids, so
    the link is kept without a database constraint and re-made by ``commissions.services.lines_relink``;
    ``order_number`` and ``description`` keep the line readable whatever happens to the order.
    """

    class Event(models.TextChoices):
        BOOKED = "booked", "Booked"
        DELIVERED = "delivered", "Delivered"
        PAYMENT = "payment", "Paid"
        CANCELLED = "cancelled", "Cancelled"
        RETURNED = "returned", "Returned"
        PERIOD = "period", "Month"  # cap and carry lines
        MANUAL = "manual", "Manual"  # adjustments

    statement = models.ForeignKey(Statement, on_delete=models.CASCADE, related_name="lines")
    plan = models.ForeignKey(Plan, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    rule = models.CharField(max_length=12, choices=Rule.choices)
    event = models.CharField(max_length=10, choices=Event.choices)
    on = models.DateField(help_text="When the event happened")
    order = models.ForeignKey("orders.Order", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    order_line = models.ForeignKey(
        "orders.OrderLine", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    entry = models.ForeignKey(
        "orders.SalesEntry",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    payment = models.ForeignKey("orders.Payment", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    order_number = models.CharField(max_length=20, blank=True)
    description = models.CharField(max_length=300, blank=True)
    units = models.IntegerField(default=0, help_text="Units earned on (negative: taken back)")
    split_percent = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("100"))
    basis_amount = models.DecimalField(
        default=Decimal("0"), help_text="The credited sales the rate applies to", **MONEY
    )
    rate = models.DecimalField(max_digits=9, decimal_places=4, null=True, blank=True)
    amount = models.DecimalField(**MONEY)
    detail = models.CharField(max_length=300, blank=True, help_text="The rule in words")
    late = models.BooleanField(default=False, help_text="Happened in a month that was approved before it came in")
    is_computed = models.BooleanField(default=True, help_text="False for a manager's adjustment (kept on recompute)")
    note = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["statement", "on", "order_number", "id"]
        indexes = [
            models.Index(fields=["order_line", "plan"], name="stmtline_orderline_idx"),
            models.Index(fields=["entry"], name="stmtline_entry_idx"),
            models.Index(fields=["order"], name="stmtline_order_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_rule_display()} {self.amount}"
