from django.urls import resolve

from sfa.ui import nav_items


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    match = getattr(request, "resolver_match", None) or resolve(request.path_info)
    return {
        "nav_main": nav_items(user, "main"),
        "nav_admin": nav_items(user, "admin"),
        "nav_current": match.view_name if match else "",
    }
