"""Core API: token login, the current user, people, jobs and the audit log."""

from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.authtoken.models import Token
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from sfa.api import serializers as s
from sfa.api.base import ScopedReadOnlyViewSet
from sfa.filters import AuditEventFilter, JobFilter, UserFilter
from sfa.jobs import JobError, job_cancel, job_retry
from sfa.models import AuditEvent, Department, Job, Team, User
from sfa.services import user_create, user_update


def as_drf_error(exc: DjangoValidationError) -> ValidationError:
    """Django's ValidationError from a service, as DRF's 400 with field messages."""
    return ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages})


class TokenObtainApi(APIView):
    """Exchange a username and password for an API token (send it as ``Authorization: Token <token>``)."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"

    @extend_schema(request=s.TokenRequestSerializer, responses={200: s.TokenResponseSerializer}, auth=[])
    def post(self, request):
        data = s.TokenRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(request, **data.validated_data)
        if user is None or not user.is_active:
            raise ValidationError({"non_field_errors": ["Wrong username or password."]})
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


class MeApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=s.UserSerializer)
    def get(self, request):
        return Response(s.UserSerializer(request.user).data)


class DepartmentApi(ScopedReadOnlyViewSet):
    queryset = Department.objects.all()
    serializer_class = s.DepartmentSerializer
    ordering_fields = ["name", "id"]
    ordering = ["name", "id"]
    search_fields = ["name", "code"]


class TeamApi(ScopedReadOnlyViewSet):
    queryset = Team.objects.all()
    serializer_class = s.TeamSerializer
    filterset_fields = ["department", "manager", "parent"]
    ordering_fields = ["name", "id"]
    ordering = ["name", "id"]
    search_fields = ["name"]


class UserApi(mixins.CreateModelMixin, mixins.UpdateModelMixin, ScopedReadOnlyViewSet):
    """The user directory. Admins create and change users; others may change their own name and e-mail."""

    queryset = User.objects.select_related("department", "team")
    serializer_class = s.UserSerializer
    filterset_class = UserFilter
    ordering_fields = ["username", "last_name", "id"]
    ordering = ["username", "id"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    @extend_schema(request=s.UserCreateSerializer, responses={201: s.UserSerializer})
    def create(self, request, *args, **kwargs):
        data = s.UserCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            user = user_create(actor=request.user, **data.validated_data)
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        return Response(s.UserSerializer(user).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.UserUpdateSerializer, responses=s.UserSerializer)
    def partial_update(self, request, *args, **kwargs):
        user = self.get_object()
        data = s.UserUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        try:
            user_update(user=user, actor=request.user, data=data.validated_data)
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        return Response(s.UserSerializer(user).data)


class JobApi(ScopedReadOnlyViewSet):
    """Background jobs: their status and progress, as the jobs page shows them."""

    queryset = Job.objects.all()
    serializer_class = s.JobSerializer
    filterset_class = JobFilter
    ordering_fields = ["created_at"]
    ordering = ["-created_at", "-id"]

    @extend_schema(request=None, responses=s.JobSerializer)
    @action(detail=True, methods=["post"], url_path="cancel")
    def cancel(self, request, pk=None):
        return Response(s.JobSerializer(job_cancel(job=self.get_object(), actor=request.user)).data)

    @extend_schema(request=None, responses=s.JobSerializer)
    @action(detail=True, methods=["post"], url_path="retry")
    def retry(self, request, pk=None):
        try:
            job = job_retry(job=self.get_object(), actor=request.user)
        except JobError as exc:
            raise ValidationError({"detail": str(exc)}) from exc
        return Response(s.JobSerializer(job).data)

    @property
    def policy_action(self) -> str | None:
        return "change" if self.action in ("cancel", "retry") else None


class AuditEventApi(ScopedReadOnlyViewSet):
    """The audit log (admins): filter by model (``app.model``), object_id, actor, action and time."""

    queryset = AuditEvent.objects.select_related("content_type")
    serializer_class = s.AuditEventSerializer
    filterset_class = AuditEventFilter
    ordering = ["-at", "-id"]
    ordering_fields = ["at"]
