"""Importing order history: reading files, the mapping, every validation reason, the run as a job (orders
in their final state, events, shipments, ledger, delivery figures), the report and its rejects, undo,
resuming a stopped run, and who may do it; over the services and the pages."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone

from orders import imports
from orders.imports import (
    mapping_guess,
    order_import_check,
    order_import_configure,
    order_import_create,
    order_import_rejects,
    order_import_start,
    order_import_undo,
    parse_date,
    parse_decimal,
)
from orders.ledger import delivery_stats_rebuild, ledger_rebuild, rebuild_listeners
from orders.models import DeliveryStat, Order, OrderEvent, OrderImport, SalesEntry, Shipment
from sfa.models import AuditEvent, Job, JobStatus
from tests.catalog.factories import CategoryFactory, PriceFactory, PriceListFactory, ProductFactory
from tests.orders.factories import OrderFactory, OrderLineFactory, TaxRateFactory

HEADER = [
    "Auftragsnummer",
    "Datum",
    "Kunde",
    "E-Mail",
    "Artikel",
    "Menge",
    "Preis",
    "Rabatt",
    "Währung",
    "Status",
    "Lieferdatum",
    "Verkäufer",
    "Region",
    "Land",
]
MAPPING = {
    "Auftragsnummer": "external_ref",
    "Datum": "order_date",
    "Kunde": "account",
    "E-Mail": "email",
    "Artikel": "sku",
    "Menge": "quantity",
    "Preis": "unit_price",
    "Rabatt": "discount",
    "Währung": "currency",
    "Status": "status",
    "Lieferdatum": "delivered_date",
    "Verkäufer": "owner",
    "Region": "region",
    "Land": "country",
}


def csv_text(rows: list[list[str]], header: list[str] = HEADER, delimiter: str = ";") -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def line(ref: str = "A-1", **kwargs) -> list[str]:
    """One valid order line of Acme GmbH, delivered, in the HEADER's order; keywords change a column."""
    values = {
        "ref": ref,
        "date": "15.03.2025",
        "account": "Acme GmbH",
        "email": "",
        "sku": "AUR",
        "quantity": "2",
        "price": "1.000,00",
        "discount": "10",
        "currency": "EUR",
        "status": "geliefert",
        "delivered": "2025-03-28",
        "owner": "",
        "region": "",
        "country": "",
    }
    values.update(kwargs)
    return list(values.values())


@pytest.fixture
def upload():
    def _upload(content, name: str = "history.csv", charset: str = "utf-8"):
        data = content.encode(charset) if isinstance(content, str) else content
        return SimpleUploadedFile(name, data, content_type="text/csv")

    return _upload


@pytest.fixture
def catalog(db):
    cars = CategoryFactory(slug="cars", name="Cars")
    bikes = CategoryFactory(slug="bikes", name="Bikes")
    TaxRateFactory(country="DE", category=None, rate=Decimal("19"))
    TaxRateFactory(country="AT", category=None, rate=Decimal("20"))
    return {
        "aurora": ProductFactory(sku="AUR", name="Aurora", category=cars),
        "helmet": ProductFactory(sku="BA-HLM", name="Helmet", category=bikes),
    }


@pytest.fixture
def history(org, acme, anna, catalog, upload, settings, tmp_path):
    """``history(rows, header=HEADER, actor=org.admin, **kwargs)`` -> an OrderImport of that CSV, uploaded."""
    settings.MEDIA_ROOT = str(tmp_path / "media")

    def _history(rows, *, header=HEADER, actor=None, name="history.csv", charset="utf-8", **kwargs):
        text = csv_text(rows, header) if isinstance(rows, list) else rows
        return order_import_create(actor=actor or org.admin, file=upload(text, name, charset), **kwargs)

    return _history


@pytest.fixture
def capture(django_capture_on_commit_callbacks):
    return django_capture_on_commit_callbacks


def checked(order_import: OrderImport, actor) -> OrderImport:
    return order_import_check(order_import=order_import, actor=actor)


def run(order_import: OrderImport, actor, capture) -> OrderImport:
    if order_import.status == OrderImport.Status.UPLOADED:
        order_import = checked(order_import, actor)
    with capture(execute=True):
        order_import_start(order_import=order_import, actor=actor)
    order_import.refresh_from_db()
    return order_import


def reasons(order_import: OrderImport) -> dict[int, list[str]]:
    return {reject["row"]: reject["reasons"] for reject in order_import.rejects}


def kinds(order_import: OrderImport) -> dict[int, list[str]]:
    return {reject["row"]: reject["kinds"] for reject in order_import.rejects}


