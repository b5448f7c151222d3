"""Request middleware: pages need a login unless their view says otherwise; a NUL in a query string is a 400."""

from django.contrib.auth.middleware import LoginRequiredMiddleware as DjangoLoginRequiredMiddleware
from django.http import HttpResponseBadRequest


class LoginRequiredMiddleware(DjangoLoginRequiredMiddleware):
    """Django's login-required middleware, minus the REST API.

    API views authenticate by session or token and answer 401/403 as JSON through their permission
    classes (sfa.api.permissions.PolicyPermission) instead of redirecting to the login page.
    """

    def process_view(self, request, view_func, view_args, view_kwargs):
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
