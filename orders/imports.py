"""Importing order history (CSV or XLSX): upload, column mapping, check, run, report, undo.

For companies moving to SFA: their past orders become orders here, so that the sales ledger, the
forecasts and the delivery figures start with history. The steps and their services mirror the list
imports of the leads app (leads/imports.py), and both read files through sfa/tabular.py:

1. ``order_import_create`` reads the upload once (``sfa.tabular.inspect_upload``: encoding, delimiter,
   header, row count; binary, empty, header-less, wrongly encoded files refused) within this app's own
   limits (``ORDER_IMPORT_MAX_ROWS``, ``ORDER_IMPORT_MAX_BYTES``), and guesses the mapping. A file that
   cannot be read raises a ValidationError that says why, and nothing is stored.
2. ``order_import_configure`` sets the mapping (column -> field) or re-reads the file in another encoding.
3. ``order_import_check`` validates every row and finds its product, customer and owner without writing
   anything; the rejected rows, with their reasons, are kept on the import (``rejects``).
4. ``order_import_start`` runs the import as the ``order_import`` job. The file is analysed again (the
   data may have changed since the check), then the accepted orders are written in chunks, each chunk in
   one transaction with the job's progress: the orders in their final state (delivered, cancelled or
   returned) with their lines, shipments and dates, and an ``OrderEvent`` saying they were imported.
   A job that stops resumes: refs this import wrote already are skipped. At the end the sales ledger,
   the delivery statistics and (through the ledger's listeners) the sales facts are rebuilt.
5. ``order_import_undo`` removes exactly the orders of the import (their lines, events, shipments and
   ledger entries go with them) and rebuilds the delivery statistics and the facts.

An order is one external ref: the rows sharing a ref are its lines and must agree on the order's own
columns (date, customer, status …; a blank cell takes the value of the other rows). When one line of an
order is rejected the whole order is, so that no order is imported with lines missing.

Imported orders are not audited one by one: the import is (uploaded, started, imported, undone), and
each order's event names the import, the file's line and the external ref.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import File
from django.db import DatabaseError, connection, transaction
from django.db.models import ProtectedError, QuerySet
from django.utils import timezone

from contacts.models import Account, Contact, ContactEmail
from contacts.normalize import email_key, fold, name_key
from orders.models import Order, OrderEvent, OrderImport, OrderLine, Shipment, ShipmentLine
from sfa import importing, tabular
from sfa.jobs import JobCancelled, JobError, JobRun, job_task
from sfa.models import Job, User
from sfa.permissions import get_object_for, require, scoped
from sfa.tabular import IGNORE, HeaderNames, country_code, file_error, read_rows
from sfa.tabular import sample_rows as sample_rows  # the wizard's first rows of a stored file

Status = OrderImport.Status
EDITABLE = (Status.UPLOADED, Status.MAPPED)  # the mapping and the encoding can change
CHUNK = 1000  # orders written per transaction
SYNC_CHECK_ROWS = 5000  # up to this many rows the check runs inside the request, beyond as a job
PREVIEW_ORDERS = 10  # orders shown in the check
PREVIEW_REJECTS = 50  # rejected rows shown in the check and the report
DEFAULT_MAX_ROWS = 200_000
DEFAULT_MAX_BYTES = 50 * 1024 * 1024
CENT = Decimal("0.01")
HUNDRED = Decimal("100")


def max_rows() -> int:
    return int(getattr(settings, "ORDER_IMPORT_MAX_ROWS", DEFAULT_MAX_ROWS))


def max_bytes() -> int:
    return int(getattr(settings, "ORDER_IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES))


def limits_text() -> str:
    return (
        f"CSV or Excel (.xlsx), one row per order line, at most {max_rows():,} rows and "
        f"{tabular.megabytes(max_bytes())}."
    )


# --- Fields and the mapping -----------------------------------------------------------------------

# field: (label, max length of the cell, whether it belongs to the order rather than to the line)
FIELDS: dict[str, tuple[str, int | None, bool]] = {
    "external_ref": ("Order ref", 60, True),
    "order_date": ("Order date", None, True),
    "account": ("Customer account", 200, True),
    "email": ("Contact e-mail", 254, True),
    "sku": ("Product SKU", 40, False),
    "quantity": ("Quantity", None, False),
    "unit_price": ("Unit price", None, False),
    "discount": ("Discount %", None, False),
    "currency": ("Currency", None, True),
    "status": ("Status", None, True),
    "delivered_date": ("Delivered date", None, True),
    "promised_date": ("Promised date", None, True),
    "owner": ("Owner", 254, True),
    "region": ("Region", 100, True),
    "country": ("Country", None, True),
}
REQUIRED = ("external_ref", "order_date", "sku", "quantity")
FIELD_CHOICES = [(name, label) for name, (label, _, _) in FIELDS.items()] + [(IGNORE, "— ignore —")]
ORDER_FIELDS = tuple(name for name, (_, _, of_order) in FIELDS.items() if of_order)

# Header names as people write them, folded (accents removed, lower case, letters and digits only).
ALIASES: dict[str, str] = {
    "external_ref": "orderref ordernumber orderno ordernr orderid order ref reference externalref extref "
    "auftragsnummer auftragsnr auftrag bestellnummer bestellnr bestellung belegnummer belegnr beleg "
    "numerodecommande commande refcommande nocommande ncommande",
    "order_date": "orderdate date ordered orderedon bookingdate bookedon auftragsdatum bestelldatum belegdatum "
    "datum datecommande datedecommande",
    "account": "account accountname customer customername company companyname client clientname kunde "
    "kundenname firma firmenname unternehmen societe entreprise raisonsociale nomclient",
    "email": "email contactemail emailaddress mail emailadresse contactmail courriel adressemail adresseemail",
    "sku": "sku productsku productcode itemcode item product article articlenumber articleno artikel "
    "artikelnummer artnr produkt produktnummer codearticle refproduit produit",
    "quantity": "quantity qty units pieces menge anzahl stuck stueck stuckzahl quantite qte nombre",
    "unit_price": "unitprice price priceperunit netprice preis einzelpreis stuckpreis nettopreis prixunitaire "
    "prix prixunitairenet",
    "discount": "discount discountpercent discountpct rabatt rabattprozent nachlass remise",
    "currency": "currency curr currencycode wahrung waehrung devise monnaie",
    "status": "status state orderstatus zustand auftragsstatus statut etat",
    "delivered_date": "delivereddate deliverydate delivered deliveredon lieferdatum geliefertam "
    "auslieferungsdatum datedelivraison datelivraison livrele",
    "promised_date": "promiseddate promisedon promise promised duedate requesteddate liefertermin wunschtermin "
    "zugesagt datepromise datepromise",
    "owner": "owner rep salesrep salesperson seller user username accountmanager verantwortlich "
    "vertriebsmitarbeiter betreuer verkaufer commercial vendeur responsable",
    "region": "region salesregion territory gebiet vertriebsgebiet verkaufsgebiet secteur",
    "country": "country countrycode land landercode pays paese pais",
}
# Second chance: a word inside the header ("Lieferdatum Kunde", "Order date (local)"); the first that fits.
_CONTAINS = (
    ("promis", "promised_date"),
    ("termin", "promised_date"),
    ("deliver", "delivered_date"),
    ("liefer", "delivered_date"),
    ("livr", "delivered_date"),
    ("mail", "email"),
    ("sku", "sku"),
    ("artikel", "sku"),
    ("qty", "quantity"),
    ("quantit", "quantity"),
    ("menge", "quantity"),
    ("rabatt", "discount"),
    ("discount", "discount"),
    ("remise", "discount"),
    ("price", "unit_price"),
    ("preis", "unit_price"),
    ("prix", "unit_price"),
    ("currency", "currency"),
    ("wahrung", "currency"),
    ("status", "status"),
    ("owner", "owner"),
    ("rep", "owner"),
    ("country", "country"),
    ("region", "region"),
    ("date", "order_date"),
    ("datum", "order_date"),
    ("customer", "account"),
    ("kunde", "account"),
    ("account", "account"),
    ("client", "account"),
    ("order", "external_ref"),
    ("auftrag", "external_ref"),
    ("commande", "external_ref"),
)
HEADER_NAMES = HeaderNames(aliases=ALIASES, contains=_CONTAINS)


def mapping_guess(header: list[str]) -> dict[str, str]:
    """Column -> field, guessed from the column names (English, German, French); each field once at most."""
    return tabular.mapping_guess(header, HEADER_NAMES.guess)


def mapping_errors(header: list[str], mapping: dict[str, str]) -> list[str]:
    """What is wrong with a mapping, in words (empty when it can be used): the lead imports' checks plus a
    customer column."""
    errors = tabular.column_mapping_errors(header, mapping, fields=FIELDS, required=REQUIRED, row_noun="order line")
    taken = {t for t in mapping.values() if t != IGNORE}
    if "account" not in taken and "email" not in taken:
        errors.append(
            "Choose the column of the customer account or of the contact e-mail: every order needs a customer."
        )
    return errors


# --- Reading values --------------------------------------------------------------------------------

_DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y", "%d-%m-%Y", "%Y/%m/%d", "%Y.%m.%d", "%d.%m.%y", "%Y%m%d")
_TIME_TAIL = re.compile(r"^(\d{4}-\d{1,2}-\d{1,2})[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:?\d{2}|Z)?$")


def parse_date(text: str) -> date | None:
    """A date as order exports write it: 2024-03-15, 15.03.2024, 15/03/2024 (day first), 15.03.24, or an
    ISO date with a time (the time is dropped). None when it is none of these."""
    text = text.strip()
    found = _TIME_TAIL.match(text)
    if found:
        text = found.group(1)
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


_CURRENCY_SIGNS = re.compile(r"[€$£]|\b[A-Z]{3}\b|%")


def parse_decimal(text: str) -> Decimal | None:
    """A number as people type it: 1234.5, 1,234.50, 1.234,50, 1 234,50, 12,5; currency signs and % ignored.

    With one kind of separator only, a comma followed by exactly three digits groups thousands (1,234),
    otherwise it is the decimal comma (12,5); a dot is the decimal point unless it appears more than once.
    """
    text = _CURRENCY_SIGNS.sub("", text.strip()).replace("\u00a0", "").replace(" ", "").replace("'", "")
    if not text:
        return None
    if "," in text and "." in text:
        decimal_sep = "," if text.rfind(",") > text.rfind(".") else "."
        thousands = "." if decimal_sep == "," else ","
        text = text.replace(thousands, "").replace(decimal_sep, ".")
    elif "," in text:
        if text.count(",") > 1 or re.fullmatch(r"-?\d{1,3},\d{3}", text):
            text = text.replace(",", "")
        else:
            text = text.replace(",", ".")
    elif text.count(".") > 1:
        text = text.replace(".", "")
    if not re.fullmatch(r"-?\d+(\.\d+)?", text):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


STATUS_WORDS: dict[str, str] = {
    Order.Status.DELIVERED: "delivered delivery done complete completed closed shipped fulfilled geliefert "
    "ausgeliefert erledigt abgeschlossen livre livree termine",
    Order.Status.CANCELLED: "cancelled canceled cancel void voided storniert storno annulliert annule annulee",
    Order.Status.RETURNED: "returned return refunded retour retourniert zuruckgegeben zurueckgegeben retourne "
    "retournee rembourse",
}
_STATUS = {word: status for status, words in STATUS_WORDS.items() for word in words.split()}


def parse_status(text: str) -> str | None:
    return _STATUS.get(re.sub(r"[^a-z]", "", fold(text)))


# --- The analysis of a file --------------------------------------------------------------------------

REASONS = {
    # kind: label in the report
    "missing": "A required value is missing",
    "too_long": "A value is too long",
    "bad_date": "Bad date",
    "bad_number": "Bad number",
    "bad_value": "Bad status, currency or country",
    "unknown_sku": "Unknown SKU",
    "no_price": "No price",
    "no_rate": "No exchange rate",
    "unknown_customer": "Unknown customer",
    "unknown_owner": "Unknown owner",
    "duplicate_ref": "Duplicate ref in the file",
    "already_imported": "Ref imported already",
    "order_rejected": "Another line of the order was rejected",
}


@dataclass
class _Row:
    number: int
    cells: list[str]
    values: dict[str, str] = field(default_factory=dict)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (kind, text)
    ordered_on: date | None = None
    delivered_on: date | None = None
    promised_on: date | None = None
    status: str = ""
    currency: str = ""
    country: str = ""
    quantity: int | None = None
    unit_price: Decimal | None = None
    discount: Decimal = Decimal("0")
    product: dict[str, Any] | None = None

    def error(self, kind: str, text: str) -> None:
        self.errors.append((kind, text))


@dataclass
class _Order:
    ref: str
    rows: list[_Row]
    ordered_on: date | None = None
    delivered_on: date | None = None
    promised_on: date | None = None
    status: str = Order.Status.DELIVERED
    currency: str = ""
    country: str = ""
    region: str = ""
    segment: str = ""
    account_id: int | None = None
    contact_id: int | None = None
    owner_id: int | None = None
    customer_label: str = ""
    matched_by: str = ""  # "name", "engine" or "email": how the customer was found

    @property
    def ok(self) -> bool:
        return not any(row.errors for row in self.rows)


@dataclass
class _Analysis:
    rows: list[_Row]
    orders: list[_Order]
    loose: list[_Row]  # rows without a ref: rejected on their own

    def rejected(self) -> list[_Row]:
        return sorted((row for row in self.rows if row.errors), key=lambda r: r.number)


def _columns(order_import: OrderImport) -> list[tuple[int, str]]:
    index = {name: i for i, name in enumerate(order_import.headers)}
    return [(index[c], t) for c, t in order_import.mapping.items() if t in FIELDS and c in index]


def clean_row(number: int, cells: list[str], columns: list[tuple[int, str]], width: int, today: date) -> _Row:
    """Read one row's values: each cell on its own (the order-level checks come later, per ref)."""
    row = _Row(number=number, cells=cells)
    if any(c.strip() for c in cells[width:]):
        row.error(
            "bad_value",
            f"The row has {len(cells)} values but the header names {width} columns (a delimiter inside a value?).",
        )
    values: dict[str, str] = {}
    for index, target in columns:
        value = " ".join(cells[index].split()) if index < len(cells) else ""
        if value:
            values[target] = value
    row.values = values
    for target, value in values.items():
        label, limit, _ = FIELDS[target]
        if limit and len(value) > limit:
            row.error("too_long", f"{label} is too long ({len(value)} characters, at most {limit}).")
    for target, label in (("external_ref", "order ref"), ("sku", "product SKU"), ("quantity", "quantity")):
        if not values.get(target):
            row.error("missing", f"The {label} is missing.")
    for target, attr in (
        ("order_date", "ordered_on"),
        ("delivered_date", "delivered_on"),
        ("promised_date", "promised_on"),
    ):
        if values.get(target):
            day = parse_date(values[target])
            if day is None:
                row.error(
                    "bad_date",
                    f"{values[target]!r} is not a date ({FIELDS[target][0].lower()}; write 2024-03-15 or 15.03.2024).",
                )
            elif day > today and target != "promised_date":
                row.error("bad_date", f"The {FIELDS[target][0].lower()} {day:%Y-%m-%d} is in the future.")
            else:
                setattr(row, attr, day)
    if values.get("quantity"):
        quantity = parse_decimal(values["quantity"])
        if quantity is None or quantity != quantity.to_integral_value() or quantity < 1 or quantity > 10**9:
            row.error("bad_number", f"{values['quantity']!r} is not a quantity (a whole number of at least 1).")
        else:
            row.quantity = int(quantity)
    if values.get("unit_price"):
        price = parse_decimal(values["unit_price"])
        if price is None or price < 0 or price >= Decimal("1e11"):
            row.error("bad_number", f"{values['unit_price']!r} is not a unit price (an amount such as 1234.50).")
        else:
            row.unit_price = price.quantize(CENT, ROUND_HALF_UP)
    if values.get("discount"):
        discount = parse_decimal(values["discount"])
        if discount is None or not Decimal("0") <= discount <= HUNDRED:
            row.error("bad_number", f"{values['discount']!r} is not a discount (a percentage from 0 to 100).")
        else:
            row.discount = discount.quantize(CENT, ROUND_HALF_UP)
    if values.get("currency"):
        currency = values["currency"].strip().upper()
        currency = {"€": "EUR", "$": "USD", "£": "GBP"}.get(currency, currency)
        if not re.fullmatch(r"[A-Z]{3}", currency):
            row.error("bad_value", f"{values['currency']!r} is not a currency code (three letters such as EUR).")
        else:
            row.currency = currency
    if values.get("status"):
        status = parse_status(values["status"])
        if status is None:
            row.error(
                "bad_value",
                f"{values['status']!r} is not a status of a past order (delivered, cancelled or returned).",
            )
        else:
            row.status = status
    if values.get("country"):
        code = country_code(values["country"])
        if code is None:
            row.error("bad_value", f"{values['country']!r} is not a country (a code such as DE, or a name).")
        else:
            row.country = code
    return row