def audits(order_import: OrderImport):
    return AuditEvent.objects.filter(
        content_type=ContentType.objects.get_for_model(OrderImport), object_id=str(order_import.pk)
    )


def ledger_net(orders) -> Decimal:
    return SalesEntry.objects.filter(order__in=orders, basis="booking").aggregate(s=Sum("amount"))["s"] or Decimal(0)


# --- reading values and files ------------------------------------------------------------------------


def test_the_mapping_is_guessed_from_german_english_and_french_names():
    assert mapping_guess(HEADER) == MAPPING
    english = ["Order no.", "Order date", "Customer", "Contact email", "SKU", "Qty", "Unit price", "Discount %",
               "Currency", "Status", "Delivery date", "Sales rep", "Sales region", "Country", "Notes"]  # fmt: skip
    assert mapping_guess(english) == {
        "Order no.": "external_ref",
        "Order date": "order_date",
        "Customer": "account",
        "Contact email": "email",
        "SKU": "sku",
        "Qty": "quantity",
        "Unit price": "unit_price",
        "Discount %": "discount",
        "Currency": "currency",
        "Status": "status",
        "Delivery date": "delivered_date",
        "Sales rep": "owner",
        "Sales region": "region",
        "Country": "country",
        "Notes": "ignore",
    }
    french = ["N° commande", "Date de commande", "Client", "Courriel", "Code article", "Quantité", "Prix unitaire"]
    assert list(mapping_guess(french).values()) == [
        "external_ref",
        "order_date",
        "account",
        "email",
        "sku",
        "quantity",
        "unit_price",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-03-15", date(2025, 3, 15)),
        ("15.03.2025", date(2025, 3, 15)),
        ("15/03/2025", date(2025, 3, 15)),
        ("15.03.25", date(2025, 3, 15)),
        ("2025-03-15 14:30:00", date(2025, 3, 15)),
        ("2025-03-15T14:30", date(2025, 3, 15)),
        ("31.02.2025", None),
        ("March 15", None),
    ],
)
def test_dates_are_read_as_exports_write_them(text, expected):
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1234.5", Decimal("1234.5")),
        ("1,234.50", Decimal("1234.50")),
        ("1.234,50", Decimal("1234.50")),
        ("1 234,50 €", Decimal("1234.50")),
        ("12,5", Decimal("12.5")),
        ("1,234", Decimal("1234")),
        ("10 %", Decimal("10")),
        ("1.234.567", Decimal("1234567")),
        ("zwei", None),
        ("1,2,3.4.5", None),
    ],
)
def test_numbers_are_read_as_people_type_them(text, expected):
    assert parse_decimal(text) == expected


def test_a_file_is_read_with_its_encoding_and_delimiter(history):
    imp = history(csv_text([line(account="Müller Bürobedarf GmbH")]), charset="cp1252")
    assert imp.encoding == "cp1252" and imp.delimiter == ";" and imp.row_count == 1
    assert imp.headers == HEADER and imp.mapping == MAPPING
    assert imports.sample_rows(imp, 1)[0][2] == "Müller Bürobedarf GmbH"
    event = audits(imp).get(action="create")
    assert "1 rows" in event.note and "Windows-1252" in event.note


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"", "history.csv", "The file is empty."),
        (b"  \r\n\r\n", "history.csv", "The file is empty."),
        (b"Auftragsnummer;Datum\r\n", "history.csv", "header line but no rows"),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "history.csv", "is an image"),
        (bytes(range(256)) * 40, "history.csv", "not a text file"),
        (b"PK\x03\x04 not really a zip", "history.xlsx", "not a readable Excel workbook"),
        (b"A-1;15.03.2025;Acme GmbH;AUR;2\r\nA-2;16.03.2025;Acme GmbH;AUR;1\r\n", "history.csv", "looks like data"),
    ],
    ids=["empty", "blank", "header-only", "image", "binary", "broken-xlsx", "headerless"],
)
def test_files_that_cannot_be_read_are_refused_and_nothing_is_stored(history, tmp_path, content, name, message):
    with pytest.raises(ValidationError) as caught:
        history(content, name=name)
    assert message in " ".join(caught.value.messages)
    assert OrderImport.objects.count() == 0
    assert not (tmp_path / "media").exists() or not any((tmp_path / "media").rglob("*.*"))


def test_a_wrongly_encoded_file_says_so_and_which_line(history):
    good = csv_text([line(f"A-{i}") for i in range(1, 1500)])  # more than the sample read at first
    bad = csv_text([line("A-1500", account="Weiß GmbH")]).split("\r\n", 1)[1]
    with pytest.raises(ValidationError) as caught:
        history(good.encode("utf-8") + bad.encode("cp1252"), encoding="utf-8")
    assert "not readable as UTF-8" in caught.value.messages[0] and "line 1,501" in caught.value.messages[0]
    assert OrderImport.objects.count() == 0


