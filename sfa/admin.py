"""Django's admin, read-only: every change goes through the services (and so the audit trail) via SFA's pages."""

from django.contrib import admin

from sfa.models import AuditEvent, Department, Job, Team, User


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(User)
class UserAdmin(ReadOnlyAdmin):
    list_display = ["username", "first_name", "last_name", "role", "department", "team", "is_active"]
    list_filter = ["role", "department", "is_active"]
    search_fields = ["username", "first_name", "last_name", "email"]
    exclude = ["password"]


@admin.register(Department)
class DepartmentAdmin(ReadOnlyAdmin):
    list_display = ["name", "code", "is_sales"]


@admin.register(Team)
class TeamAdmin(ReadOnlyAdmin):
    list_display = ["name", "department", "manager", "parent"]


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    list_display = ["title", "kind", "status", "progress", "started_by", "created_at"]
    list_filter = ["status", "kind"]


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "actor", "action", "content_type", "object_repr"]
    list_filter = ["action", "content_type"]
