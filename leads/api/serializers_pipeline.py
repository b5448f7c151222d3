"""Serializers of the pipeline API: opportunities (read, create, change), their stage history, pipelines."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from catalog.models import Configuration, Product
from contacts.models import Account, Contact
from leads.models import ForecastCategory, Opportunity, OpportunityLine, Pipeline, Stage, StageChange
from leads.reports import CLOSED
from leads.selectors import assignable_owners
from sfa.models import User
from sfa.permissions import can


class StageSerializer(serializers.ModelSerializer):
    is_closed = serializers.BooleanField(read_only=True)

    class Meta:
        model = Stage
        fields = ["id", "name", "order", "probability", "forecast_category", "is_closed"]
        read_only_fields = fields


class PipelineSerializer(serializers.ModelSerializer):
    stages = StageSerializer(many=True, read_only=True)

    class Meta:
        model = Pipeline
        fields = ["id", "name", "is_default", "stages"]
        read_only_fields = fields


class OpportunityLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = OpportunityLine
        fields = ["id", "position", "product", "configuration", "description", "quantity", "unit_price"]
        read_only_fields = fields


class OpportunityLineCreateSerializer(serializers.Serializer):
    """A line: ``product``, or a saved ``configuration`` (by id, or ``configuration_token``: its share
    token or link). Without ``unit_price`` the price list's price in the deal's currency (for a product)
    or the configuration's frozen total is used."""

    product = serializers.PrimaryKeyRelatedField(
        queryset=Product.objects.all(), required=False, allow_null=True, default=None
    )
    configuration = serializers.PrimaryKeyRelatedField(
        queryset=Configuration.objects.all(), required=False, allow_null=True, default=None
    )
    configuration_token = serializers.CharField(
        max_length=300, required=False, allow_blank=True, default="", help_text="A share token or configurator link"
    )
    quantity = serializers.IntegerField(min_value=1, default=1, help_text="Whole units")
    unit_price = serializers.DecimalField(
        max_digits=14, decimal_places=2, min_value=0, required=False, allow_null=True, default=None
    )
    description = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        from django.core.exceptions import ValidationError as DjangoValidationError

        from leads.services import configuration_from_reference

        reference = data.pop("configuration_token", "").strip()
        if reference:
            if data.get("configuration") is not None:
                raise serializers.ValidationError(
                    {"configuration_token": "Give the configuration or its token, not both."}
                )
            try:
                data["configuration"] = configuration_from_reference(
                    actor=self.context["request"].user, reference=reference
                )
            except DjangoValidationError as exc:
                raise serializers.ValidationError({"configuration_token": exc.messages}) from exc
        if data.get("product") is None and data.get("configuration") is None:
            raise serializers.ValidationError({"product": "Give a product, a configuration or a configuration_token."})
        return data


class OpportunitySerializer(serializers.ModelSerializer):
    account_name = serializers.CharField(source="account.name", read_only=True, default=None, allow_null=True)
    owner_name = serializers.CharField(source="owner.get_full_name", read_only=True)
    stage_name = serializers.CharField(source="stage.name", read_only=True)
    lines = OpportunityLineSerializer(many=True, read_only=True)

    class Meta:
        model = Opportunity
        fields = [
            "id",
            "name",
            "account",
            "account_name",
            "contact",
            "lead",
            "owner",
            "owner_name",
            "pipeline",
            "stage",
            "stage_name",
            "amount",
            "currency",
            "probability",
            "forecast_category",
            "expected_close",
            "next_step",
            "next_step_date",
            "lost_reason",
            "lines",
            "created_at",
            "closed_at",
            "updated_at",
        ]
        read_only_fields = fields


class StageChangeSerializer(serializers.ModelSerializer):
    by_name = serializers.CharField(source="by.get_full_name", read_only=True, default=None)
    changes = serializers.DictField(
        child=serializers.ListField(child=serializers.JSONField(), min_length=2, max_length=2),
        read_only=True,
        help_text="{field: [before, after]} for stage_id, amount, probability, expected_close, forecast_category",
    )

    class Meta:
        model = StageChange
        fields = ["id", "at", "by", "by_name", "via", "from_stage", "to_stage", "changes"]
        read_only_fields = fields


