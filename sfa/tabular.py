"""Reading uploaded tables (CSV or XLSX) for the import wizards, and mapping their columns to fields.

What every import needs before it knows what a row means, used by the list imports (leads/imports.py) and
the order-history imports (orders/imports.py) alike:

- ``inspect_upload`` reads an upload once: encoding (BOM, UTF-8, else charset-normalizer with a
  Western-European preference), delimiter (csv.Sniffer, else the most frequent of , ; tab |), header and
  row count, within the caller's limits. A file that cannot become a table (empty, binary, header-less,
  wrongly encoded, too big) raises a ValidationError on ``file`` that says why.
- ``read_rows`` / ``sample_rows`` read the stored file again, row by row, as the import recorded it.
- ``HeaderNames`` and ``mapping_guess`` guess which column holds which field from the column names;
  ``column_mapping_errors`` says what is wrong with a mapping; ``mapping_update`` applies a user's changes.
- ``country_code`` reads a country cell; ``csv_lines`` writes rows back as CSV (the rejected rows).

The import record an app stores is read through its ``file``, ``encoding`` and ``delimiter`` only.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property
from typing import Any, Protocol

from django.core.exceptions import ValidationError
from django.core.files.base import File

from sfa.jobs import JobError

SAMPLE_BYTES = 64 * 1024  # bytes read to detect the encoding and the delimiter


class StoredTable(Protocol):
    """An import record as the reading here needs it: the stored file and how it was read."""

    file: Any
    encoding: str
    delimiter: str


def megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):,.0f} MB" if size >= 1024 * 1024 else f"{size / 1024:,.0f} KB"


def _folded(text: str) -> str:
    """Lower case, accents removed (é -> e, ß -> ss): how column names and country names are compared."""
    text = unicodedata.normalize("NFKD", text or "")
    return "".join(c for c in text if not unicodedata.combining(c)).casefold()


def header_key(text: str) -> str:
    """A column name for comparison: folded, letters and digits only ("E-Mail privat" -> "emailprivat")."""
    return re.sub(r"[^a-z0-9]", "", _folded(text))


# --- Mapping columns to fields ----------------------------------------------------------------------

IGNORE = "ignore"


@dataclass(frozen=True)
class HeaderNames:
    """How people name the columns of one kind of import, to guess a column's field from its name.

    ``aliases``: field -> the header keys (``header_key``) that name it, space-separated; a trailing number
    is ignored ("Telefon2"). ``prefixes`` then ``contains``: (word, field) tried in order on the header
    key when no alias fits, a word at its start, then a word anywhere in it ("Firmentelefon").
    """

    aliases: dict[str, str]
    contains: tuple[tuple[str, str], ...] = ()
    prefixes: tuple[tuple[str, str], ...] = ()

    @cached_property
    def _alias(self) -> dict[str, str]:
        return {alias: name for name, words in self.aliases.items() for alias in words.split()}

    def guess(self, header: str) -> str | None:
        key = header_key(header)
        for candidate in (key, key.rstrip("0123456789")):
            if candidate in self._alias:
                return self._alias[candidate]
        for word, name in self.prefixes:
            if key.startswith(word):
                return name
        for word, name in self.contains:
            if word in key:
                return name
        return None


def mapping_guess(header: list[str], *passes: Callable[[str], str | None]) -> dict[str, str]:
    """Column -> field for ``header``: each pass in turn offers a field for the columns not mapped yet (or
    None). A field goes to one column at most, the first that claims it; IGNORE to any number."""
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for guess in passes:
        for column in header:
            if column in mapping:
                continue
            target = guess(column)
            if target and (target == IGNORE or target not in used):
                mapping[column] = target
                used.add(target)
    return {column: mapping.get(column, IGNORE) for column in header}


def column_mapping_errors(
    header: list[str], mapping: dict[str, str], *, fields: dict, required, row_noun: str
) -> list[str]:
    """A column mapping's problems for any import: ``fields`` maps a target to (label, …); ``required`` names
    the targets every row needs; ``row_noun`` says what a row becomes ("lead", "order line")."""
    errors = []
    unknown_columns = [c for c in mapping if c not in header]
    if unknown_columns:
        errors.append(f"The file has no column {', '.join(repr(c) for c in unknown_columns)}.")
    unknown = sorted({t for t in mapping.values() if t not in fields and t != IGNORE})
    if unknown:
        errors.append(f"Unknown field {', '.join(repr(t) for t in unknown)}.")
    taken = Counter(t for t in mapping.values() if t != IGNORE)
    for target, times in taken.items():
        if times > 1 and target in fields:
            columns = ", ".join(c for c, t in mapping.items() if t == target)
            errors.append(f"{fields[target][0]} is chosen for {times} columns ({columns}): choose one.")
    for target in required:
        if target not in taken:
            errors.append(f"Choose the column that holds the {fields[target][0].lower()}: every {row_noun} needs one.")
    return errors


def mapping_update(header: list[str], current: dict[str, str], changes: dict[str, str]) -> dict[str, str]:
    """The whole mapping after a user's ``changes``: every column of ``header`` (as changed, else as it was,
    else ignored), and the changes' columns the file does not have (for ``column_mapping_errors`` to name)."""
    changes = {str(k): str(v) for k, v in changes.items()}
    full = {column: changes.get(column, current.get(column, IGNORE)) for column in header}
    full.update({k: v for k, v in changes.items() if k not in full})
    return full