def test_the_size_and_row_limits_are_enforced(history, settings):
    settings.ORDER_IMPORT_MAX_BYTES = 200
    with pytest.raises(ValidationError, match="at most 0 KB can be imported"):
        history([line(f"A-{i}") for i in range(1, 10)])
    settings.ORDER_IMPORT_MAX_BYTES = 100_000
    settings.ORDER_IMPORT_MAX_ROWS = 3
    with pytest.raises(ValidationError, match="4 rows, more than 3"):
        history([line(f"A-{i}") for i in range(1, 5)])
    assert history([line(f"A-{i}") for i in range(1, 4)]).row_count == 3
    assert OrderImport.objects.count() == 1


def test_an_excel_workbook_with_real_dates_and_numbers_is_imported(org, history, capture):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["Order number", "Order date", "Customer", "SKU", "Qty", "Unit price", "Delivery date"])
    sheet.append(["X-1", datetime(2025, 2, 3), "Acme GmbH", "AUR", 2, 999.5, datetime(2025, 2, 10)])
    sheet.append(["X-1", None, None, "BA-HLM", 1, 89, None])
    data = io.BytesIO()
    book.save(data)
    imp = history(data.getvalue(), name="history.xlsx")
    assert imp.encoding == "xlsx" and imp.row_count == 2
    imp = run(imp, org.admin, capture)
    order = Order.objects.get(external_ref="X-1")
    assert imp.rejects == [] and order.ordered_on == date(2025, 2, 3) and order.subtotal == Decimal("2088.00")
    assert order.delivered_at.date() == date(2025, 2, 10) and order.lines.count() == 2


def test_a_mapping_needs_the_required_fields_once(history, org):
    imp = history([line()])
    with pytest.raises(ValidationError) as caught:
        order_import_configure(
            order_import=imp, actor=org.admin, mapping={"Artikel": "ignore", "Kunde": "ignore", "E-Mail": "ignore"}
        )
    text = " ".join(caught.value.messages)
    assert "product sku" in text and "every order needs a customer" in text
    with pytest.raises(ValidationError, match="Order date is chosen for 2 columns"):
        order_import_configure(order_import=imp, actor=org.admin, mapping={"Lieferdatum": "order_date"})
    imp.refresh_from_db()
    assert imp.mapping == MAPPING


# --- the happy path ----------------------------------------------------------------------------------------


