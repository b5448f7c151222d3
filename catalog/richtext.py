"""Product descriptions are rich text written by people and shown as HTML: sanitised on save and on output.

nh3 (Rust's ammonia) parses the HTML like a browser and keeps only the tags and attributes below, so
a description can carry headings, lists, links and tables but never a script, a style, an event
handler or a ``javascript:`` link. Templates print it with the ``richtext`` filter
(``catalog/templatetags/richtext.py``), which sanitises it once more.
"""

from __future__ import annotations

import nh3

ALLOWED_TAGS = {
    "p", "br", "strong", "em", "b", "i", "u", "s", "sub", "sup", "small", "code", "pre", "blockquote", "hr",
    "h3", "h4", "ul", "ol", "li", "dl", "dt", "dd", "a", "table", "thead", "tbody", "tr", "th", "td", "caption",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"scope", "colspan", "rowspan"}, "td": {"colspan", "rowspan"}}
URL_SCHEMES = {"http", "https", "mailto"}


def sanitise_html(html: str) -> str:
    """``html`` with everything but harmless formatting removed; links open nothing but their target."""
    if not html:
        return ""
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    ).strip()
