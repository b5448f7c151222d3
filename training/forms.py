"""HTML input of the training pages: cleaning only; the services decide (training.services)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.utils import timezone

from catalog.models import Category
from training.models import Course, Responsibility

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
CHOICE_ROWS = 6


class CourseForm(forms.ModelForm):
    responsibilities = forms.ModelMultipleChoiceField(
        queryset=Responsibility.objects.filter(is_active=True).select_related("category"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="What passing the course qualifies for (a product line certification ungates its configurable "
        "products on quotes)",
    )

    class Meta:
        model = Course
        fields = [
            "title",
            "summary",
            "description",
            "completion",
            "pass_mark_percent",
            "max_attempts",
            "validity_months",
            "duration_minutes",
            "is_active",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 8})}
        labels = {
            "pass_mark_percent": "Pass mark (%)",
            "validity_months": "Valid for (months)",
            "duration_minutes": "Duration (minutes)",
            "completion": "Completed by",
        }

    def service_data(self) -> dict[str, Any]:
        return {k: v for k, v in self.cleaned_data.items() if k != "responsibilities"}


class MaterialForm(forms.Form):
    title = forms.CharField(max_length=150)
    url = forms.URLField(max_length=500, required=False, label="Link", assume_scheme="https")
    file = forms.FileField(required=False, label="or a PDF document")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if bool(data.get("url")) == bool(data.get("file")):
            raise forms.ValidationError("Give either a link or a PDF document.")
        return data


class QuestionForm(forms.Form):
    """A question and up to six answers, each with a "correct" tick."""

    text = forms.CharField(max_length=500, label="Question", widget=forms.TextInput)
    explanation = forms.CharField(
        max_length=500, required=False, help_text="Shown with the results once the course is passed"
    )

    def __init__(self, *args: Any, question=None, **kwargs: Any) -> None:
        initial = kwargs.pop("initial", {}) or {}
        if question is not None:
            initial.update(text=question.text, explanation=question.explanation)
            for number, choice in enumerate(question.choices.all(), start=1):
                initial[f"choice_{number}"] = choice.text
                initial[f"correct_{number}"] = choice.is_correct
        super().__init__(*args, initial=initial, **kwargs)
        for number in range(1, CHOICE_ROWS + 1):
            self.fields[f"choice_{number}"] = forms.CharField(max_length=300, required=False, label=f"Answer {number}")
            self.fields[f"correct_{number}"] = forms.BooleanField(required=False, label="Correct")

    def rows(self) -> list[tuple[Any, Any]]:
        return [(self[f"choice_{n}"], self[f"correct_{n}"]) for n in range(1, CHOICE_ROWS + 1)]

    def choices(self) -> list[dict[str, Any]]:
        return [
            {"text": self.cleaned_data.get(f"choice_{n}", ""), "is_correct": self.cleaned_data.get(f"correct_{n}")}
            for n in range(1, CHOICE_ROWS + 1)
        ]


class ResponsibilityForm(forms.ModelForm):
    category = forms.ModelChoiceField(
        queryset=Category.objects.order_by("name"),
        required=False,
        label="Product line",
        help_text="For a product line certification: its configurable products, and those of its sub-categories",
    )

    class Meta:
        model = Responsibility
        fields = ["name", "kind", "category", "max_discount_percent", "description", "is_active"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}
        labels = {"max_discount_percent": "Discount up to (%)"}


class AssignForm(forms.Form):
    """A course for one person or for every rep of a team, by a date."""

    course = forms.ModelChoiceField(queryset=Course.objects.filter(is_active=True).order_by("title"))
    person = forms.ModelChoiceField(queryset=None, required=False, empty_label="—")
    team = forms.ModelChoiceField(queryset=None, required=False, empty_label="—", label="or a whole team")
    due_on = forms.DateField(widget=DATE, label="Due on")
    note = forms.CharField(max_length=300, required=False)

    def __init__(self, *args: Any, people: list, teams: list, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {}).setdefault("due_on", timezone.localdate() + timedelta(days=30))
        super().__init__(*args, **kwargs)
        from sfa.models import Team, User

        self.fields["person"].queryset = User.objects.filter(pk__in=[p.pk for p in people]).order_by(
            "last_name", "first_name"
        )
        self.fields["person"].label_from_instance = lambda u: u.get_full_name() or u.username
        self.fields["team"].queryset = Team.objects.filter(pk__in=[t.pk for t in teams]).order_by("name")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if bool(data.get("person")) == bool(data.get("team")):
            raise forms.ValidationError("Choose a person or a team (one of the two).")
        return data


class DueForm(forms.Form):
    due_on = forms.DateField(widget=DATE, label="New due date")
    note = forms.CharField(max_length=300, required=False)


class OverrideForm(forms.Form):
    responsibility = forms.ModelChoiceField(
        queryset=Responsibility.objects.filter(kind=Responsibility.Kind.CERTIFICATION, is_active=True),
        label="Product line certification",
    )
    valid_until = forms.DateField(widget=DATE, label="Until")
    reason = forms.CharField(max_length=300, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {}).setdefault("valid_until", timezone.localdate() + timedelta(days=14))
        super().__init__(*args, **kwargs)


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=300)


class NoteForm(forms.Form):
    note = forms.CharField(max_length=300, required=False)


def quiz_answers(data) -> dict[str, list[str]]:
    """The quiz form's ``q-<question id>`` fields as the service takes them: {question id: [choice ids]}."""
    return {key[2:]: [value for value in data.getlist(key) if value] for key in data if key.startswith("q-")}