# --- Reading files ------------------------------------------------------------------------------------

ENCODING_LABELS = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8 (with byte-order mark)",
    "utf-16": "UTF-16",
    "utf_16_le": "UTF-16 LE",
    "utf_16_be": "UTF-16 BE",
    "utf-32": "UTF-32",
    "cp1252": "Windows-1252 (Western European)",
    "iso8859_15": "ISO-8859-15 (Latin-9)",
    "latin_1": "ISO-8859-1 (Latin-1)",
    "cp1250": "Windows-1250 (Central European)",
    "mac_roman": "Mac Roman",
    "cp850": "DOS Latin-1 (850)",
    "xlsx": "Excel workbook",
}
ENCODING_CHOICES = [("", "Detect"), *((k, v) for k, v in ENCODING_LABELS.items() if k not in ("xlsx",))]
# When several encodings read a sample equally well (short files often do), the commonest wins.
_PREFERRED = ("cp1252", "iso8859_15", "latin_1", "cp1250", "utf_16", "utf_16_le", "utf_16_be")
DELIMITERS = ",;\t|"
DELIMITER_LABELS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "vertical bar"}
_SIGNATURES = (
    (
        b"\xd0\xcf\x11\xe0",
        "This is an old Excel file (.xls). Open it in Excel or LibreOffice and save it as .xlsx or CSV.",
    ),
    (b"%PDF", "This is a PDF document, not a list. Upload the list as CSV or Excel (.xlsx)."),
    (b"\x89PNG", "This is an image, not a list. Upload the list as CSV or Excel (.xlsx)."),
    (b"\xff\xd8\xff", "This is an image, not a list. Upload the list as CSV or Excel (.xlsx)."),
    (b"GIF8", "This is an image, not a list. Upload the list as CSV or Excel (.xlsx)."),
    (b"\x1f\x8b", "This is a compressed (gzip) file. Unpack it and upload the CSV inside."),
)
_EMAIL_LIKE = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$", re.IGNORECASE)
_NUMBER_LIKE = re.compile(r"^[+(]?[\d\s()./-]{5,}$")
_DATE_LIKE = re.compile(r"^\d{1,4}[./-]\d{1,2}[./-]\d{1,4}$")


@dataclass
class FileInfo:
    """What reading an upload found."""

    kind: str  # csv or xlsx
    encoding: str
    delimiter: str
    header: list[str]
    row_count: int


def encoding_label(encoding: str) -> str:
    return ENCODING_LABELS.get(encoding, encoding)


def delimiter_label(delimiter: str) -> str:
    return DELIMITER_LABELS.get(delimiter, delimiter)


def file_error(message: str) -> ValidationError:
    return ValidationError({"file": message})


def inspect_upload(upload: File, *, encoding: str = "", max_rows: int | None, max_bytes: int) -> FileInfo:
    """Read the whole upload once and say what it is; raise a ValidationError that says why it cannot be a
    table. ``max_rows`` None reads any number of rows (the caller judges the count)."""
    size = upload.size or 0
    if size == 0:
        raise file_error("The file is empty.")
    if size > max_bytes:
        raise file_error(f"The file is {megabytes(size)}; at most {megabytes(max_bytes)} can be imported.")
    upload.seek(0)
    head = upload.read(SAMPLE_BYTES)
    upload.seek(0)
    if not head.strip():
        raise file_error("The file is empty.")
    for signature, message in _SIGNATURES:
        if head.startswith(signature):
            raise file_error(message)
    try:
        if head.startswith(b"PK\x03\x04"):
            return _inspect_xlsx(upload, max_rows=max_rows)
        if (upload.name or "").lower().endswith((".xlsx", ".xlsm")):
            raise file_error("The file is named like an Excel workbook but is not one. Save it again as .xlsx or CSV.")
        return inspect_csv(upload, encoding=encoding, max_rows=max_rows)
    finally:
        upload.seek(0)


