"""Sales facts: revenue and units per period, product, category, region, rep and segment.

Built from the orders' sales ledger (``orders.SalesEntry``, booking basis), kept current as entries are
written (``forecasting.facts.facts_apply``) and rebuildable from scratch by a job.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models


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
