"""Serializers of the training API: input serializers validate a request, output serializers show a row.

Writes never go through ``save()``: the views hand ``validated_data`` to training.services. A quiz's correct
answers are shown only to those who may change the course.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from contacts.api.serializers import ScopedPrimaryKeyRelatedField
from sfa.models import Team, User
from sfa.permissions import can
from training.models import (
    Assignment,
    Certification,
    Choice,
    Course,
    CourseMaterial,
    Override,
    Question,
    QuizAttempt,
    Responsibility,
)

# --- Courses ----------------------------------------------------------------------------------------------


class ChoiceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Choice
        fields = ["id", "text", "is_correct"]

    def to_representation(self, instance: Choice) -> dict[str, Any]:
        data = super().to_representation(instance)
        if not self.context.get("reveal"):
            data.pop("is_correct")
        return data


class QuestionSerializer(serializers.ModelSerializer):
    choices = ChoiceSerializer(many=True, read_only=True)
    multiple = serializers.SerializerMethodField(help_text="True when more than one answer is correct")

    class Meta:
        model = Question
        fields = ["id", "text", "multiple", "choices"]

    def get_multiple(self, question: Question) -> bool:
        return sum(1 for c in question.choices.all() if c.is_correct) > 1


class MaterialSerializer(serializers.ModelSerializer):
    class Meta:
        model = CourseMaterial
        fields = ["id", "title", "kind", "url", "content_type", "size"]


class CourseSerializer(serializers.ModelSerializer):
    materials = MaterialSerializer(many=True, read_only=True)
    questions = serializers.SerializerMethodField()

    class Meta:
        model = Course
        fields = [
            "id",
            "title",
            "summary",
            "description",
            "completion",
            "pass_mark_percent",
            "max_attempts",
            "validity_months",
            "duration_minutes",
            "is_active",
            "responsibilities",
            "materials",
            "questions",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_questions(self, course: Course) -> list[dict[str, Any]]:
        request = self.context.get("request")
        reveal = can(getattr(request, "user", None), "change", course)
        return QuestionSerializer(course.questions.all(), many=True, context={**self.context, "reveal": reveal}).data


class CourseInputSerializer(serializers.ModelSerializer):
    responsibilities = serializers.PrimaryKeyRelatedField(
        queryset=Responsibility.objects.filter(is_active=True), many=True, required=False
    )

    class Meta:
        model = Course
        fields = [
            "title",
            "summary",
            "description",
            "completion",
            "pass_mark_percent",
            "max_attempts",
            "validity_months",
            "duration_minutes",
            "is_active",
            "responsibilities",
        ]
        # Uniqueness is the model's (full_clean in the service): a partial update need not repeat the title.
        extra_kwargs = {"title": {"validators": []}}

    def service_kwargs(self) -> dict[str, Any]:
        data = dict(self.validated_data)
        responsibilities = data.pop("responsibilities", None)
        return {"data": data, "responsibilities": responsibilities}


class ResponsibilitySerializer(serializers.ModelSerializer):
    category_name = serializers.CharField(source="category.name", read_only=True, default=None)

    class Meta:
        model = Responsibility
        fields = ["id", "name", "kind", "category", "category_name", "max_discount_percent", "description", "is_active"]
        read_only_fields = fields


class ResponsibilityInputSerializer(serializers.ModelSerializer):
    class Meta:
        model = Responsibility
        fields = ["name", "kind", "category", "max_discount_percent", "description", "is_active"]
        extra_kwargs = {"name": {"validators": []}}


# --- Assignments, attempts ------------------------------------------------------------------------------


class AssignmentSerializer(serializers.ModelSerializer):
    course_title = serializers.CharField(source="course.title", read_only=True)
    user_name = serializers.CharField(source="user.get_full_name", read_only=True)
    overdue = serializers.SerializerMethodField()

    class Meta:
        model = Assignment
        fields = [
            "id",
            "course",
            "course_title",
            "user",
            "user_name",
            "assigned_by",
            "due_on",
            "status",
            "overdue",
            "note",
            "assigned_at",
            "completed_at",
            "expires_on",
        ]
        read_only_fields = fields

    def get_overdue(self, assignment: Assignment) -> bool:
        return assignment.is_overdue()


class AssignmentInputSerializer(serializers.Serializer):
    course = serializers.PrimaryKeyRelatedField(queryset=Course.objects.filter(is_active=True))
    user = ScopedPrimaryKeyRelatedField(queryset=User.objects.filter(is_active=True))
    due_on = serializers.DateField()
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class TeamAssignmentInputSerializer(serializers.Serializer):
    course = serializers.PrimaryKeyRelatedField(queryset=Course.objects.filter(is_active=True))
    team = ScopedPrimaryKeyRelatedField(queryset=Team.objects.all())
    due_on = serializers.DateField()
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class TeamAssignmentResultSerializer(serializers.Serializer):
    created = AssignmentSerializer(many=True)
    skipped = serializers.ListField(child=serializers.DictField())


class AssignmentUpdateSerializer(serializers.Serializer):
    due_on = serializers.DateField()
    note = serializers.CharField(max_length=300, required=False, allow_blank=True)


class QuizInputSerializer(serializers.Serializer):
    answers = serializers.DictField(
        child=serializers.ListField(child=serializers.JSONField()),
        help_text='{question id: [chosen answer ids]}, e.g. {"12": [40], "13": [44, 45]}',
    )


class SignoffInputSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class RevokeInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300)


class QuizAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = QuizAttempt
        fields = [
            "id",
            "assignment",
            "course",
            "user",
            "number",
            "answers",
            "correct",
            "total",
            "score_percent",
            "passed",
            "submitted_at",
        ]
        read_only_fields = fields


# --- Certifications, overrides ------------------------------------------------------------------------------


class CertificationSerializer(serializers.ModelSerializer):
    responsibility_name = serializers.CharField(source="responsibility.name", read_only=True)
    valid = serializers.SerializerMethodField()

    class Meta:
        model = Certification
        fields = [
            "id",
            "user",
            "responsibility",
            "responsibility_name",
            "course",
            "assignment",
            "method",
            "granted_by",
            "granted_on",
            "valid_until",
            "valid",
            "revoked_at",
            "revoked_by",
            "revoke_reason",
        ]
        read_only_fields = fields

    def get_valid(self, cert: Certification) -> bool:
        return cert.is_valid()


class OverrideSerializer(serializers.ModelSerializer):
    active = serializers.SerializerMethodField()

    class Meta:
        model = Override
        fields = [
            "id",
            "user",
            "responsibility",
            "reason",
            "valid_until",
            "active",
            "granted_by",
            "created_at",
            "revoked_at",
            "revoked_by",
        ]
        read_only_fields = fields

    def get_active(self, override: Override) -> bool:
        return override.is_active()


class OverrideInputSerializer(serializers.Serializer):
    user = ScopedPrimaryKeyRelatedField(queryset=User.objects.filter(is_active=True))
    responsibility = serializers.PrimaryKeyRelatedField(
        queryset=Responsibility.objects.filter(kind=Responsibility.Kind.CERTIFICATION, is_active=True)
    )
    reason = serializers.CharField(max_length=300)
    valid_until = serializers.DateField()
