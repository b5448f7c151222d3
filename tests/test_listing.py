"""Keyset pagination: every row once, in order, both directions, any sort; damaged cursors are refused."""

import pytest
from django.core.exceptions import ValidationError
from django.http import QueryDict

from sfa.listing import Sort, keyset_page
from sfa.models import User
from tests.factories import UserFactory

SORTS = [Sort("name", "last_name", "Name"), Sort("joined", "date_joined", "Joined")]


def walk(params: dict, direction: str = "next") -> list[int]:
    seen = []
    query = QueryDict(mutable=True)
    query.update(params)
    while True:
        page = keyset_page(User.objects.all(), query, sorts=SORTS, default="name")
        seen.extend(u.pk for u in page.rows)
        cursor = page.next_cursor
        if not cursor:
            return seen
        query["cursor"] = cursor


@pytest.mark.parametrize("sort", ["name", "-name", "joined", "-joined"])
def test_walking_all_pages_yields_every_row_once_in_order(db, sort):
    # Many equal last names: the primary key breaks ties.
    for i in range(23):
        UserFactory(last_name=["Smith", "Jones", "Brown"][i % 3])
    seen = walk({"sort": sort, "page_size": "4"})
    field = {"name": "last_name", "joined": "date_joined"}[sort.lstrip("-")]
    expected = list(
        User.objects.order_by(
            f"{'-' if sort.startswith('-') else ''}{field}", f"{'-' if sort.startswith('-') else ''}pk"
        ).values_list("pk", flat=True)
    )
    assert seen == expected


def test_previous_goes_back_to_the_same_rows(db):
    for _ in range(10):
        UserFactory()
    first = keyset_page(User.objects.all(), {"page_size": "3"}, sorts=SORTS, default="name")
    second = keyset_page(
        User.objects.all(), {"page_size": "3", "cursor": first.next_cursor}, sorts=SORTS, default="name"
    )
    back = keyset_page(
        User.objects.all(), {"page_size": "3", "cursor": second.prev_cursor}, sorts=SORTS, default="name"
    )
    assert [u.pk for u in back.rows] == [u.pk for u in first.rows]
    assert back.prev_cursor is None and first.prev_cursor is None and second.prev_cursor


@pytest.mark.parametrize(
    "params", [{"cursor": "not-base64!"}, {"cursor": "WzEsMl0"}, {"sort": "password"}, {"page_size": "many"}]
)
def test_bad_parameters_raise_a_validation_error(db, params):
    with pytest.raises(ValidationError):
        keyset_page(User.objects.all(), params, sorts=SORTS, default="name")


def test_headers_know_the_next_sort(db):
    page = keyset_page(User.objects.all(), {"sort": "name"}, sorts=SORTS, default="name")
    assert page.columns["name"] == {"label": "Name", "next": "-name", "state": "ascending"}
    assert page.columns["joined"]["state"] == "none"
