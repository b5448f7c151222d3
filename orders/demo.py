"""Demo orders: warehouses and stock, tax rates, holidays and exchange rates; three years of order history
with growth and seasons across the products, regions and reps; today's open orders (some at risk); quotes
in every status; then the sales ledger, the delivery figures and the forecasting facts rebuilt from them.

The history is what the state machine would have left behind, written with ``bulk_create`` (a few thousand
orders in seconds): each order in its final state with the events of its path, its shipments (some in two
parts), a few late, some cancelled and a few returned. The reps own the orders of their accounts.

Idempotent: reference rows are looked up by their natural keys first; the orders and the quotes are made
only while no order exists. The plan comes from its own seeded random generator, so it is the same every
time for the same customers.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from sfa.demo import DemoContext, demo_step

SEED = 3107
MONTHS = 36
WAREHOUSES = [
    # code, name, country, priority, product categories kept there (None: every stocked product)
    ("dortmund", "Central warehouse Dortmund", "DE", 0, None),
    ("lyon", "Hub Lyon", "FR", 1, {"bikes", "bike-accessories", "chairs", "storage", "services"}),
    ("birmingham", "Hub Birmingham", "GB", 2, {"bikes", "bike-accessories", "car-accessories"}),
]
HUB_OF = {"FR": "lyon", "ES": "lyon", "IT": "lyon", "GB": "birmingham"}
VAT = {"DE": "19", "AT": "20", "FR": "20", "GB": "20", "IT": "22", "ES": "21", "NL": "21"}
REDUCED_VAT = [  # country, category slug, rate: installation and repair services taxed lower
    ("FR", "services", "10"),
    ("IT", "services", "10"),
    ("NL", "services", "9"),
]
GBP_TO_EUR = Decimal("1.16")
YEAR_PRICE = {2023: Decimal("0.89"), 2024: Decimal("0.92"), 2025: Decimal("0.96"), 2026: Decimal("1")}
SHORT_STOCK = {"battery-625": 1, "winter-wheels-17": 0, "ergochair-plus": 2}
REGIONS = {  # a customer without a region gets one of its country's, so that sales split by region
    "DE": ["Bayern", "Nordrhein-Westfalen", "Baden-Württemberg", "Hessen", "Niedersachsen", "Berlin", "Hamburg"],
    "AT": ["Wien", "Oberösterreich", "Steiermark", "Tirol"],
    "FR": ["Île-de-France", "Auvergne-Rhône-Alpes", "Occitanie", "Hauts-de-France", "Nouvelle-Aquitaine"],
    "GB": ["London", "South East", "North West", "Scotland", "West Midlands"],
    "IT": ["Lombardia", "Lazio", "Veneto", "Piemonte", "Emilia-Romagna"],
    "ES": ["Madrid", "Cataluña", "Andalucía", "Comunidad Valenciana"],
    "NL": ["Noord-Holland", "Zuid-Holland", "Utrecht", "Noord-Brabant"],
}


@dataclass(frozen=True)
class Family:
    """What a kind of order holds, how often it comes and in which months (January … December)."""

    share: float
    season: tuple[float, ...]
    main: tuple[str, ...]
    extras: tuple[str, ...]
    quantity: tuple[int, int]  # business customers; consumers buy one (two bikes at most)
    consumers: float  # share of the orders placed by private customers


FAMILIES = {
    "cars": Family(
        0.2,
        (0.8, 0.9, 1.35, 1.1, 1.0, 1.0, 0.75, 0.7, 1.3, 1.1, 1.0, 0.9),
        ("aurora",),
        ("service-plan-car", "wallbox-11", "wallbox-installation", "floor-mats", "charging-cable", "roof-box-420",
         "winter-wheels-17", "cleaning-kit"),
        (1, 8),
        0.25,
    ),
    "ebikes": Family(
        0.32,
        (0.45, 0.55, 1.15, 1.6, 1.75, 1.5, 1.2, 1.0, 0.85, 0.65, 0.5, 0.7),
        ("volt-trek", "volt-city", "volt-trek"),
        ("helmet-urban", "extended-warranty-bike", "folding-lock", "panniers", "battery-625", "bike-service"),
        (2, 30),
        0.45,
    ),
    "office": Family(
        0.33,
        (1.35, 1.1, 1.0, 0.9, 0.8, 0.75, 0.7, 0.75, 1.35, 1.25, 1.1, 0.95),
        ("flexdesk", "flexdesk-basic", "ergochair", "ergochair-plus", "flexdesk"),
        ("ergochair", "monitor-arm", "drawer-unit", "desk-cable-tray", "desk-pad", "shelf-5"),
        (4, 60),
        0.05,
    ),
    "parts": Family(
        0.15,
        (0.9, 0.85, 1.0, 1.15, 1.15, 1.05, 0.95, 0.9, 0.95, 1.25, 1.3, 1.1),
        ("chain-lube", "brake-pads", "winter-wheels-17", "bike-service", "cleaning-kit", "helmet-urban"),
        ("brake-pads", "chain-lube", "folding-lock", "floor-mats"),
        (2, 20),
        0.4,
    ),
}  # fmt: skip
REPLACED = ("flexdesk-basic", "flexdesk-basic-2", date(2026, 3, 1))  # the successor is sold from this day on


# --- reference data --------------------------------------------------------------------------------------


def _warehouses() -> dict[str, Any]:
    from orders.models import Warehouse

    made = {}
    for code, name, country, priority, _kept in WAREHOUSES:
        made[code], _ = Warehouse.objects.get_or_create(
            code=code, defaults={"name": name, "country": country, "priority": priority}
        )
    return made


def _tax_rates() -> int:
    from catalog.models import Category
    from orders.models import TaxRate

    categories = dict(Category.objects.values_list("slug", "pk"))
    wanted = [(country, None, rate) for country, rate in VAT.items()]
    wanted += [(country, categories[slug], rate) for country, slug, rate in REDUCED_VAT if slug in categories]
    existing = set(TaxRate.objects.values_list("country", "category_id"))
    TaxRate.objects.bulk_create(
        [
            TaxRate(country=country, category_id=category_id, rate=Decimal(rate))
            for country, category_id, rate in wanted
            if (country, category_id) not in existing
        ]
    )
    return TaxRate.objects.count()


def holidays_of(year: int) -> list[tuple[date, str]]:
    """The public holidays the central warehouse (Germany) does not ship on."""
    from dateutil.easter import easter

    e = easter(year)
    return [
        (date(year, 1, 1), "New Year's Day"),
        (e - timedelta(days=2), "Good Friday"),
        (e + timedelta(days=1), "Easter Monday"),
        (date(year, 5, 1), "Labour Day"),
        (e + timedelta(days=39), "Ascension Day"),
        (e + timedelta(days=50), "Whit Monday"),
        (date(year, 10, 3), "Day of German Unity"),
        (date(year, 12, 24), "Christmas Eve (warehouse closed)"),
        (date(year, 12, 25), "Christmas Day"),
        (date(year, 12, 26), "Boxing Day"),
        (date(year, 12, 31), "New Year's Eve (warehouse closed)"),
    ]


def _holidays(today: date) -> int:
    from orders.models import Holiday

    existing = set(Holiday.objects.values_list("date", flat=True))
    Holiday.objects.bulk_create(
        [
            Holiday(date=day, name=name)
            for year in (today.year, today.year + 1)
            for day, name in holidays_of(year)
            if day not in existing
        ]
    )
    return Holiday.objects.count()


def _exchange_rates(first: date, rng: random.Random) -> None:
    """GBP to EUR for every month of the history (the British customers order in pounds)."""
    from orders.models import ExchangeRate

    existing = set(ExchangeRate.objects.filter(currency="GBP").values_list("valid_from", flat=True))
    rows, rate, month = [], GBP_TO_EUR, first.replace(day=1)
    while month <= timezone.localdate():
        rate = (rate + Decimal(str(round(rng.uniform(-0.012, 0.012), 4)))).quantize(Decimal("0.0001"))
        if month not in existing:
            rows.append(ExchangeRate(currency="GBP", rate=rate, valid_from=month))
        month = (month + timedelta(days=32)).replace(day=1)
    ExchangeRate.objects.bulk_create(rows)


def _regions(rng: random.Random) -> int:
    """Customers without a region get one of their country's (demo customers come without)."""
    from contacts.models import Account, Contact

    filled = 0
    for model in (Account, Contact):
        chosen: dict[str, list[int]] = defaultdict(list)
        for pk, country in model.objects.filter(region="", country__in=list(REGIONS)).values_list("pk", "country"):
            chosen[rng.choice(REGIONS[country])].append(pk)
        for region, ids in chosen.items():  # one UPDATE per region (and batch of keys), not one per row
            for start in range(0, len(ids), 900):
                model.objects.filter(pk__in=ids[start : start + 900]).update(region=region)
            filled += len(ids)
    return filled


