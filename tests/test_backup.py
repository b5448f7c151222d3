"""Backup and restore round trip on the database the suite runs on (SQLite here, PostgreSQL in CI's second run)."""

import json
import tarfile

import pytest
from django.core.management import CommandError, call_command

from contacts.models import Account
from sfa.backup import backup_create, backup_restore
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def media(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    (settings.MEDIA_ROOT / "imports").mkdir()
    (settings.MEDIA_ROOT / "imports" / "list.csv").write_text("name\nAda\n")
    return settings.MEDIA_ROOT


def test_round_trip_brings_back_records_and_files(tmp_path, media):
    owner = UserFactory(username="keeper")
    Account.objects.create(name="Kept GmbH", owner=owner)
    archive = tmp_path / "backup.tar.gz"
    manifest = backup_create(path=archive)
    assert manifest["counts"]["contacts.Account"] == 1 and manifest["migrations"]

    Account.objects.update(name="Changed after the backup")
    Account.objects.create(name="Made after the backup", owner=owner)
    (media / "imports" / "list.csv").unlink()
    (media / "stray.txt").write_text("new")

    backup_restore(path=archive)
    assert list(Account.objects.values_list("name", flat=True)) == ["Kept GmbH"]
    assert (media / "imports" / "list.csv").read_text() == "name\nAda\n"
    assert not (media / "stray.txt").exists()


def test_archive_holds_manifest_database_and_media(tmp_path, media):
    archive = tmp_path / "b.tar.gz"
    call_command("backup", str(archive))
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        manifest = json.loads(tar.extractfile("manifest.json").read())
    assert manifest["database"] in names and "media/imports/list.csv" in names
    assert not (tmp_path / "b.tar.gz.partial").exists()


def test_restore_refuses_what_is_not_a_backup_and_changes_nothing(tmp_path, media):
    UserFactory(username="stays")
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not a tarball")
    with pytest.raises(CommandError, match="not a readable backup"):
        call_command("restore", str(junk), "--yes")
    empty = tmp_path / "empty.tar.gz"
    with tarfile.open(empty, "w:gz"):
        pass
    with pytest.raises(CommandError, match="no manifest"):
        call_command("restore", str(empty), "--yes")
    with pytest.raises(CommandError, match="No backup file"):
        call_command("restore", str(tmp_path / "missing.tar.gz"), "--yes")
    assert (media / "imports" / "list.csv").exists()
    from sfa.models import User

    assert User.objects.filter(username="stays").exists()


def test_restore_refuses_a_backup_from_a_newer_version(tmp_path, media):
    archive = tmp_path / "b.tar.gz"
    backup_create(path=archive)
    with tarfile.open(archive) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())
        members = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}
    manifest["migrations"].append("contacts.9999_from_the_future")
    members["manifest.json"] = json.dumps(manifest).encode()
    newer = tmp_path / "newer.tar.gz"
    import io

    with tarfile.open(newer, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    with pytest.raises(CommandError, match="newer SFA"):
        call_command("restore", str(newer), "--yes")
