"""Django's admin, read-only like the rest of SFA's: courses, certifications and overrides change through the
training pages and API (training.services), so that every change is audited."""

from django.contrib import admin

from sfa.admin import ReadOnlyAdmin
from training.models import Assignment, Certification, Course, Override, QuizAttempt, Responsibility


@admin.register(Responsibility)
class ResponsibilityAdmin(ReadOnlyAdmin):
    list_display = ["name", "kind", "category", "max_discount_percent", "is_active"]
    list_filter = ["kind", "is_active"]


@admin.register(Course)
class CourseAdmin(ReadOnlyAdmin):
    list_display = ["title", "completion", "pass_mark_percent", "max_attempts", "validity_months", "is_active"]
    list_filter = ["completion", "is_active"]
    search_fields = ["title"]


@admin.register(Assignment)
class AssignmentAdmin(ReadOnlyAdmin):
    list_display = ["course", "user", "status", "due_on", "assigned_by", "completed_at"]
    list_filter = ["status", "course"]


@admin.register(QuizAttempt)
class QuizAttemptAdmin(ReadOnlyAdmin):
    list_display = ["course", "user", "number", "score_percent", "passed", "submitted_at"]
    list_filter = ["passed", "course"]


@admin.register(Certification)
class CertificationAdmin(ReadOnlyAdmin):
    list_display = ["responsibility", "user", "method", "granted_on", "valid_until", "revoked_at"]
    list_filter = ["method", "responsibility"]


@admin.register(Override)
class OverrideAdmin(ReadOnlyAdmin):
    list_display = ["responsibility", "user", "valid_until", "granted_by", "revoked_at"]
