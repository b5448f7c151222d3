"""Commissions in Django's admin, read-only like every model there: plans, splits and statements change
through SFA's pages (and so the audit trail)."""

from django.contrib import admin

from commissions.models import CommissionSplit, Plan, Statement, StatementLine
from sfa.admin import ReadOnlyAdmin


@admin.register(Plan)
class PlanAdmin(ReadOnlyAdmin):
    list_display = ["name", "basis", "effective_from", "effective_to", "base_rate", "cap_amount", "is_active"]
    list_filter = ["basis", "is_active"]
    search_fields = ["name"]


@admin.register(CommissionSplit)
class CommissionSplitAdmin(ReadOnlyAdmin):
    list_display = ["order", "rep", "percent"]
    search_fields = ["order__number"]


class StatementLineInline(admin.TabularInline):
    model = StatementLine
    extra = 0
    can_delete = False
    fields = ["on", "rule", "event", "order_number", "description", "basis_amount", "rate", "amount", "detail"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Statement)
class StatementAdmin(ReadOnlyAdmin):
    list_display = ["period", "rep", "status", "credited", "total", "approved_by"]
    list_filter = ["status", "period"]
    inlines = [StatementLineInline]
