"""Filter sets for accounts, contacts, touches and follow-ups, shared by the pages and the API."""

import django_filters
from django.db.models import Q, QuerySet

from contacts.models import Account, Channel, Contact, FollowUp, Touch
from contacts.normalize import name_key
from sfa.filters import IdFilter
from sfa.models import Department, User


class AccountFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label="Name starts with")
    owner = django_filters.ModelChoiceFilter(queryset=User.objects.all())
    segment = django_filters.ChoiceFilter(choices=Account.Segment.choices)
    size = django_filters.ChoiceFilter(choices=Account.Size.choices)
    industry = django_filters.CharFilter(lookup_expr="iexact")
    country = django_filters.CharFilter(lookup_expr="iexact")
    city = django_filters.CharFilter(lookup_expr="iexact")

    class Meta:
        model = Account
        fields = ["q", "owner", "segment", "size", "industry", "country", "city"]

    def filter_q(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(name_key__startswith=name_key(value))


class ContactFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label="Name starts with")
    owner = django_filters.ModelChoiceFilter(queryset=User.objects.all())
    account = IdFilter(field_name="account_id")
    has_account = django_filters.BooleanFilter(field_name="account", lookup_expr="isnull", exclude=True)
    country = django_filters.CharFilter(lookup_expr="iexact")
    city = django_filters.CharFilter(lookup_expr="iexact")
    region = django_filters.CharFilter(lookup_expr="iexact")
    tag = django_filters.CharFilter(method="filter_tag")
    do_not_contact = django_filters.BooleanFilter()
    is_prospect = django_filters.BooleanFilter(help_text="true: people known only as leads; false: customers")

    class Meta:
        model = Contact
        fields = [
            "q",
            "owner",
            "account",
            "has_account",
            "country",
            "city",
            "region",
            "tag",
            "do_not_contact",
            "is_prospect",
        ]

    def filter_q(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        words = name_key(value).split()
        if not words:
            return queryset
        if len(words) == 1:
            return queryset.filter(Q(last_key__startswith=words[0]) | Q(first_key__startswith=words[0]))
        first, last = words[0], " ".join(words[1:])
        return queryset.filter(
            Q(first_key__startswith=first, last_key__startswith=last)
            | Q(last_key__startswith=words[0], first_key__startswith=" ".join(words[1:]))
        )

    def filter_tag(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        # JSON containment is not portable to SQLite; a quoted substring match on the JSON text is.
        from django.db.models import TextField
        from django.db.models.functions import Cast

        return queryset.annotate(_tags=Cast("tags", TextField())).filter(_tags__contains=f'"{value.strip().lower()}"')


class TouchFilter(django_filters.FilterSet):
    contact = IdFilter(field_name="contact_id")
    account = IdFilter(field_name="account_id")
    department = django_filters.ModelChoiceFilter(queryset=Department.objects.all())
    channel = django_filters.ChoiceFilter(choices=Channel.choices)
    purpose = IdFilter(field_name="purpose_id")
    user = IdFilter(field_name="user_id")
    status = django_filters.ChoiceFilter(choices=Touch.Status.choices)
    direction = django_filters.ChoiceFilter(choices=Touch.Direction.choices)
    since = django_filters.DateTimeFilter(field_name="at", lookup_expr="gte")
    until = django_filters.DateTimeFilter(field_name="at", lookup_expr="lt")

    class Meta:
        model = Touch
        fields = [
            "contact",
            "account",
            "department",
            "channel",
            "purpose",
            "user",
            "status",
            "direction",
            "since",
            "until",
        ]


class FollowUpFilter(django_filters.FilterSet):
    assignee = IdFilter(field_name="assignee_id")
    contact = IdFilter(field_name="contact_id")
    status = django_filters.ChoiceFilter(choices=FollowUp.Status.choices)
    due_before = django_filters.DateFilter(field_name="due", lookup_expr="lte")

    class Meta:
        model = FollowUp
        fields = ["assignee", "contact", "status", "due_before"]


class CandidateQueueFilter(django_filters.FilterSet):
    """The duplicate review queue: ``min_score`` (0–1), ``owner`` (of either record), ``source``."""

    min_score = django_filters.NumberFilter(field_name="score", lookup_expr="gte", min_value=0, max_value=1)
    owner = IdFilter(method="filter_owner")
    source = django_filters.CharFilter()

    def filter_owner(self, queryset: QuerySet, name: str, value: int) -> QuerySet:
        model = Contact if self.data.get("subject", "contact") == "contact" else Account
        owned = model.objects.filter(owner_id=value).values("pk")
        return queryset.filter(Q(a_id__in=owned) | Q(b_id__in=owned))