def _merge(order: _Order, label: str, value_of: Any, shown: Any = str) -> Any:
    """The order's value of one of its own columns: the first row's that has one (``value_of(row)``); a
    later row with another value stands for another order under the same ref: a duplicate."""
    value, first = None, None
    for row in order.rows:
        mine = value_of(row)
        if mine in (None, ""):
            continue
        if value is None:
            value, first = mine, row
        elif fold(str(mine)) != fold(str(value)):
            row.error(
                "duplicate_ref",
                f"Order ref {order.ref} is also on line {first.number} with another {label} "
                f"({shown(value)}, here {shown(mine)}): a ref is one order, so its lines must agree.",
            )
    return value


def _group(rows: list[_Row]) -> tuple[list[_Order], list[_Row]]:
    by_ref: dict[str, _Order] = {}
    loose = []
    for row in rows:
        ref = row.values.get("external_ref", "")
        if not ref:
            loose.append(row)
            continue
        key = fold(ref)
        if key not in by_ref:
            by_ref[key] = _Order(ref=ref, rows=[])
        by_ref[key].rows.append(row)
    orders = list(by_ref.values())
    for order in orders:
        iso = "{:%Y-%m-%d}".format
        order.ordered_on = _merge(order, "order date", lambda r: r.ordered_on, iso)
        order.delivered_on = _merge(order, "delivered date", lambda r: r.delivered_on, iso)
        order.promised_on = _merge(order, "promised date", lambda r: r.promised_on, iso)
        order.status = _merge(order, "status", lambda r: r.status) or Order.Status.DELIVERED
        order.currency = _merge(order, "currency", lambda r: r.currency) or ""
        order.country = _merge(order, "country", lambda r: r.country) or ""
        order.region = _merge(order, "region", lambda r: r.values.get("region")) or ""
        _merge(order, "customer account", lambda r: r.values.get("account"))
        _merge(order, "contact e-mail", lambda r: r.values.get("email"))
        _merge(order, "owner", lambda r: r.values.get("owner"))
        seen: dict[tuple, int] = {}
        for row in order.rows:
            line = tuple(row.cells)
            if line in seen:
                row.error(
                    "duplicate_ref", f"Line {row.number} repeats line {seen[line]} exactly (order ref {order.ref})."
                )
            else:
                seen[line] = row.number
        head = order.rows[0]
        if order.ordered_on is None and not any(kind == "bad_date" for r in order.rows for kind, _ in r.errors):
            head.error("missing", f"The order date of order {order.ref} is missing.")
        bad_dates = any(kind == "bad_date" for r in order.rows for kind, _ in r.errors)
        if order.status != Order.Status.CANCELLED and order.delivered_on is None and not bad_dates:
            head.error(
                "bad_date",
                f"Order {order.ref} is {order.status} but has no delivered date: give the day it was delivered.",
            )
        if order.ordered_on and order.delivered_on and order.delivered_on < order.ordered_on:
            head.error(
                "bad_date",
                f"The delivered date {order.delivered_on:%Y-%m-%d} is before the order date "
                f"{order.ordered_on:%Y-%m-%d}.",
            )
    return orders, loose


