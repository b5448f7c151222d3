"""Demo customers: about 2,000 accounts and 5,000 contacts across Europe, two years of touches by
every department, the usual purposes with their guard rules, and open follow-ups."""

from __future__ import annotations

import random
import zlib
from datetime import timedelta

import phonenumbers
from django.utils import timezone

from contacts.normalize import domain_of, email_key, name_key
from sfa.demo import DemoContext, demo_step

PURPOSES = [
    # name, description, window days, mode, scope
    ("Renewal", "Contract or subscription renewal", 30, "warn", "account"),
    ("Cross-sell", "Offer a related product", 14, "warn", "contact"),
    ("Support follow-up", "Check that a support case is solved", 7, "warn", "contact"),
    ("Survey", "Satisfaction survey", 90, "block", "contact"),
    ("Payment reminder", "Overdue invoice", 10, "block", "account"),
    ("Onboarding", "Help a new customer start", None, "warn", "contact"),
    ("Service visit", "Maintenance or repair visit", None, "warn", "contact"),
]
LOCALES = {"DE": "de_DE", "FR": "fr_FR", "GB": "en_GB", "IT": "it_IT", "ES": "es_ES", "NL": "nl_NL", "AT": "de_AT"}
MOBILE = {
    "DE": "+4915{}",
    "FR": "+336{}",
    "GB": "+447{}",
    "IT": "+393{}",
    "ES": "+346{}",
    "NL": "+316{}",
    "AT": "+43664{}",
}
INDUSTRIES = [
    "Manufacturing",
    "Logistics",
    "Retail",
    "Healthcare",
    "Construction",
    "Energy",
    "Hospitality",
    "Software",
    "Automotive",
    "Food & beverage",
    "Public sector",
    "Finance",
]
LEGAL = {"DE": "GmbH", "AT": "GmbH", "FR": "SARL", "GB": "Ltd", "IT": "S.r.l.", "ES": "S.L.", "NL": "B.V."}
TASTES = [
    "golf",
    "sailing",
    "wine",
    "cycling",
    "eco",
    "design",
    "tech early adopter",
    "family",
    "classic cars",
    "outdoor",
    "premium",
    "price-sensitive",
    "football",
    "travel",
]
DEPARTMENT_MIX = {  # who touches customers, for which purposes, by which channels
    "rep": (["Cross-sell", "Renewal", "Onboarding"], ["call", "email", "meeting", "visit"]),
    "rep2": (["Cross-sell", "Renewal"], ["call", "email", "meeting"]),
    "rep3": (["Cross-sell", "Renewal", "Onboarding"], ["call", "email", "visit"]),
    "rep4": (["Cross-sell", "Renewal"], ["call", "email"]),
    "marketing": (["Cross-sell", "Survey"], ["email", "letter"]),
    "support": (["Support follow-up"], ["call", "email", "chat"]),
    "service": (["Service visit"], ["visit", "call"]),
    "billing": (["Payment reminder"], ["email", "letter", "call"]),
}


def _phone(rng: random.Random, country: str) -> str | None:
    """A valid mobile number of ``country``: its example number with the last five digits drawn at random."""
    example = phonenumbers.example_number_for_type(country, phonenumbers.PhoneNumberType.MOBILE)
    digits = str(example.national_number)
    for _ in range(10):
        candidate = digits[:-5] + "".join(rng.choice("0123456789") for _ in range(5))
        number = phonenumbers.parse(f"+{example.country_code}{candidate}", None)
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return None


@demo_step(order=10)
def demo_purposes(ctx: DemoContext) -> None:
    from contacts.models import OutreachSettings, Purpose
    from contacts.services import purpose_save

    for name, description, window, mode, scope in PURPOSES:
        if not Purpose.objects.filter(name=name).exists():
            purpose_save(actor=None, name=name, description=description, window_days=window, mode=mode, scope=scope)
    if not OutreachSettings.objects.exists():
        OutreachSettings.objects.create(frequency_cap=3, frequency_window_days=7, frequency_mode="warn")
    ctx.log(f"purposes: {Purpose.objects.count()} with guard rules")