# --- the plan of the history ----------------------------------------------------------------------------


@dataclass
class PlanLine:
    product: Any
    quantity: int
    unit_price: Decimal
    discount: Decimal
    description: str
    sku: str
    lead_time: int
    stocked: bool
    tax_rate: Decimal = Decimal("0")
    net: Decimal = Decimal("0")
    tax: Decimal = Decimal("0")
    shipped: int = 0
    returned: int = 0
    reserved: int = 0
    model: Any = None


@dataclass
class PlanOrder:
    customer: Any  # an account or a consumer contact
    account_id: int | None
    contact_id: int | None
    owner_id: int
    country: str
    region: str
    segment: str
    currency: str
    ordered_on: date
    source: str
    lines: list[PlanLine]
    status: str = "closed"
    promised: date | None = None
    confirmed_at: datetime | None = None
    allocated_at: datetime | None = None
    shipped_at: datetime | None = None
    delivered_at: datetime | None = None
    closed_at: datetime | None = None
    cancelled_at: datetime | None = None
    returned_at: datetime | None = None
    shipments: list[tuple[datetime, datetime | None, list[tuple[int, int]]]] = field(default_factory=list)
    events: list[tuple[str, str, datetime, str]] = field(default_factory=list)
    risk: str = ""
    model: Any = None


