"""List imports over the API: upload, mapping and choice for matches, check, run, status, rejects, undo.

The same services as the wizard (leads.imports); rows are scoped by the LeadImport policy: managers and
admins import, an importer sees their own imports, admins all.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import StreamingHttpResponse
from django.urls import reverse
from django.utils.text import slugify
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from leads import imports
from leads.models import LeadImport
from sfa.api.base import ScopedViewSetMixin
from sfa.api.serializers import JobSerializer
from sfa.api.views import as_drf_error


@extend_schema_field(
    {"type": "string", "enum": list(LeadImport.Status.values), "description": "uploaded → previewed → running → done"}
)
class ImportStatusField(serializers.CharField):
    """The import's status; typed inline so it does not collide with the other models' 'status' enums."""


class LeadImportSerializer(serializers.ModelSerializer):
    status = ImportStatusField(read_only=True)
    mapping = serializers.DictField(child=serializers.CharField(), read_only=True, help_text="column → field")
    header = serializers.ListField(child=serializers.CharField(), read_only=True)
    preview = serializers.JSONField(read_only=True, help_text="The check: rows, tally per verdict, first rows of each")
    plan = serializers.SerializerMethodField(help_text="What a run would do with the current choice for matches")
    counts = serializers.JSONField(read_only=True, help_text="The report: rows per verdict and result, cost per lead")
    job = JobSerializer(read_only=True, allow_null=True)
    rejects_url = serializers.SerializerMethodField()
    fields_available = serializers.SerializerMethodField(help_text="The fields a column can be mapped to")

    class Meta:
        model = LeadImport
        fields = [
            "id",
            "vendor",
            "list_name",
            "cost",
            "currency",
            "original_name",
            "size",
            "encoding",
            "delimiter",
            "header",
            "row_count",
            "mapping",
            "fields_available",
            "on_match",
            "status",
            "message",
            "preview",
            "plan",
            "counts",
            "job",
            "rejects_url",
            "created_by",
            "created_at",
            "finished_at",
            "undone_at",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_plan(self, obj: LeadImport) -> dict:
        return imports.plan(obj.preview or {}, obj.on_match) if obj.preview else {}

    def get_rejects_url(self, obj: LeadImport) -> str:
        return reverse("api:lead-import-rejects", args=[obj.pk])

    def get_fields_available(self, obj: LeadImport) -> list[str]:
        return [name for name, _ in imports.FIELD_CHOICES]


class LeadImportUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="CSV (any common encoding and delimiter) or XLSX")
    vendor = serializers.CharField(max_length=120)
    list_name = serializers.CharField(max_length=200)
    cost = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0, required=False, default=0)
    currency = serializers.CharField(max_length=3, required=False, default="EUR")
    encoding = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="Empty: detected. Else e.g. utf-8, cp1252, utf-16"
    )


class LeadImportConfigureSerializer(serializers.Serializer):
    mapping = serializers.DictField(
        child=serializers.CharField(),
        required=False,
        help_text="column → field (or 'ignore'); columns left out keep theirs",
    )
    on_match = serializers.ChoiceField(choices=LeadImport.OnMatch.choices, required=False)


class LeadImportRunSerializer(serializers.Serializer):
    lead_import = LeadImportSerializer()
    job = JobSerializer()


class LeadImportUndoSerializer(serializers.Serializer):
    leads_removed = serializers.IntegerField()
    leads_kept = serializers.IntegerField(help_text="Converted meanwhile: kept")
    prospects_removed = serializers.IntegerField()
    prospects_kept = serializers.IntegerField(help_text="Something else points at them now")
    kept_because = serializers.DictField(child=serializers.IntegerField())
    updates_reverted = serializers.IntegerField()
    updates_kept = serializers.IntegerField(help_text="Fields changed since the import: left as they are")


class CSVRenderer(BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data if isinstance(data, bytes | str) else str(data)


class LeadImportApi(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSetMixin, viewsets.GenericViewSet):
    """Purchased lists: upload a file, correct the guessed mapping, check, run (a job), read the report, undo."""

    queryset = LeadImport.objects.select_related("created_by", "job")
    serializer_class = LeadImportSerializer
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    ordering = ["-created_at", "-id"]
    ordering_fields = ["created_at", "id"]
    filterset_fields = ["vendor"]
    search_fields = ["list_name", "vendor", "original_name"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    @property
    def policy_action(self) -> str | None:
        return {
            "partial_update": "change",
            "mapping": "change",
            "preview": "change",
            "run": "change",
            "undo": "change",
            "rejects": "view",
        }.get(self.action)

    def _out(self, lead_import: LeadImport) -> dict:
        lead_import = self.dangerously_get_unscoped_queryset().get(pk=lead_import.pk)
        return LeadImportSerializer(lead_import, context=self.get_serializer_context()).data

    @extend_schema(
        request={"multipart/form-data": LeadImportUploadSerializer},
        responses={201: LeadImportSerializer, 400: OpenApiResponse(description="The file cannot be a list: why")},
    )
    def create(self, request, *args, **kwargs):
        data = LeadImportUploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            lead_import = imports.lead_import_create(actor=request.user, **data.validated_data)
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        return Response(self._out(lead_import), status=status.HTTP_201_CREATED)

    def _configure(self, request) -> Response:
        lead_import = self.get_object()
        data = LeadImportConfigureSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            lead_import = imports.lead_import_configure(
                lead_import=lead_import,
                actor=request.user,
                mapping=data.validated_data.get("mapping"),
                on_match=data.validated_data.get("on_match"),
            )
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        return Response(self._out(lead_import))

    @extend_schema(request=LeadImportConfigureSerializer, responses=LeadImportSerializer)
    def partial_update(self, request, *args, **kwargs):
        return self._configure(request)

    @extend_schema(request=LeadImportConfigureSerializer, responses=LeadImportSerializer)
    @action(detail=True, methods=["post"])
    def mapping(self, request, pk=None):
        """The same as PATCH: set the mapping (remembered for the vendor) and/or the choice for matches."""
        return self._configure(request)

    @extend_schema(
        request=None,
        responses={
            200: OpenApiResponse(LeadImportSerializer, description="Checked (small lists): see preview and plan"),
            202: OpenApiResponse(LeadImportSerializer, description="Checking as a job: poll the import or its job"),
        },
    )
    @action(detail=True, methods=["post"])
    def preview(self, request, pk=None):
        """Validate and match every row without writing anything."""
        try:
            lead_import = imports.lead_import_check(lead_import=self.get_object(), actor=request.user)
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        checking = lead_import.status == LeadImport.Status.CHECKING
        return Response(self._out(lead_import), status=status.HTTP_202_ACCEPTED if checking else status.HTTP_200_OK)

    @extend_schema(request=None, responses={202: LeadImportRunSerializer})
    @action(detail=True, methods=["post"])
    def run(self, request, pk=None):
        """Start the import (or resume a stopped one) as a background job."""
        try:
            job = imports.lead_import_start(lead_import=self.get_object(), actor=request.user)
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        job.refresh_from_db()
        lead_import = self.dangerously_get_unscoped_queryset().get(pk=pk)
        return Response(
            {"lead_import": self._out(lead_import), "job": JobSerializer(job).data}, status=status.HTTP_202_ACCEPTED
        )

    @extend_schema(request=None, responses=LeadImportUndoSerializer)
    @action(detail=True, methods=["post"])
    def undo(self, request, pk=None):
        """Remove the import's leads and new people, revert its updates: all at once."""
        try:
            summary = imports.lead_import_undo(lead_import=self.get_object(), actor=request.user)
        except DjangoValidationError as exc:
            raise as_drf_error(exc) from exc
        return Response(summary)

    @extend_schema(operation_id="lead_imports_rejects_csv", responses={(200, "text/csv"): OpenApiTypes.STR})
    @action(detail=True, methods=["get"], url_path="rejects.csv", renderer_classes=[CSVRenderer, JSONRenderer])
    def rejects(self, request, pk=None):
        """The rejected rows with their reasons, in the file's own columns and delimiter (streamed)."""
        lead_import = self.get_object()
        response = StreamingHttpResponse(
            imports.lead_import_rejects(lead_import=lead_import, actor=request.user),
            content_type="text/csv; charset=utf-8",
        )
        response["Content-Disposition"] = (
            f'attachment; filename="{slugify(lead_import.list_name) or "list"}-rejected.csv"'
        )
        return response


def register(router: DefaultRouter) -> None:
    router.register("lead-imports", LeadImportApi, basename="lead-import")
