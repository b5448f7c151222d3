"""factory_boy factories of accounts, contacts, purposes (with their guard rule), touches and follow-ups.

They write rows directly (fast test set-up); the derived keys the services compute (name keys, e-mail
keys, E.164 numbers) are computed here the same way, with contacts.normalize.
"""

from datetime import timedelta

import factory
from django.utils import timezone
from django.utils.text import slugify

from contacts.models import Account, Contact, ContactEmail, ContactPhone, FollowUp, GuardRule, Purpose, Touch
from contacts.normalize import email_key, name_key, phone_e164
from tests.factories import UserFactory


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    name = factory.Sequence(lambda n: f"Account {n}")
    name_key = factory.LazyAttribute(lambda o: name_key(o.name))
    owner = factory.SubFactory(UserFactory)


class ContactEmailFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ContactEmail

    contact = factory.SubFactory("tests.contacts.factories.ContactFactory")
    email = factory.Sequence(lambda n: f"person{n}@example.com")
    email_key = factory.LazyAttribute(lambda o: email_key(o.email))
    is_primary = False


class ContactPhoneFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ContactPhone

    class Params:
        number = factory.Sequence(lambda n: f"030 {1000000 + n}")

    contact = factory.SubFactory("tests.contacts.factories.ContactFactory")
    e164 = factory.LazyAttribute(lambda o: phone_e164(o.number))
    is_primary = False


class ContactFactory(factory.django.DjangoModelFactory):
    """``ContactFactory(emails=["a@x.de"], phones=["030 1234567"])``: the first of each is the primary."""

    class Meta:
        model = Contact
        skip_postgeneration_save = True

    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    first_key = factory.LazyAttribute(lambda o: name_key(o.first_name))
    last_key = factory.LazyAttribute(lambda o: name_key(o.last_name))
    owner = factory.SubFactory(UserFactory)
    account = None

    @factory.post_generation
    def emails(self, create, extracted, **kwargs):
        if create:
            for index, address in enumerate(extracted or []):
                ContactEmailFactory(contact=self, email=address, is_primary=index == 0)

    @factory.post_generation
    def phones(self, create, extracted, **kwargs):
        if create:
            for index, number in enumerate(extracted or []):
                ContactPhoneFactory(contact=self, number=number, is_primary=index == 0)


class GuardRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = GuardRule

    purpose = factory.SubFactory("tests.contacts.factories.PurposeFactory", rule=None)
    window_days = 14
    mode = GuardRule.Mode.WARN
    scope = GuardRule.Scope.CONTACT


class PurposeFactory(factory.django.DjangoModelFactory):
    """A purpose with a guard rule (warn, 14 days, per contact): ``rule__mode="block"``; ``rule=None``: none."""

    class Meta:
        model = Purpose
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Purpose {n}")
    code = factory.LazyAttribute(lambda o: slugify(o.name)[:40])
    rule = factory.RelatedFactory(GuardRuleFactory, factory_related_name="purpose")


class TouchFactory(factory.django.DjangoModelFactory):
    """A done outbound call, logged a day ago by its ``user`` (in the user's department)."""

    class Meta:
        model = Touch

    contact = factory.SubFactory(ContactFactory)
    account = factory.LazyAttribute(lambda o: o.contact.account)
    channel = "call"
    direction = Touch.Direction.OUT
    purpose = factory.SubFactory(PurposeFactory)
    status = Touch.Status.DONE
    at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))
    user = factory.SubFactory(UserFactory)
    department = factory.LazyAttribute(lambda o: o.user.department)


class FollowUpFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FollowUp

    contact = factory.SubFactory(ContactFactory)
    assignee = factory.SubFactory(UserFactory)
    created_by = factory.SelfAttribute("assignee")
    due = factory.LazyFunction(lambda: timezone.localdate() + timedelta(days=3))
    note = "Call back about the offer"