def _batches(values: list[Any], size: int = 900) -> Iterator[list[Any]]:
    size = min(size, (connection.features.max_query_params or size) - 10)
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _find_products(rows: list[_Row]) -> None:
    from catalog.models import Product

    wanted = {row.values["sku"].upper() for row in rows if row.values.get("sku")}
    products: dict[str, dict[str, Any]] = {}
    for batch in _batches(sorted(wanted)):
        for product in Product.objects.filter(sku__in=batch).values(
            "id", "sku", "name", "category_id", "base_lead_time_days"
        ):
            products[product["sku"].upper()] = product
    missing = wanted - set(products)
    if missing:  # SKUs written in another case than the catalog's
        folded = {sku.casefold(): sku for sku in missing}
        for product in Product.objects.values("id", "sku", "name", "category_id", "base_lead_time_days"):
            if product["sku"].casefold() in folded:
                products[folded[product["sku"].casefold()]] = product
    for row in rows:
        sku = row.values.get("sku")
        if sku:
            row.product = products.get(sku.upper())
            if row.product is None:
                row.error("unknown_sku", f"No product has the SKU {sku!r}.")


@dataclass
class _Customer:
    account_id: int | None = None
    contact_id: int | None = None
    error: str = ""
    by: str = ""
    candidates: tuple[int, ...] = ()  # accounts that share the name, when it is not clear which


