"""Blocking keys: two records are compared only when they share one. Never all pairs.

A person gets a key per e-mail (``e:``) and phone (``p:``), and sound-alike surname + first initial
with the city (``nc:``), the company (``nk:``) or the postcode (``np:``). Swapped first and last names
are found by looking up the keys of the swapped record too (``person_lookup_keys``).
"""

from __future__ import annotations

from contacts.matching.normalize import city_key, company_key, email_canonical, initial, phonetic
from contacts.matching.score import PersonRecord


def person_keys(r: PersonRecord) -> set[str]:
    keys = {f"e:{email_canonical(e)}" for e in r.emails if e} | {f"p:{p}" for p in r.phones if p}
    sound, first = phonetic(r.last_name), initial(r.first_name)
    if sound:
        if r.city:
            keys.add(f"nc:{sound}|{first}|{city_key(r.city)}")
        if r.company:
            keys.add(f"nk:{sound}|{first}|{company_key(r.company)[:40]}")
        if r.postcode:
            keys.add(f"np:{sound}|{first}|{r.postcode.replace(' ', '').upper()}")
    return keys


def person_lookup_keys(r: PersonRecord) -> set[str]:
    """The keys to look up for ``r``: its own, and those it would have with first and last name swapped."""
    swapped = PersonRecord(
        id=r.id, first_name=r.last_name, last_name=r.first_name, company=r.company, city=r.city, postcode=r.postcode
    )
    return person_keys(r) | person_keys(swapped)


def account_keys(name: str, city: str = "", domain: str = "") -> set[str]:
    from contacts.matching.normalize import FREE_MAIL

    keys = set()
    company = company_key(name)
    if company:
        keys.add(f"ac:{company[:60]}|{city_key(city)}")
        keys.add(f"an:{company[:60]}")
    if domain and domain not in FREE_MAIL:
        keys.add(f"ad:{domain}")
    return keys
