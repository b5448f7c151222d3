"""Rows of the training app owned by a given user, for the permission matrix test."""

from django.core.files.base import ContentFile


def make_owned(model, owner):
    from tests.training import factories as f
    from training import models as m

    rows = {
        m.Course: lambda: f.CourseFactory(),
        m.CourseMaterial: lambda: f.CourseMaterialFactory(  # a document, so its file URL has something to serve
            kind=m.CourseMaterial.Kind.DOCUMENT,
            url="",
            file=ContentFile(b"%PDF-1.4 guide", name="guide.pdf"),
            content_type="application/pdf",
        ),
        m.Question: lambda: f.QuestionFactory(),
        m.Choice: lambda: f.ChoiceFactory(),
        m.Responsibility: lambda: f.ResponsibilityFactory(),
        m.Assignment: lambda: f.AssignmentFactory(user=owner),
        m.QuizAttempt: lambda: f.QuizAttemptFactory(assignment=f.AssignmentFactory(user=owner)),
        m.Certification: lambda: f.CertificationFactory(user=owner),
        m.Override: lambda: f.OverrideFactory(user=owner),
    }
    return rows[model]()
