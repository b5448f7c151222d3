"""Leads and the pipeline: purchased lists and other sources, scoring, assignment, conversion,
opportunities and every change of their stage.

A lead is a potential customer and the work to qualify them; the person is a contacts.Contact (a
prospect until converted), so that touches on a lead share the company-wide timeline and the
outreach guard, and the matching engine sees leads and customers alike.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone


class LeadSource(models.TextChoices):
    PURCHASED_LIST = "purchased_list", "Purchased list"
    WEB_FORM = "web_form", "Web form"
    CONFIGURATOR = "configurator", "Configurator"
    RELATED_PRODUCT = "related_product", "Customer of a related product"
    REFERRAL = "referral", "Referral"
    EVENT = "event", "Event"
    MANUAL = "manual", "Manual"


class Lead(models.Model):
    class Status(models.TextChoices):
        NEW = "new", "New"
        WORKING = "working", "Working"
        QUALIFIED = "qualified", "Qualified"
        DISQUALIFIED = "disqualified", "Disqualified"
        CONVERTED = "converted", "Converted"

    contact = models.ForeignKey("contacts.Contact", on_delete=models.PROTECT, related_name="leads")
    company = models.CharField(max_length=200, blank=True, help_text="The company as the source gave it")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.NEW, db_index=True)
    disqualify_reason = models.CharField(max_length=200, blank=True)
    source = models.CharField(max_length=20, choices=LeadSource.choices, default=LeadSource.MANUAL)
    source_detail = models.CharField(max_length=200, blank=True, help_text="List name, event, referrer …")
    lead_import = models.ForeignKey(
        "LeadImport", on_delete=models.SET_NULL, null=True, blank=True, related_name="leads"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="leads",
        help_text="Empty: in the unassigned queue",
    )
    team = models.ForeignKey("sfa.Team", on_delete=models.SET_NULL, null=True, blank=True, related_name="leads")
    assigned_at = models.DateTimeField(null=True, blank=True)
    interests = models.JSONField(default=list, blank=True, help_text="Products or topics, e.g. ['e-bike', 'leasing']")
    buying_patterns = models.TextField(blank=True)
    notes = models.TextField(blank=True)
    score = models.PositiveSmallIntegerField(null=True, blank=True, validators=[MaxValueValidator(100)])
    score_reasons = models.JSONField(default=list, blank=True)
    score_model = models.CharField(max_length=20, blank=True, help_text="rules or the trained model's version")
    scored_at = models.DateTimeField(null=True, blank=True)
    converted_at = models.DateTimeField(null=True, blank=True)
    converted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    converted_account = models.ForeignKey(
        "contacts.Account", on_delete=models.PROTECT, null=True, blank=True, related_name="converted_leads"
    )
    converted_opportunity = models.ForeignKey(
        "Opportunity", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["owner", "status", "-created_at"], name="lead_owner_status_idx"),
            models.Index(fields=["status", "-score"], name="lead_status_score_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.contact}{f' ({self.company})' if self.company else ''}"


class VendorMapping(models.Model):
    """The column mapping last used for a list vendor, offered again for their next list."""

    vendor = models.CharField(max_length=120, unique=True)
    mapping = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.vendor


class LeadImport(models.Model):
    """One uploaded list, from file to leads; it keeps what it needs to undo itself."""

    class Status(models.TextChoices):
        UPLOADED = "uploaded", "Uploaded"
        CHECKING = "checking", "Checking"
        PREVIEWED = "previewed", "Checked"
        RUNNING = "running", "Importing"
        DONE = "done", "Imported"
        FAILED = "failed", "Failed"
        UNDONE = "undone", "Undone"

    class OnMatch(models.TextChoices):
        SKIP = "skip", "Skip the row"
        UPDATE = "update", "Update the existing person (blanks only)"
        ATTACH = "attach", "Create a lead on the existing person"

    vendor = models.CharField(max_length=120)
    list_name = models.CharField(max_length=200)
    cost = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    currency = models.CharField(max_length=3, default="EUR")
    file = models.FileField(upload_to="imports/%Y/%m/")
    original_name = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField(default=0)
    encoding = models.CharField(max_length=40, blank=True)
    delimiter = models.CharField(max_length=4, blank=True)
    header = models.JSONField(default=list, blank=True)
    row_count = models.PositiveIntegerField(default=0)
    mapping = models.JSONField(default=dict, blank=True, help_text="column -> field")
    on_match = models.CharField(max_length=8, choices=OnMatch.choices, default=OnMatch.SKIP)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.UPLOADED)
    message = models.CharField(max_length=300, blank=True, help_text="Why the last check or run stopped")
    preview = models.JSONField(
        default=dict, blank=True, help_text="What the check found: counts per verdict, the first rows of each"
    )
    counts = models.JSONField(default=dict, blank=True, help_text="The report: rows per verdict and result")
    job = models.ForeignKey("sfa.Job", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="lead_imports")
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    undone_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.vendor}: {self.list_name}"


class ImportRow(models.Model):
    """One row of a list: its values, what validation and matching said, and what the import did."""

    class Verdict(models.TextChoices):
        NEW = "new", "New"
        INVALID = "invalid", "Rejected"
        IN_FILE = "in_file", "Duplicate inside the file"
        CONTACT = "contact", "Matches a contact"
        LEAD = "lead", "Matches a lead"

    class Result(models.TextChoices):
        PENDING = "", "—"
        CREATED = "created", "Lead created"
        UPDATED = "updated", "Existing person updated"
        ATTACHED = "attached", "Lead on the existing person"
        SKIPPED = "skipped", "Skipped"
        REJECTED = "rejected", "Rejected"

    lead_import = models.ForeignKey(LeadImport, on_delete=models.CASCADE, related_name="rows")
    number = models.PositiveIntegerField(help_text="Line in the file (the header is line 1)")
    values = models.JSONField(default=list, help_text="The row's cells as in the file, in the header's order")
    verdict = models.CharField(max_length=8, choices=Verdict.choices, default=Verdict.NEW)
    errors = models.JSONField(default=list, blank=True)
    notes = models.JSONField(default=list, blank=True, help_text="Do-not-contact, review queue …: said in the report")
    duplicate_of = models.PositiveIntegerField(null=True, blank=True, help_text="The earlier line of the same person")
    match_contact_id = models.BigIntegerField(null=True, blank=True)
    match_score = models.FloatField(null=True, blank=True)
    match_reasons = models.JSONField(default=dict, blank=True)
    result = models.CharField(max_length=8, choices=Result.choices, default=Result.PENDING, blank=True)
    contact_id_created = models.BigIntegerField(null=True, blank=True)
    lead_id = models.BigIntegerField(null=True, blank=True)
    before = models.JSONField(default=dict, blank=True, help_text="What an update changed, to undo it")

    class Meta:
        ordering = ["lead_import", "number"]
        constraints = [models.UniqueConstraint(fields=["lead_import", "number"], name="importrow_unique_number")]

    def __str__(self) -> str:
        return f"{self.lead_import_id}:{self.number}"


class AssignmentRule(models.Model):
    """Who gets a new lead: the first active rule (by order) whose conditions all hold picks a team,
    then a rep of that team by round-robin or by the smallest open workload."""

    class Method(models.TextChoices):
        ROUND_ROBIN = "round_robin", "Round-robin"
        LEAST_LOADED = "least_loaded", "Least loaded"

    name = models.CharField(max_length=120)
    order = models.PositiveSmallIntegerField(default=100)
    is_active = models.BooleanField(default=True)
    country = models.CharField(max_length=2, blank=True)
    region = models.CharField(max_length=100, blank=True)
    postcode_prefix = models.CharField(max_length=10, blank=True)
    interest = models.CharField(max_length=60, blank=True)
    source = models.CharField(max_length=20, choices=LeadSource.choices, blank=True)
    team = models.ForeignKey("sfa.Team", on_delete=models.CASCADE, related_name="assignment_rules")
    method = models.CharField(max_length=12, choices=Method.choices, default=Method.ROUND_ROBIN)
    last_assigned = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.name


class ForecastCategory(models.TextChoices):
    PIPELINE = "pipeline", "Pipeline"
    BEST_CASE = "best_case", "Best case"
    COMMIT = "commit", "Commit"
    CLOSED_WON = "closed_won", "Closed won"
    CLOSED_LOST = "closed_lost", "Closed lost"
    OMITTED = "omitted", "Omitted"


class Pipeline(models.Model):
    name = models.CharField(max_length=100, unique=True)
    is_default = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True), name="pipeline_one_default")
        ]

    def __str__(self) -> str:
        return self.name


class Stage(models.Model):
    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="stages")
    name = models.CharField(max_length=60)
    order = models.PositiveSmallIntegerField()
    probability = models.PositiveSmallIntegerField(validators=[MinValueValidator(0), MaxValueValidator(100)])
    forecast_category = models.CharField(max_length=12, choices=ForecastCategory.choices)

    class Meta:
        ordering = ["pipeline", "order"]
        constraints = [models.UniqueConstraint(fields=["pipeline", "order"], name="stage_unique_order")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_closed(self) -> bool:
        return self.forecast_category in (ForecastCategory.CLOSED_WON, ForecastCategory.CLOSED_LOST)


class Opportunity(models.Model):
    name = models.CharField(max_length=200)
    account = models.ForeignKey(
        "contacts.Account", on_delete=models.PROTECT, null=True, blank=True, related_name="opportunities"
    )
    contact = models.ForeignKey(
        "contacts.Contact", on_delete=models.PROTECT, null=True, blank=True, related_name="opportunities"
    )
    lead = models.ForeignKey(Lead, on_delete=models.SET_NULL, null=True, blank=True, related_name="opportunities")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="opportunities")
    pipeline = models.ForeignKey(Pipeline, on_delete=models.PROTECT, related_name="opportunities")
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="opportunities")
    amount = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    currency = models.CharField(max_length=3, default="EUR")
    probability = models.PositiveSmallIntegerField(validators=[MaxValueValidator(100)])
    forecast_category = models.CharField(max_length=12, choices=ForecastCategory.choices)
    expected_close = models.DateField()
    next_step = models.CharField(max_length=200, blank=True)
    next_step_date = models.DateField(null=True, blank=True)
    lost_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["expected_close", "id"]
        verbose_name_plural = "opportunities"
        indexes = [
            models.Index(fields=["owner", "stage"], name="opportunity_owner_stage_idx"),
            models.Index(fields=["stage", "expected_close"], name="opportunity_stage_close_idx"),
        ]
        constraints = [models.CheckConstraint(condition=Q(amount__gte=0), name="opportunity_amount_positive")]

    def __str__(self) -> str:
        return self.name


class OpportunityLine(models.Model):
    """A catalog product or a saved configuration (its frozen total as the unit price) on a deal."""

    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(default=0)
    product = models.ForeignKey("catalog.Product", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    configuration = models.ForeignKey(
        "catalog.Configuration", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    description = models.CharField(max_length=300)
    quantity = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("1"))
    unit_price = models.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        ordering = ["opportunity", "position", "id"]

    def __str__(self) -> str:
        return self.description


class StageChange(models.Model):
    """One change of an opportunity's stage, amount, probability or close date: who, when, from, to."""

    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="history")
    at = models.DateTimeField(default=timezone.now, db_index=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    via = models.CharField(max_length=10, help_text="form, api, board, import, system")
    from_stage = models.ForeignKey(Stage, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    to_stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="+")
    changes = models.JSONField(default=dict, help_text="{field: [before, after]} for stage, amount, probability, close")

    class Meta:
        ordering = ["opportunity", "at", "id"]
        indexes = [models.Index(fields=["to_stage", "at"], name="stagechange_stage_time_idx")]

    def __str__(self) -> str:
        return f"{self.opportunity_id} -> {self.to_stage_id} at {self.at:%Y-%m-%d}"


class ScoringModel(models.Model):
    """A lead-scoring model trained on past conversions; the newest active one scores new leads."""

    version = models.CharField(max_length=40, unique=True)
    coefficients = models.JSONField()
    samples = models.PositiveIntegerField()
    converted = models.PositiveIntegerField()
    accuracy = models.FloatField()
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.version


class RelatedProductRule(models.Model):
    """Customers who bought A within the last N months, and never B, get a lead, or an opportunity on
    their account for the account's owner (``leads.services_related``).

    A is the products chosen here plus every product the catalog relates B to by one of ``relation_kinds``
    (B is its accessory, upgrade, successor or consumable), so a rule follows the catalog as it grows.
    """

    class Action(models.TextChoices):
        LEAD = "lead", "A lead for each person who bought"
        OPPORTUNITY = "opportunity", "An opportunity on the account, for the account's owner"

    name = models.CharField(max_length=120, unique=True)
    offer_product = models.ForeignKey(
        "catalog.Product", on_delete=models.PROTECT, related_name="+", help_text="B: the product to offer"
    )
    bought_products = models.ManyToManyField(
        "catalog.Product", blank=True, related_name="+", help_text="A: customers who bought one of these"
    )
    relation_kinds = models.JSONField(
        default=list,
        blank=True,
        help_text="A also: the products B is an accessory, upgrade, successor or consumable of in the catalog",
    )
    within_months = models.PositiveSmallIntegerField(
        default=12,
        validators=[MinValueValidator(1), MaxValueValidator(120)],
        help_text="Who bought A in this many months up to today",
    )
    purpose = models.ForeignKey(
        "contacts.Purpose",
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Whoever was worked for it inside its guard window gets nothing",
    )
    action = models.CharField(max_length=12, choices=Action.choices, default=Action.LEAD)
    is_active = models.BooleanField(default=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_run_counts = models.JSONField(default=dict, blank=True, help_text="What the last run found and made")
    job = models.ForeignKey("sfa.Job", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(within_months__gte=1, within_months__lte=120), name="relatedrule_months_range"
            )
        ]

    def __str__(self) -> str:
        return self.name


class RelatedProductOffer(models.Model):
    """One customer a related-product rule made a lead or an opportunity for.

    While that lead or opportunity is open the rule makes no other for the customer; once it is closed,
    only a purchase of A after ``last_bought_on`` brings a new one (a rep's "not interested" stands).
    """

    rule = models.ForeignKey(RelatedProductRule, on_delete=models.CASCADE, related_name="offers")
    contact = models.ForeignKey(
        "contacts.Contact", on_delete=models.CASCADE, null=True, blank=True, related_name="related_product_offers"
    )
    account = models.ForeignKey(
        "contacts.Account", on_delete=models.CASCADE, null=True, blank=True, related_name="related_product_offers"
    )
    lead = models.ForeignKey(Lead, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    opportunity = models.ForeignKey(Opportunity, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    last_bought_on = models.DateField(help_text="The customer's latest purchase of A the offer was made for")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["rule", "-created_at", "-id"]
        indexes = [
            models.Index(fields=["rule", "contact"], name="relatedoffer_rule_contact_idx"),
            models.Index(fields=["rule", "account"], name="relatedoffer_rule_account_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(contact__isnull=False) | Q(account__isnull=False), name="relatedoffer_has_customer"
            )
        ]

    def __str__(self) -> str:
        return f"{self.rule_id}: {self.account_id or ''}/{self.contact_id or ''} on {self.last_bought_on}"