def _find_accounts(names: set[str]) -> dict[str, _Customer]:
    """Accounts by name: the same normalised name, else the matching engine's company match (one clear
    candidate with the same company name, e.g. 'Acme' for 'ACME GmbH')."""
    from contacts.matching.engine import account_candidates

    keys = {name: name_key(name) for name in names}
    found: dict[str, list[int]] = defaultdict(list)
    for batch in _batches(sorted(set(keys.values()))):
        for pk, key in Account.objects.filter(name_key__in=batch, merged_into__isnull=True).values_list(
            "pk", "name_key"
        ):
            found[key].append(pk)
    out: dict[str, _Customer] = {}
    for name, key in keys.items():
        ids = sorted(found.get(key, []))
        if len(ids) == 1:
            out[name] = _Customer(account_id=ids[0], by="name")
            continue
        if len(ids) > 1:
            out[name] = _Customer(
                error=f"{len(ids)} accounts are called {name!r}: give the contact e-mail as well.",
                candidates=tuple(ids),
            )
            continue
        same_name = [m for m in account_candidates(name) if m.reasons.get("name")]
        if len(same_name) == 1:
            out[name] = _Customer(account_id=int(same_name[0].id), by="engine")
        elif same_name:
            labels = ", ".join(
                Account.objects.filter(pk__in=[m.id for m in same_name[:3]]).values_list("name", flat=True)
            )
            out[name] = _Customer(
                error=f"{name!r} may be any of {len(same_name)} accounts ({labels}): write the account's exact name.",
                candidates=tuple(int(m.id) for m in same_name),
            )
        else:
            out[name] = _Customer(error=f"No account is called {name!r}.")
    return out


def _find_contacts(emails: set[str]) -> dict[str, _Customer]:
    """Contacts by e-mail (normalised); a merged contact stands for the one it was merged into."""
    keys = {email: email_key(email.removeprefix("mailto:")) for email in emails}
    found: dict[str, set[int]] = defaultdict(set)
    for batch in _batches(sorted(set(keys.values()))):
        for key, contact_id in ContactEmail.objects.filter(email_key__in=batch).values_list("email_key", "contact_id"):
            found[key].add(contact_id)
    contacts = {}
    ids = sorted(set().union(*found.values())) if found else []
    for batch in _batches(ids):
        for pk, merged_into, account_id in Contact.objects.filter(pk__in=batch).values_list(
            "pk", "merged_into_id", "account_id"
        ):
            contacts[pk] = (merged_into, account_id)
    out: dict[str, _Customer] = {}
    for email, key in keys.items():
        people = set()
        for contact_id in found.get(key, ()):
            seen = set()
            while contact_id in contacts and contacts[contact_id][0] and contact_id not in seen:
                seen.add(contact_id)
                survivor = contacts[contact_id][0]
                if survivor not in contacts:
                    contacts[survivor] = tuple(
                        Contact.objects.filter(pk=survivor).values_list("merged_into_id", "account_id").first()
                        or (None, None)
                    )
                contact_id = survivor
            people.add(contact_id)
        if len(people) == 1:
            contact_id = people.pop()
            out[email] = _Customer(
                account_id=contacts.get(contact_id, (None, None))[1], contact_id=contact_id, by="email"
            )
        elif people:
            out[email] = _Customer(error=f"{len(people)} contacts have the e-mail {email!r}: merge them first.")
        else:
            out[email] = _Customer(error=f"No contact has the e-mail {email!r}.")
    return out


