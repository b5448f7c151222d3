"""Every page needs a login unless its view says otherwise (``login_not_required``)."""

from django.contrib.auth.middleware import LoginRequiredMiddleware as DjangoLoginRequiredMiddleware


class LoginRequiredMiddleware(DjangoLoginRequiredMiddleware):
    """Django's login-required middleware, minus the REST API.

    API views authenticate by session or token and answer 401/403 as JSON through their permission
    classes (sfa.api.permissions.PolicyPermission) instead of redirecting to the login page.
    """

    def process_view(self, request, view_func, view_args, view_kwargs):
        if getattr(view_func, "cls", None) is not None and hasattr(view_func.cls, "permission_classes"):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)