def _moment(day: date, hour: int, rng: random.Random) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, rng.randrange(60))))


class _Catalog:
    """Prices (EUR and GBP, today's lists), configurable options and stock keeping of the demo products."""

    def __init__(self) -> None:
        from catalog.models import Attribute, Product
        from catalog.selectors import current_prices

        self.products = {p.slug: p for p in Product.objects.select_related("category")}
        self.prices = current_prices(product_ids=[p.pk for p in self.products.values()])
        self.options: dict[int, list[list[Any]]] = defaultdict(list)
        for attribute in (
            Attribute.objects.filter(product__is_configurable=True, kind__in=["radio", "swatch"])
            .prefetch_related("values")
            .order_by("product_id", "step", "position", "id")
        ):
            values = [v for v in attribute.values.all() if v.is_active]
            if values and len(self.options[attribute.product_id]) < 3:
                self.options[attribute.product_id].append(values)

    def price(self, product: Any, currency: str, on: date) -> Decimal | None:
        amount = self.prices.get(product.pk, {}).get(currency)
        if amount is None:
            return None
        return (Decimal(amount) * YEAR_PRICE.get(on.year, Decimal("1"))).quantize(Decimal("1"))

    def line(self, product: Any, currency: str, on: date, quantity: int, discount: Decimal, rng) -> PlanLine | None:
        price = self.price(product, currency, on)
        if price is None:
            return None
        description, sku, lead = product.name, product.sku, product.base_lead_time_days
        if product.is_configurable:
            chosen = [rng.choice(values) for values in self.options.get(product.pk, [])]
            price += sum((v.price_extra for v in chosen), Decimal("0"))
            lead += max((v.lead_time_extra_days for v in chosen), default=0)
            if chosen:
                description = f"{product.name} — {', '.join(v.label for v in chosen)}"
                sku = "-".join([product.sku, *(v.code for v in chosen)])
        return PlanLine(
            product=product,
            quantity=quantity,
            unit_price=price,
            discount=discount,
            description=description[:300],
            sku=sku[:400],
            lead_time=lead,
            stocked=not product.is_configurable,
        )


def _customers(rng: random.Random) -> tuple[list[tuple[Any, float]], list[Any], dict[int, list[int]]]:
    """Accounts weighted by segment, the consumers, and the people working at each account."""
    from contacts.models import Account, Contact

    weight = {"enterprise": 4.0, "mid_market": 2.5, "public": 2.0, "smb": 1.0}
    accounts = [
        (a, weight.get(a.segment, 1.0) * rng.uniform(0.3, 1.7))
        for a in Account.objects.filter(merged_into__isnull=True).only(
            "id", "owner_id", "country", "region", "segment", "name"
        )
    ]
    consumers = list(
        Contact.objects.filter(account__isnull=True, merged_into__isnull=True, is_prospect=False).only(
            "id", "owner_id", "country", "region"
        )
    )
    people: dict[int, list[int]] = defaultdict(list)
    for pk, account_id in Contact.objects.filter(account__isnull=False, merged_into__isnull=True).values_list(
        "pk", "account_id"
    ):
        people[account_id].append(pk)
    return accounts, consumers, people


def _months(today: date) -> list[date]:
    first = today.replace(day=1)
    months = []
    for _ in range(MONTHS):
        months.append(first)
        first = (first - timedelta(days=1)).replace(day=1)
    return sorted(months)