def _find_customers(orders: list[_Order]) -> None:
    names = {_first(o, "account") for o in orders} - {""}
    emails = {_first(o, "email") for o in orders} - {""}
    accounts = _find_accounts(names) if names else {}
    contacts = _find_contacts(emails) if emails else {}
    account_rows = {}
    for batch in _batches(sorted({c.account_id for c in [*accounts.values(), *contacts.values()] if c.account_id})):
        for pk, name, owner_id, region, country, segment in Account.objects.filter(pk__in=batch).values_list(
            "pk", "name", "owner_id", "region", "country", "segment"
        ):
            account_rows[pk] = (name, owner_id, region, country, segment)
    contact_rows = {}
    for batch in _batches(sorted({c.contact_id for c in contacts.values() if c.contact_id})):
        for pk, first, last, owner_id, region, country in Contact.objects.filter(pk__in=batch).values_list(
            "pk", "first_name", "last_name", "owner_id", "region", "country"
        ):
            contact_rows[pk] = (f"{first} {last}".strip(), owner_id, region, country)
    for order in orders:
        name, email = _first(order, "account"), _first(order, "email")
        head = order.rows[0]
        if not name and not email:
            head.error("missing", f"Order {order.ref} has neither a customer account nor a contact e-mail.")
            continue
        by_name = accounts.get(name) if name else None
        by_email = contacts.get(email) if email else None
        if by_name and by_name.error and by_email and by_email.account_id in by_name.candidates:
            by_name = _Customer(account_id=by_email.account_id, by="email")  # the contact says which one
        for found in (by_name, by_email):
            if found is not None and found.error:
                head.error("unknown_customer", found.error)
        if any(kind == "unknown_customer" for kind, _ in head.errors):
            continue
        if by_name and by_email and by_email.account_id and by_email.account_id != by_name.account_id:
            head.error(
                "unknown_customer",
                f"The contact {email!r} works at another account than {name!r}: check which customer ordered.",
            )
            continue
        order.account_id = by_name.account_id if by_name else by_email.account_id
        order.contact_id = by_email.contact_id if by_email else None
        order.matched_by = (by_name or by_email).by
        owner_id = region = country = segment = None
        if order.account_id in account_rows:
            label, owner_id, region, country, segment = account_rows[order.account_id]
            order.customer_label = label
            order.segment = segment or ""
        if order.contact_id in contact_rows:
            person, contact_owner, contact_region, contact_country = contact_rows[order.contact_id]
            order.customer_label = f"{person} ({order.customer_label})" if order.customer_label else person
            owner_id = owner_id or contact_owner
            region = region or contact_region
            country = country or contact_country
        order.owner_id = owner_id
        order.region = order.region or region or ""
        order.country = order.country or country or ""


def _first(order: _Order, target: str) -> str:
    for row in order.rows:
        if row.values.get(target):
            return row.values[target]
    return ""


def _find_owners(orders: list[_Order]) -> None:
    wanted = {_first(o, "owner") for o in orders} - {""}
    by_name: dict[str, int] = {}
    by_email: dict[str, list[int]] = defaultdict(list)
    if wanted:
        for pk, username, address in User.objects.filter(is_active=True).values_list("pk", "username", "email"):
            by_name[username.casefold()] = pk
            if address:
                by_email[address.casefold()].append(pk)
    for order in orders:
        owner = _first(order, "owner")
        if not owner:
            if order.owner_id is None and (order.account_id or order.contact_id):
                order.rows[0].error("unknown_owner", f"Order {order.ref} has no owner and its customer has none.")
            continue
        key = owner.casefold()
        pk = by_name.get(key)
        if pk is None and len(by_email.get(key, [])) == 1:
            pk = by_email[key][0]
        if pk is None:
            order.rows[0].error("unknown_owner", f"No active user is {owner!r} (give a username or an e-mail).")
        else:
            order.owner_id = pk


def _find_imported(orders: list[_Order], order_import: OrderImport) -> None:
    """Refs that are orders already (from an earlier import, or entered by hand with that external ref)."""
    refs = sorted({o.ref for o in orders})
    existing: dict[str, str] = {}
    for batch in _batches(refs):
        for ref, number in (
            Order.objects.filter(external_ref__in=batch)
            .exclude(order_import_id=order_import.pk)
            .values_list("external_ref", "number")
        ):
            existing.setdefault(ref, number)
    for order in orders:
        if order.ref in existing:
            order.rows[0].error(
                "already_imported", f"Order ref {order.ref} is in SFA already, as order {existing[order.ref]}."
            )


def _prices(orders: list[_Order], base_currency: str) -> None:
    """Rows without a unit price take the catalog's price of the order date in the order's currency."""
    from catalog.selectors import current_prices

    wanted: dict[date, set[int]] = defaultdict(set)
    for order in orders:
        order.currency = order.currency or base_currency
        for row in order.rows:
            if row.unit_price is None and row.product and order.ordered_on and "unit_price" not in row.values:
                wanted[order.ordered_on].add(row.product["id"])
    prices = {day: current_prices(product_ids=sorted(ids), on=day) for day, ids in wanted.items()}
    for order in orders:
        for row in order.rows:
            if row.unit_price is None and row.product and order.ordered_on and "unit_price" not in row.values:
                amount = prices.get(order.ordered_on, {}).get(row.product["id"], {}).get(order.currency)
                if amount is None:
                    row.error(
                        "no_price",
                        f"No unit price is given and the price lists have none for {row.product['sku']} in "
                        f"{order.currency} on {order.ordered_on:%Y-%m-%d}.",
                    )
                else:
                    row.unit_price = Decimal(amount).quantize(CENT, ROUND_HALF_UP)


def _rates(orders: list[_Order]) -> None:
    """An order in another currency than the base one needs an exchange rate of its date (the ledger
    converts every sale into the base currency)."""
    from orders.ledger import RateTable

    table = RateTable()
    for order in orders:
        if order.ordered_on and order.currency and order.currency != table.base:
            try:
                table.rate(order.currency, order.ordered_on, where=f"order ref {order.ref}")
            except ValidationError as exc:
                order.rows[0].error("no_rate", " ".join(exc.messages))


def _reject_whole_orders(orders: list[_Order]) -> None:
    for order in orders:
        bad = [row for row in order.rows if row.errors]
        if not bad:
            continue
        for row in order.rows:
            if not row.errors:
                row.error(
                    "order_rejected",
                    f"Line {bad[0].number} of order {order.ref} was rejected, so the whole order is.",
                )


def analyse(
    order_import: OrderImport, *, today: date | None = None, progress: Callable[[int], None] | None = None
) -> _Analysis:
    """Read and validate the whole file and find every row's product, customer and owner; writes nothing.
    ``progress(rows read)`` is called every few thousand rows."""
    from orders.services import order_settings

    today = today or timezone.localdate()
    columns = _columns(order_import)
    width = len(order_import.headers)
    rows = []
    for number, cells in read_rows(order_import):
        rows.append(clean_row(number, cells, columns, width, today))
        if progress is not None and len(rows) % 5000 == 0:
            progress(len(rows))
    orders, loose = _group(rows)
    _find_products(rows)
    _find_customers(orders)
    _find_owners(orders)
    _find_imported(orders, order_import)
    _prices(orders, order_settings().base_currency)
    _rates(orders)
    _reject_whole_orders(orders)
    return _Analysis(rows=rows, orders=orders, loose=loose)


def _line_net(row: _Row) -> Decimal:
    gross = Decimal(row.quantity) * row.unit_price
    return (gross * (HUNDRED - row.discount) / HUNDRED).quantize(CENT, ROUND_HALF_UP)


