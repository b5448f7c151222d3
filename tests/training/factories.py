"""factory_boy factories of the training app: rows written directly (fast set-up).

Use training.services when a test is about behaviour (scoring, granting, the gate); use these to put rows
in place around it.
"""

from datetime import timedelta

import factory
from django.utils import timezone

from tests.catalog.factories import CategoryFactory
from tests.factories import UserFactory
from training.models import (
    Assignment,
    Certification,
    Choice,
    Course,
    CourseMaterial,
    Override,
    Question,
    QuizAttempt,
    Responsibility,
)


class ResponsibilityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Responsibility

    name = factory.Sequence(lambda n: f"Product line {n}")
    kind = Responsibility.Kind.CERTIFICATION
    category = factory.SubFactory(CategoryFactory)


class CourseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Course
        skip_postgeneration_save = True

    title = factory.Sequence(lambda n: f"Course {n}")
    completion = Course.Completion.QUIZ
    pass_mark_percent = 80
    validity_months = 12

    @factory.post_generation
    def responsibilities(self, create, extracted, **kwargs):
        if create and extracted:
            self.responsibilities.set(extracted)


class CourseMaterialFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CourseMaterial

    course = factory.SubFactory(CourseFactory)
    title = factory.Sequence(lambda n: f"Guide {n}")
    kind = CourseMaterial.Kind.LINK
    url = "https://guides.example/aurora"


class QuestionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Question

    course = factory.SubFactory(CourseFactory)
    text = factory.Sequence(lambda n: f"Question {n}?")


class ChoiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Choice

    question = factory.SubFactory(QuestionFactory)
    text = factory.Sequence(lambda n: f"Answer {n}")
    is_correct = False


def quiz(course: Course, answers: list[tuple[str, list[tuple[str, bool]]]]) -> list[Question]:
    """Questions with their choices on ``course``: ``[("Q?", [("A", True), ("B", False)]), ...]``."""
    made = []
    for position, (text, choices) in enumerate(answers):
        question = QuestionFactory(course=course, text=text, position=position)
        for number, (choice, right) in enumerate(choices):
            ChoiceFactory(question=question, text=choice, is_correct=right, position=number)
        made.append(question)
    return made


class AssignmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Assignment

    course = factory.SubFactory(CourseFactory)
    user = factory.SubFactory(UserFactory)
    due_on = factory.LazyFunction(lambda: timezone.localdate() + timedelta(days=14))


class QuizAttemptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = QuizAttempt

    assignment = factory.SubFactory(AssignmentFactory)
    user = factory.SelfAttribute("assignment.user")
    course = factory.SelfAttribute("assignment.course")
    number = factory.Sequence(lambda n: n + 1)
    answers = factory.LazyFunction(dict)
    correct = 1
    total = 2
    score_percent = 50
    passed = False


class CertificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Certification

    user = factory.SubFactory(UserFactory)
    responsibility = factory.SubFactory(ResponsibilityFactory)
    course = factory.SubFactory(CourseFactory)
    method = Certification.Method.QUIZ
    granted_on = factory.LazyFunction(timezone.localdate)
    valid_until = factory.LazyFunction(lambda: timezone.localdate() + timedelta(days=365))


class OverrideFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Override

    user = factory.SubFactory(UserFactory)
    responsibility = factory.SubFactory(ResponsibilityFactory)
    reason = "Big deal next week"
    valid_until = factory.LazyFunction(lambda: timezone.localdate() + timedelta(days=14))
