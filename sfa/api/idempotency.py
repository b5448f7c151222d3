"""Idempotent POSTs: a client that sends an ``Idempotency-Key`` header may retry safely.

Shared by every app's API (orders' creates and transitions, contacts' creates): apply ``@idempotent`` to the
view method and add ``IDEMPOTENCY_KEY_PARAMETER`` / ``IDEMPOTENCY_RESPONSES`` to its ``extend_schema``.

The first request with a key stores its status code and body (``sfa.models.IdempotencyKey``, one row
per user, endpoint and key, with a hash of the request body). A retry with the same key and body gets
the stored answer again and does nothing else, so a timeout on "create order" never makes two orders;
the same key with another body is refused with 422, because the client is reusing a key by mistake.

The view runs, and its answer is built, inside the transaction that stores the key: a write that commits
has its answer committed with it. When the connection is lost before the commit (a PostgreSQL restart:
503), nothing was stored, key included, and the retry runs the request again; when it is lost during the
commit itself, the retry finds either nothing or the stored answer. Either way the write happens once.

Two concurrent requests with one key must not both run: the key row is inserted *first*, inside the
transaction that then runs the view, and the unique constraint makes the second insert wait for the
first transaction (PostgreSQL row lock on the index entry; SQLite's write lock, taken at BEGIN
IMMEDIATE) and then fail, after which the second request replays the first one's answer.

Keys older than ``IDEMPOTENCY_KEY_TTL`` (24 h) no longer count; ``idempotency_keys_purge()`` deletes
them (daily, from the beat schedule: ``sfa.purge_idempotency_keys`` in sfa.tasks).
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from sfa.models import IdempotencyKey

HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replayed"
IDEMPOTENCY_KEY_TTL = timedelta(hours=24)
MAX_KEY_LENGTH = IdempotencyKey._meta.get_field("key").max_length
MAX_ENDPOINT_LENGTH = IdempotencyKey._meta.get_field("endpoint").max_length

# For extend_schema(parameters=[...], responses={...}) on every idempotent operation.
IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    HEADER,
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description=(
        "Any unique string (a UUID) of up to 100 characters. A retry with the same key and body returns the "
        "first answer again (header Idempotent-Replayed: true) instead of acting twice; keys expire after 24 h."
    ),
)
IDEMPOTENCY_RESPONSES = {
    422: OpenApiResponse(description="The Idempotency-Key was already used with a different request body."),
}


def request_fingerprint(request: Request) -> str:
    """SHA-256 of the parsed body in a canonical form (key order and whitespace do not matter)."""
    data: Any = request.data
    if hasattr(data, "lists"):  # a QueryDict from a form post: keep repeated keys
        data = dict(data.lists())
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def idempotency_keys_purge(*, now: datetime | None = None, ttl: timedelta = IDEMPOTENCY_KEY_TTL) -> int:
    """Delete stored answers older than ``ttl``; returns how many went. Safe to run at any time."""
    cutoff = (now or timezone.now()) - ttl
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted


def idempotent(view_method: Callable[..., Response]) -> Callable[..., Response]:
    """Make a DRF view method (``create``, a POST ``@action``) idempotent under the ``Idempotency-Key`` header.

    Without the header the method runs as usual. With it, the key row is claimed first and the method runs
    in the same transaction; its answer (any status below 500, errors included, since a retry of the same
    body would get the same error) is stored with the key. An unexpected exception rolls everything back,
    key included, so the client may retry.
    """

    @functools.wraps(view_method)
    def wrapper(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        key = request.headers.get(HEADER, "").strip()
        if not key:
            return view_method(self, request, *args, **kwargs)
        if len(key) > MAX_KEY_LENGTH:
            raise ValidationError({HEADER: f"An {HEADER} has at most {MAX_KEY_LENGTH} characters ({len(key)} sent)."})
        endpoint = f"{request.method} {request.path}"[:MAX_ENDPOINT_LENGTH]
        fingerprint = request_fingerprint(request)
        for _attempt in range(3):
            with transaction.atomic():
                record = _claim(user=request.user, endpoint=endpoint, key=key, fingerprint=fingerprint)
                if record is not None:
                    response = _run(self, view_method, request, *args, **kwargs)
                    if response.status_code >= 500:
                        # Not an answer worth keeping: roll back (the key too) so that a retry runs again.
                        transaction.set_rollback(True)
                        return response
                    record.status_code = response.status_code
                    record.response = _jsonable(response.data)
                    record.save(update_fields=["status_code", "response"])
                    return response
            existing = (
                IdempotencyKey.objects.filter(user=request.user, endpoint=endpoint, key=key)
                .only("request_hash", "status_code", "response", "created_at")
                .first()
            )
            if existing is None:  # the first request was rolled back meanwhile: claim the key again
                continue
            if existing.created_at < timezone.now() - IDEMPOTENCY_KEY_TTL:
                # An expired key that was not purged yet: forget it and treat the request as new.
                IdempotencyKey.objects.filter(pk=existing.pk, created_at=existing.created_at).delete()
                continue
            return _replay(existing, fingerprint=fingerprint, endpoint=endpoint, key=key)
        return Response(
            {"detail": f"The {HEADER} {key!r} is being used by another request right now: retry in a moment."},
            status=status.HTTP_409_CONFLICT,
        )

    return wrapper


def _claim(*, user, endpoint: str, key: str, fingerprint: str) -> IdempotencyKey | None:
    """Insert the key row (``None`` when another request holds the key: then it is read outside this transaction)."""
    try:
        with transaction.atomic():  # a savepoint: the failed insert must not break the outer transaction
            return IdempotencyKey.objects.create(user=user, endpoint=endpoint, key=key, request_hash=fingerprint)
    except IntegrityError:
        return None


def _run(view, view_method: Callable[..., Response], request: Request, *args: Any, **kwargs: Any) -> Response:
    """The view's answer, with an API error (400, 403, 404, 409 …) turned into its response so it can be stored."""
    try:
        with transaction.atomic():  # a savepoint: a failed view leaves the key row usable
            return view_method(view, request, *args, **kwargs)
    except Exception as exc:
        # handle_exception answers the API errors and re-raises anything else (a 500: nothing is stored).
        return view.handle_exception(exc)


def _replay(record: IdempotencyKey, *, fingerprint: str, endpoint: str, key: str) -> Response:
    if record.request_hash != fingerprint:
        return Response(
            {
                "detail": (
                    f"The {HEADER} {key!r} was already used for {endpoint} with a different request body. "
                    "Send the same body to get the first answer again, or use a new key for a new request."
                )
            },
            status=status.HTTP_422_UNPROCESSABLE_ENTITY,
        )
    if record.status_code is None:
        return Response(
            {"detail": f"The request with {HEADER} {key!r} is still being processed: retry in a moment."},
            status=status.HTTP_409_CONFLICT,
        )
    response = Response(record.response, status=record.status_code)
    response[REPLAY_HEADER] = "true"
    return response


def _jsonable(data: Any) -> Any:
    """Response data (Decimals, dates, lazy strings, ErrorDetail) as plain JSON values for the JSONField."""
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))
