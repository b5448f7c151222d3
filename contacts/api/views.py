"""Contacts API: accounts, contacts, touches (through the outreach guard), purposes and follow-ups.

Rows come from contacts.selectors (scoped by the requesting user); every write goes through
contacts.services; the model policies decide who may do what (sfa.api.permissions.PolicyPermission).
Creates of accounts, contacts, touches and follow-ups accept an ``Idempotency-Key`` header
(sfa.api.idempotency): a client that retries after a timeout or a 503 never stores the record twice.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Count, Model, OuterRef, ProtectedError, QuerySet, Subquery, prefetch_related_objects
from django.http import HttpResponse, StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import renderers, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotAcceptable, ValidationError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.response import Response

from contacts.api import serializers as s
from contacts.duplicates import DuplicateBlocked, DuplicateWarning, candidate_dismiss
from contacts.filters import AccountFilter, ContactFilter, FollowUpFilter, TouchFilter
from contacts.merge import merge_undo, records_merge
from contacts.models import (
    Account,
    Contact,
    ContactEmail,
    ContactPhone,
    FollowUp,
    GuardRule,
    MatchCandidate,
    Merge,
    Purpose,
    Touch,
)
from contacts.selectors import (
    account_list,
    candidate_queue,
    contact_list,
    followup_list,
    purpose_list,
    search,
    survivor_of,
    touch_list,
)
from contacts.services import (
    GuardBlocked,
    GuardWarning,
    account_create,
    account_update,
    consent_set,
    contact_create,
    contact_update,
    followup_close,
    followup_create,
    purpose_save,
    touch_log,
    touch_update,
)
from sfa.api.base import ScopedModelViewSet, ScopedReadOnlyViewSet
from sfa.api.exceptions import Conflict
from sfa.api.idempotency import IDEMPOTENCY_KEY_PARAMETER, IDEMPOTENCY_RESPONSES, idempotent
from sfa.api.views import as_drf_error
from sfa.services import model_delete

# --- Shared --------------------------------------------------------------------------------------


def duplicate_refusal(exc: DuplicateWarning, model: type[Model]) -> Response:
    """409 with the records the matching engine found, best first."""
    names = {obj.pk: str(obj) for obj in model.objects.filter(pk__in=[c.id for c in exc.candidates])}
    route = "contacts:contact-detail" if model is Contact else "contacts:account-detail"
    blocked = isinstance(exc, DuplicateBlocked)
    detail = (
        "This is the same as an existing record: use it instead."
        if blocked
        else "This may be the same as an existing record. Send allow_duplicate: true to create it anyway."
    )
    candidates = [
        {
            "id": c.id,
            "score": round(c.score, 4),
            "verdict": c.verdict,
            "reasons": c.reasons,
            "name": names.get(c.id, ""),
            "url": reverse(route, args=[c.id]),
        }
        for c in exc.candidates
    ]
    return Response({"detail": detail, "blocked": blocked, "candidates": candidates}, status=status.HTTP_409_CONFLICT)


@contextmanager
def service_errors(renamed: dict[str, str] | None = None) -> Iterator[None]:
    """A service's Django ValidationError as DRF's 400; ``renamed`` maps the service's field names to ours."""
    try:
        yield
    except DjangoValidationError as exc:
        error = as_drf_error(exc)
        if isinstance(error.detail, dict):
            for theirs, ours in (renamed or {}).items():
                if theirs in error.detail:
                    error.detail[ours] = error.detail.pop(theirs)
        raise error from exc


class ServiceViewSet(ScopedModelViewSet):
    """Scoped rows from a selector; create/update validate an input serializer and call a service.

    The output of a write is the row read back through ``get_queryset``, so annotations and prefetches
    are the same as on a GET.
    """

    def read_back(self, obj: Model) -> dict[str, Any]:
        return self.get_serializer(self.get_queryset().get(pk=obj.pk)).data

    def validated(self, serializer_class: type, *, partial: bool = False) -> Any:
        data = serializer_class(data=self.request.data, partial=partial, context=self.get_serializer_context())
        data.is_valid(raise_exception=True)
        return data

    def perform_destroy(self, instance: Model) -> None:
        try:
            model_delete(instance=instance, actor=self.request.user)
        except ProtectedError as exc:
            label = instance._meta.verbose_name
            raise Conflict(f"This {label} still has records that point to it (touches, follow-ups, contacts).") from exc


