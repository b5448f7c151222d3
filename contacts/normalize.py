"""Normalisation of what people type: names, e-mails, phones, web domains.

Search and matching compare normalised values; pages show values as entered (phones formatted).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import phonenumbers
from django.conf import settings

_SPACES = re.compile(r"\s+")
_APOSTROPHES = re.compile(r"[\u2019'`´]")
_SEPARATORS = re.compile(r"[.\-_,]+")
_DIGITS = re.compile(r"\D+")


def fold(text: str) -> str:
    """Lower case, accents removed (é -> e, ß -> ss), spaces collapsed."""
    return _fold(text or "")


# Imports and scans fold the same few thousand first names, surnames and cities millions of times.
@lru_cache(maxsize=65536)
def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    return _SPACES.sub(" ", text).strip()


def name_key(text: str) -> str:
    """A name for comparison and prefix search: folded, apostrophes and hyphens removed (O'Brien -> obrien)."""
    return _SPACES.sub(" ", _SEPARATORS.sub(" ", _APOSTROPHES.sub("", fold(text)))).strip()


def email_key(email: str) -> str:
    return (email or "").strip().lower()


def domain_of(value: str) -> str:
    """The bare domain of a website or e-mail address: 'https://www.Acme.com/x' -> 'acme.com'."""
    value = (value or "").strip().lower()
    if "@" in value:
        value = value.rsplit("@", 1)[1]
    value = re.sub(r"^[a-z][a-z0-9+.-]*://", "", value)
    value = value.split("/", 1)[0].split("?", 1)[0].split(":", 1)[0]
    return value.removeprefix("www.")


class PhoneError(ValueError):
    pass


def phone_e164(raw: str, region: str | None = None) -> str:
    """E.164 form of a phone number typed in any national or international format.

    Raises PhoneError with a readable message when it is not a possible phone number.
    """
    raw = (raw or "").strip()
    if not raw:
        raise PhoneError("The phone number is empty.")
    if raw.startswith("00"):
        raw = "+" + raw[2:]
    try:
        number = phonenumbers.parse(raw, region or settings.SFA_PHONE_REGION)
    except phonenumbers.NumberParseException as exc:
        raise PhoneError(f"{raw!r} is not a phone number.") from exc
    if not phonenumbers.is_possible_number(number) or not phonenumbers.is_valid_number(number):
        raise PhoneError(f"{raw!r} is not a valid phone number.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_display(e164: str) -> str:
    """International format for display: +49 30 1234567."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def phone_search_prefix(text: str) -> str | None:
    """The E.164 prefix a partly typed phone number stands for, or None when the text is no phone.

    '+49 30 12' -> '+493012'; '030 12' (national, default region) -> '+493012'; 'anna' -> None.
    """
    text = (text or "").strip()
    digits = _DIGITS.sub("", text)
    if len(digits) < 3 or re.search(r"[^\d\s()+\-./]", text):
        return None
    if text.startswith("+") or text.startswith("00"):
        return "+" + (digits[2:] if text.startswith("00") else digits)
    code = phonenumbers.country_code_for_region(settings.SFA_PHONE_REGION)
    national = digits[1:] if digits.startswith("0") else digits
    return f"+{code}{national}"
