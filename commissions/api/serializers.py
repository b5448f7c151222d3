"""Serializers of the commissions API: input serializers validate, output serializers show; writes go through
``commissions.services``."""

from __future__ import annotations

from decimal import Decimal

from rest_framework import serializers

from catalog.models import Category, Product
from commissions.models import (
    Basis,
    CommissionSplit,
    Plan,
    PlanCategoryRate,
    PlanTier,
    Spif,
    Statement,
    StatementLine,
)
from sfa.models import Team, User

RATE_FIELD = {"max_digits": 6, "decimal_places": 3, "min_value": Decimal("0"), "max_value": Decimal("100")}


class StatementLineSerializer(serializers.ModelSerializer):
    plan_name = serializers.CharField(source="plan.name", read_only=True, default=None)
    ledger_entry = serializers.IntegerField(source="entry_id", read_only=True)

    class Meta:
        model = StatementLine
        fields = [
            "id",
            "on",
            "event",
            "rule",
            "plan",
            "plan_name",
            "order",
            "order_number",
            "order_line",
            "ledger_entry",
            "payment",
            "description",
            "units",
            "split_percent",
            "basis_amount",
            "rate",
            "amount",
            "detail",
            "late",
            "is_computed",
            "note",
            "created_by",
        ]
        read_only_fields = fields


STATEMENT_FIELDS = [
    "id",
    "rep",
    "rep_name",
    "period",
    "status",
    "currency",
    "credited",
    "quota",
    "attainment",
    "commission",
    "spif",
    "cap",
    "clawback",
    "adjustments",
    "carried_in",
    "carried_out",
    "total",
    "computed_at",
    "approved_by",
    "approved_at",
]


class StatementSerializer(serializers.ModelSerializer):
    rep_name = serializers.CharField(source="rep.get_full_name", read_only=True)
    attainment = serializers.DecimalField(max_digits=9, decimal_places=1, read_only=True, allow_null=True)

    class Meta:
        model = Statement
        fields = STATEMENT_FIELDS
        read_only_fields = fields


class StatementDetailSerializer(StatementSerializer):
    lines = StatementLineSerializer(many=True, read_only=True)

    class Meta(StatementSerializer.Meta):
        fields = [*STATEMENT_FIELDS, "summary", "lines"]
        read_only_fields = fields


class AdjustInputSerializer(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, help_text="Negative to take off")
    note = serializers.CharField(max_length=1000, help_text="Why (required)")


class ComputeInputSerializer(serializers.Serializer):
    first = serializers.DateField(help_text="Any day of the first month")
    last = serializers.DateField(help_text="Any day of the last month")
    rep_ids = serializers.ListField(child=serializers.IntegerField(), required=False, allow_null=True, default=None)


class JobOutSerializer(serializers.Serializer):
    job = serializers.UUIDField()
    status = serializers.CharField()
    url = serializers.CharField()


class TierSerializer(serializers.Serializer):
    threshold = serializers.DecimalField(max_digits=7, decimal_places=2, min_value=Decimal("0"))
    rate = serializers.DecimalField(**RATE_FIELD)


class CategoryRateSerializer(serializers.Serializer):
    category = serializers.PrimaryKeyRelatedField(queryset=Category.objects.all())
    rate = serializers.DecimalField(**RATE_FIELD)


class SpifSerializer(serializers.Serializer):
    product = serializers.PrimaryKeyRelatedField(queryset=Product.objects.all())
    amount_per_unit = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=Decimal("0.01"))
    starts_on = serializers.DateField()
    ends_on = serializers.DateField()


class PlanTierOutSerializer(serializers.ModelSerializer):
    class Meta:
        model = PlanTier
        fields = ["threshold", "rate"]
        read_only_fields = fields


class PlanCategoryRateOutSerializer(serializers.ModelSerializer):
    class Meta:
        model = PlanCategoryRate
        fields = ["category", "rate"]
        read_only_fields = fields


class SpifOutSerializer(serializers.ModelSerializer):
    class Meta:
        model = Spif
        fields = ["product", "amount_per_unit", "starts_on", "ends_on"]
        read_only_fields = fields


