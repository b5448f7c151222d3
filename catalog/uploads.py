"""Product images and documents: the type is read from the file's first bytes, never from its name.

A browser trusts the ``Content-Type`` we serve, and we serve the type we sniffed here; the stored
name gets the extension of that type. SVG is refused on purpose: it is a document that can run scripts.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile


@dataclass(frozen=True)
class Sniffed:
    content_type: str
    extension: str


IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
DOCUMENT_TYPES = frozenset({"application/pdf"})
IMAGE_MAX_BYTES = 5 * 1024 * 1024
DOCUMENT_MAX_BYTES = 20 * 1024 * 1024
SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", Sniffed("image/png", "png")),
    (b"\xff\xd8\xff", Sniffed("image/jpeg", "jpg")),
    (b"GIF87a", Sniffed("image/gif", "gif")),
    (b"GIF89a", Sniffed("image/gif", "gif")),
    (b"%PDF-", Sniffed("application/pdf", "pdf")),
)


def sniff(head: bytes) -> Sniffed | None:
    """The type that the first bytes of a file announce, among the ones we accept."""
    for signature, sniffed in SIGNATURES:
        if head.startswith(signature):
            return sniffed
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return Sniffed("image/webp", "webp")
    return None


def validate_upload(file: UploadedFile, *, allowed: frozenset[str], max_bytes: int, what: str) -> Sniffed:
    """Check size and type of ``file`` and rename it ``<random>.<extension of the sniffed type>``."""
    if file.size is None or file.size == 0:
        raise ValidationError({"file": f"The {what} is empty."})
    if file.size > max_bytes:
        raise ValidationError(
            {"file": f"The {what} is {file.size / 1_048_576:.1f} MB; at most {max_bytes // 1_048_576} MB, please."}
        )
    file.seek(0)
    head = file.read(16)
    file.seek(0)
    sniffed = sniff(head)
    if sniffed is None or sniffed.content_type not in allowed:
        kinds = ", ".join(sorted(t.split("/")[1].upper() for t in allowed))
        raise ValidationError({"file": f"This file is not a {kinds} file (judged by its content, not its name)."})
    file.name = f"{secrets.token_hex(8)}.{sniffed.extension}"
    return sniffed