def plan_history(today: date, rng: random.Random, calendar: Any, settings: Any) -> list[PlanOrder]:
    """Every order of the last MONTHS months: how many per month (growth, season, noise), what each holds,
    and where it stands today."""
    from orders.services import TaxTable, money

    catalog = _Catalog()
    accounts, consumers, people = _customers(rng)
    if not accounts or not catalog.products:
        return []
    account_rows, account_weights = zip(*accounts, strict=True)
    tax_tables: dict[str, TaxTable] = {}
    fast = settings.processing_days + settings.shipping_days
    orders: list[PlanOrder] = []
    for index, month in enumerate(_months(today)):
        season = sum(f.share * f.season[month.month - 1] for f in FAMILIES.values())
        count = round(58 * 1.019**index * season * rng.uniform(0.9, 1.1))
        days = [month + timedelta(days=d) for d in range(31) if (month + timedelta(days=d)).month == month.month]
        days = [d for d in days if d <= today and d.isoweekday() <= 5]
        if not days:
            continue
        if month.year == today.year and month.month == today.month:
            count = round(count * len(days) / 21)
        weights = [f.share * f.season[month.month - 1] for f in FAMILIES.values()]
        for _ in range(count):
            family = rng.choices(list(FAMILIES.values()), weights)[0]
            ordered_on = rng.choice(days)
            consumer = rng.random() < family.consumers and consumers
            if consumer:
                contact = rng.choice(consumers)
                customer, account_id, contact_id, segment = contact, None, contact.pk, ""
            else:
                customer = rng.choices(account_rows, account_weights)[0]
                account_id, segment = customer.pk, customer.segment
                staff = people.get(customer.pk)
                contact_id = rng.choice(staff) if staff and rng.random() < 0.8 else None
            country = customer.country or "DE"
            currency = "GBP" if country == "GB" else "EUR"
            lines = _plan_lines(family, catalog, currency, ordered_on, bool(consumer), segment, rng)
            if not lines:
                continue
            table = tax_tables.get(country) or tax_tables.setdefault(country, TaxTable(country))
            for line in lines:
                line.net = money(line.quantity * line.unit_price * (100 - line.discount) / 100)
                line.tax_rate = table.rate(line.product.category_id)
                line.tax = money(line.net * line.tax_rate / 100)
            order = PlanOrder(
                customer=customer,
                account_id=account_id,
                contact_id=contact_id,
                owner_id=customer.owner_id,
                country=country,
                region=customer.region,
                segment=segment,
                currency=currency,
                ordered_on=ordered_on,
                source="api" if rng.random() < 0.15 else "manual",
                lines=lines,
            )
            lead = max(line.lead_time + settings.shipping_days if not line.stocked else fast for line in lines)
            order.promised = calendar.add(ordered_on, lead)
            _plan_path(order, today, calendar, settings, rng)
            orders.append(order)
    return orders


