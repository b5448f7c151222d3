from django.urls import Resolver404, resolve

from sfa.ui import nav_items, search_box

# The top bar shows the first entries (by their order) and puts the rest under "More", so that the bar
# never scrolls out of sight as apps add entries.
NAV_VISIBLE = 6


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
    main = nav_items(user, "main")
    current = match.view_name if match else ""
    more = main[NAV_VISIBLE:]
    return {
        "nav_main": main[:NAV_VISIBLE],
        "nav_more": more,
        "nav_more_current": any(item.url_name == current for item in more),
        "nav_admin": nav_items(user, "admin"),
        "nav_current": current,
        "search_box": search_box(),
    }
