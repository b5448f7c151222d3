"""Realistic labelled people for measuring the matching engine (tests, bench, demo duplicates).

A population of people at companies (shared addresses and switchboards) and at home (families share a
surname, an address and a landline), with namesakes in other cities; then some people entered again
with the mistakes real data has: typos, initials, swapped first and last names, spelling of umlauts,
missing e-mails and phones, another e-mail address, formatting variants of phones, streets and
company names. Every row carries the ``cluster`` of the real person it stands for.
"""

from __future__ import annotations

import random
import string
from dataclasses import asdict, dataclass
from datetime import date

LOCALES = {"DE": "de_DE", "FR": "fr_FR", "GB": "en_GB", "IT": "it_IT", "ES": "es_ES", "NL": "nl_NL"}
FREE_MAIL = ["gmail.com", "web.de", "gmx.de", "yahoo.fr", "hotmail.com", "outlook.com", "libero.it", "orange.fr"]
LEGAL = {"DE": "GmbH", "FR": "SARL", "GB": "Ltd", "IT": "S.r.l.", "ES": "S.L.", "NL": "B.V."}
UMLAUTS = {"ü": "ue", "ö": "oe", "ä": "ae", "ß": "ss", "é": "e", "è": "e", "à": "a", "ñ": "n", "ç": "c"}


@dataclass
class Row:
    id: int
    cluster: int
    first_name: str
    last_name: str
    email: str
    phone: str
    company: str
    street: str
    city: str
    postcode: str
    country: str
    birth_date: date | None

    def as_dict(self) -> dict:
        return asdict(self)


def _ascii(text: str) -> str:
    """Umlauts spelt out (ü -> ue), other accents dropped: how people type names without them."""
    import unicodedata

    spelt = "".join(UMLAUTS.get(c, UMLAUTS.get(c.lower(), c)) for c in text)
    return unicodedata.normalize("NFKD", spelt).encode("ascii", "ignore").decode()


def _local(text: str) -> str:
    """A name as the local part of an e-mail address."""
    return "".join(c for c in _ascii(text).lower() if c.isalnum() or c in ".-")


def _typo(rng: random.Random, word: str) -> str:
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 1)
    kind = rng.choice(["swap", "drop", "double", "replace"])
    if kind == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if kind == "drop":
        return word[:i] + word[i + 1 :]
    if kind == "double":
        return word[:i] + word[i] + word[i:]
    return word[:i] + rng.choice(string.ascii_lowercase) + word[i + 1 :]


def _mobile(rng: random.Random, country: str) -> str:
    """A valid mobile number of ``country`` in E.164: its example number with random last digits."""
    import phonenumbers

    example = phonenumbers.example_number_for_type(country, phonenumbers.PhoneNumberType.MOBILE)
    digits = str(example.national_number)
    while True:
        candidate = phonenumbers.parse(
            f"+{example.country_code}{digits[:-6]}{''.join(rng.choice(string.digits) for _ in range(6))}", None
        )
        if phonenumbers.is_valid_number(candidate):
            return phonenumbers.format_number(candidate, phonenumbers.PhoneNumberFormat.E164)


def _format_phone(rng: random.Random, e164: str, country: str) -> str:
    """The number as people type it: international, national, with spaces, brackets or 00."""
    import phonenumbers

    number = phonenumbers.parse(e164, None)
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    international = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    compact = "".join(c for c in national if c.isdigit())
    return rng.choice([e164, international, national, compact, "00" + e164[1:], international.replace(" ", "-")])