def test_an_import_writes_orders_in_their_final_state_with_ledger_and_delivery_figures(
    org, acme, anna, catalog, history, capture
):
    rows = [
        line("A-1"),  # 2 × 1,000 − 10 % = 1,800 net
        line("A-1", sku="BA-HLM", quantity="3", price="89,90", discount=""),  # 269.70
        line("A-2", account="", email="anna.schmidt@acme.example", status="cancelled", delivered="", price="500"),
        line(
            "A-3",
            date="2024-11-02",
            status="Retourniert",
            delivered="2024-11-20",
            price="700",
            discount="0",
            quantity="1",
            owner="rep_b",
            region="Nord",
            country="AT",
        ),
    ]
    imp = checked(history(rows), org.admin)
    assert imp.status == OrderImport.Status.MAPPED
    check = imp.counts["check"]
    assert (check["orders"], check["lines"], check["rejected_rows"]) == (3, 4, 0)
    assert check["statuses"] == {"delivered": 1, "cancelled": 1, "returned": 1}
    assert check["totals"] == {"EUR": "2069.70"}  # of the delivered order only
    assert Order.objects.count() == 0  # the check writes nothing

    imp = run(imp, org.admin, capture)
    assert imp.status == OrderImport.Status.DONE and imp.job.status == JobStatus.SUCCEEDED
    assert imp.counts["orders"] == 3 and imp.counts["lines"] == 4 and imp.rejects == []
    a1, a2, a3 = (Order.objects.get(external_ref=ref) for ref in ("A-1", "A-2", "A-3"))
    assert a1.source == Order.Source.IMPORT and a1.order_import == imp
    numbers = sorted(int(o.number.removeprefix("SO-")) for o in (a1, a2, a3))  # the order series, no gaps
    assert numbers == list(range(numbers[0], numbers[0] + 3)) and a1.number == f"SO-{numbers[0]:06d}"

    assert a1.status == Order.Status.DELIVERED and a1.account == acme and a1.contact is None
    assert a1.owner == org.rep  # the account's owner, as no owner is given
    assert a1.ordered_on == date(2025, 3, 15) and a1.delivered_at.date() == date(2025, 3, 28)
    assert a1.country == "DE" and a1.subtotal == Decimal("2069.70")
    assert a1.tax_total == Decimal("393.24") and a1.total == Decimal("2462.94")  # 19 % on each line
    lines = list(a1.lines.order_by("position"))
    assert [(x.sku, x.quantity, x.net_amount, x.quantity_shipped) for x in lines] == [
        ("AUR", 2, Decimal("1800.00"), 2),
        ("BA-HLM", 3, Decimal("269.70"), 3),
    ]
    shipment = Shipment.objects.get(order=a1)
    assert shipment.delivered_at == a1.delivered_at and shipment.lines.count() == 2

    assert a2.status == Order.Status.CANCELLED and a2.contact == anna and a2.account == acme
    assert not a2.shipments.exists() and a2.cancelled_at is not None
    assert a3.status == Order.Status.RETURNED and a3.owner == org.rep_b
    assert (a3.region, a3.country, a3.tax_total) == ("Nord", "AT", Decimal("140.00"))
    assert a3.lines.get().quantity_returned == 1

    events = OrderEvent.objects.filter(order__order_import=imp)
    assert events.count() == 3 and all(e.note.startswith("Imported from history.csv") for e in events)
    assert events.get(order=a3).to_status == "returned" and events.get(order=a3).by == org.admin

    # The ledger: booked on the order dates, net of the cancellation and the return.
    assert ledger_net([a1]) == Decimal("2069.70")
    assert ledger_net([a2]) == 0 and ledger_net([a3]) == 0
    booked = SalesEntry.objects.filter(order=a1, kind="booked").values_list("on", flat=True)
    assert set(booked) == {date(2025, 3, 15)}
    delivered = SalesEntry.objects.filter(order__in=[a1, a3], basis="delivery").aggregate(s=Sum("amount"))["s"]
    assert delivered == Decimal("2069.70")
    stat = DeliveryStat.objects.get(month=date(2025, 3, 1), product=catalog["aurora"])
    assert (stat.deliveries, stat.on_time, stat.days_total) == (1, 1, 13)
    audit = audits(imp).get(verb="imported")
    assert "3 orders with 4 lines from 4 rows" in audit.note
    from orders.services import order_create

    later = order_create(actor=org.rep, account=acme, lines=[{"product": catalog["helmet"], "unit_price": 89}])
    assert later.number == f"SO-{numbers[-1] + 1:06d}"  # the live series goes on after the imported orders


def test_without_a_unit_price_the_price_list_of_the_order_date_is_used(org, catalog, history, capture):
    old = PriceListFactory(code="eur-2024", currency="EUR", valid_from=date(2024, 1, 1), valid_to=date(2024, 12, 31))
    new = PriceListFactory(code="eur-2025", currency="EUR", valid_from=date(2025, 1, 1))
    PriceFactory(price_list=old, product=catalog["aurora"], amount=Decimal("900"))
    PriceFactory(price_list=new, product=catalog["aurora"], amount=Decimal("950"))
    rows = [
        line("P-1", date="2024-06-01", price="", discount="", delivered="2024-06-10"),
        line("P-2", price="", discount=""),
        line("P-3", sku="BA-HLM", price="", discount=""),  # no price anywhere
    ]
    imp = run(history(rows), org.admin, capture)
    prices = dict(Order.objects.values_list("external_ref", "lines__unit_price"))
    assert prices == {"P-1": Decimal("900.00"), "P-2": Decimal("950.00")}
    assert kinds(imp) == {4: ["no_price"]}
    assert (
        "no unit price is given" in reasons(imp)[4][0].lower() and "BA-HLM in EUR on 2025-03-15" in reasons(imp)[4][0]
    )


