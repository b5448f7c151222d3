"""factory_boy factories of the core records. Apps add theirs in tests/<app>/factories.py."""

import factory
from django.utils.text import slugify

from sfa.models import Department, Job, Role, Team, User

TEST_PASSWORD = "correct-horse-battery-staple"


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Department {n}")
    code = factory.LazyAttribute(lambda o: slugify(o.name))


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"Team {n}")
    department = factory.SubFactory(DepartmentFactory, name="Sales", is_sales=True)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    role = Role.REP
    department = factory.SubFactory(DepartmentFactory, name="Sales", is_sales=True)
    team = None
    is_staff = factory.LazyAttribute(lambda o: o.role == Role.ADMIN)
    is_superuser = factory.LazyAttribute(lambda o: o.role == Role.ADMIN)

    @factory.post_generation
    def password(self, create, extracted, **kwargs):
        self.set_password(extracted or TEST_PASSWORD)
        if create:
            self.save(update_fields=["password"])


class JobFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Job

    kind = "audit_export"
    title = "Test job"
    started_by = factory.SubFactory(UserFactory)
