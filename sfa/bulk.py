"""Writing many rows fast: PostgreSQL's ``COPY … FROM STDIN`` from plain values.

Django's ``bulk_create`` builds a model instance per row and an INSERT with a parameter per value; for
tens of thousands of rows (an import's contacts, a forecast run's points, the sales ledger) the time goes
to Python, not to the database. ``copy_insert`` writes tuples in COPY's text format instead;
``copy_converter`` gives the writer of one field's values (leads.imports builds its own rows with it).
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from typing import Any

from django.db import connection

COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_converter(field: Any) -> Callable[[Any], str]:
    """A function writing a value of ``field`` in COPY's text format (NULL as \\N)."""
    if field.get_internal_type() == "JSONField":
        encoder = field.encoder

        def convert(value: Any) -> str:
            if value is None:
                return "\\N"
            if not value and type(value) in (list, dict):
                return "[]" if type(value) is list else "{}"
            return json.dumps(value, cls=encoder, ensure_ascii=False).translate(COPY_ESCAPES)

        return convert

    def plain(value: Any) -> str:
        kind = type(value)
        if kind is str:
            return value.translate(COPY_ESCAPES)
        if kind is int:
            return str(value)
        if value is None:
            return "\\N"
        if kind is bool:
            return "t" if value else "f"
        if isinstance(value, date | datetime):
            return value.isoformat()
        return str(value).translate(COPY_ESCAPES)

    return plain


def copy_insert(model: type, fields: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Insert ``rows`` (values in ``fields`` order; attnames such as ``series_id``) with one COPY (PostgreSQL
    only). Fields left out get NULL or the column's database default. Returns the number of rows."""
    opts = model._meta
    columns = [opts.get_field(name) for name in fields]
    converters = [copy_converter(field) for field in columns]
    text = io.StringIO()
    count = 0
    for row in rows:
        text.write("\t".join([convert(value) for convert, value in zip(converters, row, strict=True)]))
        text.write("\n")
        count += 1
    text.seek(0)
    quote = connection.ops.quote_name
    names = ", ".join(quote(field.column) for field in columns)
    with connection.cursor() as cursor:
        cursor.copy_expert(f"COPY {quote(opts.db_table)} ({names}) FROM STDIN", text)
    return count
