"""Forms of the order-history import wizard: HTML input cleaning only; orders.imports decides the rest. The
mapping and encoding forms are the wizards' shared ones (sfa.import_wizard)."""

from __future__ import annotations

from orders.imports import limits_text
from sfa.import_wizard import UploadForm


class OrderImportUploadForm(UploadForm):
    file_label = "File of past orders"
    limits = staticmethod(limits_text)
