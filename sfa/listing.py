"""Keyset pagination and sorting for HTML lists: every list page in every app uses ``keyset_page``.

Offsets get slower with every page and skip or repeat rows while others insert; a keyset page asks for
"the next N rows after (sort value, id)", which an index answers directly. Sort fields must be
non-null (order by a Coalesce'd annotation otherwise).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet

from sfa.audit import to_json

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


@dataclass(frozen=True)
class Sort:
    key: str  # what the URL says (?sort=name or ?sort=-name)
    field: str  # the model field or annotation ordered by
    label: str


@dataclass
class Page:
    rows: list[Any]
    sort: str
    next_cursor: str | None = None
    prev_cursor: str | None = None
    page_size: int = DEFAULT_PAGE_SIZE
    sorts: list[Sort] = field(default_factory=list)

    @property
    def has_other_pages(self) -> bool:
        return bool(self.next_cursor or self.prev_cursor)

    @property
    def columns(self) -> dict[str, dict[str, str]]:
        """Per sort key: its label, the ``sort`` value a click on its header asks for, and its aria-sort state."""
        active_key, descending = self.sort.lstrip("-"), self.sort.startswith("-")
        out = {}
        for s in self.sorts:
            if s.key == active_key:
                out[s.key] = {
                    "label": s.label,
                    "next": s.key if descending else f"-{s.key}",
                    "state": "descending" if descending else "ascending",
                }
            else:
                out[s.key] = {"label": s.label, "next": s.key, "state": "none"}
        return out


def _encode(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(to_json(values)).encode()).decode().rstrip("=")


def _decode(cursor: str) -> tuple[str, Any, Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        direction, value, pk = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError, binascii.Error) as exc:
        raise ValidationError({"cursor": "This page link is damaged; go back to the first page."}) from exc
    if direction not in ("n", "p"):
        raise ValidationError({"cursor": "This page link is damaged; go back to the first page."})
    return direction, value, pk


def keyset_page(queryset: QuerySet, params: Any, *, sorts: list[Sort], default: str) -> Page:
    """One page of ``queryset`` as asked by ``params`` (``sort``, ``cursor``, ``page_size``)."""
    by_key = {s.key: s for s in sorts}
    sort_param = params.get("sort") or default
    descending = sort_param.startswith("-")
    sort = by_key.get(sort_param.lstrip("-"))
    if sort is None:
        raise ValidationError({"sort": f"Cannot sort by {sort_param!r}; choose one of {', '.join(by_key)}."})
    try:
        size = min(MAX_PAGE_SIZE, max(1, int(params.get("page_size") or DEFAULT_PAGE_SIZE)))
    except ValueError as exc:
        raise ValidationError({"page_size": "The page size must be a whole number."}) from exc

    cursor = params.get("cursor")
    direction, value, pk = _decode(cursor) if cursor else ("n", None, None)
    backwards = direction == "p"
    # Going back means walking the same order reversed from the cursor, then flipping the rows.
    walk_descending = descending != backwards
    op = "lt" if walk_descending else "gt"
    prefix = "-" if walk_descending else ""
    qs = queryset.order_by(f"{prefix}{sort.field}", f"{prefix}pk")
    if cursor:
        # The redundant bound (field <= value) lets PostgreSQL start the index scan at the cursor: the OR
        # alone is no index range, and a page half a million rows deep then walked every row before it.
        qs = qs.filter(**{f"{sort.field}__{op}e": value}).filter(
            Q(**{f"{sort.field}__{op}": value}) | Q(**{sort.field: value, f"pk__{op}": pk})
        )
    rows = list(qs[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    if backwards:
        rows.reverse()

    def key_of(row: Any) -> list[Any]:
        target = row
        for step in sort.field.split("__"):
            target = getattr(target, step)
        return [target, row.pk]

    page = Page(rows=rows, sort=sort_param, page_size=size, sorts=sorts)
    if rows:
        has_next = more if not backwards else True
        has_prev = bool(cursor) if not backwards else more
        if has_next:
            page.next_cursor = _encode(["n", *key_of(rows[-1])])
        if has_prev:
            page.prev_cursor = _encode(["p", *key_of(rows[0])])
    return page
