"""Sales training: courses, the responsibilities they qualify for, assignments, quiz attempts, certifications
and the managers' overrides.

A ``Responsibility`` is what a rep may do once qualified: sell a product line (a catalog category: the
configurable products in it and below it are gated on quotes), give discounts up to a limit, or anything
else a company writes down. A ``Course`` qualifies for one or more responsibilities; completing it (a quiz
at the pass mark, or a manager's sign-off) grants one ``Certification`` per responsibility, valid for the
course's validity months. An ``Override`` lets a rep sell a gated line without the certification, for a
while and for a reason (audited). See docs/training.md.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from catalog.models import Category

PERCENT = {
    "max_digits": 5,
    "decimal_places": 2,
    "validators": [MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
}


class Responsibility(models.Model):
    """What a course qualifies a rep for."""

    class Kind(models.TextChoices):
        CERTIFICATION = "certification", "Product line certification"
        DISCOUNT = "discount", "Discount authority"
        OTHER = "other", "Other"

    name = models.CharField(max_length=150, unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.CERTIFICATION)
    category = models.ForeignKey(
        Category,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="training_responsibilities",
        help_text="Product line certifications: the configurable products of this category and its "
        "sub-categories need the certification on a quote",
    )
    max_discount_percent = models.DecimalField(
        null=True, blank=True, help_text="Discount authority: the discount the rep may give", **PERCENT
    )
    description = models.TextField(blank=True)
    is_active = models.BooleanField(default=True, help_text="An inactive certification gates nothing")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["kind", "name", "id"]
        verbose_name_plural = "responsibilities"
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(kind="certification", category__isnull=False, max_discount_percent__isnull=True)
                    | Q(kind="discount", category__isnull=True, max_discount_percent__isnull=False)
                    | Q(kind="other", category__isnull=True, max_discount_percent__isnull=True)
                ),
                name="responsibility_fields_match_kind",
                violation_error_message="A product line certification names a product line; a discount authority "
                "its discount limit; other responsibilities neither.",
            ),
            models.UniqueConstraint(
                fields=["category"],
                condition=Q(kind="certification"),
                name="responsibility_one_per_product_line",
                violation_error_message="This product line already has its certification.",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Course(models.Model):
    """A course: what to read, a quiz (or a manager's sign-off), and what passing it qualifies for."""

    class Completion(models.TextChoices):
        QUIZ = "quiz", "Quiz"
        SIGNOFF = "signoff", "Manager sign-off"

    title = models.CharField(max_length=150, unique=True)
    summary = models.CharField(max_length=300, blank=True, help_text="One line shown in lists")
    description = models.TextField(blank=True, help_text="Rich text (HTML); scripts and styles are removed on save")
    completion = models.CharField(max_length=8, choices=Completion.choices, default=Completion.QUIZ)
    pass_mark_percent = models.PositiveSmallIntegerField(
        default=80, validators=[MinValueValidator(1), MaxValueValidator(100)], help_text="Quiz score needed to pass"
    )
    max_attempts = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1)], help_text="Empty: as many attempts as needed"
    )
    validity_months = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1)], help_text="Empty: the certification never expires"
    )
    duration_minutes = models.PositiveSmallIntegerField(null=True, blank=True, help_text="About how long it takes")
    responsibilities = models.ManyToManyField(Responsibility, related_name="courses", blank=True)
    is_active = models.BooleanField(default=True, help_text="Inactive courses cannot be assigned")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(pass_mark_percent__gte=1, pass_mark_percent__lte=100), name="course_pass_mark_1_100"
            ),
            models.CheckConstraint(
                condition=Q(max_attempts__isnull=True) | Q(max_attempts__gte=1), name="course_max_attempts_positive"
            ),
            models.CheckConstraint(
                condition=Q(validity_months__isnull=True) | Q(validity_months__gte=1),
                name="course_validity_positive",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_quiz(self) -> bool:
        return self.completion == self.Completion.QUIZ


class CourseMaterial(models.Model):
    """Something to read or watch before the quiz: a link, or a PDF kept here."""

    class Kind(models.TextChoices):
        LINK = "link", "Link"
        DOCUMENT = "document", "Document"

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="materials")
    title = models.CharField(max_length=150)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.LINK)
    url = models.URLField(max_length=500, blank=True)
    file = models.FileField(upload_to="training/materials/", max_length=200, blank=True)
    content_type = models.CharField(max_length=40, blank=True, editable=False)
    size = models.PositiveIntegerField(null=True, blank=True, editable=False)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind="link") & ~Q(url="") & Q(file="")) | (Q(kind="document") & ~Q(file="")),
                name="material_link_or_document",
            )
        ]

    def __str__(self) -> str:
        return self.title


class Question(models.Model):
    """A quiz question; it is answered right when exactly its correct choices are picked."""

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="questions")
    text = models.CharField(max_length=500)
    explanation = models.CharField(
        max_length=500, blank=True, help_text="Shown with the result once the course is passed"
    )
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.text


