"""Find the same people in a CSV file (or between two files) with the app's matching engine and thresholds."""

from __future__ import annotations

import csv
import sys
from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from contacts.matching.engine import LINK, pairs_between, pairs_within
from contacts.matching.quality import row_record

FIELDS = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "company",
    "street",
    "city",
    "postcode",
    "region",
    "country",
    "birth_date",
)


def read_records(path: str, mapping: dict[str, str], stderr) -> list:
    try:
        handle = Path(path).open(newline="", encoding="utf-8-sig")  # noqa: SIM115 (closed by the with below)
    except OSError as exc:
        raise CommandError(f"Cannot read {path}: {exc.strerror}.") from exc
    with handle:
        try:
            reader = csv.DictReader(handle)
            header = [mapping.get(h.strip(), h.strip()) for h in (reader.fieldnames or [])]
        except (UnicodeDecodeError, csv.Error) as exc:
            raise CommandError(f"{path} is not a UTF-8 CSV file: {exc}") from exc
        if "id" not in header:
            raise CommandError(f"{path} has no 'id' column (its columns: {', '.join(header) or 'none'}).")
        records = []
        try:
            for line, raw in enumerate(reader, start=2):
                row = {mapping.get(k.strip(), k.strip()): (v or "").strip() for k, v in raw.items() if k}
                data = {k: row.get(k, "") for k in FIELDS}
                data["id"] = row["id"]
                if data["birth_date"]:
                    try:
                        data["birth_date"] = date.fromisoformat(data["birth_date"])
                    except ValueError:
                        stderr.write(f"{path}:{line}: birth_date {data['birth_date']!r} is not YYYY-MM-DD; ignored")
                        data["birth_date"] = None
                else:
                    data["birth_date"] = None
                records.append(row_record(data))
        except (UnicodeDecodeError, csv.Error) as exc:
            raise CommandError(f"{path}, around line {reader.line_num}: {exc}") from exc
    return records


class Command(BaseCommand):
    help = (
        "Write id_a,id_b,score for every pair of INPUT (or of INPUT and --link OTHER) that the matching "
        f"engine judges to be the same person (score >= {LINK}). Columns: id and any of {', '.join(FIELDS)}."
    )

    def add_arguments(self, parser):
        parser.add_argument("input")
        parser.add_argument("--output", required=True, help="PAIRS.csv, or - for standard output")
        parser.add_argument("--link", help="Match INPUT's records against OTHER.csv instead of within INPUT")
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="SOURCE=FIELD",
            help="Read column SOURCE as FIELD (repeatable), e.g. --map Surname=last_name",
        )
        parser.add_argument("--threshold", type=float, default=LINK, help=f"Minimum score (default {LINK})")

    def handle(self, *args, **o):
        mapping = {}
        for item in o["map"]:
            source, sep, target = item.partition("=")
            if not sep or target not in (*FIELDS, "id"):
                raise CommandError(f"--map {item!r}: write SOURCE=FIELD with FIELD one of id, {', '.join(FIELDS)}.")
            mapping[source.strip()] = target
        left = read_records(o["input"], mapping, self.stderr)
        pairs = (
            pairs_between(left, read_records(o["link"], mapping, self.stderr), o["threshold"])
            if o["link"]
            else pairs_within(left, o["threshold"])
        )
        out = sys.stdout if o["output"] == "-" else Path(o["output"]).open("w", newline="", encoding="utf-8")  # noqa: SIM115
        count = 0
        try:
            writer = csv.writer(out)
            writer.writerow(["id_a", "id_b", "score"])
            for a, b, evidence in pairs:
                writer.writerow([a.id, b.id, f"{evidence.score:.4f}"])
                count += 1
        finally:
            if out is not sys.stdout:
                out.close()
        self.stderr.write(f"{len(left):,} records read, {count:,} pairs written.")
