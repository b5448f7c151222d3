from django.urls import Resolver404, resolve

from sfa.ui import nav_items, search_box


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    match = getattr(request, "resolver_match", None)
    if match is None:
        try:
            match = resolve(request.path_info)
        except Resolver404:  # rendering the 404 page itself
            match = None
    return {
        "nav_main": nav_items(user, "main"),
        "nav_admin": nav_items(user, "admin"),
        "nav_current": match.view_name if match else "",
        "search_box": search_box(),
    }
