"""Static files that ship inside installed Python packages, served under our own static URL.

Plotly's JavaScript bundle comes with the ``plotly`` package (``plotly/package_data/plotly.min.js``), so
the charts need no CDN and nothing third-party is committed. ``PackageFileFinder`` exposes the files
listed in ``PACKAGE_STATIC_FILES`` (static path -> (package, file inside it)) to ``collectstatic``,
whitenoise and ``runserver``, and nothing else of those packages.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage

PACKAGE_STATIC_FILES = {
    "vendor/plotly.min.js": ("plotly", "package_data/plotly.min.js"),
}


def _source(static_path: str) -> Path | None:
    package, inner = PACKAGE_STATIC_FILES[static_path]
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / inner
    return path if path.is_file() else None


class _PrefixedStorage(FileSystemStorage):
    """A storage rooted at the package file's folder, answering for the one static path."""

    def __init__(self, static_path: str, source: Path):
        super().__init__(location=str(source.parent))
        self.prefix = None
        self._static_path = static_path
        self._name = source.name

    def path(self, name: str) -> str:
        return super().path(self._name if name == self._static_path else name)


class PackageFileFinder(BaseFinder):
    def check(self, **kwargs):
        return []

    def find(self, path: str, find_all: bool = False, **kwargs):
        if path in PACKAGE_STATIC_FILES and (source := _source(path)):
            return [str(source)] if find_all else str(source)
        return []

    def list(self, ignore_patterns):
        for static_path in PACKAGE_STATIC_FILES:
            if source := _source(static_path):
                yield static_path, _PrefixedStorage(static_path, source)