@demo_step(order=20)
def demo_customers(ctx: DemoContext, accounts: int = 2000, contacts: int = 5000) -> None:
    from faker import Faker

    from contacts.models import Account, Contact, ContactEmail, ContactPhone

    if Contact.objects.exists():
        ctx.log(f"customers: already there ({Account.objects.count()} accounts, {Contact.objects.count()} contacts)")
        return
    rng = ctx.rng
    fakers = {country: Faker(locale) for country, locale in LOCALES.items()}
    for country, faker in fakers.items():
        faker.seed_instance(zlib.crc32(country.encode()) % 10_000)  # hash() differs per process
    countries = list(LOCALES)
    weights = [30, 15, 15, 12, 10, 10, 8]
    sales = [ctx.users[u] for u in ("rep", "rep2", "rep3", "rep4", "manager", "manager2")]
    now = timezone.now()

    account_rows, seen_names = [], set()
    while len(account_rows) < accounts:
        country = rng.choices(countries, weights)[0]
        f = fakers[country]
        base = f.last_name() if rng.random() < 0.6 else f.company().split(" ")[0].strip(",")
        middle = rng.choice(["", "Group ", "Systems ", "Logistik " if country in ("DE", "AT") else "Solutions "])
        name = f"{base} {middle}{LEGAL[country]}"
        if name_key(name) in seen_names:
            continue
        seen_names.add(name_key(name))
        website = f"www.{name_key(base).replace(' ', '')}-{country.lower()}.example"
        account_rows.append(
            Account(
                name=name,
                name_key=name_key(name),
                website=website,
                domain=domain_of(website),
                industry=rng.choice(INDUSTRIES),
                size=rng.choice(Account.Size.values),
                segment=rng.choices(Account.Segment.values, [10, 30, 55, 5])[0],
                owner=rng.choice(sales),
                street=f.street_address()[:200],
                city=f.city()[:100],
                postcode=f.postcode()[:20],
                country=country,
                created_at=now - timedelta(days=rng.randint(60, 2000)),
            )
        )
    Account.objects.bulk_create(account_rows, batch_size=1000)
    account_list = list(Account.objects.all())

    contact_rows, emails, phones = [], [], []
    for _ in range(contacts):
        consumer = rng.random() < 0.3
        account = None if consumer else rng.choice(account_list)
        country = account.country if account else rng.choices(countries, weights)[0]
        f = fakers[country]
        first, last = f.first_name(), f.last_name()
        contact_rows.append(
            Contact(
                first_name=first,
                last_name=last,
                first_key=name_key(first),
                last_key=name_key(last),
                title=""
                if consumer
                else rng.choice(
                    [
                        "Purchasing",
                        "CEO",
                        "Head of Operations",
                        "Buyer",
                        "CFO",
                        "Office manager",
                        "IT lead",
                        "Fleet manager",
                    ]
                ),
                account=account,
                owner=account.owner if account else rng.choice(sales),
                street=(account.street if account else f.street_address())[:200],
                city=account.city if account else f.city()[:100],
                postcode=account.postcode if account else f.postcode()[:20],
                country=country,
                birth_date=f.date_of_birth(minimum_age=22, maximum_age=75) if consumer or rng.random() < 0.2 else None,
                tags=sorted(rng.sample(TASTES, rng.randint(0, 3))),
                do_not_contact=rng.random() < 0.01,
                created_at=now - timedelta(days=rng.randint(30, 900)),
            )
        )
    Contact.objects.bulk_create(contact_rows, batch_size=1000)
    for contact in Contact.objects.select_related("account").order_by("id"):
        local = f"{name_key(contact.first_name).replace(' ', '.')}.{name_key(contact.last_name).replace(' ', '')}"
        domain = (
            contact.account.domain if contact.account else rng.choice(["mail.example", "web.example", "post.example"])
        )
        if rng.random() < 0.92:
            address = f"{local}@{domain}"
            emails.append(
                ContactEmail(
                    contact=contact,
                    email=address,
                    email_key=email_key(address),
                    is_primary=True,
                    label="work" if contact.account else "home",
                )
            )
        number = _phone(rng, contact.country) if rng.random() < 0.85 else None
        if number:
            phones.append(ContactPhone(contact=contact, e164=number, is_primary=True, label="mobile"))
    ContactEmail.objects.bulk_create(emails, batch_size=2000, ignore_conflicts=True)
    ContactPhone.objects.bulk_create(phones, batch_size=2000, ignore_conflicts=True)
    _demo_duplicates(ctx, sales)
    from contacts.matching.engine import account_keys_refresh, contact_keys_refresh

    contact_keys_refresh(Contact.objects.values_list("pk", flat=True))
    account_keys_refresh(Account.objects.values_list("pk", flat=True))
    ctx.log(
        f"customers: {len(account_rows)} accounts, {len(contact_rows)} contacts, "
        f"{len(emails)} e-mails, {len(phones)} phones"
    )


def _demo_duplicates(ctx: DemoContext, sales: list) -> None:
    """About 60 people entered twice by different reps, the way it happens: a typo, an initial, a missing
    e-mail, a phone typed another way. The scan then finds them for the review queue."""
    from contacts.models import Contact, ContactEmail, ContactPhone

    rng = ctx.rng
    originals = list(Contact.objects.prefetch_related("emails", "phones").order_by("?")[:60])
    for original in originals:
        first, last = original.first_name, original.last_name
        slip = rng.random()
        if slip < 0.3 and len(last) > 4:
            i = rng.randrange(1, len(last) - 2)
            last = last[:i] + last[i + 1] + last[i] + last[i + 2 :]
        elif slip < 0.5 and first:
            first = first[0] + "."
        elif slip < 0.6:
            first, last = first.upper(), last.upper()
        twin = Contact.objects.create(
            first_name=first,
            last_name=last,
            first_key=name_key(first),
            last_key=name_key(last),
            title=original.title,
            account=original.account,
            owner=rng.choice(sales),
            street=original.street,
            city=original.city,
            postcode=original.postcode,
            country=original.country,
            created_at=original.created_at + timedelta(days=rng.randint(10, 300)),
        )
        emails, phones = list(original.emails.all()), list(original.phones.all())
        if emails and (rng.random() < 0.6 or not phones):
            ContactEmail.objects.create(
                contact=twin,
                email=emails[0].email.upper() if rng.random() < 0.3 else emails[0].email,
                email_key=emails[0].email_key,
                is_primary=True,
            )
        if phones and rng.random() < 0.7:
            ContactPhone.objects.create(contact=twin, e164=phones[0].e164, is_primary=True)
    ctx.log(f"duplicates: {len(originals)} people entered a second time")


