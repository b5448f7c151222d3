"""Pagination convention of every list endpoint: cursor (keyset) pages of ``page_size`` (max 500)."""

from rest_framework import pagination


class CursorPagination(pagination.CursorPagination):
    """Keyset pagination: stable under inserts and as fast on page 1,000 as on page 1.

    Views set ``ordering`` to a unique, indexed ordering (ending in the primary key).
    """

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    ordering = "-pk"
