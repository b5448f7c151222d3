import django_filters
from django.db.models import Q, QuerySet

from contacts.normalize import name_key
from leads.models import Lead, LeadSource, Opportunity
from sfa.filters import IdFilter


class LeadFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label="Name or company")
    status = django_filters.ChoiceFilter(choices=Lead.Status.choices)
    source = django_filters.ChoiceFilter(choices=LeadSource.choices)
    owner = IdFilter(field_name="owner_id")
    unassigned = django_filters.BooleanFilter(field_name="owner", lookup_expr="isnull")
    min_score = django_filters.NumberFilter(field_name="score", lookup_expr="gte", min_value=0, max_value=100)
    lead_import = IdFilter(field_name="lead_import_id")
    interest = django_filters.CharFilter(method="filter_interest")

    class Meta:
        model = Lead
        fields = ["q", "status", "source", "owner", "unassigned", "min_score", "lead_import", "interest"]

    def filter_q(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        key = name_key(value)
        return queryset.filter(
            Q(contact__last_key__startswith=key) | Q(contact__first_key__startswith=key) | Q(company__istartswith=value)
        )

    def filter_interest(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        from django.db.models import TextField
        from django.db.models.functions import Cast

        return queryset.annotate(_i=Cast("interests", TextField())).filter(_i__contains=f'"{value.strip().lower()}"')


class OpportunityFilter(django_filters.FilterSet):
    owner = IdFilter(field_name="owner_id")
    stage = IdFilter(field_name="stage_id")
    pipeline = IdFilter(field_name="pipeline_id")
    account = IdFilter(field_name="account_id")
    forecast_category = django_filters.CharFilter()
    close_after = django_filters.DateFilter(field_name="expected_close", lookup_expr="gte")
    close_before = django_filters.DateFilter(field_name="expected_close", lookup_expr="lte")
    is_open = django_filters.BooleanFilter(method="filter_open")

    class Meta:
        model = Opportunity
        fields = [
            "owner",
            "stage",
            "pipeline",
            "account",
            "forecast_category",
            "close_after",
            "close_before",
            "is_open",
        ]

    def filter_open(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        closed = Q(forecast_category__in=["closed_won", "closed_lost"])
        return queryset.exclude(closed) if value else queryset.filter(closed)


class OpportunityListFilter(OpportunityFilter):
    """The list page's filters: the shared ones plus a name search."""

    q = django_filters.CharFilter(method="filter_q", label="Name or account")

    class Meta(OpportunityFilter.Meta):
        fields = ["q", *OpportunityFilter.Meta.fields]

    def filter_q(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        return queryset.filter(Q(name__icontains=value) | Q(account__name__icontains=value)) if value else queryset
