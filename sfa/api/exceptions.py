"""API errors shared by every app: the exception handler, the 409 answer and the service-refusal wrapper.

Services and selectors refuse bad input with Django's ``ValidationError`` (a filter that takes numbers
given words, a date out of range). ``api_exception_handler`` (DRF's, plus that one) turns any that escapes
a view into the same 400 with field messages that ``as_drf_error`` gives; Django's ``PermissionDenied`` is a
403 in DRF's own handler. ``service_errors`` does the same inside a view, and can answer 409 instead for
a refusal of the record's state. Apps with more to map (contacts' field names, orders' transitions) wrap
it in their own.

A lost database connection (``sfa.middleware.is_database_unavailable``) is the same 503 with
``Retry-After`` and ``{"detail": ...}`` that ``sfa.middleware.DatabaseUnavailableMiddleware`` answers for pages.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import status
from rest_framework.exceptions import APIException, PermissionDenied
from rest_framework.views import exception_handler

from sfa.middleware import (
    DATABASE_RETRY_AFTER,
    DATABASE_UNAVAILABLE,
    is_database_unavailable,
    log_database_unavailable,
)


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state of the record."
    default_code = "conflict"


class DatabaseUnavailable(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = DATABASE_UNAVAILABLE
    default_code = "database_unavailable"
    wait = DATABASE_RETRY_AFTER  # DRF's handler sends it as Retry-After


def api_exception_handler(exc, context):
    if is_database_unavailable(exc):
        log_database_unavailable(context["request"], exc)
        exc = DatabaseUnavailable()
    elif isinstance(exc, DjangoValidationError):
        from sfa.api.views import as_drf_error

        exc = as_drf_error(exc)
    return exception_handler(exc, context)


@contextmanager
def service_errors(*, conflict: bool = False) -> Iterator[None]:
    """A service's ValidationError as 400 (field messages kept) — or 409 when ``conflict`` and the refusal
    names no field —, its PermissionDenied as 403."""
    from sfa.api.views import as_drf_error

    try:
        yield
    except DjangoValidationError as exc:
        if conflict and not hasattr(exc, "error_dict"):
            raise Conflict(" ".join(exc.messages)) from exc
        raise as_drf_error(exc) from exc
    except DjangoPermissionDenied as exc:
        raise PermissionDenied(str(exc) or None) from exc