def _reject_records(rows: Iterable[_Row]) -> list[dict[str, Any]]:
    return [
        {
            "row": row.number,
            "ref": row.values.get("external_ref", ""),
            "reasons": [text for _, text in row.errors],
            "kinds": sorted({kind for kind, _ in row.errors}),
            "values": row.cells,
        }
        for row in rows
    ]


def _summary(analysis: _Analysis) -> dict[str, Any]:
    """The figures of an analysis: rows, orders and lines accepted and rejected, rejections per reason,
    orders per status and customers found, the first accepted orders, net totals per currency."""
    good = [o for o in analysis.orders if o.ok]
    rejected_rows = analysis.rejected()
    reasons: Counter[str] = Counter()
    for row in rejected_rows:
        for kind in {kind for kind, _ in row.errors}:
            reasons[kind] += 1
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for order in good:
        if order.status == Order.Status.DELIVERED:
            totals[order.currency] += sum((_line_net(row) for row in order.rows), Decimal("0"))
    dates = [o.ordered_on for o in good if o.ordered_on]
    samples = [
        {
            "ref": order.ref,
            "line": order.rows[0].number,
            "ordered_on": order.ordered_on.isoformat() if order.ordered_on else "",
            "customer": order.customer_label,
            "matched_by": order.matched_by,
            "status": order.status,
            "lines": len(order.rows),
            "net": str(sum((_line_net(row) for row in order.rows), Decimal("0"))),
            "currency": order.currency,
        }
        for order in good[:PREVIEW_ORDERS]
    ]
    return {
        "rows": len(analysis.rows),
        "orders": len(good),
        "lines": sum(len(o.rows) for o in good),
        "rejected_rows": len(rejected_rows),
        "rejected_orders": sum(1 for o in analysis.orders if not o.ok),
        "reasons": dict(reasons),
        "statuses": dict(Counter(o.status for o in good)),
        "matched_by": dict(Counter(o.matched_by for o in good)),
        "customers": len({(o.account_id, o.contact_id) for o in good}),
        "totals": {currency: str(amount) for currency, amount in sorted(totals.items())},
        "first": min(dates).isoformat() if dates else "",
        "last": max(dates).isoformat() if dates else "",
        "samples": samples,
    }


# --- Services --------------------------------------------------------------------------------------------


def order_import_list(*, actor: User) -> QuerySet[OrderImport]:
    """The imports ``actor`` may see (admins: all; nobody else any)."""
    return scoped(actor, OrderImport.objects.select_related("created_by", "job"))


def order_import_get(*, actor: User, pk: Any, action: str = "view") -> OrderImport:
    return get_object_for(actor, OrderImport.objects.select_related("created_by", "job"), pk, action)


@transaction.atomic
def order_import_create(*, actor: User, file: File, encoding: str = "") -> OrderImport:
    """Store an uploaded file of past orders with what reading it found and a guessed mapping; a file that
    cannot be read raises a ValidationError saying why, and nothing is stored."""
    require(actor, "add", OrderImport)
    # Every row is counted (no row limit while reading), so that the message can say how many there are.
    info = tabular.inspect_upload(file, encoding=encoding, max_rows=None, max_bytes=max_bytes())
    if info.row_count > max_rows():
        raise file_error(
            f"The file has {info.row_count:,} rows, more than {max_rows():,}: split it into smaller files (by year)."
        )
    filename = (file.name or "orders.csv").rsplit("/", 1)[-1][:255]
    order_import = OrderImport(
        filename=filename,
        encoding=info.encoding,
        delimiter=info.delimiter,
        headers=info.header,
        row_count=info.row_count,
        mapping=mapping_guess(info.header),
        created_by=actor,
    )
    importing.upload_store(order_import, file, name=filename, info=info, actor=actor)
    return order_import


@transaction.atomic
def order_import_configure(
    *, order_import: OrderImport, actor: User, mapping: dict[str, str] | None = None, encoding: str | None = None
) -> OrderImport:
    """Set the mapping, or read the file again in another encoding; either makes an earlier check stale."""
    order_import = importing.lock(order_import, actor=actor)
    importing.editable(order_import, EDITABLE)
    fields: list[str] = []
    info = tabular.read_again(order_import, encoding=encoding, name=order_import.filename, max_rows=None)
    if info is not None:
        fields += ["encoding", "delimiter", "row_count"]
        if info.header != order_import.headers:
            order_import.headers = info.header
            order_import.mapping = mapping_guess(info.header)
            fields += ["headers", "mapping"]
    if mapping is not None and importing.mapping_set(
        order_import, mapping, header=order_import.headers, errors=mapping_errors
    ):
        fields.append("mapping")
    if fields and order_import.status == Status.MAPPED:
        order_import.status, order_import.counts, order_import.rejects = Status.UPLOADED, {}, []
        fields += ["status", "counts", "rejects"]
    if fields:
        order_import.save(update_fields=sorted(set(fields)))
    return order_import


def order_import_check(*, order_import: OrderImport, actor: User) -> OrderImport:
    """Validate every row and find its product, customer and owner, without writing any order: the
    figures go to ``counts['check']``, the rejected rows with their reasons to ``rejects``. Files of up to
    SYNC_CHECK_ROWS rows are checked now; bigger ones by the ``order_import_check`` job (the import's
    ``job``), while the import is 'mapped' without figures yet."""
    with transaction.atomic():
        order_import = importing.lock(order_import, actor=actor)
        importing.editable(order_import, EDITABLE)
        importing.mapping_require(mapping_errors(order_import.headers, order_import.mapping))
        if order_import.row_count > SYNC_CHECK_ROWS:
            title = f"Check the orders of {order_import.filename}"
            job = importing.job_start(order_import, kind="order_import_check", title=title, actor=actor)
            order_import.status, order_import.job, order_import.counts, order_import.rejects = (
                Status.MAPPED,
                job,
                {},
                [],
            )
            order_import.save(update_fields=["status", "job", "counts", "rejects"])
            return order_import
    try:
        analysis = analyse(order_import)
    except JobError as exc:  # the stored file cannot be read any more
        raise ValidationError(str(exc)) from exc
    _checked(order_import, analysis)
    order_import.refresh_from_db()
    return order_import


def _checked(order_import: OrderImport, analysis: _Analysis, *, job_id: Any = None) -> int:
    """Keep what a check found, unless the import moved on meanwhile (a new mapping, another check)."""
    summary = {**_summary(analysis), "checked_at": timezone.now().isoformat()}
    still = OrderImport.objects.filter(pk=order_import.pk, status__in=[Status.UPLOADED, Status.MAPPED])
    if job_id is not None:
        still = still.filter(status=Status.MAPPED, job_id=job_id)
    return still.update(status=Status.MAPPED, counts={"check": summary}, rejects=_reject_records(analysis.rejected()))


