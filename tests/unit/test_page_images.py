"""Page images for the review page: PDFs made here with fpdf2, images made with Pillow, text, and
broken input."""

from __future__ import annotations

import io

import pytest
from docflow_testing import invoice_pdf
from fpdf import FPDF
from PIL import Image

from docflow.adapters.page_images import TARGET_WIDTH, PageImages
from docflow.domain.errors import DocumentCorrupt, DocumentEncrypted, NotFound
from docflow.ports import PageImages as PageImagesPort

PAGES: PageImagesPort = PageImages()


def two_page_pdf() -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_font("Helvetica", size=12)
    pdf.add_page()
    pdf.cell(0, 10, "first")
    pdf.add_page(orientation="L")
    pdf.cell(0, 10, "second")
    return bytes(pdf.output())


def image_bytes(fmt: str, size: tuple[int, int], frames: int = 1) -> bytes:
    images = [Image.new("RGB", size, (255, 255 - 40 * i, 255)) for i in range(frames)]
    out = io.BytesIO()
    images[0].save(out, format=fmt, save_all=frames > 1, append_images=images[1:])
    return out.getvalue()


def png_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG"
        return image.size


def test_given_a_pdf_when_its_pages_are_listed_then_each_size_is_in_pdf_points() -> None:
    sizes = PAGES.pages(two_page_pdf(), "application/pdf")
    assert [(round(w, 1), round(h, 1)) for w, h in sizes] == [(595.3, 841.9), (841.9, 595.3)]


def test_given_a_pdf_when_a_page_is_rendered_then_it_is_a_png_about_1100_px_wide_in_the_page_shape() -> None:
    data = two_page_pdf()
    width, height = png_size(PAGES.render(data, "application/pdf; charset=binary", 2))
    assert abs(width - TARGET_WIDTH) <= 1
    assert abs(height - round(TARGET_WIDTH * 595.3 / 841.9)) <= 1


def test_given_a_pdf_with_text_when_rendered_then_the_page_is_not_blank() -> None:
    with Image.open(io.BytesIO(PAGES.render(invoice_pdf(), "application/pdf", 1))) as image:
        darkest, _ = image.convert("L").getextrema()
    assert darkest < 100  # the invoice's text is drawn, not just a white page


@pytest.mark.parametrize("page", [0, 3, -1])
def test_given_a_two_page_pdf_when_a_missing_page_is_rendered_then_not_found(page: int) -> None:
    with pytest.raises(NotFound) as raised:
        PAGES.render(two_page_pdf(), "application/pdf", page)
    assert raised.value.status == 404 and "2 pages" in str(raised.value)


@pytest.mark.parametrize(("fmt", "content_type"), [("PNG", "image/png"), ("JPEG", "image/jpeg"),
                                                   ("TIFF", "image/tiff")])
def test_given_an_image_when_listed_and_rendered_then_one_page_in_pixels_rendered_as_png(
        fmt: str, content_type: str) -> None:
    data = image_bytes(fmt, (550, 300))
    assert PAGES.pages(data, content_type) == [(550.0, 300.0)]
    assert png_size(PAGES.render(data, content_type, 1)) == (TARGET_WIDTH, 600)


def test_given_a_multi_frame_tiff_when_listed_then_each_frame_is_a_page() -> None:
    data = image_bytes("TIFF", (200, 100), frames=3)
    assert PAGES.pages(data, "image/tiff") == [(200.0, 100.0)] * 3
    assert png_size(PAGES.render(data, "image/tiff", 3)) == (TARGET_WIDTH, 550)
    with pytest.raises(NotFound):
        PAGES.render(data, "image/tiff", 4)


@pytest.mark.parametrize("content_type", ["text/plain", "text/csv; charset=utf-8", "application/octet-stream"])
def test_given_a_document_without_pictures_when_listed_then_no_pages_and_rendering_is_not_found(
        content_type: str) -> None:
    assert PAGES.pages(b"Invoice Number: INV-1", content_type) == []
    with pytest.raises(NotFound):
        PAGES.render(b"Invoice Number: INV-1", content_type, 1)


@pytest.mark.parametrize(("data", "content_type"), [
    (b"%PDF-1.7\nnot really a pdf", "application/pdf"),
    (b"", "application/pdf"),
    (b"\x89PNG\r\n\x1a\nbroken", "image/png"),
    (b"plain words", "image/jpeg"),
])
def test_given_a_corrupt_document_when_listed_or_rendered_then_document_corrupt(data: bytes,
                                                                                content_type: str) -> None:
    with pytest.raises(DocumentCorrupt):
        PAGES.pages(data, content_type)
    with pytest.raises(DocumentCorrupt):
        PAGES.render(data, content_type, 1)


def test_given_a_truncated_png_when_rendered_then_document_corrupt() -> None:
    data = image_bytes("PNG", (400, 400))
    with pytest.raises(DocumentCorrupt):
        PAGES.render(data[: len(data) // 2], "image/png", 1)


def test_given_a_password_protected_pdf_when_listed_then_document_encrypted() -> None:
    pdf = FPDF()
    pdf.set_encryption(owner_password="owner", user_password="user")
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.cell(0, 10, "secret")
    with pytest.raises(DocumentEncrypted):
        PAGES.pages(bytes(pdf.output()), "application/pdf")