class PlanSerializer(serializers.ModelSerializer):
    users = serializers.SerializerMethodField()
    teams = serializers.SerializerMethodField()
    tiers = PlanTierOutSerializer(many=True, read_only=True)
    category_rates = PlanCategoryRateOutSerializer(many=True, read_only=True)
    spifs = SpifOutSerializer(many=True, read_only=True)

    class Meta:
        model = Plan
        fields = [
            "id",
            "name",
            "description",
            "basis",
            "effective_from",
            "effective_to",
            "base_rate",
            "cap_amount",
            "clawback_days",
            "is_active",
            "users",
            "teams",
            "tiers",
            "category_rates",
            "spifs",
            "created_by",
        ]
        read_only_fields = fields

    def get_users(self, plan: Plan) -> list[int]:
        return [p.user_id for p in plan.participants.all() if p.user_id]

    def get_teams(self, plan: Plan) -> list[int]:
        return [p.team_id for p in plan.participants.all() if p.team_id]


class PlanInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    basis = serializers.ChoiceField(choices=Basis.choices)
    effective_from = serializers.DateField()
    effective_to = serializers.DateField(required=False, allow_null=True, default=None)
    base_rate = serializers.DecimalField(**RATE_FIELD)
    cap_amount = serializers.DecimalField(
        max_digits=14, decimal_places=2, required=False, allow_null=True, default=None, min_value=Decimal("0")
    )
    clawback_days = serializers.IntegerField(required=False, allow_null=True, default=90, min_value=0)
    is_active = serializers.BooleanField(required=False, default=True)
    users = serializers.PrimaryKeyRelatedField(queryset=User.objects.filter(is_active=True), many=True, required=False)
    teams = serializers.PrimaryKeyRelatedField(queryset=Team.objects.all(), many=True, required=False)
    tiers = TierSerializer(many=True, required=False)
    category_rates = CategoryRateSerializer(many=True, required=False)
    spifs = SpifSerializer(many=True, required=False)

    def service_kwargs(self) -> dict[str, object]:
        data = dict(self.validated_data)
        rules = {
            "users": data.pop("users", []),
            "teams": data.pop("teams", []),
            "tiers": [(t["threshold"], t["rate"]) for t in data.pop("tiers", [])],
            "category_rates": [(r["category"], r["rate"]) for r in data.pop("category_rates", [])],
            "spifs": data.pop("spifs", []),
        }
        return {"data": data, **rules}


class CommissionSplitSerializer(serializers.ModelSerializer):
    rep_name = serializers.CharField(source="rep.get_full_name", read_only=True)

    class Meta:
        model = CommissionSplit
        fields = ["id", "order", "rep", "rep_name", "percent"]
        read_only_fields = fields


class SplitShareSerializer(serializers.Serializer):
    rep = serializers.PrimaryKeyRelatedField(queryset=User.objects.filter(is_active=True))
    percent = serializers.DecimalField(max_digits=5, decimal_places=2, min_value=Decimal("0.01"), max_value=100)


class SplitSetInputSerializer(serializers.Serializer):
    order = serializers.IntegerField(help_text="The order's id (one you can see)")
    splits = SplitShareSerializer(many=True, help_text="Percents adding up to 100; empty: 100 % to the order's rep")


class EstimatePlanSerializer(serializers.Serializer):
    plan = serializers.IntegerField(source="plan.pk")
    plan_name = serializers.CharField(source="plan.name")
    basis = serializers.CharField(source="plan.basis")
    commission = serializers.DecimalField(max_digits=14, decimal_places=2)
    spif = serializers.DecimalField(max_digits=14, decimal_places=2)
    capped = serializers.DecimalField(max_digits=14, decimal_places=2)
    total = serializers.DecimalField(max_digits=14, decimal_places=2)
    rate_before = serializers.DecimalField(max_digits=9, decimal_places=3)
    rate_after = serializers.DecimalField(max_digits=9, decimal_places=3)


class EstimateSerializer(serializers.Serializer):
    opportunity = serializers.IntegerField()
    rep = serializers.IntegerField()
    month = serializers.DateField()
    currency = serializers.CharField()
    total = serializers.DecimalField(max_digits=14, decimal_places=2)
    quota = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True, required=False)
    attainment_before = serializers.DecimalField(max_digits=9, decimal_places=1, allow_null=True, required=False)
    attainment_after = serializers.DecimalField(max_digits=9, decimal_places=1, allow_null=True, required=False)
    plans = EstimatePlanSerializer(many=True)
    error = serializers.CharField(allow_blank=True)