# --- every reason a row is rejected for -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "kind", "message"),
    [
        ({"sku": "NOPE-1"}, "unknown_sku", "No product has the SKU 'NOPE-1'."),
        ({"date": "31.02.2025"}, "bad_date", "'31.02.2025' is not a date"),
        ({"date": "2099-01-01", "delivered": ""}, "bad_date", "The order date 2099-01-01 is in the future."),
        ({"delivered": "2025-03-01"}, "bad_date", "delivered date 2025-03-01 is before the order date 2025-03-15"),
        ({"delivered": ""}, "bad_date", "is delivered but has no delivered date"),
        ({"date": ""}, "missing", "The order date of order A-1 is missing."),
        ({"quantity": "zwei"}, "bad_number", "'zwei' is not a quantity"),
        ({"quantity": "1,5"}, "bad_number", "'1,5' is not a quantity"),
        ({"quantity": "0"}, "bad_number", "'0' is not a quantity"),
        ({"price": "-5"}, "bad_number", "'-5' is not a unit price"),
        ({"discount": "120"}, "bad_number", "'120' is not a discount"),
        ({"account": "Nobody Ltd"}, "unknown_customer", "No account is called 'Nobody Ltd'."),
        ({"account": "", "email": "ghost@nowhere.example"}, "unknown_customer", "No contact has the e-mail"),
        ({"account": "", "email": ""}, "missing", "has neither a customer account nor a contact e-mail"),
        ({"owner": "nobody"}, "unknown_owner", "No active user is 'nobody'"),
        ({"status": "shipped-ish"}, "bad_value", "is not a status of a past order"),
        ({"currency": "EURO"}, "bad_value", "'EURO' is not a currency code"),
        ({"country": "Atlantis"}, "bad_value", "'Atlantis' is not a country"),
        ({"currency": "GBP"}, "no_rate", "No exchange rate from GBP to EUR on or before 2025-03-15"),
        ({"ref": ""}, "missing", "The order ref is missing."),
    ],
)
def test_each_reason_rejects_the_row_with_a_message_that_says_what_and_where(
    org, history, capture, changes, kind, message
):
    imp = checked(history([line("OK-1"), line(**{"ref": "A-1", **changes})]), org.admin)
    assert kinds(imp) == {3: [kind]}, reasons(imp)
    assert any(message in text for text in reasons(imp)[3]), reasons(imp)
    assert imp.counts["check"]["reasons"] == {kind: 1}
    imp = run(imp, org.admin, capture)
    assert list(Order.objects.values_list("external_ref", flat=True)) == ["OK-1"]
    assert imp.counts["rejected_rows"] == 1 and imp.counts["orders"] == 1


def test_an_owner_is_found_by_username_or_email_case_insensitively(org, history, capture):
    imp = run(history([line("A-1", owner="REP_B"), line("A-2", owner="Rep_Other@example.com")]), org.admin, capture)
    owners = dict(Order.objects.values_list("external_ref", "owner__username"))
    assert owners == {"A-1": "rep_b", "A-2": "rep_other"} and imp.rejects == []


def test_an_account_is_found_by_a_similar_name_through_the_matching_engine(org, acme, history, capture):
    imp = checked(history([line("A-1", account="ACME"), line("A-2", account="Acme  gmbh")]), org.admin)
    assert imp.counts["check"]["matched_by"] == {"engine": 1, "name": 1}
    run(imp, org.admin, capture)
    assert set(Order.objects.values_list("account", flat=True)) == {acme.pk}


def test_two_accounts_of_one_name_need_the_contact_to_tell_them_apart(org, history, capture):
    from contacts.services import contact_create
    from tests.contacts.factories import AccountFactory

    hamburg = AccountFactory(name="Nordwind GmbH", owner=org.rep_b, city="Hamburg")
    AccountFactory(name="Nordwind GmbH", owner=org.rep_other, city="Kiel")
    contact_create(
        actor=org.rep_b, first_name="Ole", last_name="Petersen", account=hamburg, emails=["ole@nordwind.example"]
    )
    rows = [line("N-1", account="Nordwind GmbH"), line("N-2", account="Nordwind GmbH", email="OLE@nordwind.example")]
    imp = run(history(rows), org.admin, capture)
    assert kinds(imp) == {2: ["unknown_customer"]}
    assert reasons(imp)[2] == ["2 accounts are called 'Nordwind GmbH': give the contact e-mail as well."]
    order = Order.objects.get(external_ref="N-2")
    assert (order.account, order.contact.last_name, order.owner) == (hamburg, "Petersen", org.rep_b)


def test_a_rejected_line_rejects_its_whole_order(org, history, capture):
    rows = [line("A-1"), line("A-1", sku="NOPE"), line("A-1", sku="BA-HLM"), line("A-2")]
    imp = run(history(rows), org.admin, capture)
    assert kinds(imp) == {2: ["order_rejected"], 3: ["unknown_sku"], 4: ["order_rejected"]}
    assert "Line 3 of order A-1 was rejected, so the whole order is." in reasons(imp)[2]
    assert list(Order.objects.values_list("external_ref", flat=True)) == ["A-2"]
    assert imp.counts["rejected_orders"] == 1 and imp.counts["rejected_rows"] == 3