def checking(order_import: OrderImport) -> bool:
    """True while the check job of a big file has not given its figures yet."""
    job = order_import.job
    return (
        order_import.status == Status.MAPPED
        and not (order_import.counts or {}).get("check")
        and job is not None
        and job.kind == "order_import_check"
        and not job.is_finished
    )


def order_import_check_run(run: JobRun) -> dict:
    """The check as a job: it writes nothing but its figures, so a restarted check simply starts over."""
    order_import = importing.job_import(OrderImport, run)
    if order_import.status != Status.MAPPED or order_import.job_id != run.job.pk:
        return {"message": "Nothing to check (the import moved on)"}
    total = max(order_import.row_count, 1)
    analysis = analyse(
        order_import, progress=lambda done: run.progress(90 * done / total, f"{done:,} of {total:,} rows read")
    )
    run.progress(95, "Keeping the figures")
    _checked(order_import, analysis, job_id=run.job.pk)
    return {"message": f"{len(analysis.rows):,} rows checked"}


def order_import_start(*, order_import: OrderImport, actor: User) -> Job:
    """Start (or resume) the import as an ``order_import`` job; orders imported already are never written twice."""
    with transaction.atomic():
        order_import = importing.lock(order_import, actor=actor)
        if order_import.status == Status.RUNNING and order_import.job and not order_import.job.is_finished:
            raise ValidationError("This file is being imported already.")
        if order_import.status == Status.UPLOADED or (
            order_import.status == Status.MAPPED and not (order_import.counts or {}).get("check")
        ):
            raise ValidationError("Check the rows first: map the columns and look at what the check finds.")
        if order_import.status not in (Status.MAPPED, Status.FAILED, Status.RUNNING):
            raise ValidationError(f"This import is {order_import.get_status_display().lower()}; it cannot run again.")
        importing.mapping_require(mapping_errors(order_import.headers, order_import.mapping))
        title = f"Import orders from {order_import.filename}"
        job = importing.job_start(order_import, kind="order_import", title=title, actor=actor)
        order_import.status, order_import.job = Status.RUNNING, job
        order_import.save(update_fields=["status", "job"])
        importing.audit(order_import, actor=actor, verb="import started")
    return job


def order_import_run(run: JobRun) -> dict:
    """The import job: analyse, write the accepted orders chunk by chunk, then the ledger and the rollups."""
    order_import = importing.job_import(OrderImport, run)
    if not importing.runs(order_import):
        return {"message": "Imported already"}
    actor = importing.job_actor(order_import)
    try:
        return _run(run, order_import, actor)
    except DatabaseError:
        raise  # the job retries and resumes; the import stays running meanwhile
    except (JobCancelled, Exception):
        OrderImport.objects.filter(pk=order_import.pk, status=Status.RUNNING).update(status=Status.FAILED)
        raise


def _run(run: JobRun, order_import: OrderImport, actor: User) -> dict:
    rows = max(order_import.row_count, 1)
    run.progress(1, f"Reading {rows:,} rows")
    analysis = analyse(order_import, progress=lambda done: run.progress(9 * done / rows, f"{done:,} rows read"))
    done_refs = set(Order.objects.filter(order_import=order_import).values_list("external_ref", flat=True))
    todo = [order for order in analysis.orders if order.ok and order.ref not in done_refs]
    total = max(len(todo), 1)
    written = 0
    run.progress(10, f"{len(todo):,} orders to write")
    for start in range(0, len(todo), CHUNK):
        chunk = todo[start : start + CHUNK]
        with transaction.atomic():
            # One writer at a time per import: a second worker on the same job waits here.
            OrderImport.objects.select_for_update().filter(pk=order_import.pk).values_list("pk", flat=True).first()
            already = set(
                Order.objects.filter(order_import=order_import, external_ref__in=[o.ref for o in chunk]).values_list(
                    "external_ref", flat=True
                )
            )
            _write([o for o in chunk if o.ref not in already], order_import, actor)
            written += len(chunk)
            run.progress(10 + 75 * written / total, f"{written:,} of {len(todo):,} orders written")
    run.progress(88, "Booking the sales ledger and the delivery figures")
    return _finish(order_import, actor, analysis)


@transaction.atomic
def _finish(order_import: OrderImport, actor: User, analysis: _Analysis) -> dict:
    _rebuild_rollups()
    summary = _summary(analysis)
    orders = Order.objects.filter(order_import=order_import)
    counts = {
        **summary,
        "check": (order_import.counts or {}).get("check", {}),
        "orders": orders.count(),
        "lines": OrderLine.objects.filter(order__order_import=order_import).count(),
    }
    OrderImport.objects.filter(pk=order_import.pk).update(
        status=Status.DONE,
        counts=counts,
        rejects=_reject_records(analysis.rejected()),
        finished_at=timezone.now(),
    )
    order_import.refresh_from_db()
    message = f"{counts['orders']:,} orders with {counts['lines']:,} lines from {counts['rows']:,} rows"
    if counts["rejected_rows"]:
        message += f"; {counts['rejected_rows']:,} rows rejected"
    importing.audit(order_import, actor=actor, verb="imported", note=message)
    return {"message": message, "orders": counts["orders"]}


def _rebuild_rollups() -> None:
    """The sales ledger from the orders' states and dates, the delivery statistics, and (through the
    ledger's listeners, which forecasting registers) the sales facts."""
    from orders.ledger import delivery_stats_rebuild, ledger_rebuild

    ledger_rebuild()
    delivery_stats_rebuild()


# --- Writing orders ---------------------------------------------------------------------------------


def _moment(day: date, hour: int) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour)))