def inspect_csv(upload: File, *, encoding: str, max_rows: int | None) -> FileInfo:
    """Read a CSV upload in ``encoding`` (detected when empty) as ``inspect_upload`` does."""
    if encoding and encoding not in ENCODING_LABELS:
        raise ValidationError({"encoding": f"Unknown encoding {encoding!r}."})
    encoding = encoding or detect_encoding(upload)
    upload.seek(0)
    with _text(upload, encoding) as text:
        try:
            sample = text.read(SAMPLE_BYTES)
        except UnicodeDecodeError as exc:
            raise _decode_error(encoding, 1) from exc
    if _looks_binary(sample):
        raise file_error("This is not a text file (it holds binary data). Upload the list as CSV or Excel (.xlsx).")
    delimiter = sniff_delimiter(sample)
    upload.seek(0)
    with _text(upload, encoding) as text:
        rows = _checked_csv_rows(_CsvRows(text, delimiter), upload, encoding)
        header, count = _header_and_count(rows, max_rows=max_rows, what="file")
    return _finish_info("csv", encoding, delimiter, header, count)


def _checked_csv_rows(rows: _CsvRows, upload: File, encoding: str) -> Iterator[tuple[int, list[str]]]:
    """The rows, with a line that does not decode or parse said as a ValidationError naming the line."""
    while True:
        try:
            yield next(rows)
        except StopIteration:
            return
        except UnicodeDecodeError as exc:
            raise _decode_error(encoding, _bad_line(upload, encoding) or rows.line) from exc
        except csv.Error as exc:
            raise file_error(f"Line {rows.line:,} cannot be read as CSV ({exc}).") from exc


def _header_and_count(
    rows: Iterable[tuple[int, list[str]]], *, max_rows: int | None, what: str
) -> tuple[list[str] | None, int]:
    """The header (the first row) and the number of rows below it; more than ``max_rows`` is refused."""
    header: list[str] | None = None
    count = 0
    for _line, cells in rows:
        if header is None:
            header = _check_header(cells)
            continue
        count += 1
        if max_rows is not None and count > max_rows:
            raise file_error(f"The {what} has more than {max_rows:,} rows; split it into smaller lists.")
    return header, count


def read_again(stored: StoredTable, *, encoding: str | None, name: str, max_rows: int | None) -> FileInfo | None:
    """Read a stored CSV file again in the ``encoding`` a user chose, and keep on ``stored`` the encoding,
    delimiter and row count found (not saved). None when there is nothing to read again: no encoding
    chosen, the one it was read in, or a workbook."""
    if encoding is None or encoding == stored.encoding or stored.encoding == "xlsx":
        return None
    with stored.file.open("rb") as handle:
        info = inspect_csv(File(handle, name=name), encoding=encoding, max_rows=max_rows)
    stored.encoding, stored.delimiter, stored.row_count = info.encoding, info.delimiter, info.row_count
    return info


def _finish_info(kind: str, encoding: str, delimiter: str, header: list[str] | None, count: int) -> FileInfo:
    if header is None:
        raise file_error("The file is empty.")
    if count == 0:
        raise file_error("The file has a header line but no rows below it.")
    return FileInfo(kind=kind, encoding=encoding, delimiter=delimiter, header=header, row_count=count)


def _bad_line(upload: File, encoding: str) -> int | None:
    """The first line that does not decode (the text reader decodes blocks ahead of the CSV reader)."""
    if encoding.replace("_", "-").startswith(("utf-16", "utf-32")):
        return None
    upload.seek(0)
    decoder = codecs.getincrementaldecoder(encoding)()
    for number, line in enumerate(_raw(upload), start=1):
        try:
            decoder.decode(line)
        except UnicodeDecodeError:
            return number
    return None


def _decode_error(encoding: str, line: int) -> ValidationError:
    label = ENCODING_LABELS.get(encoding, encoding)
    return file_error(
        f"The file is not readable as {label} text (line {line:,} has characters in another encoding). "
        "Choose the file's encoding, or save it as UTF-8 CSV, and upload it again."
    )


