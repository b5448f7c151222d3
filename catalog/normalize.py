"""Search keys of the catalog: the same function builds the stored key and the typed query's key."""

import unicodedata


def name_key(value: str) -> str:
    """Lower case, accents and punctuation folded, single spaces: "Fjörd-Blue  X1" -> "fjord blue x1"."""
    decomposed = unicodedata.normalize("NFKD", value or "")
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join("".join(ch if ch.isalnum() else " " for ch in plain.casefold()).split())


def sku_key(value: str) -> str:
    return (value or "").strip().upper()