def test_a_ref_whose_lines_disagree_or_repeat_is_a_duplicate(org, history):
    rows = [
        line("A-1"),
        line("A-1", date="16.03.2025"),  # another order under the same ref
        line("B-1"),
        line("B-1"),  # the same line twice
        line("C-1"),
        line("C-1", sku="BA-HLM", date="", account=""),  # blanks take the order's values: fine
    ]
    imp = checked(history(rows), org.admin)
    assert kinds(imp) == {2: ["order_rejected"], 3: ["duplicate_ref"], 4: ["order_rejected"], 5: ["duplicate_ref"]}
    assert "Order ref A-1 is also on line 2 with another order date (2025-03-15, here 2025-03-16)" in reasons(imp)[3][0]
    assert "Line 5 repeats line 4 exactly" in reasons(imp)[5][0]
    assert imp.counts["check"]["orders"] == 1 and imp.counts["check"]["lines"] == 2


def test_a_ref_imported_already_is_rejected_the_second_time(org, history, capture):
    first = run(history([line("A-1"), line("A-2")]), org.admin, capture)
    hand_made = OrderFactory(external_ref="A-3", owner=org.rep)
    second = run(history([line("A-1"), line("A-3"), line("A-4")]), org.admin, capture)
    number = Order.objects.get(order_import=first, external_ref="A-1").number
    assert kinds(second) == {2: ["already_imported"], 3: ["already_imported"]}
    assert reasons(second)[2] == [f"Order ref A-1 is in SFA already, as order {number}."]
    assert reasons(second)[3] == [f"Order ref A-3 is in SFA already, as order {hand_made.number}."]
    assert list(Order.objects.filter(order_import=second).values_list("external_ref", flat=True)) == ["A-4"]


def test_the_rejects_csv_has_the_reasons_and_the_files_own_columns(org, history, capture):
    imp = run(history([line("A-1", quantity="zwei"), line("A-2")]), org.admin, capture)
    text = "".join(order_import_rejects(order_import=imp, actor=org.admin))
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    assert rows[0] == ["line", "reasons", *HEADER]
    assert rows[1][:3] == ["2", "'zwei' is not a quantity (a whole number of at least 1).", "A-1"]
    assert rows[1][2:] == line("A-1", quantity="zwei") and len(rows) == 2


# --- undo and resuming --------------------------------------------------------------------------------------


def test_undo_removes_exactly_the_imported_orders_and_their_ledger_and_restores_the_figures(
    org, acme, catalog, history, capture
):
    own = OrderFactory(
        owner=org.rep,
        account=acme,
        status=Order.Status.DELIVERED,
        ordered_on=date(2025, 3, 2),
        confirmed_at=aware(date(2025, 3, 2)),
        delivered_at=aware(date(2025, 3, 20)),
        promised_date=date(2025, 3, 10),
    )
    OrderLineFactory(order=own, product=catalog["aurora"], quantity=1, net_amount=Decimal("500.00"), quantity_shipped=1)
    ledger_rebuild()
    delivery_stats_rebuild()
    before = {
        "entries": sorted(SalesEntry.objects.values_list("order_id", "kind", "basis", "on", "amount")),
        "stats": sorted(DeliveryStat.objects.values_list("month", "product_id", "deliveries", "on_time", "days_total")),
        "facts": _facts(),
    }
    imp = run(
        history([line("A-1"), line("A-2", status="returned"), line("A-3", date="2025-04-02", delivered="2025-04-09")]),
        org.admin,
        capture,
    )
    assert Order.objects.filter(order_import=imp).count() == 3
    assert DeliveryStat.objects.get(month=date(2025, 3, 1), product=catalog["aurora"]).deliveries == 3
    if rebuild_listeners:  # forecasting follows the ledger: its facts now hold the imported sales
        assert _facts() != before["facts"]

    summary = order_import_undo(order_import=imp, actor=org.admin)
    assert summary == {"orders_removed": 3, "lines_removed": 3}
    imp.refresh_from_db()
    assert imp.status == OrderImport.Status.UNDONE and imp.counts["undo"] == summary
    assert list(Order.objects.all()) == [own]
    assert not OrderEvent.objects.filter(order__order_import=imp).exists()
    assert sorted(SalesEntry.objects.values_list("order_id", "kind", "basis", "on", "amount")) == before["entries"]
    stats = sorted(DeliveryStat.objects.values_list("month", "product_id", "deliveries", "on_time", "days_total"))
    assert stats == before["stats"]
    assert _facts() == before["facts"]
    assert audits(imp).filter(verb="undone").exists()
    with pytest.raises(ValidationError, match="undone already"):
        order_import_undo(order_import=imp, actor=org.admin)


def aware(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(12)))


def _facts():
    """The sales facts, sorted."""
    from forecasting.models import SalesFact

    return sorted(SalesFact.objects.values_list("grain", "period", "product_id", "rep_id", "revenue", "units"))


