"""Fixtures of the training tests: a product line (Vehicles › Cars) with a configurable car and a plain one, its
certification, and a quiz course that qualifies for it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from catalog.models import Category, Configuration, Product
from tests.catalog.factories import CategoryFactory, ConfigurationFactory, PriceFactory, ProductFactory
from tests.training.factories import CourseFactory, ResponsibilityFactory, quiz
from training.models import Course, Question, Responsibility


@dataclass
class Line:
    vehicles: Category
    cars: Category
    aurora: Product  # configurable, in Cars
    config: Configuration  # of aurora, 30000.00 EUR
    mats: Product  # not configurable, in Cars: never gated
    desk: Product  # configurable, in another line (no certification): not gated
    desk_config: Configuration
    cert: Responsibility  # "Cars certification" for Vehicles › Cars
    course: Course  # quiz, pass mark 60 %, 2 attempts, valid 12 months, qualifies for cert
    questions: list[Question]  # 3: single, single, multiple

    def right(self) -> dict[str, list[int]]:
        return {str(q.pk): [c.pk for c in q.choices.all() if c.is_correct] for q in self.questions}

    def wrong(self) -> dict[str, list[int]]:
        return {str(q.pk): [next(c.pk for c in q.choices.all() if not c.is_correct)] for q in self.questions}


@pytest.fixture
def line(db) -> Line:
    vehicles = CategoryFactory(name="Vehicles", slug="vehicles")
    cars = CategoryFactory(name="Cars", slug="cars", parent=vehicles)
    office = CategoryFactory(name="Office", slug="office")
    aurora = ProductFactory(name="Aurora", sku="AUR", category=cars, is_configurable=True)
    mats = ProductFactory(name="Floor mats", sku="MATS", category=cars)
    PriceFactory(product=mats, amount=Decimal("80.00"))
    desk = ProductFactory(name="FlexDesk", sku="FDP", category=office, is_configurable=True)
    config = ConfigurationFactory(product=aurora, total=Decimal("30000.00"), sku_code="AUR-L-EV", token="t-aurora")
    desk_config = ConfigurationFactory(product=desk, total=Decimal("600.00"), sku_code="FDP-160", token="t-desk")
    cert = ResponsibilityFactory(name="Cars certification", category=cars)
    course = CourseFactory(
        title="Aurora sales", pass_mark_percent=60, max_attempts=2, validity_months=12, responsibilities=[cert]
    )
    questions = quiz(
        course,
        [
            ("Which drive charges at a wallbox?", [("Electric", True), ("Diesel", False), ("Neither", False)]),
            ("How many lengths?", [("One", False), ("Three", True)]),
            ("Which go on a fleet quote?", [("Service plan", True), ("Wallbox", True), ("Second wheel", False)]),
        ],
    )
    return Line(vehicles, cars, aurora, config, mats, desk, desk_config, cert, course, questions)


@pytest.fixture
def due():
    return timezone.localdate() + timedelta(days=14)