def _inspect_xlsx(upload: File, *, max_rows: int | None) -> FileInfo:
    header, count = _header_and_count(_xlsx_rows(_raw(upload)), max_rows=max_rows, what="sheet")
    return _finish_info("xlsx", "xlsx", "", header, count)


def detect_encoding(binary: Any) -> str:
    """The encoding of a text file: its byte-order mark, else UTF-8 if it reads as UTF-8, else what
    charset-normalizer finds most likely (Western-European code pages first when several fit)."""
    binary.seek(0)
    head = binary.read(SAMPLE_BYTES)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    sample = head
    if b"\x00" not in head and head.isascii():
        # Pure ASCII so far: look further for the first byte that is not, and judge around it.
        offset = len(head)
        while True:
            block = binary.read(1024 * 1024)
            if not block:
                return "utf-8"
            found = re.search(rb"[\x80-\xff]", block)
            if found:
                binary.seek(max(0, offset + found.start() - 256))
                sample = binary.read(SAMPLE_BYTES)
                break
            offset += len(block)
    if b"\x00" not in sample and _is_utf8(sample):
        return "utf-8"
    import charset_normalizer

    results = charset_normalizer.from_bytes(sample)
    best = results.best()
    if best is None:
        raise file_error("This is not a text file (no text encoding reads it). Upload the list as CSV or Excel.")
    pool = [m for m in results if m.chaos <= best.chaos + 0.02]
    for preferred in _PREFERRED:
        for match in pool:
            if preferred in match.could_be_from_charset:
                return preferred
    return best.encoding


def _is_utf8(sample: bytes) -> bool:
    """UTF-8, allowing a character cut at either end of the sample."""
    start = 0
    while start < min(3, len(sample)) and 0x80 <= sample[start] <= 0xBF:
        start += 1
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample[start:], final=False)
    except UnicodeDecodeError:
        return False
    return True


