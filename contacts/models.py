"""Accounts and people, every touch with them, follow-ups, and the outreach guard's rules and log."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from contacts.normalize import phone_display


class Channel(models.TextChoices):
    CALL = "call", "Call"
    EMAIL = "email", "E-mail"
    MEETING = "meeting", "Meeting"
    VISIT = "visit", "Visit"
    LETTER = "letter", "Letter"
    CHAT = "chat", "Chat"
    WEB = "web", "Web / configurator"


class Address(models.Model):
    street = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    postcode = models.CharField(max_length=20, blank=True)
    region = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166 code, e.g. DE")

    class Meta:
        abstract = True

    @property
    def address_lines(self) -> list[str]:
        city_line = " ".join(p for p in (self.postcode, self.city) if p)
        return [line for line in (self.street, city_line, self.region, self.country) if line]


class Account(Address):
    """A company (or any organisation) we sell to."""

    class Size(models.TextChoices):
        MICRO = "1-10", "1–10"
        SMALL = "11-50", "11–50"
        MEDIUM = "51-200", "51–200"
        LARGE = "201-1000", "201–1,000"
        ENTERPRISE = "1000+", "1,000+"

    class Segment(models.TextChoices):
        ENTERPRISE = "enterprise", "Enterprise"
        MID_MARKET = "mid_market", "Mid-market"
        SMB = "smb", "Small business"
        PUBLIC = "public", "Public sector"

    name = models.CharField(max_length=200)
    name_key = models.CharField(max_length=200, db_index=True, editable=False)
    website = models.CharField(max_length=200, blank=True)
    domain = models.CharField(max_length=200, blank=True, db_index=True, editable=False)
    industry = models.CharField(max_length=100, blank=True)
    size = models.CharField(max_length=10, choices=Size.choices, blank=True)
    segment = models.CharField(max_length=20, choices=Segment.choices, blank=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="accounts")
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="merged_from",
        help_text="Set when this account was merged into another: it is archived and its pages lead there.",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name_key", "id"]
        indexes = [
            models.Index(fields=["owner", "name_key"], name="account_owner_name_idx"),
            # Search reads name prefixes as ranges of this ordinary index, in order (see contacts.selectors).
            models.Index(fields=["name_key", "id"], name="account_name_idx"),
        ]

    def __str__(self) -> str:
        return self.name


class Contact(Address):
    """A person: at an account, or a consumer with none."""

    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100)
    first_key = models.CharField(max_length=100, editable=False)
    last_key = models.CharField(max_length=100, editable=False)
    title = models.CharField(max_length=150, blank=True)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, null=True, blank=True, related_name="contacts")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="contacts")
    birth_date = models.DateField(null=True, blank=True)
    tags = models.JSONField(default=list, blank=True, help_text="Tastes and interests, e.g. ['golf', 'eco']")
    preferences = models.TextField(blank=True, help_text="Tastes and preferences, in the rep's words")
    do_not_contact = models.BooleanField(default=False, help_text="Never contact through any channel")
    do_not_contact_at = models.DateTimeField(null=True, blank=True)
    do_not_contact_source = models.CharField(max_length=200, blank=True)
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="merged_from",
        help_text="Set when this contact was merged into another: it is archived and its pages lead there.",
    )
    is_prospect = models.BooleanField(
        default=False, db_index=True, help_text="Known only as a lead so far (purchased list, web form …)"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["last_key", "first_key", "id"]
        indexes = [
            models.Index(fields=["last_key", "first_key", "id"], name="contact_name_idx"),
            models.Index(fields=["first_key", "last_key", "id"], name="contact_first_name_idx"),
            models.Index(fields=["last_key"], name="contact_last_prefix_idx", opclasses=["varchar_pattern_ops"]),
            models.Index(fields=["first_key"], name="contact_first_prefix_idx", opclasses=["varchar_pattern_ops"]),
            models.Index(fields=["account", "last_key"], name="contact_account_idx"),
            models.Index(fields=["owner", "last_key"], name="contact_owner_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def full_name(self) -> str:
        return str(self)


class ContactEmail(models.Model):
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="emails")
    email = models.EmailField(max_length=254)
    email_key = models.CharField(max_length=254, editable=False)
    label = models.CharField(max_length=30, blank=True, help_text="work, home …")
    is_primary = models.BooleanField(default=False)

    class Meta:
        ordering = ["-is_primary", "id"]
        constraints = [
            models.UniqueConstraint(fields=["contact", "email_key"], name="contact_email_unique"),
            models.UniqueConstraint(fields=["contact"], condition=Q(is_primary=True), name="contact_one_primary_email"),
        ]
        indexes = [models.Index(fields=["email_key"], name="email_prefix_idx", opclasses=["varchar_pattern_ops"])]

    def __str__(self) -> str:
        return self.email


class ContactPhone(models.Model):
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="phones")
    e164 = models.CharField(max_length=20, help_text="E.164, e.g. +49301234567")
    label = models.CharField(max_length=30, blank=True, help_text="mobile, office …")
    is_primary = models.BooleanField(default=False)

    class Meta:
        ordering = ["-is_primary", "id"]
        constraints = [
            models.UniqueConstraint(fields=["contact", "e164"], name="contact_phone_unique"),
            models.UniqueConstraint(fields=["contact"], condition=Q(is_primary=True), name="contact_one_primary_phone"),
        ]
        indexes = [models.Index(fields=["e164"], name="phone_prefix_idx", opclasses=["varchar_pattern_ops"])]

    def __str__(self) -> str:
        return self.display

    @property
    def display(self) -> str:
        return phone_display(self.e164)


class ChannelConsent(models.Model):
    """Consent and do-not-contact for one channel of one contact, with when and where it came from."""

    class Status(models.TextChoices):
        GRANTED = "granted", "Consent given"
        WITHDRAWN = "withdrawn", "Consent withdrawn"
        DO_NOT_CONTACT = "do_not_contact", "Do not contact"

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="consents")
    channel = models.CharField(max_length=16, choices=Channel.choices)
    status = models.CharField(max_length=20, choices=Status.choices)
    at = models.DateTimeField(default=timezone.now)
    source = models.CharField(max_length=200, blank=True, help_text="web form, phone call, letter …")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["contact", "channel"], name="consent_one_per_channel")]

    def __str__(self) -> str:
        return f"{self.contact}: {self.get_channel_display()} {self.get_status_display()}"


class Purpose(models.Model):
    """Why we contact a customer (renewal, cross-sell …); admins manage the list and its guard rule."""

    name = models.CharField(max_length=80, unique=True)
    code = models.SlugField(max_length=40, unique=True)
    description = models.CharField(max_length=300, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class GuardRule(models.Model):
    """For one purpose: no two outbound touches within ``window_days`` by different people."""

    class Mode(models.TextChoices):
        WARN = "warn", "Warn"
        BLOCK = "block", "Block"

    class Scope(models.TextChoices):
        CONTACT = "contact", "The contact"
        ACCOUNT = "account", "The whole account"

    purpose = models.OneToOneField(Purpose, on_delete=models.CASCADE, related_name="guard_rule")
    window_days = models.PositiveSmallIntegerField(default=14)
    mode = models.CharField(max_length=8, choices=Mode.choices, default=Mode.WARN)
    scope = models.CharField(max_length=8, choices=Scope.choices, default=Scope.CONTACT)
    is_active = models.BooleanField(default=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(window_days__gte=1), name="guard_window_positive")]

    def __str__(self) -> str:
        return f"{self.purpose}: {self.get_mode_display()} within {self.window_days} days ({self.get_scope_display()})"


class OutreachSettings(models.Model):
    """Company-wide outreach limits (one row): the frequency cap on outbound touches per contact."""

    frequency_cap = models.PositiveSmallIntegerField(default=3, help_text="Outbound touches per contact …")
    frequency_window_days = models.PositiveSmallIntegerField(default=7, help_text="… within this many days")
    frequency_mode = models.CharField(max_length=8, choices=GuardRule.Mode.choices, default=GuardRule.Mode.WARN)

    class Meta:
        verbose_name_plural = "outreach settings"

    def __str__(self) -> str:
        return f"At most {self.frequency_cap} outbound touches in {self.frequency_window_days} days"


class Campaign(models.Model):
    """A batch of planned touches (bulk planning), e.g. a renewal mailing."""

    name = models.CharField(max_length=150)
    purpose = models.ForeignKey(Purpose, on_delete=models.PROTECT, related_name="campaigns")
    channel = models.CharField(max_length=16, choices=Channel.choices)
    planned_for = models.DateTimeField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    report = models.JSONField(default=dict, blank=True, help_text="Planned, skipped and conflicting contacts")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name


class Touch(models.Model):
    """Any contact with a customer, done or planned, by anyone in any department."""

    class Direction(models.TextChoices):
        OUT = "out", "Outbound"
        IN = "in", "Inbound"

    class Status(models.TextChoices):
        DONE = "done", "Done"
        PLANNED = "planned", "Planned"
        HELD = "held", "Held by the guard"
        CANCELLED = "cancelled", "Cancelled"

    class Outcome(models.TextChoices):
        NONE = "", "—"
        REACHED = "reached", "Reached"
        NO_ANSWER = "no_answer", "No answer"
        LEFT_MESSAGE = "left_message", "Left a message"
        INTERESTED = "interested", "Interested"
        NOT_INTERESTED = "not_interested", "Not interested"
        COMPLETED = "completed", "Completed"
        BOUNCED = "bounced", "Bounced"
        SENT = "sent", "Sent"

    contact = models.ForeignKey(Contact, on_delete=models.PROTECT, related_name="touches")
    account = models.ForeignKey(
        Account,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="touches",
        help_text="The contact's account when the touch happened (the account timeline reads this).",
    )
    channel = models.CharField(max_length=16, choices=Channel.choices)
    direction = models.CharField(max_length=3, choices=Direction.choices, default=Direction.OUT)
    purpose = models.ForeignKey(Purpose, on_delete=models.PROTECT, related_name="touches")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DONE)
    at = models.DateTimeField(default=timezone.now, help_text="When it happened, or is planned for")
    outcome = models.CharField(max_length=20, choices=Outcome.choices, blank=True)
    notes = models.TextField(blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="touches")
    department = models.ForeignKey("sfa.Department", on_delete=models.PROTECT, null=True, related_name="touches")
    campaign = models.ForeignKey(Campaign, on_delete=models.SET_NULL, null=True, blank=True, related_name="touches")
    override_reason = models.TextField(blank=True, help_text="Why the user went ahead despite the guard")
    guard_conflicts = models.JSONField(default=list, blank=True, help_text="What the guard showed, as it was")
    recorded_by_system = models.BooleanField(
        default=False,
        help_text="Written by SFA itself (an order update, a web request): not outreach, so the frequency cap "
        "leaves it out",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "touches"
        indexes = [
            models.Index(fields=["contact", "-at", "-id"], name="touch_contact_time_idx"),
            models.Index(fields=["account", "-at", "-id"], name="touch_account_time_idx"),
            models.Index(fields=["contact", "purpose", "at"], name="touch_guard_contact_idx"),
            models.Index(fields=["account", "purpose", "at"], name="touch_guard_account_idx"),
            models.Index(fields=["status", "at"], name="touch_status_time_idx", condition=Q(status="planned")),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} with {self.contact} ({self.purpose})"


class FollowUp(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"

    contact = models.ForeignKey(Contact, on_delete=models.PROTECT, related_name="followups")
    touch = models.ForeignKey(Touch, on_delete=models.SET_NULL, null=True, blank=True, related_name="followups")
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="followups")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    due = models.DateField()
    note = models.CharField(max_length=300)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due", "id"]
        indexes = [models.Index(fields=["assignee", "status", "due"], name="followup_assignee_idx")]

    def __str__(self) -> str:
        return f"{self.note} (due {self.due:%d %b %Y})"


class GuardLog(models.Model):
    """What the outreach guard said and what the user did: the managers' report reads this."""

    class Verdict(models.TextChoices):
        OVERRIDDEN = "overridden", "Warning overridden"
        BLOCKED = "blocked", "Blocked"
        BLOCK_OVERRIDDEN = "block_overridden", "Block overridden by a manager"
        HELD = "held", "Scheduled send held"

    at = models.DateTimeField(default=timezone.now, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    department = models.ForeignKey("sfa.Department", on_delete=models.PROTECT, null=True, related_name="+")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="guard_logs")
    purpose = models.ForeignKey(Purpose, on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(max_length=16, choices=Channel.choices)
    verdict = models.CharField(max_length=20, choices=Verdict.choices)
    reason = models.TextField(blank=True)
    via = models.CharField(max_length=20, help_text="form, api, campaign, schedule")
    touch = models.ForeignKey(Touch, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    conflicts = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_verdict_display()}: {self.contact} / {self.purpose}"


class MatchKey(models.Model):
    """A blocking key of a contact or account: the matching engine compares only records sharing a key.

    Keys are prefixed by kind: ``e:`` e-mail, ``p:`` phone, ``nc:``/``nk:``/``np:`` phonetic surname with
    first initial and city / company / postcode, ``ac:`` company with city, ``ad:`` web domain.
    """

    class Subject(models.TextChoices):
        CONTACT = "contact", "Contact"
        ACCOUNT = "account", "Account"

    subject = models.CharField(max_length=8, choices=Subject.choices)
    object_id = models.BigIntegerField()
    key = models.CharField(max_length=200)

    class Meta:
        indexes = [
            models.Index(fields=["subject", "key"], name="matchkey_lookup_idx"),
            models.Index(fields=["subject", "object_id"], name="matchkey_object_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.subject} {self.object_id}: {self.key}"


class MatchCandidate(models.Model):
    """A pair the engine thinks may be one customer, waiting for a person to decide (the review queue).

    ``a_id < b_id`` always; a pair marked "not a duplicate" is remembered and never proposed again.
    """

    class Status(models.TextChoices):
        OPEN = "open", "To review"
        MERGED = "merged", "Merged"
        NOT_DUPLICATE = "not_duplicate", "Not a duplicate"

    class Source(models.TextChoices):
        CREATE = "create", "On create"
        EDIT = "edit", "On edit"
        SCAN = "scan", "Scan"
        IMPORT = "import", "Import"
        API = "api", "API"
        CONFIGURATOR = "configurator", "Configurator"
        CONVERSION = "conversion", "Lead conversion"

    subject = models.CharField(max_length=8, choices=MatchKey.Subject.choices)
    a_id = models.BigIntegerField()
    b_id = models.BigIntegerField()
    score = models.FloatField()
    reasons = models.JSONField(default=dict, blank=True, help_text="Per field: the evidence and its weight")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    source = models.CharField(max_length=16, choices=Source.choices)
    created_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-score", "id"]
        constraints = [
            models.UniqueConstraint(fields=["subject", "a_id", "b_id"], name="matchcandidate_pair_unique"),
            models.CheckConstraint(condition=Q(a_id__lt=models.F("b_id")), name="matchcandidate_ordered_pair"),
        ]
        indexes = [models.Index(fields=["subject", "status", "-score"], name="matchcandidate_queue_idx")]

    def __str__(self) -> str:
        return f"{self.subject} {self.a_id} ~ {self.b_id} ({self.score:.2f})"


class Merge(models.Model):
    """One merge of records into a survivor, with the snapshot that undoes it exactly."""

    subject = models.CharField(max_length=8, choices=MatchKey.Subject.choices)
    survivor_id = models.BigIntegerField(db_index=True)
    merged_ids = models.JSONField(default=list)
    snapshot = models.JSONField(default=dict, help_text="Everything the merge changed, to restore it")
    choices = models.JSONField(default=dict, blank=True, help_text="Field -> the record whose value won")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    undone_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.subject} {self.merged_ids} -> {self.survivor_id}"


class MatchingSettings(models.Model):
    """How the duplicate check behaves when a record is created (one row; admins change it)."""

    class Mode(models.TextChoices):
        WARN = "warn", "Warn: the user may create it anyway"
        BLOCK = "block", "Block: a sure duplicate cannot be created"

    contact_mode = models.CharField(max_length=8, choices=Mode.choices, default=Mode.WARN)
    account_mode = models.CharField(max_length=8, choices=Mode.choices, default=Mode.WARN)

    class Meta:
        verbose_name_plural = "matching settings"

    def __str__(self) -> str:
        return f"contacts: {self.contact_mode}, accounts: {self.account_mode}"