@demo_step(order=40)
def demo_duplicate_scan(ctx: DemoContext) -> None:
    from contacts.duplicates import contacts_scan
    from contacts.models import MatchCandidate

    if MatchCandidate.objects.exists():
        return
    counts = contacts_scan()
    ctx.log(f"duplicate scan: {counts['pairs']} pairs compared, {counts['queued']} queued for review")


@demo_step(order=30)
def demo_touches(ctx: DemoContext) -> None:
    from contacts.models import Contact, FollowUp, Purpose, Touch

    if Touch.objects.exists():
        ctx.log(f"touches: already there ({Touch.objects.count()})")
        return
    rng = ctx.rng
    purposes = {p.name: p for p in Purpose.objects.all()}
    now = timezone.now()
    contacts = list(Contact.objects.filter(do_not_contact=False).only("id", "account_id"))
    outcomes = ["reached", "no_answer", "left_message", "interested", "not_interested", "completed"]
    touches = []
    for contact in contacts:
        for _ in range(rng.choices([0, 1, 2, 3, 5, 8], [10, 25, 25, 20, 12, 8])[0]):
            username = rng.choice(list(DEPARTMENT_MIX))
            purpose_names, channels = DEPARTMENT_MIX[username]
            user = ctx.users[username]
            channel = rng.choice(channels)
            inbound = channel in ("call", "email", "chat") and rng.random() < 0.15
            if inbound:
                outcome = "reached"
            elif channel in ("email", "letter"):
                outcome = "sent"
            else:
                outcome = rng.choice(outcomes)
            touches.append(
                Touch(
                    contact_id=contact.id,
                    account_id=contact.account_id,
                    channel=channel,
                    direction="in" if inbound else "out",
                    purpose=purposes[rng.choice(purpose_names)],
                    status="done",
                    at=now - timedelta(days=rng.uniform(1, 730)),
                    outcome=outcome,
                    notes=rng.choice(
                        [
                            "",
                            "",
                            "Asked for a quote.",
                            "Call back next quarter.",
                            "Happy with the service.",
                            "Interested in the new model.",
                            "Budget frozen until spring.",
                            "Wants a demo.",
                        ]
                    ),
                    user=user,
                    department_id=user.department_id,
                )
            )
    # Planned touches in the coming weeks, and the scenario of the guard: a rep e-mailed a customer for
    # cross-sell three days ago, so marketing's cross-sell call now gets a warning.
    for contact in rng.sample(contacts, 120):
        username = rng.choice(["rep", "rep2", "rep3", "marketing"])
        user = ctx.users[username]
        touches.append(
            Touch(
                contact_id=contact.id,
                account_id=contact.account_id,
                channel=rng.choice(["call", "email", "meeting"]),
                purpose=purposes[rng.choice(["Renewal", "Cross-sell", "Onboarding"])],
                status="planned",
                at=now + timedelta(days=rng.uniform(1, 30)),
                user=user,
                department_id=user.department_id,
            )
        )
    scenario = Contact.objects.filter(account__isnull=False, do_not_contact=False).order_by("id").first()
    rep = ctx.users["rep"]
    touches.append(
        Touch(
            contact_id=scenario.id,
            account_id=scenario.account_id,
            channel="email",
            purpose=purposes["Cross-sell"],
            status="done",
            at=now - timedelta(days=3),
            outcome="sent",
            user=rep,
            department_id=rep.department_id,
            notes="Sent the brochure of the new product line.",
        )
    )
    Touch.objects.bulk_create(touches, batch_size=2000)

    followups = []
    for username in ("rep", "rep2", "rep3", "rep4", "manager", "marketing", "support"):
        user = ctx.users[username]
        for contact in rng.sample(contacts, 12):
            followups.append(
                FollowUp(
                    contact_id=contact.id,
                    assignee=user,
                    created_by=user,
                    due=timezone.localdate() + timedelta(days=rng.randint(-6, 14)),
                    note=rng.choice(
                        [
                            "Send the quote",
                            "Call back about the renewal",
                            "Confirm the visit date",
                            "Check delivery status",
                            "Send the product brochure",
                            "Ask for a referral",
                        ]
                    ),
                )
            )
    FollowUp.objects.bulk_create(followups)
    ctx.log(
        f"touches: {len(touches)} (two years, every department), {len(followups)} open follow-ups;"
        f" try the guard on {scenario} (e-mailed for cross-sell by {rep} three days ago)"
    )