DESTROY_SCHEMA = extend_schema(
    responses={204: None, 409: OpenApiResponse(description="Other records still point to this one.")}
)


class DownloadNegotiation(DefaultContentNegotiation):
    """A download has one representation: serve it whatever the client's Accept header says."""

    def select_renderer(self, request, renderers, format_suffix=None):
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except NotAcceptable:
            return renderers[0], renderers[0].media_type


class _TextRenderer(renderers.BaseRenderer):
    """Renders text as is; error payloads (dicts) as JSON text."""

    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, bytes):
            return data
        if isinstance(data, str):
            return data.encode(self.charset)
        return renderers.JSONRenderer().render(data)


class CSVRenderer(_TextRenderer):
    media_type = "text/csv"
    format = "csv"


class VCardRenderer(_TextRenderer):
    media_type = "text/vcard"
    format = "vcf"


# --- Accounts ------------------------------------------------------------------------------------


class AccountApi(ServiceViewSet):
    """Accounts. Everyone reads every account; the owner and their managers change one; admins delete."""

    queryset = Account.objects.all()  # the model, for the permission class and the schema
    serializer_class = s.AccountSerializer
    filterset_class = AccountFilter
    ordering = ["name_key", "id"]
    ordering_fields = ["name_key", "created_at", "id"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[Account]:
        return account_list(actor=self.request.user).annotate(contact_count=Count("contacts"))

    @extend_schema(
        request=s.AccountInputSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={201: s.AccountSerializer, **IDEMPOTENCY_RESPONSES},
    )
    @idempotent
    def create(self, request, *args, **kwargs):
        data = self.validated(s.AccountInputSerializer)
        try:
            with service_errors():
                account = account_create(actor=request.user, source="api", **data.validated_data)
        except DuplicateWarning as exc:
            return duplicate_refusal(exc, Account)
        return Response(self.read_back(account), status=status.HTTP_201_CREATED)

    @extend_schema(request=s.AccountInputSerializer, responses=s.AccountSerializer)
    def partial_update(self, request, *args, **kwargs):
        account = self.get_object()
        data = self.validated(s.AccountInputSerializer, partial=True)
        with service_errors():
            account_update(account=account, actor=request.user, data=data.validated_data)
        return Response(self.read_back(account))

    @DESTROY_SCHEMA
    def destroy(self, request, *args, **kwargs):
        return super().destroy(request, *args, **kwargs)


# --- Contacts ------------------------------------------------------------------------------------

EXPORT_COLUMNS = (
    "id",
    "first_name",
    "last_name",
    "title",
    "email",
    "phone",
    "account",
    "street",
    "city",
    "postcode",
    "region",
    "country",
    "birth_date",
    "do_not_contact",
)
EXPORT_CHUNK = 2000
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class _Echo:
    """The file-like object csv.writer needs: ``write`` hands back the line instead of storing it."""

    def write(self, value: str) -> str:
        return value


def _csv_cell(value: Any, column: str) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    # A spreadsheet runs a cell that starts like a formula; phones are E.164 ("+" and digits only).
    if isinstance(value, str) and column != "phone" and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_rows(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    columns = list(header)
    yield writer.writerow(columns)
    for row in rows:
        yield writer.writerow([_csv_cell(value, column) for value, column in zip(row, columns, strict=True)])


def vcard_escape(value: Any) -> str:
    """A text value of a vCard property (RFC 6350 3.4): backslash, comma, semicolon and newline escaped."""
    text = str(value or "")
    text = text.replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;")
    return text.replace("\r\n", "\\n").replace("\r", "\\n").replace("\n", "\\n")


def vcard_fold(line: str) -> str:
    """Fold a content line longer than 75 octets (RFC 6350 3.2), never inside a UTF-8 character."""
    parts, current, size = [], "", 0
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > 75:
            parts.append(current)
            current, size = " ", 1
        current += char
        size += width
    parts.append(current)
    return "\r\n".join(parts)


PHONE_TYPES = {"mobile": "CELL", "cell": "CELL", "office": "WORK", "work": "WORK", "home": "HOME", "fax": "FAX"}


def contact_vcard(contact: Contact) -> str:
    """The contact as a vCard 3.0: name, company, title, e-mails, phones, address and birthday."""
    e = vcard_escape
    lines = [
        "BEGIN:VCARD",
        "VERSION:3.0",
        f"N:{e(contact.last_name)};{e(contact.first_name)};;;",
        f"FN:{e(contact.full_name)}",
    ]
    if contact.account_id:
        lines.append(f"ORG:{e(contact.account.name)}")
    if contact.title:
        lines.append(f"TITLE:{e(contact.title)}")
    for email in contact.emails.all():
        types = "INTERNET,PREF" if email.is_primary else "INTERNET"
        lines.append(f"EMAIL;TYPE={types}:{e(email.email)}")
    for phone in contact.phones.all():
        types = ",".join(t for t in (PHONE_TYPES.get(phone.label.lower(), "VOICE"), phone.is_primary and "PREF") if t)
        lines.append(f"TEL;TYPE={types}:{e(phone.e164)}")
    if any((contact.street, contact.city, contact.postcode, contact.region, contact.country)):
        address = ";".join(e(v) for v in ("", "", contact.street, contact.city, contact.region, contact.postcode))
        lines.append(f"ADR;TYPE=WORK:{address};{e(contact.country)}")
    if contact.birth_date:
        lines.append(f"BDAY:{contact.birth_date.isoformat()}")
    lines.append(f"REV:{contact.updated_at.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}")
    lines.append("END:VCARD")
    return "".join(vcard_fold(line) + "\r\n" for line in lines)


def _primary(model: type[Model], field: str) -> Subquery:
    return Subquery(model.objects.filter(contact=OuterRef("pk"), is_primary=True).values(field)[:1])


CONTACT_CHANNEL_ERRORS = {"emails": "email", "phones": "phone"}


class ContactApi(ServiceViewSet):
    """Contacts. Everyone reads every contact; the owner and their managers change one; admins delete.

    On write, ``email``/``phone`` set the primary e-mail/phone (the others stay) and ``emails``/``phones``
    replace the lists (the first is the primary one). Phones are typed in any format and stored as E.164.
    """

    queryset = Contact.objects.all()  # the model, for the permission class and the schema
    serializer_class = s.ContactSerializer
    filterset_class = ContactFilter
    ordering = ["last_key", "first_key", "id"]
    ordering_fields = ["last_key", "created_at", "id"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[Contact]:
        return contact_list(actor=self.request.user).prefetch_related("consents")

    def retrieve(self, request, *args, **kwargs):
        """A merged contact's old id answers 301 with the survivor's address."""
        merged = (
            Contact.objects.filter(pk=kwargs.get("pk"), merged_into__isnull=False).first()
            if str(kwargs.get("pk", "")).isdigit()
            else None
        )
        if merged is not None:
            target = reverse("api:contact-detail", args=[survivor_of(merged).pk])
            return Response(
                {"detail": "This contact was merged.", "survivor": target},
                status=status.HTTP_301_MOVED_PERMANENTLY,
                headers={"Location": target},
            )
        return super().retrieve(request, *args, **kwargs)

    def _renamed_errors(self) -> dict[str, str]:
        """Name the field the client sent: a bad ``phone`` is reported as ``phone``, not ``phones``."""
        sent = set(self.request.data) if hasattr(self.request.data, "keys") else set()
        return {theirs: ours for theirs, ours in CONTACT_CHANNEL_ERRORS.items() if ours in sent and theirs not in sent}

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "search",
                str,
                description="Name, e-mail or phone (any format). Answers the best matches on one page; "
                "the other filters still apply.",
            )
        ]
    )
    def list(self, request, *args, **kwargs):
        query = request.query_params.get("search", "").strip()
        if not query:
            return super().list(request, *args, **kwargs)
        # The search runs on the endpoint's own scoped and filtered queryset: the rows come back loaded once.
        # As-you-type results: 20 unless the caller asks for another page size. The search runs on the
        # endpoint's own scoped, filtered queryset (without its prefetches, which the search does once).
        limit = self.paginator.get_page_size(request) if request.query_params.get("page_size") else 20
        found = search(
            actor=request.user,
            query=query,
            limit=limit,
            base=self.filter_queryset(self.get_queryset()).order_by().prefetch_related(None),
        )
        prefetch_related_objects(found.contacts, "consents")
        return Response(
            {"next": None, "previous": None, "results": self.get_serializer(found.contacts, many=True).data}
        )

    @extend_schema(
        request=s.ContactInputSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={
            201: s.ContactSerializer,
            409: OpenApiResponse(s.DuplicateRefusalSerializer, description="The same person may exist already."),
            **IDEMPOTENCY_RESPONSES,
        },
    )
    @idempotent
    def create(self, request, *args, **kwargs):
        data = self.validated(s.ContactInputSerializer)
        given = data.service_kwargs()
        try:
            with service_errors(self._renamed_errors()):
                contact = contact_create(
                    actor=request.user,
                    emails=given["emails"],
                    phones=given["phones"],
                    source="api",
                    allow_duplicate=data.validated_data.get("allow_duplicate", False),
                    **given["data"],
                )
        except DuplicateWarning as exc:
            return duplicate_refusal(exc, Contact)
        return Response(self.read_back(contact), status=status.HTTP_201_CREATED)

    @extend_schema(request=s.ContactInputSerializer, responses=s.ContactSerializer)
    def partial_update(self, request, *args, **kwargs):
        contact = self.get_object()
        data = self.validated(s.ContactInputSerializer, partial=True)
        given = data.service_kwargs(contact)
        with service_errors(self._renamed_errors()):
            contact_update(
                contact=contact, actor=request.user, data=given["data"], emails=given["emails"], phones=given["phones"]
            )
        return Response(self.read_back(contact))

    @DESTROY_SCHEMA
    def destroy(self, request, *args, **kwargs):
        return super().destroy(request, *args, **kwargs)

    @extend_schema(
        summary="Export the filtered contacts as CSV",
        description="Streams every contact matching the filters (no pages), with the primary e-mail and phone. "
        "Also served at ``/api/contacts/export.csv``.",
        filters=True,
        parameters=[OpenApiParameter("search", exclude=True)],
        responses={(200, "text/csv"): OpenApiTypes.STR},
    )
    @action(
        detail=False,
        methods=["get"],
        url_path="export",
        renderer_classes=[CSVRenderer],
        content_negotiation_class=DownloadNegotiation,
    )
    def export(self, request, *args, **kwargs):
        # Subqueries, not prefetches: one query per chunk, and iterator() streams without caching rows.
        rows = (
            self.filter_queryset(self.get_queryset())
            .prefetch_related(None)
            .annotate(primary_email=_primary(ContactEmail, "email"), primary_phone=_primary(ContactPhone, "e164"))
            .values_list(
                "id",
                "first_name",
                "last_name",
                "title",
                "primary_email",
                "primary_phone",
                "account__name",
                "street",
                "city",
                "postcode",
                "region",
                "country",
                "birth_date",
                "do_not_contact",
            )
            .iterator(chunk_size=EXPORT_CHUNK)
        )
        response = StreamingHttpResponse(csv_rows(EXPORT_COLUMNS, rows), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="contacts-{timezone.now():%Y%m%d-%H%M}.csv"'
        return response

    @extend_schema(
        summary="The contact as a vCard 3.0",
        description="Name, company, title, e-mails, phones, address and birthday, for an address book.",
        responses={(200, "text/vcard"): OpenApiTypes.STR},
    )
    @action(
        detail=True,
        methods=["get"],
        url_path="vcard",
        renderer_classes=[VCardRenderer],
        content_negotiation_class=DownloadNegotiation,
    )
    def vcard(self, request, *args, **kwargs):
        contact = self.get_object()
        response = HttpResponse(contact_vcard(contact), content_type="text/vcard; charset=utf-8")
        filename = slugify(contact.full_name) or f"contact-{contact.pk}"
        response["Content-Disposition"] = f'attachment; filename="{filename}.vcf"'
        return response

    @property
    def policy_action(self) -> str | None:
        # Whoever talks to the customer records what they asked for: consent needs only the right to view.
        return "view" if self.action == "consents" else None

    @extend_schema(
        summary="Record consent or do-not-contact for one channel",
        request=s.ConsentInputSerializer,
        responses={201: s.ConsentSerializer},
    )
    @action(detail=True, methods=["post"], url_path="consents")
    def consents(self, request, *args, **kwargs):
        contact = self.get_object()
        data = s.ConsentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with service_errors():
            consent = consent_set(contact=contact, actor=request.user, **data.validated_data)
        return Response(s.ConsentSerializer(consent).data, status=status.HTTP_201_CREATED)


# --- Touches -------------------------------------------------------------------------------------


class TouchApi(ServiceViewSet):
    """Touches: every contact with a customer, done or planned. New ones pass the outreach guard.

    ``POST`` answers 409 with the guard's conflicts when it warns (repeat with an ``override_reason``)
    or when a manager meets a block (they may repeat with a reason); 403 when the block cannot be
    overridden by the user (reps) or at all (do-not-contact). Inbound touches are never held back.
    """

    queryset = Touch.objects.all()  # the model, for the permission class and the schema
    serializer_class = s.TouchSerializer
    filterset_class = TouchFilter
    ordering = ["-at", "-id"]
    ordering_fields = ["at", "id"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[Touch]:
        return touch_list(actor=self.request.user)

    @staticmethod
    def _refused(exc: GuardWarning | GuardBlocked, code: int, hint: str) -> Response:
        return Response({"detail": f"{exc} {hint}".strip(), "guard": exc.verdict.as_dict()}, status=code)

    @extend_schema(
        request=s.TouchInputSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={
            201: s.TouchSerializer,
            403: OpenApiResponse(s.GuardRefusalSerializer, description="Refused: the user may not override."),
            409: OpenApiResponse(s.GuardRefusalSerializer, description="Repeat with an override_reason."),
            **IDEMPOTENCY_RESPONSES,
        },
    )
    @idempotent
    def create(self, request, *args, **kwargs):
        data = self.validated(s.TouchInputSerializer)
        try:
            with service_errors():
                touch = touch_log(actor=request.user, via="api", **data.validated_data)
        except GuardWarning as exc:
            return self._refused(exc, status.HTTP_409_CONFLICT, "Send an override_reason to go ahead anyway.")
        except GuardBlocked as exc:
            if exc.overridable:
                return self._refused(exc, status.HTTP_409_CONFLICT, "Send an override_reason to override the block.")
            hint = "Nobody may override do-not-contact." if exc.verdict.hard else "Only a manager may override it."
            return self._refused(exc, status.HTTP_403_FORBIDDEN, hint)
        return Response(self.read_back(touch), status=status.HTTP_201_CREATED)

    @extend_schema(request=s.TouchUpdateSerializer, responses=s.TouchSerializer)
    def partial_update(self, request, *args, **kwargs):
        touch = self.get_object()
        data = self.validated(s.TouchUpdateSerializer, partial=True)
        with service_errors():
            touch_update(touch=touch, actor=request.user, data=data.validated_data)
        return Response(self.read_back(touch))

    @DESTROY_SCHEMA
    def destroy(self, request, *args, **kwargs):
        return super().destroy(request, *args, **kwargs)


# --- Purposes ------------------------------------------------------------------------------------


class PurposeApi(ServiceViewSet):
    """Why we contact customers, each with its guard rule (or none). Everyone reads; admins write."""

    queryset = Purpose.objects.all()  # the model, for the permission class and the schema
    serializer_class = s.PurposeSerializer
    filterset_fields = ["is_active"]
    ordering = ["name", "id"]
    ordering_fields = ["name", "id"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[Purpose]:
        return purpose_list(actor=self.request.user, active_only=False)

    @extend_schema(request=s.PurposeInputSerializer, responses={201: s.PurposeSerializer})
    def create(self, request, *args, **kwargs):
        data = self.validated(s.PurposeInputSerializer)
        with service_errors():
            purpose = purpose_save(actor=request.user, **data.validated_data)
        return Response(self.read_back(purpose), status=status.HTTP_201_CREATED)

    @extend_schema(request=s.PurposeInputSerializer, responses=s.PurposeSerializer)
    def partial_update(self, request, *args, **kwargs):
        purpose = self.get_object()
        data = self.validated(s.PurposeInputSerializer, partial=True)
        rule = getattr(purpose, "guard_rule", None)
        rule = rule if rule is not None and rule.is_active else None
        current = {
            "name": purpose.name,
            "description": purpose.description,
            "is_active": purpose.is_active,
            "window_days": rule.window_days if rule else None,
            "mode": rule.mode if rule else GuardRule.Mode.WARN,
            "scope": rule.scope if rule else GuardRule.Scope.CONTACT,
        }
        with service_errors():
            purpose_save(actor=request.user, purpose=purpose, **{**current, **data.validated_data})
        return Response(self.read_back(purpose))


# --- Follow-ups ----------------------------------------------------------------------------------


class FollowUpApi(ServiceViewSet):
    """Follow-ups: who calls whom back, by when. Close one as done or cancelled."""

    queryset = FollowUp.objects.all()  # the model, for the permission class and the schema
    serializer_class = s.FollowUpSerializer
    filterset_class = FollowUpFilter
    ordering = ["due", "id"]
    ordering_fields = ["due", "created_at", "id"]
    http_method_names = ["get", "post", "head", "options"]

    def get_queryset(self) -> QuerySet[FollowUp]:
        return followup_list(actor=self.request.user)

    @property
    def policy_action(self) -> str | None:
        return "change" if self.action == "close" else None

    @extend_schema(
        request=s.FollowUpInputSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={201: s.FollowUpSerializer, **IDEMPOTENCY_RESPONSES},
    )
    @idempotent
    def create(self, request, *args, **kwargs):
        data = self.validated(s.FollowUpInputSerializer)
        with service_errors():
            followup = followup_create(actor=request.user, **data.validated_data)
        return Response(self.read_back(followup), status=status.HTTP_201_CREATED)

    @extend_schema(request=s.FollowUpCloseSerializer, responses=s.FollowUpSerializer)
    @action(detail=True, methods=["post"], url_path="close")
    def close(self, request, *args, **kwargs):
        followup = self.get_object()
        data = self.validated(s.FollowUpCloseSerializer)
        with service_errors():
            followup_close(followup=followup, actor=request.user, status=data.validated_data["status"])
        return Response(self.read_back(followup))


# --- Duplicates ----------------------------------------------------------------------------------


class DuplicatePairApi(ScopedReadOnlyViewSet):
    """The review queue: open pairs the matching engine could not decide, best first."""

    queryset = MatchCandidate.objects.all()
    serializer_class = s.MatchCandidateSerializer
    ordering = ["-score", "id"]
    ordering_fields = ["score", "id"]

    def get_queryset(self) -> QuerySet[MatchCandidate]:
        return candidate_queue(
            actor=self.request.user,
            subject=self.request.query_params.get("subject", "contact"),
            filters=self.request.query_params,
        )

    @property
    def policy_action(self) -> str | None:
        return "change" if self.action == "dismiss" else None

    @extend_schema(request=None, responses=s.MatchCandidateSerializer)
    @action(detail=True, methods=["post"], url_path="not-duplicate")
    def dismiss(self, request, *args, **kwargs):
        with service_errors():
            pair = candidate_dismiss(candidate=self.get_object(), actor=request.user)
        return Response(s.MatchCandidateSerializer(pair).data)


class MergeApi(ScopedReadOnlyViewSet):
    """Merges: ``POST`` merges two or more records into a survivor; ``/{id}/undo/`` restores them exactly."""

    queryset = Merge.objects.all()
    serializer_class = s.MergeSerializer
    ordering = ["-at", "-id"]

    @property
    def policy_action(self) -> str | None:
        return {"create": "add", "undo": "change"}.get(self.action)

    @extend_schema(request=s.MergeInputSerializer, responses={201: s.MergeSerializer})
    def create(self, request, *args, **kwargs):
        data = s.MergeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        model = Contact if data.validated_data["subject"] == "contact" else Account
        ids = [data.validated_data["survivor"], *data.validated_data["others"]]
        found = {obj.pk: obj for obj in model.objects.filter(pk__in=ids)}
        missing = [i for i in ids if i not in found]
        if missing:
            raise ValidationError({"others": [f"No {model._meta.verbose_name} with id {i}." for i in missing]})
        with service_errors():
            done = records_merge(
                survivor=found[ids[0]],
                others=[found[i] for i in ids[1:]],
                actor=request.user,
                choices=data.validated_data.get("choices") or {},
            )
        return Response(s.MergeSerializer(done).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=s.MergeSerializer)
    @action(detail=True, methods=["post"], url_path="undo")
    def undo(self, request, *args, **kwargs):
        done = self.get_object()
        with service_errors():
            merge_undo(merge=done, actor=request.user)
        done.refresh_from_db()
        return Response(s.MergeSerializer(done).data)