def _plan_lines(family, catalog, currency, on, consumer, segment, rng) -> list[PlanLine]:
    products = catalog.products
    slug = rng.choice(family.main)
    old, new, since = REPLACED
    if slug == old and on >= since:
        slug = new
    if slug not in products:
        return []
    low, high = family.quantity
    if consumer:
        quantity = 2 if family is FAMILIES["ebikes"] and rng.random() < 0.2 else 1
    else:
        high = high * 2 if segment == "enterprise" else high
        quantity = max(low, min(high, int(rng.triangular(low, high, low + (high - low) / 4))))
    discount = Decimal("0")
    if not consumer and quantity >= 10:
        discount = Decimal(rng.choice([5, 5, 8, 10, 12]))
    elif not consumer and rng.random() < 0.2:
        discount = Decimal(rng.choice([2, 3, 5]))
    first = catalog.line(products[slug], currency, on, quantity, discount, rng)
    if first is None:
        return []
    lines = [first]
    for extra in rng.sample(family.extras, rng.choice([0, 1, 1, 2, 2, 3])):
        if extra in products and extra != slug:
            each = rng.random() < 0.6
            line = catalog.line(
                products[extra], currency, on, quantity if each else max(1, quantity // 4), discount, rng
            )
            if line is not None:
                lines.append(line)
    return lines


def _plan_path(order: PlanOrder, today: date, calendar, settings, rng: random.Random) -> None:
    """Where the order went: the dates of its steps, its shipments and its status today."""
    confirmed = _moment(order.ordered_on, rng.randint(8, 17), rng)
    order.confirmed_at = confirmed
    order.events = [
        ("", "draft", confirmed - timedelta(minutes=rng.randint(5, 90)), ""),
        ("draft", "confirmed", confirmed, "by owner"),
    ]
    ship, pack = settings.shipping_days, settings.processing_days
    if all(line.stocked for line in order.lines):
        allocated_day = calendar.add(order.ordered_on, 0)  # picked the day it came in
    else:  # made to order: allocated when production reports it done
        allocated_day = max(calendar.add(order.promised, -ship - pack), calendar.add(order.ordered_on, 1))
    roll = rng.random()
    delay = rng.randint(1, 8) if roll < 0.08 else -rng.choice([0, 0, 0, 1, 2])  # a few late
    delivered_day = max(calendar.add(order.promised, delay), calendar.add(allocated_day, ship))
    recent = calendar.between(order.ordered_on, today) <= 5
    if recent and rng.random() < 0.75:  # the warehouse is behind this week: recent orders wait to be shipped
        delivered_day = calendar.add(delivered_day, rng.randint(3, 5))
    shipped_day = calendar.add(delivered_day, -ship)
    if 0.08 <= roll < 0.125:  # cancelled before it shipped
        day = calendar.add(order.ordered_on, rng.randint(0, 2))
        if day <= today and day < shipped_day:
            cancelled_at = max(_moment(day, rng.randint(9, 17), rng), confirmed + timedelta(hours=2))
            order.status, order.cancelled_at = "cancelled", cancelled_at
            order.events.append(("confirmed", "cancelled", order.cancelled_at, rng.choice(CANCEL_REASONS)))
            return
    if allocated_day > today:
        order.status = "confirmed"
        _reserve(order)
        return
    order.allocated_at = max(_moment(allocated_day, rng.randint(7, 12), rng), confirmed + timedelta(minutes=40))
    order.events.append(("confirmed", "allocated", order.allocated_at, ""))
    everything = list(range(len(order.lines)))
    parts = [(shipped_day, delivered_day, everything)]
    if len(order.lines) > 1 and rng.random() < (0.4 if recent else 0.14):  # shipped in two parts
        split = rng.randint(1, len(order.lines) - 1)
        # What is there leaves first; recent orders waiting in the backlog get their first part at once.
        first_day = allocated_day if recent else max(allocated_day, calendar.add(shipped_day, -rng.randint(2, 6)))
        parts = [
            (first_day, calendar.add(first_day, ship), everything[:split]),
            (shipped_day, delivered_day, everything[split:]),
        ]
    status = "allocated"
    for number, (ship_day, arrival, indexes) in enumerate(parts, start=1):
        if ship_day > today:
            break
        shipped_at = max(_moment(ship_day, rng.randint(10, 16), rng), order.events[-1][2] + timedelta(hours=1))
        arrived = max(_moment(arrival, rng.randint(9, 17), rng), shipped_at + timedelta(hours=20))
        arrived = arrived if arrived.date() < today else None
        for i in indexes:
            order.lines[i].shipped = order.lines[i].quantity
        order.shipments.append((shipped_at, arrived, [(i, order.lines[i].quantity) for i in indexes]))
        status = "shipped" if number == len(parts) else "partially_shipped"
        order.events.append((order.events[-1][1], status, shipped_at, f"Shipment {number}"))
    order.status = status
    if status != "shipped" or order.shipments[-1][1] is None:
        # Still open: nothing counts as delivered before the order is (the last units are on their way).
        order.shipments = [(shipped_at, None, indexes) for shipped_at, _arrived, indexes in order.shipments]
        order.shipped_at = order.shipments[-1][0] if status == "shipped" else None
        _reserve(order)
        return
    order.shipped_at = order.shipments[-1][0]
    order.delivered_at = order.shipments[-1][1]
    order.status = "delivered"
    order.events.append(("shipped", "delivered", order.delivered_at, ""))
    back_roll, settled = rng.random(), delivered_day
    if back_roll < 0.025:
        back = calendar.add(delivered_day, rng.randint(3, 20))
        if back < today:
            order.returned_at = _moment(back, rng.randint(9, 16), rng)
            if back_roll < 0.015:  # everything came back
                for line in order.lines:
                    line.returned = line.shipped
                order.status = "returned"
                order.events.append(("delivered", "returned", order.returned_at, rng.choice(RETURN_REASONS)))
                return
            settled = back
            line = rng.choice(order.lines)  # some units came back: the order stays delivered
            line.returned = rng.randint(1, line.shipped)
            order.events.append(("delivered", "delivered", order.returned_at, f"{line.returned} × {line.sku} returned"))
    close = calendar.add(settled, rng.randint(10, 25))
    if close < today:
        order.closed_at = _moment(close, 18, rng)
        order.status = "closed"
        order.events.append(("delivered", "closed", order.closed_at, ""))


def _reserve(order: PlanOrder) -> None:
    """An open order holds the stocked units it has not shipped yet."""
    for line in order.lines:
        line.reserved = line.quantity - line.shipped if line.stocked else 0


CANCEL_REASONS = [
    "Customer ordered twice",
    "Budget withdrawn",
    "Chose a competitor's offer",
    "Delivery date too late for the customer",
    "Wrong model ordered; new order follows",
]
RETURN_REASONS = ["Damaged in transit", "Wrong size", "Did not meet expectations", "Ordered by mistake"]


# --- writing ------------------------------------------------------------------------------------------------


ORDER_FIELDS = (
    "number", "account", "contact", "owner", "status", "source", "currency", "country", "region", "segment",
    "discount_percent", "subtotal", "discount_total", "tax_total", "total", "allow_backorder", "ordered_on",
    "promised_date", "confirmed_at", "allocated_at", "shipped_at", "delivered_at", "closed_at", "cancelled_at",
    "returned_at", "risk", "risk_flagged_at", "external_ref", "notes", "version", "created_at", "updated_at",
)  # fmt: skip
LINE_FIELDS = (
    "order", "position", "product", "category", "description", "sku", "quantity", "unit_price", "discount_percent",
    "tax_rate", "net_amount", "tax_amount", "lead_time_days", "quantity_reserved", "quantity_shipped",
    "quantity_returned",
)  # fmt: skip
EVENT_FIELDS = ("order", "at", "by", "from_status", "to_status", "note", "data")
SHIPMENT_FIELDS = ("order", "number", "shipped_at", "carrier", "tracking", "delivered_at", "by")


def _batches(values: list[Any], size: int = 900) -> Any:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _write(plans: list[PlanOrder], warehouses: dict[str, Any]) -> None:
    """Orders, lines, events, shipments and reservations as plain rows (``orders.ledger.bulk_insert``): model
    instances and ``bulk_create`` would spend most of the step in Django for some 40,000 rows. The keys the
    rows get are read back by their natural keys (number; order and position; order and shipment number)."""
    from orders.ledger import bulk_insert
    from orders.models import Order, OrderEvent, OrderLine, Reservation, Shipment, ShipmentLine
    from orders.services import order_numbers_next

    now = timezone.now()
    zero = Decimal("0")
    numbers = order_numbers_next(len(plans))
    rows = []
    for plan, number in zip(plans, numbers, strict=True):
        subtotal = sum((line.net for line in plan.lines), zero)
        tax = sum((line.tax for line in plan.lines), zero)
        rows.append(
            (number, plan.account_id, plan.contact_id, plan.owner_id, plan.status, plan.source, plan.currency,
             plan.country, plan.region, plan.segment, zero, subtotal, zero, tax, subtotal + tax, False,
             plan.ordered_on, plan.promised, plan.confirmed_at, plan.allocated_at, plan.shipped_at, plan.delivered_at,
             plan.closed_at, plan.cancelled_at, plan.returned_at, plan.risk, now if plan.risk else None, "", "", 1,
             plan.events[0][2], now)
        )  # fmt: skip
    bulk_insert(Order, ORDER_FIELDS, rows)
    keys: dict[str, int] = {}
    for batch in _batches(numbers):
        keys.update(Order.objects.filter(number__in=batch).values_list("number", "pk"))
    for plan, number in zip(plans, numbers, strict=True):
        plan.model = keys[number]
    bulk_insert(
        OrderLine,
        LINE_FIELDS,
        [
            (plan.model, position, line.product.pk, line.product.category_id, line.description, line.sku,
             line.quantity, line.unit_price, line.discount, line.tax_rate, line.net, line.tax, line.lead_time,
             line.reserved, line.shipped, line.returned)
            for plan in plans
            for position, line in enumerate(plan.lines, start=1)
        ],
    )  # fmt: skip
    order_ids = [plan.model for plan in plans]
    line_keys: dict[tuple[int, int], int] = {}
    for batch in _batches(order_ids):
        for order_id, position, pk in OrderLine.objects.filter(order_id__in=batch).values_list(
            "order_id", "position", "pk"
        ):
            line_keys[order_id, position] = pk
    for plan in plans:
        for position, line in enumerate(plan.lines, start=1):
            line.model = line_keys[plan.model, position]
    bulk_insert(
        OrderEvent,
        EVENT_FIELDS,
        [
            (plan.model, at, plan.owner_id if note == "by owner" or to in ("cancelled", "draft") else None, src, to,
             "" if note == "by owner" else note, "{}")
            for plan in plans
            for src, to, at, note in plan.events
        ],
    )  # fmt: skip
    bulk_insert(
        Shipment,
        SHIPMENT_FIELDS,
        [
            (plan.model, number, shipped_at, "DHL" if plan.country in ("DE", "AT", "NL") else "DPD",
             f"00340{plan.model:07d}{number}", delivered_at, None)
            for plan in plans
            for number, (shipped_at, delivered_at, _indexes) in enumerate(plan.shipments, start=1)
        ],
    )  # fmt: skip
    shipment_keys: dict[tuple[int, int], int] = {}
    for batch in _batches([plan.model for plan in plans if plan.shipments]):
        for order_id, number, pk in Shipment.objects.filter(order_id__in=batch).values_list("order_id", "number", "pk"):
            shipment_keys[order_id, number] = pk
    hub = {code: w.pk for code, w in warehouses.items()}
    bulk_insert(
        ShipmentLine,
        ("shipment", "line", "warehouse", "quantity"),
        [
            (
                shipment_keys[plan.model, number],
                plan.lines[i].model,
                hub[_warehouse_for(plan, plan.lines[i])] if plan.lines[i].stocked else None,
                quantity,
            )
            for plan in plans
            for number, (_shipped, _delivered, parts) in enumerate(plan.shipments, start=1)
            for i, quantity in parts
        ],
    )
    bulk_insert(
        Reservation,
        ("line", "warehouse", "quantity"),
        [
            (line.model, hub[_warehouse_for(plan, line)], line.reserved)
            for plan in plans
            for line in plan.lines
            if line.reserved
        ],
    )


def _warehouse_for(plan: PlanOrder, line: PlanLine) -> str:
    code = HUB_OF.get(plan.country, "dortmund")
    kept = next(k for c, _, _, _, k in WAREHOUSES if c == code)
    return code if kept is None or line.product.category.slug in kept else "dortmund"


def _stock(plans: list[PlanOrder], warehouses: dict[str, Any], rng: random.Random) -> int:
    """Stock of every stocked product: what the open orders hold, plus some free units (a few short)."""
    from catalog.models import Product
    from orders.models import StockLevel

    reserved: dict[tuple[int, str], int] = defaultdict(int)
    for plan in plans:
        for line in plan.lines:
            if line.reserved:
                reserved[line.product.pk, _warehouse_for(plan, line)] += line.reserved
    rows = []
    for product in Product.objects.filter(is_configurable=False).select_related("category"):
        for code, _name, _country, _priority, kept in WAREHOUSES:
            if kept is not None and product.category.slug not in kept:
                continue
            held = reserved.get((product.pk, code), 0)
            if product.slug in SHORT_STOCK:
                free = SHORT_STOCK[product.slug] if code == "dortmund" else 0
            else:
                free = rng.randint(20, 160) if code == "dortmund" else rng.randint(0, 40)
            rows.append(StockLevel(product=product, warehouse=warehouses[code], on_hand=held + free, reserved=held))
    StockLevel.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


def _flag_risks(plans: list[PlanOrder], today: date, calendar, settings, rng: random.Random) -> int:
    """A few of today's open orders at risk, as the daily job would flag them: some not allocated shortly
    before their promise, some not shipped by it."""
    from orders.delays import risk_reason

    confirmed = [p for p in plans if p.status == "confirmed"]
    allocated = [p for p in plans if p.status == "allocated"]
    for plan in rng.sample(confirmed, min(4, len(confirmed))):
        plan.promised = calendar.add(today, rng.randint(1, max(1, settings.allocation_warning_days - 1)))
    for plan in rng.sample(allocated, min(2, len(allocated))):
        plan.promised = calendar.add(today, -rng.randint(1, 3))
    flagged = 0
    for plan in confirmed + allocated + [p for p in plans if p.status == "partially_shipped"]:
        probe = _Probe(status=plan.status, promised_date=plan.promised)
        reason = risk_reason(probe, today=today, calendar=calendar, settings=settings)
        if reason is not None:
            plan.risk = reason[1][:200]
            flagged += 1
    return flagged


@dataclass
class _Probe:
    """What ``risk_reason`` reads of an order, for plans not written yet."""

    status: str
    promised_date: date | None


# --- quotes ---------------------------------------------------------------------------------------------------


QUOTES = [
    # owner, status, product slugs and quantities, line discount %
    ("rep", "draft", [("volt-city", 6), ("helmet-urban", 6)], 5),
    ("rep3", "draft", [("ergochair", 20), ("monitor-arm", 10)], 8),
    ("rep2", "draft", [("wallbox-11", 4), ("wallbox-installation", 4)], 0),
    ("rep", "pending_approval", [("volt-city", 25), ("folding-lock", 25), ("helmet-urban", 25)], 20),
    ("rep2", "approved", [("ergochair-plus", 40)], 18),
    ("rep4", "approved", [("flexdesk-basic-2", 30), ("desk-cable-tray", 30)], 17),
    ("rep", "sent", [("roof-box-420", 3), ("floor-mats", 3)], 0),
    ("rep3", "sent", [("volt-city", 8), ("panniers", 8)], 10),
    ("rep4", "sent", [("shelf-5", 12), ("drawer-unit", 12)], 5),
    ("rep2", "accepted", [("ergochair", 15)], 10),
    ("rep3", "accepted", [("volt-city", 4), ("battery-625", 2)], 0),
    ("rep", "rejected", [("wallbox-11", 10)], 12),
    ("rep4", "rejected", [("monitor-arm", 30)], 10),
    ("rep2", "expired", [("cleaning-kit", 20), ("floor-mats", 10)], 0),
    ("rep3", "expired", [("drawer-unit", 6)], 5),
]
MANAGER_OF = {"rep": "manager", "rep2": "manager", "rep3": "manager2", "rep4": "manager2"}


def _quotes(ctx: DemoContext, rng: random.Random) -> int:
    """Quotes in every status, made through the services (numbers, totals, approvals and audit as live)."""
    from catalog.models import Product
    from contacts.models import Account
    from orders import services
    from orders.models import Quote
    from sfa.models import User

    products = {p.slug: p for p in Product.objects.all()}
    made = 0
    for username, status, items, discount in QUOTES:
        owner = ctx.users.get(username) or User.objects.filter(username=username).first()
        if owner is None or any(slug not in products for slug, _ in items):
            continue
        accounts = list(Account.objects.filter(owner=owner, merged_into__isnull=True).order_by("id")[:200])
        if not accounts:
            continue
        account = rng.choice(accounts)
        currency = "GBP" if account.country == "GB" else "EUR"
        lines = [
            {"product": products[slug], "quantity": quantity, "discount_percent": discount} for slug, quantity in items
        ]
        quote = services.quote_create(actor=owner, account=account, currency=currency, lines=lines)
        manager = ctx.users.get(MANAGER_OF[username]) or User.objects.filter(username=MANAGER_OF[username]).first()
        if status in ("pending_approval", "approved") or (services.quote_needs_approval(quote) and status != "draft"):
            quote = services.quote_request_approval(quote=quote, actor=owner)
            if status != "pending_approval":
                quote = services.quote_approve(quote=quote, actor=manager, note="Strategic customer: fine.")
        if status in ("sent", "accepted", "rejected"):
            quote = services.quote_send(quote=quote, actor=owner)
        if status == "accepted":
            services.quote_accept(quote=quote, actor=owner)
        elif status == "rejected":
            services.quote_reject(quote=quote, actor=owner, reason=rng.choice(["Price too high", "Chose a competitor"]))
        elif status == "expired":
            gone = timezone.localdate() - timedelta(days=rng.randint(3, 20))
            Quote.objects.filter(pk=quote.pk).update(
                status=Quote.Status.EXPIRED, valid_until=gone, created_at=timezone.now() - timedelta(days=45)
            )
        made += 1
    return made


# --- the step ----------------------------------------------------------------------------------------------------


@demo_step(order=70)
def demo_orders(ctx: DemoContext) -> None:
    from orders.calendar import working_calendar
    from orders.ledger import delivery_stats_rebuild, ledger_rebuild
    from orders.models import Order, Quote
    from orders.services import order_settings

    rng = random.Random(SEED)  # noqa: S311 (demo data, not secrets)
    today = timezone.localdate()
    warehouses = _warehouses()
    rates = _tax_rates()
    holidays = _holidays(today)
    _exchange_rates(_months(today)[0], random.Random(SEED + 1))  # noqa: S311
    if Order.objects.exists():
        ctx.log(f"orders: already there ({Order.objects.count()}, {Quote.objects.count()} quotes)")
        return
    regions = _regions(random.Random(SEED + 2))  # noqa: S311
    settings = order_settings()
    calendar = working_calendar()
    plans = sorted(plan_history(today, rng, calendar, settings), key=lambda p: p.confirmed_at)  # numbers in time
    flagged = _flag_risks(plans, today, calendar, settings, rng)
    _write(plans, warehouses)
    stock_rows = _stock(plans, warehouses, rng)
    quotes = _quotes(ctx, rng)
    ledger = ledger_rebuild()  # the forecasting facts follow through the ledger's rebuild listeners
    stats = delivery_stats_rebuild()
    by_status = defaultdict(int)
    for plan in plans:
        by_status[plan.status] += 1
    late = sum(1 for p in plans if p.delivered_at and p.delivered_at.date() > p.promised)
    ctx.log(
        f"orders: {len(plans):,} over {MONTHS} months ({', '.join(f'{n} {s}' for s, n in sorted(by_status.items()))}), "
        f"{late} delivered late, {flagged} at risk; {quotes} quotes; {len(warehouses)} warehouses with "
        f"{stock_rows} stock rows; {rates} tax rates, {holidays} holidays; {regions} customers given a region; "
        f"ledger {ledger['entries']:,} entries, {stats} delivery cells"
    )