class _ActorMixin:
    """Choices that depend on who asks: accounts and people they see, owners they may choose."""

    @property
    def actor(self) -> User:
        return self.context["request"].user

    def validate_account(self, account: Account | None) -> Account | None:
        if account is not None and not can(self.actor, "view", account):
            raise serializers.ValidationError("No such account.")
        return account

    def validate_contact(self, contact: Contact | None) -> Contact | None:
        if contact is not None and not can(self.actor, "view", contact):
            raise serializers.ValidationError("No such person.")
        return contact

    def validate_owner(self, owner: User | None) -> User | None:
        if owner is not None and not assignable_owners(actor=self.actor).filter(pk=owner.pk).exists():
            raise serializers.ValidationError("You cannot give an opportunity to this user.")
        return owner


class OpportunityCreateSerializer(_ActorMixin, serializers.Serializer):
    name = serializers.CharField(max_length=200)
    account = serializers.PrimaryKeyRelatedField(
        queryset=Account.objects.filter(merged_into__isnull=True), required=False, allow_null=True, default=None
    )
    contact = serializers.PrimaryKeyRelatedField(
        queryset=Contact.objects.filter(merged_into__isnull=True), required=False, allow_null=True, default=None
    )
    pipeline = serializers.PrimaryKeyRelatedField(
        queryset=Pipeline.objects.all(),
        required=False,
        allow_null=True,
        default=None,
        help_text="Default: the default pipeline",
    )
    stage = serializers.PrimaryKeyRelatedField(
        queryset=Stage.objects.exclude(forecast_category__in=CLOSED),
        required=False,
        allow_null=True,
        default=None,
        help_text="An open stage of the pipeline; default: its first stage",
    )
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0, default=0)
    currency = serializers.RegexField(r"^[A-Za-z]{3}$", default="EUR", help_text="ISO 4217 code, e.g. EUR")
    expected_close = serializers.DateField()
    next_step = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    next_step_date = serializers.DateField(required=False, allow_null=True, default=None)
    owner = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True),
        required=False,
        allow_null=True,
        default=None,
        help_text="Default: you. Managers may choose a member of their teams.",
    )

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        account, contact = data.get("account"), data.get("contact")
        if account and contact and contact.account_id != account.pk:
            raise serializers.ValidationError({"contact": f"{contact} is not a person at {account}."})
        if contact and not account:
            data["account"] = contact.account
        if data.get("stage") and not data.get("pipeline"):
            data["pipeline"] = data["stage"].pipeline
        data["currency"] = data["currency"].upper()
        return data


class OpportunityUpdateSerializer(_ActorMixin, serializers.Serializer):
    """The fields a PATCH may change; a change of stage, amount, probability, forecast category or
    expected close is recorded in the history (via "api")."""

    name = serializers.CharField(max_length=200, required=False)
    stage = serializers.PrimaryKeyRelatedField(queryset=Stage.objects.all(), required=False)
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0, required=False)
    currency = serializers.RegexField(r"^[A-Za-z]{3}$", required=False)
    probability = serializers.IntegerField(min_value=0, max_value=100, required=False)
    forecast_category = serializers.ChoiceField(choices=ForecastCategory.choices, required=False)
    expected_close = serializers.DateField(required=False)
    next_step = serializers.CharField(max_length=200, required=False, allow_blank=True)
    next_step_date = serializers.DateField(required=False, allow_null=True)
    lost_reason = serializers.CharField(max_length=200, required=False, allow_blank=True)
    owner = serializers.PrimaryKeyRelatedField(queryset=User.objects.filter(is_active=True), required=False)

    def validate_currency(self, value: str) -> str:
        return value.upper()
