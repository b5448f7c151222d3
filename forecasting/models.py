"""Sales facts: revenue and units per period, product, category, region, rep and segment.

Built from the orders' sales ledger (``orders.SalesEntry``, booking basis), kept current as entries are
written (``forecasting.facts.facts_apply``) and rebuildable from scratch by a job.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone


class SalesFact(models.Model):
    class Grain(models.TextChoices):
        MONTH = "month", "Month"
        WEEK = "week", "Week"

    grain = models.CharField(max_length=5, choices=Grain.choices)
    period = models.DateField(help_text="First day of the month, or the Monday of the ISO week")
    product = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="+")
    category = models.ForeignKey("catalog.Category", on_delete=models.CASCADE, related_name="+")
    region = models.CharField(max_length=100, blank=True)
    rep = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    segment = models.CharField(max_length=20, blank=True)
    revenue = models.DecimalField(max_digits=16, decimal_places=2, default=Decimal("0"), help_text="Base currency")
    units = models.IntegerField(default=0)

    class Meta:
        ordering = ["grain", "period"]
        constraints = [
            models.UniqueConstraint(
                fields=["grain", "period", "product", "region", "rep", "segment"], name="salesfact_unique_cell"
            )
        ]
        indexes = [
            models.Index(fields=["grain", "period"], name="salesfact_period_idx"),
            models.Index(fields=["grain", "category", "period"], name="salesfact_category_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.grain} {self.period} {self.product_id}: {self.revenue}"


class FiscalYear(models.Model):
    """The company's fiscal calendar: one row, the month a fiscal year starts in (1 = January).

    A fiscal year is named after the calendar year it ends in (FY2027 with start month 4 runs from
    April 2026 to March 2027), as most companies name theirs.
    """

    start_month = models.PositiveSmallIntegerField(default=1, validators=[MinValueValidator(1), MaxValueValidator(12)])
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(start_month__gte=1, start_month__lte=12), name="fiscalyear_month_valid")
        ]

    def __str__(self) -> str:
        return f"Fiscal year starting in month {self.start_month}"


class ForecastRun(models.Model):
    """One forecast of every series of the hierarchy, made by the engine from the monthly sales facts.

    The run's Job carries status and progress; the run keeps what was forecast (history up to
    ``history_end``, ``horizon`` months after it) and a summary of the backtest accuracy.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    job = models.OneToOneField("sfa.Job", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    history_start = models.DateField()
    history_end = models.DateField(help_text="The last closed month used (first day)")
    horizon = models.PositiveSmallIntegerField()
    fiscal_year = models.PositiveSmallIntegerField(help_text="The next fiscal year this run covers")
    levels = models.JSONField(default=list, help_text="Interval levels, e.g. [80, 95]")
    series_total = models.PositiveIntegerField(default=0)
    chunks_total = models.PositiveIntegerField(default=0)
    chunks_done = models.PositiveIntegerField(default=0)
    summary = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Forecast run {self.pk} (FY{self.fiscal_year})"


class ForecastChunk(models.Model):
    """A slice of a run's series that one worker forecasts; done chunks are never redone."""

    run = models.ForeignKey(ForecastRun, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()
    keys = models.JSONField(help_text="[[level, key], ...] of the series in this chunk")
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run", "index"]
        constraints = [models.UniqueConstraint(fields=["run", "index"], name="forecastchunk_unique")]

    def __str__(self) -> str:
        return f"Run {self.run_id} chunk {self.index}"


class SeriesLevel(models.TextChoices):
    TOTAL = "total", "Total"
    CATEGORY = "category", "Category"
    PRODUCT = "product", "Product"
    REGION = "region", "Region"
    REP = "rep", "Rep"


class ForecastSeries(models.Model):
    """One series of a run (the total, a category, a product, a region or a rep) and the model chosen for it."""

    run = models.ForeignKey(ForecastRun, on_delete=models.CASCADE, related_name="series")
    level = models.CharField(max_length=8, choices=SeriesLevel.choices)
    key = models.CharField(max_length=100, help_text="Product or category id, region name, rep id; '' for total")
    label = models.CharField(max_length=200)
    parent_key = models.CharField(max_length=100, blank=True, help_text="The category of a product series")
    model = models.CharField(max_length=40, blank=True)
    mase = models.FloatField(null=True, blank=True)
    smape = models.FloatField(null=True, blank=True)
    n_obs = models.PositiveIntegerField(default=0)
    note = models.CharField(max_length=200, blank=True)
    error = models.CharField(max_length=300, blank=True, help_text="Why the engine could not forecast it")
    # The monthly history the engine saw (revenue from history_start to the run's history_end), kept so that
    # the dashboards draw actuals beside the forecast from the run alone, without summing the sales facts.
    history_start = models.DateField(null=True, blank=True)
    history = models.JSONField(default=list, blank=True, help_text="Monthly revenue from history_start, in order")

    class Meta:
        ordering = ["run", "level", "label"]
        constraints = [models.UniqueConstraint(fields=["run", "level", "key"], name="forecastseries_unique")]
        verbose_name_plural = "forecast series"

    def __str__(self) -> str:
        return f"{self.level} {self.label}"


class ForecastPoint(models.Model):
    """A future month of a series: the engine's base forecast and the reconciled one with its intervals.

    ``forecast`` and the bounds are reconciled (products add up to categories, regions and the total);
    ``base`` keeps what the engine said before reconciliation. ``actual`` is filled when the month closes.
    """

    series = models.ForeignKey(ForecastSeries, on_delete=models.CASCADE, related_name="points")
    period = models.DateField()
    base = models.FloatField()
    forecast = models.FloatField()
    lo_80 = models.FloatField()
    hi_80 = models.FloatField()
    lo_95 = models.FloatField()
    hi_95 = models.FloatField()
    actual = models.FloatField(null=True, blank=True, help_text="Booked revenue once the month has closed")

    class Meta:
        ordering = ["series", "period"]
        constraints = [models.UniqueConstraint(fields=["series", "period"], name="forecastpoint_unique")]

    def __str__(self) -> str:
        return f"{self.series_id} {self.period}: {self.forecast:.0f}"


class TargetMixin(models.Model):
    """A number for one rep or one team (exactly one of them) over a period of whole months."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    team = models.ForeignKey("sfa.Team", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    period_start = models.DateField(help_text="First day of the first month")
    period_end = models.DateField(help_text="Last day of the last month")

    class Meta:
        abstract = True


class Quota(TargetMixin):
    """What a rep or a team is expected to book (base currency) in a period; the team's may differ from the sum."""

    amount = models.DecimalField(max_digits=16, decimal_places=2)
    note = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["period_start", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(user__isnull=False, team__isnull=True) | Q(user__isnull=True, team__isnull=False)),
                name="quota_user_xor_team",
            ),
            models.CheckConstraint(condition=Q(period_end__gte=F("period_start")), name="quota_period_order"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="quota_amount_positive"),
            models.UniqueConstraint(fields=["user", "period_start", "period_end"], name="quota_unique_user_period"),
            models.UniqueConstraint(fields=["team", "period_start", "period_end"], name="quota_unique_team_period"),
        ]

    def __str__(self) -> str:
        return f"Quota {self.amount} {self.period_start}–{self.period_end}"


