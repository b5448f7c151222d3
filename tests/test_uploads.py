"""Every upload form refuses an oversized or malformed file with a message that says what is wrong, and
stores nothing: product images and datasheets, course documents, purchased lead lists, historical orders."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from catalog.models import ProductDocument, ProductImage
from catalog.uploads import DOCUMENT_MAX_BYTES, IMAGE_MAX_BYTES
from leads.models import LeadImport
from orders.models import OrderImport
from tests.catalog.factories import ProductFactory
from tests.training.factories import CourseFactory
from training.models import CourseMaterial

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n"
BINARY = bytes(range(256)) * 40


def _refused(response, model, *words) -> None:
    body = response.content.decode()
    # the form again with its error, or (after a redirect) the page with the error as a message
    assert response.status_code in (200, 400), response.status_code
    assert model.objects.count() == 0
    assert any(word.lower() in body.lower() for word in words), f"none of {words} in the answer"


@pytest.fixture
def admin(client, org):
    client.force_login(org.admin)
    return org.admin


@pytest.mark.django_db
class TestUploads:
    def test_product_image_too_big_or_not_an_image(self, client, admin):
        product = ProductFactory()
        url = f"/products/{product.slug}/images/"
        big = SimpleUploadedFile("big.png", PNG + b"\x00" * IMAGE_MAX_BYTES, content_type="image/png")
        _refused(client.post(url, {"file": big, "alt": "x"}, follow=True), ProductImage, "MB", "too large", "larger")
        fake = SimpleUploadedFile("photo.png", b"<html>not an image</html>", content_type="image/png")
        _refused(client.post(url, {"file": fake, "alt": "x"}, follow=True), ProductImage, "image")

    def test_datasheet_too_big_or_not_a_pdf(self, client, admin):
        product = ProductFactory()
        url = f"/products/{product.slug}/documents/"
        big = SimpleUploadedFile("big.pdf", PDF + b"0" * DOCUMENT_MAX_BYTES, content_type="application/pdf")
        data = {"title": "Datasheet", "kind": ProductDocument.Kind.choices[0][0]}
        _refused(client.post(url, {**data, "file": big}, follow=True), ProductDocument, "MB", "too large", "larger")
        fake = SimpleUploadedFile("sheet.pdf", BINARY, content_type="application/pdf")
        _refused(client.post(url, {**data, "file": fake}, follow=True), ProductDocument, "PDF")

    def test_course_document_too_big_or_not_a_pdf(self, client, admin):
        course = CourseFactory()
        url = f"/training/courses/{course.pk}/materials/"
        big = SimpleUploadedFile("big.pdf", PDF + b"0" * DOCUMENT_MAX_BYTES, content_type="application/pdf")
        _refused(client.post(url, {"title": "Guide", "file": big}), CourseMaterial, "MB", "too large", "larger")
        fake = SimpleUploadedFile("guide.pdf", BINARY, content_type="application/pdf")
        _refused(client.post(url, {"title": "Guide", "file": fake}), CourseMaterial, "PDF")

    def test_lead_list_too_big_binary_or_empty(self, client, admin, settings):
        settings.LEAD_IMPORT_MAX_BYTES = 2_000
        data = {"vendor": "ListCo", "list_name": "Spring", "cost": "0", "currency": "EUR", "encoding": ""}
        big = SimpleUploadedFile("list.csv", b"name,email\n" + b"Ada,ada@example.com\n" * 200, content_type="text/csv")
        _refused(
            client.post("/leads/imports/new/", {**data, "file": big}), LeadImport, "MB", "larger", "limit", "bytes"
        )
        binary = SimpleUploadedFile("list.csv", BINARY, content_type="text/csv")
        _refused(client.post("/leads/imports/new/", {**data, "file": binary}), LeadImport, "binary", "not a", "text")
        empty = SimpleUploadedFile("list.csv", b"", content_type="text/csv")
        _refused(client.post("/leads/imports/new/", {**data, "file": empty}), LeadImport, "empty")

    def test_order_history_too_big_or_binary(self, client, admin, settings):
        settings.ORDER_IMPORT_MAX_BYTES = 2_000
        big = SimpleUploadedFile("orders.csv", b"order,sku\n" + b"SO-1,TC\n" * 500, content_type="text/csv")
        _refused(
            client.post("/orders/imports/new/", {"file": big, "encoding": ""}),
            OrderImport,
            "MB",
            "larger",
            "limit",
            "bytes",
        )
        binary = SimpleUploadedFile("orders.csv", BINARY, content_type="text/csv")
        _refused(
            client.post("/orders/imports/new/", {"file": binary, "encoding": ""}),
            OrderImport,
            "binary",
            "not a",
            "text",
        )
