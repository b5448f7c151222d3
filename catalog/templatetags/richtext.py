"""``{{ text|richtext }}``: rich text shown as HTML, sanitised again as it is rendered.

Services sanitise rich text on save (``catalog.richtext``); sanitising on output as well means a value
that reached the database another way (a raw import, the admin, an old row) still cannot run a script.
"""

from django import template
from django.utils.safestring import mark_safe

from catalog.richtext import sanitise_html

register = template.Library()


@register.filter
def richtext(value: str) -> str:
    return mark_safe(sanitise_html(value or ""))  # noqa: S308 (sanitised by nh3 just above)
