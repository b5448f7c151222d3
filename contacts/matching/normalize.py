"""Normalisation for matching, on top of contacts.normalize: e-mails, companies, streets, phonetics."""

from __future__ import annotations

import re

import jellyfish

from contacts.normalize import fold, name_key

# A shared address at one of these says nothing about the company a person works for.
FREE_MAIL = frozenset(
    """gmail.com googlemail.com yahoo.com yahoo.de yahoo.fr yahoo.co.uk yahoo.it yahoo.es hotmail.com hotmail.de
    hotmail.fr hotmail.co.uk hotmail.it outlook.com outlook.de live.com live.de msn.com icloud.com me.com mac.com
    aol.com gmx.de gmx.net gmx.at gmx.ch web.de t-online.de freenet.de posteo.de mailbox.org arcor.de orange.fr
    wanadoo.fr free.fr laposte.net sfr.fr libero.it virgilio.it tiscali.it alice.it btinternet.com sky.com
    protonmail.com proton.me yandex.com mail.ru seznam.cz wp.pl o2.pl onet.pl ziggo.nl kpnmail.nl telefonica.net
    mail.example web.example post.example""".split()
)

LEGAL_FORMS = frozenset(
    """gmbh mbh ag kg ohg gbr ug se co kgaa ltd limited plc llp llc inc incorporated corp corporation company
    sa sas sarl sàrl eurl snc spa srl srls sl slu bv nv vof oy ab as aps asa sp zoo spzoo kft sro doo
    group groupe gruppe holding holdings international intl""".split()
)
_NON_WORD = re.compile(r"[^a-z0-9 ]+")
STREET_WORDS = {
    "strasse": "str",
    "straße": "str",
    "str": "str",
    "street": "st",
    "st": "st",
    "road": "rd",
    "rd": "rd",
    "avenue": "av",
    "ave": "av",
    "av": "av",
    "rue": "rue",
    "via": "via",
    "platz": "pl",
    "pl": "pl",
    "weg": "weg",
    "allee": "allee",
    "gasse": "gasse",
    "lane": "ln",
    "ln": "ln",
    "boulevard": "bd",
    "bd": "bd",
}


def email_canonical(email: str) -> str:
    """Lower case; for Gmail also without dots and +tags in the local part (they reach the same box)."""
    email = (email or "").strip().lower()
    if "@" not in email:
        return email
    local, _, domain = email.rpartition("@")
    local = local.split("+", 1)[0]
    if domain in ("gmail.com", "googlemail.com"):
        local, domain = local.replace(".", ""), "gmail.com"
    return f"{local}@{domain}"


def is_free_mail(email: str) -> bool:
    return email.rpartition("@")[2] in FREE_MAIL


def company_key(name: str) -> str:
    """'ACME Group GmbH & Co. KG' -> 'acme'; legal forms, 'group', punctuation and spacing removed."""
    words = _NON_WORD.sub(" ", fold(name).replace("&", " ").replace(".", "")).split()
    kept = [w for w in words if w not in LEGAL_FORMS]
    return " ".join(kept or words)


def street_key(street: str) -> str:
    """'Hauptstraße 12a' -> 'haupt str 12a'; common street words shortened, so variants compare equal."""
    text = fold(street).replace("straße", " strasse").replace("strasse", " strasse")
    words = _NON_WORD.sub(" ", text).split()
    return " ".join(STREET_WORDS.get(w, w) for w in words)


def city_key(city: str) -> str:
    return _NON_WORD.sub("", fold(city))[:20]


def phonetic(name: str) -> str:
    """A sound-alike code for a surname (Meier = Meyer = Mayer, Müller = Mueller); '' for no name."""
    key = name_key(name).replace(" ", "")
    key = key.replace("ue", "u").replace("oe", "o").replace("ae", "a")
    return jellyfish.soundex(key) if key else ""


def initial(first_name: str) -> str:
    key = name_key(first_name)
    return key[:1]
