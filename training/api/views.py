"""Courses, responsibilities, assignments, quiz attempts, certifications and overrides over the API.

Rows come scoped by the requesting user (sfa.api.base); every write goes through training.services, which
checks the policy again, runs in one transaction and audits. A service's refusal answers 400 with its
message (the quiz names the unknown question or answer id; the quote gate is in orders' quote API); the
policy's refusal 403; a row the user may not see 404.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from sfa.api.base import ScopedReadOnlyViewSet
from sfa.api.exceptions import service_errors
from training import services
from training.api import serializers as s
from training.models import Assignment, Certification, Course, Override, Question, QuizAttempt, Responsibility


class _Writes:
    def _validated(self, serializer_class: type) -> Any:
        data = serializer_class(data=self.request.data, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        return data

    def _out(self, instance: Any, code: int = status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=instance.pk)
        return Response(self.get_serializer(fresh).data, status=code)


class CourseApi(_Writes, mixins.CreateModelMixin, mixins.UpdateModelMixin, ScopedReadOnlyViewSet):
    """Courses with their materials and quiz questions (the correct answers only for those who may edit)."""

    queryset = Course.objects.prefetch_related(
        "responsibilities", "materials", Prefetch("questions", queryset=Question.objects.prefetch_related("choices"))
    )
    serializer_class = s.CourseSerializer
    filterset_fields = ["is_active", "completion"]
    search_fields = ["title", "summary"]
    ordering = ["title", "id"]
    ordering_fields = ["title", "id"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    @extend_schema(request=s.CourseInputSerializer, responses={201: s.CourseSerializer})
    def create(self, request, *args, **kwargs):
        data = self._validated(s.CourseInputSerializer)
        with service_errors():
            course = services.course_create(actor=request.user, **data.service_kwargs())
        return self._out(course, status.HTTP_201_CREATED)

    @extend_schema(request=s.CourseInputSerializer, responses={200: s.CourseSerializer})
    def partial_update(self, request, *args, **kwargs):
        course = self.get_object()
        data = s.CourseInputSerializer(data=request.data, partial=True, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        with service_errors():
            course = services.course_update(course=course, actor=request.user, **data.service_kwargs())
        return self._out(course)


class ResponsibilityApi(_Writes, mixins.CreateModelMixin, ScopedReadOnlyViewSet):
    """What courses qualify for; a product line certification gates its configurable products on quotes."""

    queryset = Responsibility.objects.select_related("category")
    serializer_class = s.ResponsibilitySerializer
    filterset_fields = ["kind", "is_active", "category"]
    ordering = ["name", "id"]
    ordering_fields = ["name", "id"]

    @extend_schema(request=s.ResponsibilityInputSerializer, responses={201: s.ResponsibilitySerializer})
    def create(self, request, *args, **kwargs):
        data = self._validated(s.ResponsibilityInputSerializer)
        with service_errors():
            responsibility = services.responsibility_create(actor=request.user, data=dict(data.validated_data))
        return self._out(responsibility, status.HTTP_201_CREATED)


class AssignmentApi(_Writes, mixins.CreateModelMixin, mixins.UpdateModelMixin, ScopedReadOnlyViewSet):
    """Assignments: a rep sees their own, a manager their teams'. Actions: quiz (the assignee answers),
    signoff (a manager completes a sign-off course), for-team (one assignment per rep of a team)."""

    queryset = Assignment.objects.select_related("course", "user")
    serializer_class = s.AssignmentSerializer
    filterset_fields = ["status", "course", "user"]
    ordering = ["due_on", "id"]
    ordering_fields = ["due_on", "assigned_at", "id"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    @property
    def policy_action(self) -> str | None:
        return {"quiz": "take", "signoff": "signoff", "for_team": "add"}.get(self.action)

    @extend_schema(request=s.AssignmentInputSerializer, responses={201: s.AssignmentSerializer})
    def create(self, request, *args, **kwargs):
        data = self._validated(s.AssignmentInputSerializer)
        with service_errors():
            assignment = services.assignment_create(actor=request.user, **data.validated_data)
        return self._out(assignment, status.HTTP_201_CREATED)

    @extend_schema(request=s.TeamAssignmentInputSerializer, responses={201: s.TeamAssignmentResultSerializer})
    @action(detail=False, methods=["post"], url_path="for-team")
    def for_team(self, request, *args, **kwargs):
        data = self._validated(s.TeamAssignmentInputSerializer)
        with service_errors():
            made, skipped = services.assignment_create_for_team(actor=request.user, **data.validated_data)
        body = {
            "created": s.AssignmentSerializer(made, many=True).data,
            "skipped": [{"user": u.pk, "reason": why} for u, why in skipped],
        }
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.AssignmentUpdateSerializer, responses={200: s.AssignmentSerializer})
    def partial_update(self, request, *args, **kwargs):
        assignment = self.get_object()
        data = self._validated(s.AssignmentUpdateSerializer)
        with service_errors():
            assignment = services.assignment_update(assignment=assignment, actor=request.user, **data.validated_data)
        return self._out(assignment)

    @extend_schema(request=s.QuizInputSerializer, responses={201: s.QuizAttemptSerializer})
    @action(detail=True, methods=["post"])
    def quiz(self, request, *args, **kwargs):
        """Submit the answers; the server scores them (unknown or foreign ids answer 400 naming them)."""
        assignment = self.get_object()
        data = self._validated(s.QuizInputSerializer)
        with service_errors():
            attempt = services.quiz_submit(
                assignment=assignment, actor=request.user, answers=dict(data.validated_data["answers"])
            )
        return Response(s.QuizAttemptSerializer(attempt).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.SignoffInputSerializer, responses={200: s.AssignmentSerializer})
    @action(detail=True, methods=["post"])
    def signoff(self, request, *args, **kwargs):
        assignment = self.get_object()
        data = self._validated(s.SignoffInputSerializer)
        with service_errors():
            assignment = services.assignment_signoff(assignment=assignment, actor=request.user, **data.validated_data)
        return self._out(assignment)


class QuizAttemptApi(ScopedReadOnlyViewSet):
    queryset = QuizAttempt.objects.all()
    serializer_class = s.QuizAttemptSerializer
    filterset_fields = ["assignment", "course", "user", "passed"]
    ordering = ["-submitted_at", "-id"]
    ordering_fields = ["submitted_at", "id"]


class CertificationApi(_Writes, ScopedReadOnlyViewSet):
    """Certifications: valid while not revoked and not past ``valid_until``. Action: revoke (managers)."""

    queryset = Certification.objects.select_related("responsibility")
    serializer_class = s.CertificationSerializer
    filterset_fields = ["user", "responsibility", "method"]
    ordering = ["-granted_on", "-id"]
    ordering_fields = ["granted_on", "valid_until", "id"]

    @property
    def policy_action(self) -> str | None:
        return "change" if self.action == "revoke" else None

    @extend_schema(request=s.RevokeInputSerializer, responses={200: s.CertificationSerializer})
    @action(detail=True, methods=["post"])
    def revoke(self, request, *args, **kwargs):
        cert = self.get_object()
        data = self._validated(s.RevokeInputSerializer)
        with service_errors():
            cert = services.certification_revoke(certification=cert, actor=request.user, **data.validated_data)
        return self._out(cert)


class OverrideApi(_Writes, mixins.CreateModelMixin, ScopedReadOnlyViewSet):
    """Overrides: a manager lets a rep quote a gated product line without its certification (audited)."""

    queryset = Override.objects.all()
    serializer_class = s.OverrideSerializer
    filterset_fields = ["user", "responsibility"]
    ordering = ["-created_at", "-id"]
    ordering_fields = ["created_at", "valid_until", "id"]

    @property
    def policy_action(self) -> str | None:
        return "change" if self.action == "revoke" else None

    @extend_schema(request=s.OverrideInputSerializer, responses={201: s.OverrideSerializer})
    def create(self, request, *args, **kwargs):
        data = self._validated(s.OverrideInputSerializer)
        with service_errors():
            override = services.override_grant(actor=request.user, **data.validated_data)
        return self._out(override, status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: s.OverrideSerializer})
    @action(detail=True, methods=["post"])
    def revoke(self, request, *args, **kwargs):
        override = self.get_object()
        with service_errors():
            override = services.override_revoke(override=override, actor=request.user)
        return self._out(override)


def register(router: DefaultRouter) -> None:
    router.register("training/courses", CourseApi, basename="training-course")
    router.register("training/responsibilities", ResponsibilityApi, basename="training-responsibility")
    router.register("training/assignments", AssignmentApi, basename="training-assignment")
    router.register("training/attempts", QuizAttemptApi, basename="training-attempt")
    router.register("training/certifications", CertificationApi, basename="training-certification")
    router.register("training/overrides", OverrideApi, basename="training-override")
