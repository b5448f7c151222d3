"""The demo training on the demo company and catalog: every state a page should show, and the gate at work
(Rita may not quote a configured Aurora until she passes its quiz; Lena may). Idempotent."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from catalog.demo import demo_catalog
from catalog.models import Configuration, Product
from orders.services import quote_create
from sfa.demo import DemoContext, demo_company
from training.demo import AURORA, demo_training
from training.models import Assignment, Certification, Course, Override


@pytest.fixture
def demo(db):
    ctx = DemoContext(password="demo-pass-2026", log=lambda _: None)
    demo_company(ctx)
    demo_catalog(ctx)
    demo_training(ctx)
    return ctx


def test_the_demo_has_every_state(demo):
    users = demo.users
    states = set(Assignment.objects.values_list("user__username", "course__title", "status"))
    assert ("rep", AURORA, "assigned") in states
    assert ("rep2", "Volt e-bike certification", "overdue") in states
    assert ("rep4", AURORA, "expired") in states
    assert ("rep4", "FlexDesk consultative selling", "assigned") in states
    lena = Certification.objects.filter(user=users["rep3"])
    assert {c.responsibility.name for c in lena if c.is_valid()} == {"Aurora product line", "Volt e-bike line"}
    paulo = Certification.objects.get(user=users["rep4"])
    assert not paulo.is_valid()
    assert Override.objects.get().user == users["rep2"]
    assert Course.objects.get(title=AURORA).questions.count() == 5


def test_the_gate_holds_on_the_demo(demo):
    aurora = Product.objects.get(slug="aurora")
    config = Configuration.objects.create(
        product=aurora,
        choices={},
        price_breakdown=[],
        total=Decimal("32900"),
        currency="EUR",
        lead_time_days=42,
        sku_code="AUR-DEMO",
        token="t-demo-gate",
    )
    lines = [{"product": aurora, "configuration": config, "quantity": 1}]
    from contacts.services import account_create

    for username in ("rep", "rep4"):
        account = account_create(actor=demo.users[username], name=f"Kunde {username}", country="DE")
        with pytest.raises(ValidationError, match="Aurora product line"):
            quote_create(actor=demo.users[username], account=account, lines=lines)
    account = account_create(actor=demo.users["rep3"], name="Kunde Lena", country="DE")
    assert quote_create(actor=demo.users["rep3"], account=account, lines=lines)


def test_the_demo_runs_twice_without_changes(demo):
    counts = (Course.objects.count(), Assignment.objects.count(), Certification.objects.count())
    demo_training(demo)
    assert (Course.objects.count(), Assignment.objects.count(), Certification.objects.count()) == counts