def _write(orders: list[_Order], order_import: OrderImport, actor: User) -> None:
    """Bulk-write orders in their final state: lines with frozen prices and taxes, one shipment with every
    unit for delivered and returned orders, and the event that says the order was imported."""
    from orders.services import TaxTable, money, order_numbers_next

    if not orders:
        return
    numbers = iter(order_numbers_next(len(orders)))  # the series' row stays locked until the chunk commits
    tables: dict[str, TaxTable] = {}
    now = timezone.now()
    made: list[Order] = []
    lines_of: list[list[OrderLine]] = []
    for order in orders:
        table = tables.get(order.country) or tables.setdefault(order.country, TaxTable(order.country))
        lines = []
        for position, row in enumerate(order.rows, start=1):
            product = row.product
            net = _line_net(row)
            tax_rate = table.rate(product["category_id"])
            shipped = row.quantity if order.status != Order.Status.CANCELLED else 0
            lines.append(
                OrderLine(
                    position=position,
                    product_id=product["id"],
                    category_id=product["category_id"],
                    description=product["name"][:300],
                    sku=product["sku"],
                    quantity=row.quantity,
                    unit_price=row.unit_price,
                    discount_percent=row.discount,
                    tax_rate=tax_rate,
                    net_amount=net,
                    tax_amount=money(net * tax_rate / HUNDRED),
                    lead_time_days=product["base_lead_time_days"],
                    quantity_shipped=shipped,
                    quantity_returned=shipped if order.status == Order.Status.RETURNED else 0,
                )
            )
        subtotal = sum((line.net_amount for line in lines), Decimal("0"))
        tax_total = sum((line.tax_amount for line in lines), Decimal("0"))
        confirmed = _moment(order.ordered_on, 9)
        delivered = _moment(order.delivered_on, 15) if order.delivered_on else None
        made.append(
            Order(
                number=next(numbers),
                account_id=order.account_id,
                contact_id=order.contact_id,
                owner_id=order.owner_id,
                status=order.status,
                source=Order.Source.IMPORT,
                currency=order.currency,
                country=order.country,
                region=order.region[:100],
                segment=order.segment,
                subtotal=subtotal,
                discount_total=Decimal("0"),
                tax_total=tax_total,
                total=subtotal + tax_total,
                ordered_on=order.ordered_on,
                # Without a promised date in the file, the delivery counts as the one promised (on time).
                promised_date=order.promised_on or order.delivered_on,
                confirmed_at=confirmed,
                allocated_at=confirmed if delivered else None,
                shipped_at=_moment(order.delivered_on, 8) if delivered else None,
                delivered_at=delivered,
                cancelled_at=_moment(order.ordered_on, 17) if order.status == Order.Status.CANCELLED else None,
                returned_at=delivered if order.status == Order.Status.RETURNED else None,
                order_import=order_import,
                external_ref=order.ref[:60],
                created_at=now,
            )
        )
        lines_of.append(lines)
    Order.objects.bulk_create(made, batch_size=500)
    if any(o.pk is None for o in made):  # a database that returns no keys from a bulk insert
        keys = dict(Order.objects.filter(number__in=[o.number for o in made]).values_list("number", "pk"))
        for o in made:
            o.pk = keys[o.number]
    all_lines = []
    for order, lines in zip(made, lines_of, strict=True):
        for line in lines:
            line.order_id = order.pk
            all_lines.append(line)
    OrderLine.objects.bulk_create(all_lines, batch_size=1000)
    if any(line.pk is None for line in all_lines):
        keys = {
            (order_id, position): pk
            for order_id, position, pk in OrderLine.objects.filter(order__in=made).values_list(
                "order_id", "position", "pk"
            )
        }
        for line in all_lines:
            line.pk = keys[line.order_id, line.position]
    events, shipments, shipped_lines = [], [], []
    for source, order, lines in zip(orders, made, lines_of, strict=True):
        events.append(
            OrderEvent(
                order_id=order.pk,
                at=now,
                by=actor,
                from_status="",
                to_status=order.status,
                note=f"Imported from {order_import.filename} (line {source.rows[0].number}, ref {source.ref})"[:300],
                data={"imported": True, "import_id": order_import.pk, "external_ref": source.ref},
            )
        )
        if order.delivered_at:
            shipments.append(
                Shipment(
                    order_id=order.pk, number=1, shipped_at=order.shipped_at, delivered_at=order.delivered_at, by=actor
                )
            )
            shipped_lines.append(lines)
    OrderEvent.objects.bulk_create(events, batch_size=1000)
    Shipment.objects.bulk_create(shipments, batch_size=1000)
    if any(s.pk is None for s in shipments):
        keys = dict(Shipment.objects.filter(order_id__in=[s.order_id for s in shipments]).values_list("order_id", "pk"))
        for shipment in shipments:
            shipment.pk = keys[shipment.order_id]
    ShipmentLine.objects.bulk_create(
        [
            ShipmentLine(shipment_id=shipment.pk, line_id=line.pk, quantity=line.quantity)
            for shipment, lines in zip(shipments, shipped_lines, strict=True)
            for line in lines
        ],
        batch_size=1000,
    )


# --- Report, rejects and undo ---------------------------------------------------------------------------


def order_import_rejects(*, order_import: OrderImport, actor: User) -> Iterator[str]:
    """The rejected rows as CSV text, line by line (for a streamed download): line, reasons, then the
    row's cells under the file's own header, in the file's delimiter, so that they can be fixed and sent again."""
    require(actor, "view", order_import)
    yield from tabular.csv_lines(
        ["line", "reasons", *order_import.headers],
        ([reject["row"], " ".join(reject["reasons"]), *reject["values"]] for reject in order_import.rejects or []),
        delimiter=order_import.delimiter,
    )


@transaction.atomic
def order_import_undo(*, order_import: OrderImport, actor: User) -> dict[str, Any]:
    """Undo a whole import in one transaction: its orders are removed with their lines, events, shipments
    and ledger entries, then the delivery statistics and the sales facts are rebuilt without them."""
    order_import = importing.lock(order_import, actor=actor)
    if order_import.status == Status.UNDONE:
        raise ValidationError("This import was undone already.")
    if order_import.status == Status.RUNNING and order_import.job and not order_import.job.is_finished:
        raise ValidationError("This import is running: cancel its job first, then undo it.")
    if order_import.status in (Status.UPLOADED, Status.MAPPED):
        raise ValidationError("Nothing was imported from this file yet.")
    orders = Order.objects.filter(order_import=order_import)
    summary = {
        "orders_removed": orders.count(),
        "lines_removed": OrderLine.objects.filter(order__order_import=order_import).count(),
    }
    try:
        orders.delete()
    except ProtectedError as exc:
        kinds = sorted({str(obj._meta.verbose_name_plural) for obj in exc.protected_objects})
        raise ValidationError(
            f"The imported orders cannot be removed: {', '.join(kinds)} point at them now. Remove those first."
        ) from exc
    _rebuild_rollups()
    order_import.status, order_import.undone_at = Status.UNDONE, timezone.now()
    order_import.counts = {**order_import.counts, "undo": summary}
    order_import.save(update_fields=["status", "undone_at", "counts"])
    removed = f"{summary['orders_removed']:,} orders with {summary['lines_removed']:,} lines removed"
    importing.audit(order_import, actor=actor, verb="undone", note=removed)
    return summary


@job_task(kind="order_import")
def order_import_task(run: JobRun) -> dict:
    return order_import_run(run)


@job_task(kind="order_import_check")
def order_import_check_task(run: JobRun) -> dict:
    return order_import_check_run(run)
