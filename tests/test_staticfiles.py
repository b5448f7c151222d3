from pathlib import Path

from django.contrib.staticfiles import finders
from django.core.management import call_command


def test_plotly_bundle_is_found_in_its_package():
    found = finders.find("vendor/plotly.min.js")
    assert found and Path(found).name == "plotly.min.js" and Path(found).stat().st_size > 1_000_000
    assert finders.find("vendor/widgetbundle.js") is None  # only the listed file is exposed


def test_collectstatic_copies_the_bundle(tmp_path, settings):
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    call_command("collectstatic", interactive=False, verbosity=0)
    assert (tmp_path / "vendor" / "plotly.min.js").stat().st_size > 1_000_000
    assert not (tmp_path / "vendor" / "datasets").exists()
