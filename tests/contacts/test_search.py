"""One search box: names, e-mails, phones in any format, companies."""

import pytest

from contacts.selectors import search
from contacts.services import account_create, contact_create


@pytest.fixture
def people(org, anna, bernd):
    globex = account_create(actor=org.rep, name="Globex Logistik GmbH")
    return {
        "anna": anna,
        "bernd": bernd,
        "zoe": contact_create(
            actor=org.rep,
            first_name="Zoë",
            last_name="O'Neill",
            emails=["zoe@mail.example"],
            phones=["+44 20 7946 0958"],
        ),
        "gina": contact_create(actor=org.rep, first_name="Gina", last_name="Weiss", account=globex),
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("schm", ["anna"]),
        ("Anna Schmidt", ["anna"]),
        ("schmidt anna", ["anna"]),
        ("muller", ["bernd"]),
        ("Müller", ["bernd"]),
        ("zoe", ["zoe"]),
        ("oneill", ["zoe"]),
        ("anna.schmidt@", ["anna"]),
        ("ZOE@MAIL", ["zoe"]),
        ("030 1234567", ["anna"]),
        ("(030) 123", ["anna"]),
        ("+49 30 1234567", ["anna"]),
        ("0049301234567", ["anna"]),
        ("0151 2345", ["bernd"]),
        ("+44 20 7946", ["zoe"]),
        ("globex", ["gina"]),
    ],
)
def test_search_finds_people_by_what_users_type(org, people, query, expected):
    found = search(actor=org.marketing, query=query)
    assert [c.pk for c in found.contacts] == [people[name].pk for name in expected], found.matched_by


def test_search_finds_accounts_by_company_name(org, people):
    assert [a.name for a in search(actor=org.rep, query="acme").accounts] == ["Acme GmbH"]


@pytest.mark.parametrize("query", ["", "a", "%", "_", "' OR 1=1 --", "<script>"])
def test_odd_queries_find_nothing_and_break_nothing(org, people, query):
    found = search(actor=org.rep, query=query)
    assert found.contacts == [] and found.accounts == []
