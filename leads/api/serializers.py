from rest_framework import serializers

from contacts.models import Account
from leads.models import Lead, LeadSource
from sfa.models import User


class LeadSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="contact.__str__", read_only=True)
    email = serializers.SerializerMethodField()
    phone = serializers.SerializerMethodField()

    class Meta:
        model = Lead
        fields = [
            "id",
            "name",
            "contact",
            "company",
            "email",
            "phone",
            "status",
            "disqualify_reason",
            "source",
            "source_detail",
            "lead_import",
            "owner",
            "team",
            "interests",
            "buying_patterns",
            "notes",
            "score",
            "score_reasons",
            "score_model",
            "converted_at",
            "converted_account",
            "converted_opportunity",
            "created_at",
        ]
        read_only_fields = fields

    def get_email(self, lead: Lead) -> str:
        first = next(iter(lead.contact.emails.all()), None)
        return first.email if first else ""

    def get_phone(self, lead: Lead) -> str:
        first = next(iter(lead.contact.phones.all()), None)
        return first.e164 if first else ""


class LeadInputSerializer(serializers.Serializer):
    first_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=100)
    title = serializers.CharField(max_length=150, required=False, allow_blank=True)
    email = serializers.EmailField(required=False, allow_blank=True)
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True)
    company = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    street = serializers.CharField(max_length=200, required=False, allow_blank=True)
    postcode = serializers.CharField(max_length=20, required=False, allow_blank=True)
    city = serializers.CharField(max_length=100, required=False, allow_blank=True)
    region = serializers.CharField(max_length=100, required=False, allow_blank=True)
    country = serializers.CharField(max_length=2, required=False, allow_blank=True)
    source = serializers.ChoiceField(choices=LeadSource.choices, default=LeadSource.MANUAL)
    source_detail = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    interests = serializers.ListField(child=serializers.CharField(max_length=60), required=False, default=list)
    buying_patterns = serializers.CharField(required=False, allow_blank=True, default="")
    notes = serializers.CharField(required=False, allow_blank=True, default="")
    owner = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True), required=False, allow_null=True, default=None
    )

    PERSON = ("first_name", "last_name", "title", "email", "phone", "street", "postcode", "city", "region", "country")

    def service_kwargs(self) -> dict:
        d = dict(self.validated_data)
        person = {k: d.pop(k) for k in self.PERSON if k in d}
        if person.get("country"):
            person["country"] = person["country"].upper()
        return {"person": person, **d}


class LeadUpdateSerializer(serializers.Serializer):
    company = serializers.CharField(max_length=200, required=False, allow_blank=True)
    interests = serializers.ListField(child=serializers.CharField(max_length=60), required=False)
    buying_patterns = serializers.CharField(required=False, allow_blank=True)
    notes = serializers.CharField(required=False, allow_blank=True)
    status = serializers.ChoiceField(choices=[c for c in Lead.Status.choices if c[0] != "converted"], required=False)
    disqualify_reason = serializers.CharField(max_length=200, required=False, allow_blank=True)


class AssignSerializer(serializers.Serializer):
    owner = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True),
        required=False,
        allow_null=True,
        help_text="Empty: the assignment rules decide",
    )


class ConvertSerializer(serializers.Serializer):
    account = serializers.PrimaryKeyRelatedField(
        queryset=Account.objects.filter(merged_into__isnull=True), required=False, allow_null=True
    )
    new_account_name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    opportunity = serializers.DictField(
        required=False, allow_null=True, help_text="name, amount, currency, expected_close (YYYY-MM-DD)"
    )