class Choice(models.Model):
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="choices")
    text = models.CharField(max_length=300)
    is_correct = models.BooleanField(default=False)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.text


class Assignment(models.Model):
    """A course given to one rep by a manager, to finish by a date."""

    class Status(models.TextChoices):
        ASSIGNED = "assigned", "Assigned"
        IN_PROGRESS = "in_progress", "In progress"
        PASSED = "passed", "Passed"
        FAILED = "failed", "Failed"
        OVERDUE = "overdue", "Overdue"
        EXPIRED = "expired", "Expired"

    OPEN = (Status.ASSIGNED, Status.IN_PROGRESS, Status.OVERDUE)

    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="assignments")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="training_assignments")
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    due_on = models.DateField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ASSIGNED, db_index=True)
    note = models.CharField(max_length=300, blank=True)
    assigned_at = models.DateTimeField(default=timezone.now, editable=False)
    completed_at = models.DateTimeField(null=True, blank=True)
    expires_on = models.DateField(
        null=True, blank=True, help_text="Passed: the last day its certification is valid (empty: never expires)"
    )

    class Meta:
        ordering = ["due_on", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["course", "user"],
                condition=Q(status__in=["assigned", "in_progress", "overdue"]),
                name="assignment_one_open_per_course",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["assigned", "in_progress", "passed", "failed", "overdue", "expired"]),
                name="assignment_status_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["user", "status"], name="assignment_user_status_idx"),
            models.Index(fields=["status", "due_on"], name="assignment_due_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.course} for {self.user}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN

    def is_overdue(self, today: date | None = None) -> bool:
        """Past its due date and not finished (the nightly job also writes ``overdue``)."""
        return self.status == self.Status.OVERDUE or (self.is_open and self.due_on < (today or timezone.localdate()))

    @property
    def shown_status(self) -> str:
        return self.Status.OVERDUE if self.is_overdue() else self.status

    @property
    def shown_status_label(self) -> str:
        return self.Status(self.shown_status).label


class QuizAttempt(models.Model):
    """One submitted quiz: the answers as given, scored on the server."""

    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="attempts")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="quiz_attempts")
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="attempts")
    number = models.PositiveSmallIntegerField(help_text="1 for the first attempt on the assignment")
    answers = models.JSONField(help_text="{question id: [choice ids]} as submitted")
    correct = models.PositiveSmallIntegerField()
    total = models.PositiveSmallIntegerField()
    score_percent = models.DecimalField(**PERCENT)
    passed = models.BooleanField()
    submitted_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-submitted_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["assignment", "number"], name="attempt_number_unique"),
            models.CheckConstraint(condition=Q(correct__lte=F("total")), name="attempt_correct_lte_total"),
        ]

    def __str__(self) -> str:
        return f"{self.course}: attempt {self.number} of {self.user} ({self.score_percent} %)"


class Certification(models.Model):
    """A rep qualified for a responsibility, from a day until a day (no end: never expires)."""

    class Method(models.TextChoices):
        QUIZ = "quiz", "Quiz"
        SIGNOFF = "signoff", "Manager sign-off"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="certifications")
    responsibility = models.ForeignKey(Responsibility, on_delete=models.PROTECT, related_name="certifications")
    course = models.ForeignKey(Course, on_delete=models.PROTECT, related_name="certifications")
    assignment = models.ForeignKey(
        Assignment, on_delete=models.SET_NULL, null=True, blank=True, related_name="certifications"
    )
    attempt = models.ForeignKey(QuizAttempt, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    method = models.CharField(max_length=8, choices=Method.choices)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The manager who signed off (empty for a quiz)",
    )
    granted_on = models.DateField()
    valid_until = models.DateField(null=True, blank=True, help_text="Empty: never expires")
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoke_reason = models.CharField(max_length=300, blank=True)
    reminded_on = models.DateField(null=True, blank=True, help_text="When the expiry reminder went out")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-granted_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(valid_until__gte=F("granted_on")),
                name="certification_valid_after_granted",
            )
        ]
        indexes = [models.Index(fields=["user", "responsibility", "valid_until"], name="certification_lookup_idx")]

    def __str__(self) -> str:
        return f"{self.responsibility} – {self.user}"

    def is_valid(self, today: date | None = None) -> bool:
        today = today or timezone.localdate()
        return (
            self.revoked_at is None
            and self.granted_on <= today
            and (self.valid_until is None or self.valid_until >= today)
        )


class Override(models.Model):
    """A manager lets a rep quote a gated product line without its certification, until a day, for a reason."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="training_overrides")
    responsibility = models.ForeignKey(Responsibility, on_delete=models.PROTECT, related_name="overrides")
    reason = models.CharField(max_length=300)
    valid_until = models.DateField()
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "responsibility", "valid_until"], name="override_lookup_idx")]

    def __str__(self) -> str:
        return f"Override: {self.responsibility} – {self.user}"

    def is_active(self, today: date | None = None) -> bool:
        return self.revoked_at is None and self.valid_until >= (today or timezone.localdate())
