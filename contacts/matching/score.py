"""Field-by-field comparison of two people, as evidence weights that add up to a score in 0..1.

Each field gives a weight (a log-likelihood ratio in bits): positive when the values agree the way
records of one person do, negative when they disagree the way two people's do, and zero when either
side is blank — two blanks are no evidence at all. The sum, less the prior (duplicates are rare),
goes through a logistic curve to give the score. The weights were set on generated data
(contacts.matching.synthetic) with one seed and are checked on others (tests and bench).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date

import jellyfish

from contacts.matching.normalize import city_key, company_key, email_canonical, is_free_mail, street_key
from contacts.normalize import name_key

PRIOR = 5.0  # bits: how unlikely it is, before any evidence, that two records are one person


@dataclass
class PersonRecord:
    """What the engine knows of a person, whatever they come from (a contact, a CSV row, a lead)."""

    id: int | str
    first_name: str = ""
    last_name: str = ""
    emails: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)  # E.164
    company: str = ""
    street: str = ""
    city: str = ""
    postcode: str = ""
    country: str = ""
    birth_date: date | None = None

    def __post_init__(self) -> None:
        self._first = name_key(self.first_name)
        self._last = name_key(self.last_name)
        self._emails = {email_canonical(e) for e in self.emails if e}
        self._phones = {p for p in self.phones if p}
        self._company = company_key(self.company) if self.company else ""
        self._street = street_key(self.street) if self.street else ""
        self._city = city_key(self.city) if self.city else ""
        self._postcode = (self.postcode or "").replace(" ", "").upper()


@dataclass
class Evidence:
    score: float
    weights: dict[str, float]

    @property
    def reasons(self) -> dict[str, float]:
        return {k: round(v, 2) for k, v in self.weights.items() if v}


def _similar(a: str, b: str) -> float:
    return jellyfish.jaro_winkler_similarity(a, b) if a and b else 0.0


def _first_name_weight(a: str, b: str) -> float:
    if not a or not b:
        return 0.0
    a1, b1 = a.split()[0], b.split()[0]
    if len(a1) == 1 and len(b1) == 1:
        return 1.0 if a1 == b1 else -4.0  # two initials: weak either way
    if a == b:
        return 3.0
    if (len(a1) == 1 or len(b1) == 1) and a1[0] == b1[0]:
        return 1.0  # an initial that fits
    if a1 == b1 or a1.startswith(b1) or b1.startswith(a1):
        return 2.0  # 'hans' / 'hans peter', 'alex' / 'alexander'
    similarity = _similar(a, b)
    if similarity >= 0.92:
        return 2.0  # a typo
    if similarity >= 0.85:
        return 0.0
    return -10.0  # another first name: another person (a spouse, a colleague)


def _last_name_weight(a: str, b: str) -> float:
    if not a or not b:
        return 0.0
    if a == b:
        return 4.0
    similarity = _similar(a.replace(" ", ""), b.replace(" ", ""))
    if similarity >= 0.93:
        return 2.5
    if similarity >= 0.85:
        return 0.5
    return -6.0


def _names_weight(a: PersonRecord, b: PersonRecord) -> tuple[float, float, bool]:
    straight = (_first_name_weight(a._first, b._first), _last_name_weight(a._last, b._last))
    swapped = (_first_name_weight(a._first, b._last), _last_name_weight(a._last, b._first))
    if sum(swapped) > sum(straight) + 1:
        return swapped[0], swapped[1], True
    return straight[0], straight[1], False


def compare(a: PersonRecord, b: PersonRecord) -> Evidence:
    """The evidence that ``a`` and ``b`` are one person, field by field, and the resulting score."""
    w: dict[str, float] = {}
    w["first_name"], w["last_name"], swapped = _names_weight(a, b)
    if swapped:
        w["names_swapped"] = 0.0

    if a._emails and b._emails:
        shared = a._emails & b._emails
        if shared:
            # A shared personal mailbox is strong; a shared free-mail address a bit less (families share them).
            w["email"] = 6.0 if all(is_free_mail(e) for e in shared) else 8.0
        else:
            w["email"] = -1.0
    if a._phones and b._phones:
        w["phone"] = 6.0 if a._phones & b._phones else -1.0
    if a.birth_date and b.birth_date:
        w["birth_date"] = 5.0 if a.birth_date == b.birth_date else -10.0
    if a._postcode and b._postcode:
        w["postcode"] = 1.5 if a._postcode == b._postcode else -1.0
    if a._city and b._city:
        w["city"] = 1.0 if a._city == b._city or _similar(a._city, b._city) >= 0.9 else -1.0
    if a._street and b._street:
        w["street"] = 1.5 if _similar(a._street, b._street) >= 0.9 else -0.5
    if a._company and b._company:
        same = (
            a._company == b._company
            or a._company.startswith(b._company + " ")
            or b._company.startswith(a._company + " ")
            or _similar(a._company, b._company) >= 0.92
        )
        w["company"] = 2.0 if same else -0.5
    total = sum(w.values()) - PRIOR
    return Evidence(score=1.0 / (1.0 + math.exp(-total * math.log(2) / 2)), weights=w)