def _looks_binary(text: str) -> bool:
    if not text:
        return False
    control = sum(1 for c in text if ord(c) < 32 and c not in "\t\n\r\f\v")
    return "\x00" in text or control > max(2, len(text) // 200)


def sniff_delimiter(sample: str) -> str:
    """The delimiter of a CSV sample: csv.Sniffer's, if it splits the header; else the commonest of , ; tab |."""
    lines = [line for line in sample.splitlines() if line.strip()][:50]
    if not lines:
        return ","
    try:
        sniffed = csv.Sniffer().sniff("\n".join(lines), delimiters=DELIMITERS).delimiter
    except csv.Error:
        sniffed = ""
    if sniffed and len(next(csv.reader([lines[0]], delimiter=sniffed))) > 1:
        return sniffed
    counts = {d: lines[0].count(d) for d in DELIMITERS}
    best = max(counts, key=lambda d: (counts[d], -DELIMITERS.index(d)))
    return best if counts[best] else ","


def _check_header(cells: list[str]) -> list[str]:
    """The header line as column names; a line that looks like data means the file has no header."""
    cells = [c.strip() for c in cells]
    while cells and not cells[-1]:
        cells.pop()
    data_like = [c for c in cells if _EMAIL_LIKE.match(c) or _NUMBER_LIKE.match(c) or _DATE_LIKE.match(c)]
    if data_like:
        raise file_error(
            f"The first line looks like data ({data_like[0]!r}), not like column names. Add a header line "
            "that names the columns (for example: First name;Last name;E-mail) and upload the file again."
        )
    names, seen = [], Counter()
    for index, cell in enumerate(cells, start=1):
        name = cell[:100] or f"Column {index}"
        seen[name] += 1
        names.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    if len(names) == 1 and len(cells[0]) > 60:
        raise file_error("The first line is not a header line of column names. Check that the file is a list.")
    return names


def _raw(binary: Any) -> Any:
    """The file object under Django's File, UploadedFile or FieldFile wrappers."""
    raw = binary
    while not isinstance(raw, io.IOBase) and hasattr(raw, "file"):
        raw = raw.file
    return raw


@contextmanager
def _text(binary: Any, encoding: str) -> Iterator[io.TextIOWrapper]:
    """The binary file as text; detached afterwards, so that the caller's file stays open."""
    wrapper = io.TextIOWrapper(_raw(binary), encoding=encoding, newline="", errors="strict")
    try:
        yield wrapper
    finally:
        wrapper.detach()


class _CsvRows:
    """csv.reader over a text stream: (line the record starts on, cells) for each record that is not blank."""

    def __init__(self, text: io.TextIOBase, delimiter: str):
        self.reader = csv.reader(text, delimiter=delimiter or ",", strict=False)

    @property
    def line(self) -> int:
        return self.reader.line_num + 1

    def __iter__(self) -> _CsvRows:
        return self

    def __next__(self) -> tuple[int, list[str]]:
        while True:
            start = self.reader.line_num + 1
            cells = next(self.reader)
            if any(c.strip() for c in cells):
                return start, cells


def _xlsx_rows(binary: Any) -> Iterator[tuple[int, list[str]]]:
    import zipfile

    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = load_workbook(binary, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise file_error("This is not a readable Excel workbook (.xlsx). Save it again from Excel, or as CSV.") from exc
    try:
        if not workbook.worksheets:
            raise file_error("The workbook has no sheet.")
        sheet = workbook.worksheets[0]
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            cells = [_cell_text(v) for v in values]
            if any(c.strip() for c in cells):
                yield number, cells
    finally:
        workbook.close()


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def read_rows(stored: StoredTable, *, after: int = 0) -> Iterator[tuple[int, list[str]]]:
    """The data rows of an import's file as (line, cells), after line ``after``; the header is skipped.
    A file that cannot be read any more raises JobError."""
    with stored.file.open("rb") as handle, ExitStack() as stack:
        if stored.encoding == "xlsx":
            rows: Iterable[tuple[int, list[str]]] = _xlsx_rows(_raw(handle))
        else:
            text = stack.enter_context(_text(handle, stored.encoding or "utf-8"))
            rows = _CsvRows(text, stored.delimiter)
        header_seen = False
        try:
            for number, cells in rows:
                if not header_seen:
                    header_seen = True
                    continue
                if number > after:
                    yield number, cells
        except (UnicodeDecodeError, csv.Error) as exc:
            raise JobError(f"The file cannot be read any more ({exc}).") from exc
        except ValidationError as exc:
            raise JobError(" ".join(exc.messages)) from exc


def sample_rows(stored: StoredTable, count: int = 3) -> list[list[str]]:
    out = []
    for _, cells in read_rows(stored):
        out.append(cells)
        if len(out) >= count:
            break
    return out


# --- Cells and rows -----------------------------------------------------------------------------------

COUNTRY_NAMES = {
    "DE": "germany deutschland allemagne germania alemania duitsland brd",
    "AT": "austria osterreich oesterreich autriche",
    "CH": "switzerland schweiz suisse svizzera",
    "FR": "france frankreich francia frankrijk",
    "IT": "italy italien italie italia",
    "ES": "spain spanien espagne espana",
    "PT": "portugal",
    "NL": "netherlands niederlande paysbas nederland holland",
    "BE": "belgium belgien belgique belgie",
    "LU": "luxembourg luxemburg",
    "GB": "unitedkingdom uk greatbritain england scotland wales grossbritannien royaumeuni vereinigteskonigreich",
    "IE": "ireland irland irlande",
    "DK": "denmark danemark danmark daenemark",
    "SE": "sweden schweden suede sverige",
    "NO": "norway norwegen norvege norge",
    "FI": "finland finnland finlande suomi",
    "PL": "poland polen pologne polska",
    "CZ": "czechia czechrepublic tschechien republiquetcheque",
    "US": "usa unitedstates unitedstatesofamerica vereinigtestaaten etatsunis",
    "CA": "canada kanada",
}
_COUNTRY = {word: code for code, words in COUNTRY_NAMES.items() for word in words.split()}


def country_code(value: str) -> str | None:
    """The ISO code of a country cell: a code (DE, uk) or a name in one of several languages; None if neither."""
    import phonenumbers

    text = value.strip()
    if len(text) == 2 and text.isalpha():
        code = text.upper()
        code = "GB" if code == "UK" else code
        return code if code in phonenumbers.SUPPORTED_REGIONS else None
    return _COUNTRY.get(re.sub(r"[^a-z]", "", _folded(text)))


class _Echo:
    """A file that hands back what is written to it (csv.writer's line, for streaming)."""

    def write(self, value: str) -> str:
        return value


def csv_lines(header: list[str], rows: Iterable[list[Any]], *, delimiter: str) -> Iterator[str]:
    """``header`` and ``rows`` as CSV text, line by line (for a streamed download), behind a byte-order mark
    so that Excel reads it as UTF-8; in ``delimiter`` (a comma when empty)."""
    writer = csv.writer(_Echo(), delimiter=delimiter or ",")
    yield "\ufeff" + writer.writerow(header)
    for row in rows:
        yield writer.writerow(row)