def test_a_stopped_import_goes_on_where_it_stopped_and_never_writes_an_order_twice(org, history, capture, monkeypatch):
    monkeypatch.setattr(imports, "CHUNK", 2)
    real_write, calls = imports._write, []

    def failing_write(orders, order_import, actor):
        calls.append(len(orders))
        if len(calls) == 2:
            raise RuntimeError("disk full")
        real_write(orders, order_import, actor)

    monkeypatch.setattr(imports, "_write", failing_write)
    imp = run(history([line(f"A-{i}") for i in range(1, 6)]), org.admin, capture)
    assert imp.status == OrderImport.Status.FAILED and "disk full" in imp.job.error
    assert Order.objects.filter(order_import=imp).count() == 2
    with capture(execute=True):
        order_import_start(order_import=imp, actor=org.admin)
    imp.refresh_from_db()
    assert imp.status == OrderImport.Status.DONE and imp.counts["orders"] == 5
    assert sorted(Order.objects.values_list("external_ref", flat=True)) == [f"A-{i}" for i in range(1, 6)]
    assert Job.objects.filter(kind="order_import").count() == 2


def test_a_big_file_is_checked_by_a_job_and_cannot_run_before(org, history, login, capture, monkeypatch):
    monkeypatch.setattr(imports, "SYNC_CHECK_ROWS", 2)
    imp = history([line("A-1"), line("A-2"), line("A-3", sku="NOPE")])
    with capture() as callbacks:
        imp = order_import_check(order_import=imp, actor=org.admin)
    assert imp.status == OrderImport.Status.MAPPED and imports.checking(imp) and imp.counts == {}
    client = login(org.admin)
    assert "Checking 3 rows" in client.get(reverse("orders:import-preview", args=[imp.pk])).content.decode()
    assert client.get(reverse("orders:import-status", args=[imp.pk]), headers={"HX-Request": "true"}).status_code == 204
    with pytest.raises(ValidationError, match="Check the rows first"):
        order_import_start(order_import=imp, actor=org.admin)
    for callback in callbacks:
        callback()  # the worker runs the check
    imp.refresh_from_db()
    assert imp.job.kind == "order_import_check" and imp.job.status == JobStatus.SUCCEEDED
    assert not imports.checking(imp) and imp.counts["check"]["orders"] == 2 and kinds(imp) == {4: ["unknown_sku"]}
    status = client.get(reverse("orders:import-status", args=[imp.pk]), headers={"HX-Request": "true"})
    assert status["HX-Redirect"] == reverse("orders:import-detail", args=[imp.pk])
    assert "Import 2 orders" in client.get(reverse("orders:import-preview", args=[imp.pk])).content.decode()
    imp = run(imp, org.admin, capture)
    assert imp.status == OrderImport.Status.DONE and Order.objects.count() == 2


def test_an_import_is_not_started_before_its_check_nor_twice(org, history, capture):
    imp = history([line()])
    with pytest.raises(ValidationError, match="Check the rows first"):
        order_import_start(order_import=imp, actor=org.admin)
    imp = run(imp, org.admin, capture)
    with pytest.raises(ValidationError, match="it cannot run again"):
        order_import_start(order_import=imp, actor=org.admin)
    with pytest.raises(ValidationError, match="cannot be changed now"):
        order_import_configure(order_import=imp, actor=org.admin, mapping=MAPPING)


# --- who may do it --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["rep", "manager", "director"])
def test_reps_and_managers_may_not_import_history(org, history, upload, login, role):
    user = getattr(org, role)
    imp = history([line()])
    with pytest.raises(PermissionDenied):
        order_import_create(actor=user, file=upload(csv_text([line()])))
    with pytest.raises(PermissionDenied):
        order_import_check(order_import=imp, actor=user)
    with pytest.raises(PermissionDenied):
        order_import_undo(order_import=imp, actor=user)
    client = login(user)
    for name in ("import-list", "import-upload"):
        assert client.get(reverse(f"orders:{name}")).status_code == 403
    for name in ("import-detail", "import-mapping", "import-preview", "import-rejects", "import-undo"):
        assert client.get(reverse(f"orders:{name}", args=[imp.pk])).status_code == 403, name
    for name in ("import-run", "import-undo"):
        assert client.post(reverse(f"orders:{name}", args=[imp.pk])).status_code == 403, name
    imp.refresh_from_db()
    assert imp.status == OrderImport.Status.UPLOADED and OrderImport.objects.count() == 1
    assert "Order history imports" not in client.get("/").content.decode()
    assert "Order history imports" in login(org.admin).get("/").content.decode()


