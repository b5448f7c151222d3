"""Request middleware: pages need a login unless their view says otherwise; a NUL in a query string is a 400;
a database that cannot be reached is a 503 with Retry-After, not a 500."""

import logging

from django.contrib.auth.middleware import LoginRequiredMiddleware as DjangoLoginRequiredMiddleware
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, HttpResponseBadRequest, JsonResponse
from django.template.loader import render_to_string

logger = logging.getLogger(__name__)

# PostgreSQL's error codes of an outage: connection exceptions (class 08), the server shutting down or
# restarting (57P01-57P03), too many connections (53300). Other OperationalErrors (a statement timeout, a
# full disk, a missing table) are not cured by retrying in a few seconds: they stay 500s with a traceback.
OUTAGE_PGCODES = ("57P01", "57P02", "57P03", "53300")
PERMANENT_MESSAGES = ("no such table", "no such column", "has no column", "syntax error")  # SQLite's, no pgcode


def is_database_unavailable(exc: BaseException) -> bool:
    """True for the errors of a lost or refused database connection (answer 503 and let the client retry)."""
    if isinstance(exc, InterfaceError):  # the connection was closed under us
        return True
    if not isinstance(exc, OperationalError):
        return False
    pgcode = getattr(exc.__cause__, "pgcode", None)
    if pgcode:
        return pgcode.startswith("08") or pgcode in OUTAGE_PGCODES
    # No code: the driver could not reach the server (refused, closed unexpectedly), or SQLite's errors,
    # of which a locked database file is the transient one.
    message = str(exc).lower()
    return not any(text in message for text in PERMANENT_MESSAGES)


DATABASE_UNAVAILABLE = "The database is unavailable; try again in a few seconds."
DATABASE_RETRY_AFTER = 5  # seconds, sent as Retry-After


def log_database_unavailable(request, exc: Exception) -> None:
    """One warning line per request that met the outage (no traceback: an outage fails every request)."""
    detail = " ".join(str(exc).split()) or "no message"
    logger.warning(
        "Database unavailable, answered 503: %s %s: %s: %s", request.method, request.path, type(exc).__name__, detail
    )


class LoginRequiredMiddleware(DjangoLoginRequiredMiddleware):
    """Django's login-required middleware, minus the REST API.

    API views authenticate by session or token and answer 401/403 as JSON through their permission
    classes (sfa.api.permissions.PolicyPermission) instead of redirecting to the login page.
    """

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not getattr(view_func, "login_required", True):
            return None  # a public page (the configurator, /healthz) reads no session before its view
        if getattr(view_func, "cls", None) is not None and hasattr(view_func.cls, "permission_classes"):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)


class RejectNulBytesMiddleware:
    """A NUL character in a query parameter answers 400 before any view runs.

    PostgreSQL cannot hold NUL in text, so a search or filter value carrying one would end in a 500 on
    PostgreSQL (and silently differ on SQLite). Form and serializer fields already refuse NUL in what is
    posted; query strings reach selectors as they are, so they are checked here, once.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "%00" in request.META.get("QUERY_STRING", "") or any(
            "\x00" in value for values in request.GET.lists() for value in values[1]
        ):
            return HttpResponseBadRequest("A query parameter contains a NUL character.", content_type="text/plain")
        return self.get_response(request)


class DatabaseUnavailableMiddleware:
    """A database error of the outage kind (``is_database_unavailable``) answers 503 with ``Retry-After``.

    Pages get templates/503.html (self-contained: rendering it needs no database), /api/ paths the JSON
    ``{"detail": ...}`` that DRF's handler (sfa.api.exceptions) gives the API views it reaches first. Any other
    database error (an IntegrityError is a bug or a race to fix) stays a 500. The connection that failed is
    dropped at the end of the request (CONN_HEALTH_CHECKS), so the next one reconnects: no app restart.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not getattr(view_func, "login_required", True):
            return None  # a public page (the configurator, /healthz) reads no session before its view
        # Django sends an exception raised by a later middleware's process_view straight to the 500 page,
        # past every process_exception; LoginRequiredMiddleware (next) is where a page first reads the session
        # and the user. Load them here instead, where an outage can still be answered (lazy, kept on the
        # request: no extra query).
        try:
            request.user.is_authenticated  # noqa: B018 - evaluated for its database reads
        except (OperationalError, InterfaceError) as exc:
            if not is_database_unavailable(exc):
                raise
            return self.process_exception(request, exc)
        return None

    def process_exception(self, request, exception):
        if not is_database_unavailable(exception):
            return None
        log_database_unavailable(request, exception)
        if request.path.startswith("/api/"):
            response = JsonResponse({"detail": DATABASE_UNAVAILABLE}, status=503)
        else:
            response = HttpResponse(render_to_string("503.html", {"message": DATABASE_UNAVAILABLE}), status=503)
        response["Retry-After"] = str(DATABASE_RETRY_AFTER)
        return response
