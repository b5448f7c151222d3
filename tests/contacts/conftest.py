"""Fixtures of customers and purposes, built through the services."""

import pytest

from contacts.models import Purpose
from contacts.services import account_create, contact_create, purpose_save


@pytest.fixture
def purposes(org) -> dict[str, Purpose]:
    return {
        "cross_sell": purpose_save(actor=None, name="Cross-sell", window_days=14, mode="warn", scope="contact"),
        "renewal": purpose_save(actor=None, name="Renewal", window_days=30, mode="warn", scope="account"),
        "payment": purpose_save(actor=None, name="Payment reminder", window_days=10, mode="block", scope="account"),
        "onboarding": purpose_save(actor=None, name="Onboarding"),
    }


@pytest.fixture
def acme(org):
    return account_create(
        actor=org.rep, name="Acme GmbH", website="https://www.acme.example/", city="Berlin", country="de"
    )


@pytest.fixture
def anna(org, acme):
    return contact_create(
        actor=org.rep,
        first_name="Anna",
        last_name="Schmidt",
        account=acme,
        emails=["Anna.Schmidt@Acme.example"],
        phones=["030 1234567"],
        city="Berlin",
        country="DE",
    )


@pytest.fixture
def bernd(org, acme):
    return contact_create(
        actor=org.rep_b, first_name="Bernd", last_name="Müller", account=acme, phones=["+49 151 23456789"]
    )