# --- the wizard over HTTP ---------------------------------------------------------------------------------------


def test_the_wizard_from_upload_to_undo(org, history, upload, login, capture, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    client = login(org.admin)
    page = client.get(reverse("orders:import-upload"))
    assert page.status_code == 200 and "200,000 rows" in page.content.decode()
    rows = [
        line("A-1"),
        line("A-1", sku="BA-HLM", price="89"),
        line("A-2", sku="NOPE"),
        line("A-3", account="Straße AG"),
    ]
    response = client.post(
        reverse("orders:import-upload"), {"file": upload(csv_text(rows), "altsystem-2025.csv", "cp1252")}
    )
    imp = OrderImport.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("orders:import-mapping", args=[imp.pk])
    page = client.get(response["Location"]).content.decode()
    assert "Auftragsnummer" in page and "Windows-1252" in page and "Währung" in page

    fields = {f"col_{i}": MAPPING[c] for i, c in enumerate(HEADER)}
    partial = client.post(
        reverse("orders:import-mapping", args=[imp.pk]),
        {**fields, "col_1": "delivered_date", "validate": "1"},
        headers={"HX-Request": "true"},
    )
    html = partial.content.decode()
    assert partial.status_code == 200 and "Delivered date is chosen for 2 columns" in html and "<html" not in html

    response = client.post(reverse("orders:import-mapping", args=[imp.pk]), fields)
    assert response["Location"] == reverse("orders:import-preview", args=[imp.pk])
    page = client.get(response["Location"]).content.decode()
    assert "Import 1 order" in page and "No product has the SKU" in page and "No account is called" in page
    assert "A-1" in page and "1960.20 EUR" in page

    with capture(execute=True):
        response = client.post(reverse("orders:import-run", args=[imp.pk]))
    assert response["Location"] == reverse("orders:import-detail", args=[imp.pk])
    status = client.get(reverse("orders:import-status", args=[imp.pk]), headers={"HX-Request": "true"})
    assert status["HX-Redirect"] == reverse("orders:import-detail", args=[imp.pk])
    report = client.get(response["Location"]).content.decode()
    assert "Download the 2 rejected rows" in report and "Undo this import" in report

    rejects = client.get(reverse("orders:import-rejects", args=[imp.pk]))
    assert rejects["Content-Type"].startswith("text/csv")
    assert 'filename="altsystem-2025-rejected.csv"' in rejects["Content-Disposition"]
    body = b"".join(rejects.streaming_content).decode()
    assert "No product has the SKU 'NOPE'." in body and "Straße AG" in body

    assert "Yes, undo the import" in client.get(reverse("orders:import-undo", args=[imp.pk])).content.decode()
    client.post(reverse("orders:import-undo", args=[imp.pk]))
    imp.refresh_from_db()
    assert imp.status == OrderImport.Status.UNDONE and not Order.objects.exists()
    assert "This import was undone" in client.get(reverse("orders:import-detail", args=[imp.pk])).content.decode()
    assert "altsystem-2025.csv" in client.get(reverse("orders:import-list")).content.decode()


def test_the_upload_page_explains_a_refused_file(org, login, upload, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    response = login(org.admin).post(reverse("orders:import-upload"), {"file": upload(b"\x00\x01\x02" * 500)})
    assert response.status_code == 400 and "not a text file" in response.content.decode()
    assert OrderImport.objects.count() == 0


def test_a_big_history_is_checked_and_imported_quickly(org, acme, catalog, history, capture):
    """3,000 rows (1,000 orders of three lines): the check and the run each stay within seconds."""
    from time import monotonic

    start = date(2023, 1, 1)
    rows = []
    for i in range(1000):
        day = start + timedelta(days=i % 700)
        for sku in ("AUR", "BA-HLM", "AUR"):
            rows.append(line(f"H-{i}", sku=sku, date=day.isoformat(), delivered=(day + timedelta(days=9)).isoformat(),
                             quantity=str(1 + i % 3), price=str(100 + i % 50), discount=""))  # fmt: skip
        rows[-1][5] = str(int(rows[-1][5]) + 1)  # the two AUR lines differ
    imp = history(rows)
    began = monotonic()
    imp = checked(imp, org.admin)
    checked_in = monotonic() - began
    began = monotonic()
    imp = run(imp, org.admin, capture)
    ran_in = monotonic() - began
    assert imp.counts["orders"] == 1000 and imp.counts["lines"] == 3000 and imp.rejects == []
    print("TIMES", checked_in, ran_in)
    assert checked_in < 10 and ran_in < 30, (checked_in, ran_in)
