"""Imports of historical orders (CSV): upload, map, preview, run, report, undo."""

import_urlpatterns: list = []
