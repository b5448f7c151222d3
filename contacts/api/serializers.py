"""Serializers of the contacts API: input serializers validate a request, output serializers show a row.

Writes never go through a serializer's ``save()``: the views hand ``validated_data`` to contacts.services.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from contacts.models import (
    Account,
    Channel,
    ChannelConsent,
    Contact,
    ContactEmail,
    ContactPhone,
    FollowUp,
    GuardRule,
    MatchCandidate,
    MatchKey,
    Merge,
    Purpose,
    Touch,
)
from contacts.services import EmailInput, PhoneInput
from sfa.models import User
from sfa.permissions import scoped


class ScopedPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """An id of a row the requesting user may view; any other id answers 400 like an unknown one."""

    def get_queryset(self):
        request = self.context.get("request")
        return scoped(getattr(request, "user", None), super().get_queryset(), "view")


def _active_users():
    return User.objects.filter(is_active=True)


# --- Accounts ------------------------------------------------------------------------------------


class AccountSerializer(serializers.ModelSerializer):
    contact_count = serializers.IntegerField(read_only=True, default=0)
    # Read-only model fields lose allow_blank in DRF, and the schema then promised a size and segment
    # that unclassified accounts do not have ("" is their value).
    size = serializers.ChoiceField(choices=Account.Size.choices, read_only=True, allow_blank=True)
    segment = serializers.ChoiceField(choices=Account.Segment.choices, read_only=True, allow_blank=True)

    class Meta:
        model = Account
        fields = [
            "id",
            "name",
            "website",
            "domain",
            "industry",
            "size",
            "segment",
            "owner",
            "street",
            "city",
            "postcode",
            "region",
            "country",
            "contact_count",
            "created_at",
        ]
        read_only_fields = fields


class AccountInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    allow_duplicate = serializers.BooleanField(
        required=False,
        default=False,
        write_only=True,
        help_text="Create even if the matching engine finds the same company (answered with 409 otherwise).",
    )
    website = serializers.CharField(max_length=200, required=False, allow_blank=True)
    industry = serializers.CharField(max_length=100, required=False, allow_blank=True)
    size = serializers.ChoiceField(choices=Account.Size.choices, required=False, allow_blank=True)
    segment = serializers.ChoiceField(choices=Account.Segment.choices, required=False, allow_blank=True)
    owner = ScopedPrimaryKeyRelatedField(queryset=_active_users(), required=False, help_text="Default: you.")
    street = serializers.CharField(max_length=200, required=False, allow_blank=True)
    city = serializers.CharField(max_length=100, required=False, allow_blank=True)
    postcode = serializers.CharField(max_length=20, required=False, allow_blank=True)
    region = serializers.CharField(max_length=100, required=False, allow_blank=True)
    country = serializers.CharField(max_length=2, required=False, allow_blank=True, help_text="ISO 3166, e.g. DE")


# --- Contacts ------------------------------------------------------------------------------------


class ContactEmailSerializer(serializers.ModelSerializer):
    class Meta:
        model = ContactEmail
        fields = ["email", "label", "is_primary"]
        read_only_fields = fields


class ContactPhoneSerializer(serializers.ModelSerializer):
    display = serializers.CharField(read_only=True, help_text="International format, e.g. +49 30 1234567")

    class Meta:
        model = ContactPhone
        fields = ["e164", "display", "label", "is_primary"]
        read_only_fields = fields


class ConsentSerializer(serializers.ModelSerializer):
    class Meta:
        model = ChannelConsent
        fields = ["channel", "status", "at", "source"]
        read_only_fields = fields


class ConsentInputSerializer(serializers.Serializer):
    channel = serializers.ChoiceField(choices=Channel.choices)
    status = serializers.ChoiceField(choices=ChannelConsent.Status.choices)
    source = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)


class ContactSerializer(serializers.ModelSerializer):
    """A contact as shown: ``email``/``phone`` are the primary ones, ``emails``/``phones`` all of them."""

    email = serializers.SerializerMethodField()
    phone = serializers.SerializerMethodField(help_text="The primary phone number, E.164")
    emails = ContactEmailSerializer(many=True, read_only=True)
    phones = ContactPhoneSerializer(many=True, read_only=True)
    tags = serializers.ListField(child=serializers.CharField(), read_only=True)
    consents = ConsentSerializer(many=True, read_only=True)

    class Meta:
        model = Contact
        fields = [
            "id",
            "first_name",
            "last_name",
            "title",
            "email",
            "phone",
            "emails",
            "phones",
            "account",
            "owner",
            "street",
            "city",
            "postcode",
            "region",
            "country",
            "birth_date",
            "tags",
            "preferences",
            "do_not_contact",
            "consents",
            "created_at",
        ]
        read_only_fields = fields

    # Both read the prefetched lists (contacts.selectors.PRIMARY_CHANNELS): no query per contact.
    def get_email(self, contact: Contact) -> str | None:
        return next((e.email for e in contact.emails.all() if e.is_primary), None)

    def get_phone(self, contact: Contact) -> str | None:
        return next((p.e164 for p in contact.phones.all() if p.is_primary), None)


class EmailInputSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    label = serializers.CharField(max_length=30, required=False, allow_blank=True, default="")


class PhoneInputSerializer(serializers.Serializer):
    number = serializers.CharField(
        max_length=40, required=False, help_text="In any format; national numbers use the contact's country."
    )
    e164 = serializers.CharField(max_length=40, required=False, help_text="Accepted instead of ``number``.")
    label = serializers.CharField(max_length=30, required=False, allow_blank=True, default="")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        number = attrs.get("number") or attrs.get("e164")
        if not number:
            raise serializers.ValidationError({"number": "Give the phone number."})
        return {"number": number, "label": attrs.get("label", "")}


class ContactInputSerializer(serializers.Serializer):
    """``email``/``phone`` set the primary one (others kept); ``emails``/``phones`` replace the lists."""

    first_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=100)
    title = serializers.CharField(max_length=150, required=False, allow_blank=True)
    email = serializers.EmailField(max_length=254, required=False, allow_blank=True, allow_null=True)
    phone = serializers.CharField(
        max_length=40, required=False, allow_blank=True, allow_null=True, help_text="In any format."
    )
    emails = EmailInputSerializer(many=True, required=False, help_text="The first one is the primary one.")
    phones = PhoneInputSerializer(many=True, required=False, help_text="The first one is the primary one.")
    account = ScopedPrimaryKeyRelatedField(queryset=Account.objects.all(), required=False, allow_null=True)
    owner = ScopedPrimaryKeyRelatedField(queryset=_active_users(), required=False, help_text="Default: you.")
    street = serializers.CharField(max_length=200, required=False, allow_blank=True)
    city = serializers.CharField(max_length=100, required=False, allow_blank=True)
    postcode = serializers.CharField(max_length=20, required=False, allow_blank=True)
    region = serializers.CharField(max_length=100, required=False, allow_blank=True)
    country = serializers.CharField(max_length=2, required=False, allow_blank=True, help_text="ISO 3166, e.g. DE")
    birth_date = serializers.DateField(required=False, allow_null=True)
    tags = serializers.ListField(child=serializers.CharField(max_length=50), required=False)
    preferences = serializers.CharField(required=False, allow_blank=True)
    do_not_contact = serializers.BooleanField(required=False)
    allow_duplicate = serializers.BooleanField(
        required=False,
        default=False,
        write_only=True,
        help_text="Create even if the matching engine finds the same person (answered with 409 otherwise).",
    )

    CHANNEL_FIELDS = ("email", "phone", "emails", "phones", "allow_duplicate")

    def validate_country(self, value: str) -> str:
        # Upper case before the service reads it as the region of national phone numbers.
        return value.strip().upper()

    def service_kwargs(self, contact: Contact | None = None) -> dict[str, Any]:
        """``data`` (the contact's own fields) plus ``emails``/``phones`` as the services take them.

        A list is None when the request leaves it alone (an update keeps what the contact has).
        """
        data = {k: v for k, v in self.validated_data.items() if k not in self.CHANNEL_FIELDS}
        return {"data": data, "emails": self._emails(contact), "phones": self._phones(contact)}

    def _emails(self, contact: Contact | None) -> list[EmailInput] | None:
        given = self.validated_data
        rows = list(contact.emails.all()) if contact else []
        existing = [EmailInput(e.email, e.label) for e in rows]
        if "emails" in given:
            items = [EmailInput(e["email"], e["label"]) for e in given["emails"]]
        elif "email" in given:  # a new primary replaces the old one; the others stay
            items = [EmailInput(e.email, e.label) for e in rows if not e.is_primary]
        else:
            return None if contact else []
        single = given.get("email")
        if single:
            labels = {e.email.lower(): e.label for e in [*existing, *items]}
            items = [EmailInput(single, labels.get(single.lower(), "")), *items]
        return items

    def _phones(self, contact: Contact | None) -> list[PhoneInput] | None:
        given = self.validated_data
        rows = list(contact.phones.all()) if contact else []
        existing = [PhoneInput(p.e164, p.label) for p in rows]
        if "phones" in given:
            items = [PhoneInput(p["number"], p["label"]) for p in given["phones"]]
        elif "phone" in given:
            items = [PhoneInput(p.e164, p.label) for p in rows if not p.is_primary]
        else:
            return None if contact else []
        single = (given.get("phone") or "").strip()
        if single:
            labels = {p.number: p.label for p in [*existing, *items]}
            items = [PhoneInput(single, labels.get(single, "")), *items]
        return items


# --- Purposes ------------------------------------------------------------------------------------


class GuardRuleSerializer(serializers.ModelSerializer):
    class Meta:
        model = GuardRule
        fields = ["window_days", "mode", "scope"]
        read_only_fields = fields


class PurposeSerializer(serializers.ModelSerializer):
    rule = serializers.SerializerMethodField(help_text="The active guard rule, or null when there is none.")

    class Meta:
        model = Purpose
        fields = ["id", "name", "code", "description", "is_active", "rule"]
        read_only_fields = fields

    @extend_schema_field(GuardRuleSerializer(allow_null=True))
    def get_rule(self, purpose: Purpose) -> dict[str, Any] | None:
        rule = getattr(purpose, "guard_rule", None)
        return GuardRuleSerializer(rule).data if rule is not None and rule.is_active else None


class PurposeInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=80)
    description = serializers.CharField(max_length=300, required=False, allow_blank=True)
    window_days = serializers.IntegerField(
        min_value=1, max_value=3650, required=False, allow_null=True, help_text="null: no guard rule."
    )
    mode = serializers.ChoiceField(choices=GuardRule.Mode.choices, required=False)
    scope = serializers.ChoiceField(choices=GuardRule.Scope.choices, required=False)
    is_active = serializers.BooleanField(required=False)


# --- Touches and the guard -----------------------------------------------------------------------


class ConflictSerializer(serializers.Serializer):
    """One reason the guard objects (contacts.guard.Conflict)."""

    kind = serializers.ChoiceField(choices=["purpose", "do_not_contact", "frequency"])
    message = serializers.CharField()
    touch_id = serializers.IntegerField(allow_null=True)
    user = serializers.CharField(allow_blank=True)
    department = serializers.CharField(allow_blank=True)
    at = serializers.CharField(allow_blank=True)
    channel = serializers.CharField(allow_blank=True)
    status = serializers.CharField(allow_blank=True)
    outcome = serializers.CharField(allow_blank=True)
    contact = serializers.CharField(allow_blank=True)


class VerdictSerializer(serializers.Serializer):
    level = serializers.ChoiceField(choices=["ok", "warn", "block"])
    hard = serializers.BooleanField(help_text="Do-not-contact: nobody may override.")
    conflicts = ConflictSerializer(many=True)


class GuardRefusalSerializer(serializers.Serializer):
    """409: confirm with ``override_reason`` (or, for a block, a manager may); 403: refused outright."""

    detail = serializers.CharField()
    guard = VerdictSerializer()


class TouchSerializer(serializers.ModelSerializer):
    guard_conflicts = ConflictSerializer(many=True, read_only=True)

    class Meta:
        model = Touch
        fields = [
            "id",
            "contact",
            "account",
            "purpose",
            "channel",
            "direction",
            "status",
            "at",
            "outcome",
            "notes",
            "user",
            "department",
            "campaign",
            "override_reason",
            "guard_conflicts",
            "created_at",
        ]
        read_only_fields = fields


class TouchInputSerializer(serializers.Serializer):
    contact = ScopedPrimaryKeyRelatedField(queryset=Contact.objects.all())
    purpose = ScopedPrimaryKeyRelatedField(queryset=Purpose.objects.all())
    channel = serializers.ChoiceField(choices=Channel.choices)
    direction = serializers.ChoiceField(choices=Touch.Direction.choices, default=Touch.Direction.OUT)
    at = serializers.DateTimeField(required=False, help_text="Default: now.")
    status = serializers.ChoiceField(
        choices=[(Touch.Status.DONE, "Done"), (Touch.Status.PLANNED, "Planned")], default=Touch.Status.DONE
    )
    outcome = serializers.ChoiceField(choices=Touch.Outcome.choices, required=False, allow_blank=True, default="")
    notes = serializers.CharField(required=False, allow_blank=True, default="")
    override_reason = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="Why you go ahead despite the guard's warning."
    )
    followup_due = serializers.DateField(required=False, allow_null=True)
    followup_note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class TouchUpdateSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=Touch.Outcome.choices, required=False, allow_blank=True)
    notes = serializers.CharField(required=False, allow_blank=True)
    status = serializers.ChoiceField(
        choices=[(Touch.Status.PLANNED, "Planned"), (Touch.Status.DONE, "Done"), (Touch.Status.CANCELLED, "Cancelled")],
        required=False,
        help_text="Mark a planned touch done or cancelled; a held one planned again or cancelled.",
    )


# --- Follow-ups ----------------------------------------------------------------------------------


class FollowUpSerializer(serializers.ModelSerializer):
    class Meta:
        model = FollowUp
        fields = [
            "id",
            "contact",
            "touch",
            "assignee",
            "created_by",
            "due",
            "note",
            "status",
            "created_at",
            "closed_at",
        ]
        read_only_fields = fields


class FollowUpInputSerializer(serializers.Serializer):
    contact = ScopedPrimaryKeyRelatedField(queryset=Contact.objects.all())
    due = serializers.DateField()
    note = serializers.CharField(max_length=300)
    assignee = ScopedPrimaryKeyRelatedField(
        queryset=_active_users(), required=False, allow_null=True, help_text="Default: you."
    )
    touch = ScopedPrimaryKeyRelatedField(queryset=Touch.objects.all(), required=False, allow_null=True)


class FollowUpCloseSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=[(FollowUp.Status.DONE, "Done"), (FollowUp.Status.CANCELLED, "Cancelled")])


class DuplicateCandidateSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    score = serializers.FloatField()
    verdict = serializers.CharField()
    reasons = serializers.DictField(child=serializers.FloatField())
    name = serializers.CharField()
    url = serializers.CharField()


class DuplicateRefusalSerializer(serializers.Serializer):
    detail = serializers.CharField()
    blocked = serializers.BooleanField(help_text="True: a sure duplicate in block mode; allow_duplicate does not help")
    candidates = DuplicateCandidateSerializer(many=True)


class MatchCandidateSerializer(serializers.ModelSerializer):
    class Meta:
        model = MatchCandidate
        fields = ["id", "subject", "a_id", "b_id", "score", "reasons", "status", "source", "created_at"]
        read_only_fields = fields


class MergeSerializer(serializers.ModelSerializer):
    class Meta:
        model = Merge
        fields = ["id", "subject", "survivor_id", "merged_ids", "choices", "by", "at", "undone_by", "undone_at"]
        read_only_fields = fields


class MergeInputSerializer(serializers.Serializer):
    subject = serializers.ChoiceField(choices=MatchKey.Subject.choices, default="contact")
    survivor = serializers.IntegerField()
    others = serializers.ListField(child=serializers.IntegerField(), min_length=1, max_length=20)
    choices = serializers.DictField(
        child=serializers.IntegerField(), required=False, help_text="Field name -> id of the record whose value wins"
    )