class Adjustment(TargetMixin):
    """A manager's number for a rep's or team's forecast category in a period, beside the raw roll-up.

    Adjustments are never edited: a new one supersedes the previous for the same target, and the history
    (with notes) stays visible and audited.
    """

    category = models.CharField(max_length=12, default="commit", help_text="Forecast category adjusted")
    amount = models.DecimalField(max_digits=16, decimal_places=2)
    raw_amount = models.DecimalField(max_digits=16, decimal_places=2, help_text="The roll-up when adjusted")
    note = models.TextField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(user__isnull=False, team__isnull=True) | Q(user__isnull=True, team__isnull=False)),
                name="adjustment_user_xor_team",
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="adjustment_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"Adjustment {self.amount} ({self.category})"


class PipelineSnapshot(models.Model):
    """The weekly picture of the open pipeline: per owner, close month, forecast category and stage."""

    taken_on = models.DateField(db_index=True, help_text="The Monday of the week")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    period = models.DateField(help_text="First day of the expected close month")
    category = models.CharField(max_length=12)
    stage = models.ForeignKey("leads.Stage", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    count = models.PositiveIntegerField()
    amount = models.DecimalField(max_digits=16, decimal_places=2, help_text="Base currency")
    weighted = models.DecimalField(max_digits=16, decimal_places=2, help_text="Amount x probability")

    class Meta:
        ordering = ["taken_on", "owner", "period"]
        constraints = [
            models.UniqueConstraint(
                fields=["taken_on", "owner", "period", "category", "stage"], name="pipelinesnapshot_unique_cell"
            )
        ]

    def __str__(self) -> str:
        return f"{self.taken_on} {self.owner_id} {self.period} {self.category}"