def generate(people: int = 2000, duplicate_share: float = 0.25, seed: int = 1) -> list[Row]:
    """``people`` real persons, a share of them entered once or twice more; rows shuffled."""
    from faker import Faker

    rng = random.Random(seed)  # noqa: S311 (test data)
    fakers = {c: Faker(locale) for c, locale in LOCALES.items()}
    for i, f in enumerate(fakers.values()):
        f.seed_instance(seed * 100 + i)
    countries = list(LOCALES)

    companies = []
    for _ in range(max(20, people // 12)):
        c = rng.choice(countries)
        f = fakers[c]
        base = f.last_name()
        companies.append(
            {
                "name": f"{base} {rng.choice(['', 'Group ', 'Systems '])}{LEGAL[c]}".replace("  ", " "),
                "domain": f"{_local(base)}{rng.randint(1, 99)}.example",
                "street": f.street_address(),
                "city": f.city(),
                "postcode": f.postcode(),
                "country": c,
            }
        )

    persons: list[Row] = []
    cluster = 0
    while len(persons) < people:
        c = rng.choice(countries)
        f = fakers[c]
        kind = rng.random()
        last = f.last_name()
        birth = f.date_of_birth(minimum_age=20, maximum_age=80) if rng.random() < 0.3 else None
        if kind < 0.6:  # works at a company
            company = rng.choice(companies)
            c, f = company["country"], fakers[company["country"]]
            first = f.first_name()
            email = f"{_local(first)}.{_local(last)}@{company['domain']}"
            persons.append(
                Row(
                    0,
                    cluster,
                    first,
                    last,
                    email,
                    _mobile(rng, c),
                    company["name"],
                    company["street"],
                    company["city"],
                    company["postcode"],
                    c,
                    birth,
                )
            )
            cluster += 1
        else:  # a household: one to three people sharing a surname, an address and a landline
            street, city, postcode = f.street_address(), f.city(), f.postcode()
            landline = _mobile(rng, c)
            for member in range(rng.choice([1, 1, 2, 3])):
                first = f.first_name()
                email = f"{_local(first)}{rng.randint(1, 999)}@{rng.choice(FREE_MAIL)}"
                phone = landline if member and rng.random() < 0.5 else _mobile(rng, c)
                persons.append(
                    Row(
                        0,
                        cluster,
                        first,
                        last,
                        email,
                        phone,
                        "",
                        street,
                        city,
                        postcode,
                        c,
                        f.date_of_birth(minimum_age=18, maximum_age=80) if rng.random() < 0.3 else None,
                    )
                )
                cluster += 1
        if rng.random() < 0.05:  # a namesake elsewhere: same first and last name, another person
            other = rng.choice(countries)
            persons.append(
                Row(
                    0,
                    cluster,
                    persons[-1].first_name,
                    persons[-1].last_name,
                    f"{_local(persons[-1].first_name)}{rng.randint(1, 99)}@{rng.choice(FREE_MAIL)}",
                    _mobile(rng, other),
                    "",
                    fakers[other].street_address(),
                    fakers[other].city(),
                    fakers[other].postcode(),
                    other,
                    None,
                )
            )
            cluster += 1

    rows = list(persons)
    for person in persons:
        if rng.random() >= duplicate_share:
            continue
        for _ in range(rng.choice([1, 1, 1, 2])):
            rows.append(_perturb(rng, person))
    rng.shuffle(rows)
    for index, row in enumerate(rows, start=1):
        row.id = index
        row.phone = _format_phone(rng, row.phone, row.country) if row.phone.startswith("+") else row.phone
    return rows


def _perturb(rng: random.Random, p: Row) -> Row:
    """The same person entered again, by someone else, with the usual slips."""
    first, last = p.first_name, p.last_name
    if rng.random() < 0.15:
        last = _typo(rng, last)
    elif rng.random() < 0.1:
        first = _typo(rng, first)
    if rng.random() < 0.15:
        first, last = _ascii(first), _ascii(last)
    if rng.random() < 0.08:
        first = first[0] + "."
    if rng.random() < 0.3:
        first, last = (
            first.upper() if rng.random() < 0.3 else first.lower(),
            last.upper() if rng.random() < 0.5 else last,
        )
    email, phone = p.email, p.phone
    keep = rng.random()
    if keep < 0.25:
        email = ""  # only the phone survives
    elif keep < 0.5:
        phone = ""  # only the e-mail survives
    elif keep < 0.53:
        email, phone = "", ""  # nothing but name and address
    if email and rng.random() < 0.3:
        email = email.upper() if rng.random() < 0.5 else email.capitalize()
    street, city, company = p.street, p.city, p.company
    if rng.random() < 0.3:
        street = street.replace("straße", "str.").replace("Straße", "Str.").replace("Street", "St")
    if rng.random() < 0.1:
        city = ""
    if company and rng.random() < 0.3:
        company = company.split(" ")[0].upper()
    row = Row(
        0,
        p.cluster,
        first,
        last,
        email,
        phone,
        company,
        street,
        city,
        p.postcode,
        p.country,
        p.birth_date if rng.random() < 0.8 else None,
    )
    if rng.random() < 0.04:
        row.first_name, row.last_name = row.last_name, row.first_name
    return row


def true_pairs(rows: list[Row]) -> set[tuple[int, int]]:
    by_cluster: dict[int, list[int]] = {}
    for row in rows:
        by_cluster.setdefault(row.cluster, []).append(row.id)
    return {(min(a, b), max(a, b)) for ids in by_cluster.values() for i, a in enumerate(ids) for b in ids[i + 1 :]}
