"""The parse step on PDFs made here with fpdf2, on text, on broken input and on a real invoice."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest
from fpdf import FPDF
from pydantic import ValidationError

from docflow.domain.documents import ParsedDocument
from docflow.domain.errors import (
    DocflowError,
    DocumentCorrupt,
    DocumentDisguised,
    DocumentEmpty,
    DocumentEncrypted,
    DocumentTooLarge,
    StepFailed,
    UnsupportedDocumentType,
)
from docflow.domain.limits import Limits
from docflow.steps.parse import ParseConfig, parse_document

CORPUS = Path(__file__).resolve().parents[3] / "shared/corpus/invoices-dev"
PNG_HEADER = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01"


def invoice_pdf(pages: int = 1, owner_password: str | None = None, user_password: str | None = None) -> bytes:
    """A small invoice: label/value lines, a table, and one more page per extra page."""
    pdf = FPDF()
    pdf.set_font("helvetica", size=11)
    pdf.add_page()
    pdf.set_xy(20, 20)
    pdf.cell(50, 8, "Invoice Number:")
    pdf.set_x(120)
    pdf.cell(50, 8, "INV-2024-001")
    pdf.set_xy(20, 30)
    pdf.cell(50, 8, "Invoice Date: 03.08.2014")
    pdf.set_xy(20, 50)
    with pdf.table(col_widths=(80, 30, 30)) as table:
        for row in (("Item", "Qty", "Price"), ("Widget", "2", "10.00"), ("Gadget", "1", "5.50")):
            cells = table.row()
            for cell in row:
                cells.cell(cell)
    pdf.set_xy(20, 120)
    pdf.cell(50, 8, "Total: $25.50")
    for number in range(2, pages + 1):
        pdf.add_page()
        pdf.set_xy(20, 20)
        pdf.cell(50, 8, f"Terms, page {number}")
    if owner_password is not None:
        pdf.set_encryption(owner_password=owner_password, user_password=user_password)
    return bytes(pdf.output())


def parse(data: bytes, content_type: str = "application/pdf", **config: object) -> ParsedDocument:
    return parse_document(data, content_type, ParseConfig.model_validate(config), Limits())


# --- PDFs ---------------------------------------------------------------------------------------


def test_pdf_pages_lines_words_and_tables() -> None:
    doc = parse(invoice_pdf())

    assert doc.content_type == "application/pdf"
    assert doc.page_count == 1 and len(doc.pages) == 1
    page = doc.pages[0]
    assert page.number == 1
    assert page.width == pytest.approx(210 / 25.4 * 72, rel=0.01)  # A4 in points
    texts = [line.text for line in page.lines]
    assert "Invoice Number: INV-2024-001" in texts
    assert "Invoice Date: 03.08.2014" in texts
    assert "Total: $25.50" in texts
    assert "Invoice Number: INV-2024-001" in doc.text and page.text in doc.text

    line = page.lines[texts.index("Invoice Number: INV-2024-001")]
    assert [w.text for w in line.words] == ["Invoice", "Number:", "INV-2024-001"]
    for word in line.words:
        assert 0 <= word.x0 < word.x1 <= page.width
        assert 0 <= word.top < word.bottom <= page.height
    # The value was placed at x = 120 mm, far right of the label.
    assert line.words[2].x0 == pytest.approx(120 / 25.4 * 72, abs=3)
    assert line.words[2].x0 - line.words[1].x1 > 50
    # Lines are in reading order, top to bottom.
    tops = [ln.words[0].top for ln in page.lines]
    assert tops == sorted(tops)

    assert page.tables == [[["Item", "Qty", "Price"], ["Widget", "2", "10.00"], ["Gadget", "1", "5.50"]]]


def test_tables_can_be_turned_off() -> None:
    doc = parse(invoice_pdf(), tables=False)
    assert doc.pages[0].tables == []
    assert any(line.text == "Widget 2 10.00" for line in doc.pages[0].lines)


def test_content_type_parameters_and_case_are_ignored() -> None:
    doc = parse(invoice_pdf(), "Application/PDF; name=invoice.pdf")
    assert doc.content_type == "application/pdf"
    assert doc.page_count == 1


def test_multi_page_pdf_numbers_its_pages() -> None:
    doc = parse(invoice_pdf(pages=3))
    assert doc.page_count == 3
    assert [p.number for p in doc.pages] == [1, 2, 3]
    assert doc.pages[2].lines[0].text == "Terms, page 3"
    assert doc.text.split("\f")[2] == doc.pages[2].text


def test_page_limit_of_the_step_config() -> None:
    data = invoice_pdf(pages=3)
    assert parse(data, max_pages=3).page_count == 3
    with pytest.raises(DocumentTooLarge) as err:
        parse(data, max_pages=2)
    assert err.value.code == "document_too_large"
    assert "3 pages" in err.value.message and "at most 2" in err.value.message


def test_page_limit_of_the_platform() -> None:
    with pytest.raises(DocumentTooLarge) as err:
        parse_document(invoice_pdf(pages=3), "application/pdf", ParseConfig(max_pages=10), Limits(max_pages=2))
    assert "at most 2" in err.value.message and "platform" in err.value.message


def test_byte_limit() -> None:
    data = invoice_pdf()
    with pytest.raises(DocumentTooLarge) as err:
        parse_document(data, "application/pdf", ParseConfig(), Limits(max_upload_bytes=len(data) - 1))
    assert f"{len(data) - 1:,} bytes" in err.value.message
    assert parse_document(data, "application/pdf", ParseConfig(), Limits(max_upload_bytes=len(data))).page_count == 1


def test_password_protected_pdf_is_refused_as_encrypted() -> None:
    data = invoice_pdf(owner_password="owner", user_password="secret")
    with pytest.raises(DocumentEncrypted) as err:
        parse(data)
    assert err.value.code == "document_encrypted"
    assert "password" in err.value.message


def test_pdf_encrypted_without_a_user_password_opens() -> None:
    # Permissions-only encryption: any reader opens it without asking for a password.
    doc = parse(invoice_pdf(owner_password="owner"))
    assert any(line.text == "Total: $25.50" for line in doc.pages[0].lines)


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.8])
def test_truncated_pdf_is_corrupt(keep: float) -> None:
    data = invoice_pdf()
    with pytest.raises(DocumentCorrupt) as err:
        parse(data[: int(len(data) * keep)])
    assert err.value.code == "document_corrupt"
    assert "damaged or truncated" in err.value.message


def test_garbage_after_a_pdf_header_is_corrupt() -> None:
    with pytest.raises(DocumentCorrupt):
        parse(b"%PDF-1.7\n" + bytes(range(256)) * 40)


def test_no_parser_exception_escapes_whatever_the_damage() -> None:
    data = invoice_pdf(pages=2)
    for cut in range(9, len(data), max(1, len(data) // 40)):
        for damaged in (data[:cut], data[:cut] + b"\x00garbage" + data[cut + 8 :]):
            try:
                parse(damaged)
            except DocflowError as exc:
                assert isinstance(exc, StepFailed), exc


def test_pdf_without_text_layer_needs_ocr() -> None:
    pdf = FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 100, 50, style="F")
    pdf.add_page()
    with pytest.raises(StepFailed) as err:
        parse(bytes(pdf.output()), ocr="never")
    assert err.value.code == "ocr_required"
    assert "OCR" in err.value.message and "2 pages" in err.value.message and "'never'" in err.value.message
    with pytest.raises(StepFailed) as err:
        parse_document(bytes(pdf.output()), "application/pdf", ParseConfig(), Limits(), recogniser=None)
    assert err.value.code == "ocr_required" and "no OCR engine is installed" in err.value.message


def test_empty_document() -> None:
    for content_type in ("application/pdf", "text/plain"):
        with pytest.raises(DocumentEmpty) as err:
            parse(b"", content_type)
        assert err.value.code == "document_empty"
    with pytest.raises(DocumentEmpty):
        parse(b" \r\n\t\n", "text/plain")


def test_pdf_declared_but_not_a_pdf_is_disguised() -> None:
    with pytest.raises(DocumentDisguised) as err:
        parse(PNG_HEADER + b"\x00" * 64)
    assert err.value.code == "document_type_mismatch"
    assert "PNG" in err.value.message and "%PDF" in err.value.message
    with pytest.raises(DocumentDisguised) as err:
        parse(b"Invoice Number: 1\nTotal: 5.00\n")
    assert "text" in err.value.message


@pytest.mark.parametrize(
    ("data", "detected"),
    [
        (invoice_pdf(), "PDF"),
        (PNG_HEADER, "PNG"),
        (b"Invoice\x00\x01\x02 binary", "NUL"),
    ],
)
def test_text_declared_but_binary_is_disguised(data: bytes, detected: str) -> None:
    with pytest.raises(DocumentDisguised) as err:
        parse(data, "text/plain")
    assert detected in err.value.message


@pytest.mark.parametrize("content_type", ["image/gif", "application/msword", "", "application/zip"])
def test_unsupported_types(content_type: str) -> None:
    with pytest.raises(UnsupportedDocumentType) as err:
        parse(PNG_HEADER, content_type)
    assert err.value.code == "unsupported_document_type"
    assert "application/pdf" in err.value.message  # says what is supported


def test_image_types_are_read_with_ocr_and_fail_clearly_without_it() -> None:
    with pytest.raises(StepFailed) as err:
        parse(PNG_HEADER, "image/png", ocr="never")
    assert err.value.code == "ocr_required" and "OCR" in err.value.message


def test_parse_config_is_strict() -> None:
    with pytest.raises(ValidationError):
        ParseConfig.model_validate({"max_pages": 0})
    with pytest.raises(ValidationError):
        ParseConfig.model_validate({"max_page": 5})


# --- text ---------------------------------------------------------------------------------------


def test_plain_text_gets_one_page_with_synthetic_positions() -> None:
    text = "Invoice Number:    A-17\n\nDate: 2024-01-31\tPaid\n"
    doc = parse(text.encode(), "text/plain; charset=utf-8")

    assert doc.content_type == "text/plain"
    assert doc.page_count == 1
    page = doc.pages[0]
    assert [line.text for line in page.lines] == ["Invoice Number: A-17", "Date: 2024-01-31 Paid"]
    first, second = page.lines
    # One character is 6 pt wide: columns made with spaces stay columns.
    assert [w.x0 for w in first.words] == [0, 8 * 6, 19 * 6]
    assert first.words[2].x1 == 23 * 6
    # Lines keep their place, blank lines included; the tab stops at column 24.
    assert second.words[0].top - first.words[0].top == 2 * 12
    assert second.words[2].x0 == 24 * 6
    assert page.width == 28 * 6 and page.height == 3 * 12
    assert "Date: 2024-01-31" in doc.text


def test_text_decoding_falls_back_from_utf8() -> None:
    assert "Café crème" in parse("Café crème".encode(), "text/plain").text
    assert "Café crème" in parse("Café crème".encode("cp1252"), "text/plain").text
    assert "Zürich" in parse("Zürich".encode("latin-1"), "text/plain; charset=iso-8859-1").text
    assert "Zürich" in parse(codecs.BOM_UTF16_LE + "Zürich".encode("utf-16-le"), "text/plain").text


def test_csv_is_also_a_table() -> None:
    doc = parse(b'field,value\ninvoice_number,A-17\ntotal,"1,234.50"\n', "text/csv")
    assert doc.content_type == "text/csv"
    assert doc.pages[0].tables == [[["field", "value"], ["invoice_number", "A-17"], ["total", "1,234.50"]]]
    assert doc.pages[0].lines[1].text == "invoice_number,A-17"


def test_markdown_is_text() -> None:
    doc = parse(b"# Invoice\n\n**Total:** 12.00\n", "text/markdown")
    assert [line.text for line in doc.pages[0].lines] == ["# Invoice", "**Total:** 12.00"]


# --- real documents -----------------------------------------------------------------------------


def corpus_file(name: str) -> bytes:
    path = CORPUS / name
    if not path.exists():
        pytest.skip(f"corpus not available at {CORPUS}")
    return path.read_bytes()


def test_real_invoice() -> None:
    doc = parse(corpus_file("AmazonWebServices.pdf"))
    assert doc.page_count == 1
    texts = [line.text for line in doc.pages[0].lines]
    assert "Invoice Number: 42183017" in texts
    assert "Total for this invoice $4.11" in texts


def test_spaces_drawn_over_letters_do_not_split_words() -> None:
    # This PDF draws two space glyphs on top of the first letter of some labels.
    doc = parse(corpus_file("coolblue1.pdf"))
    words = {w.text for line in doc.pages[0].lines for w in line.words}
    assert "Factuurnummer:" in words
    assert "actuurnummer:" not in words


def test_given_a_text_layer_without_a_unicode_map_when_parsed_then_it_needs_ocr() -> None:
    from samples import type3_pdf

    with pytest.raises(StepFailed) as err:
        parse(type3_pdf(), ocr="never")
    assert err.value.code == "ocr_required"
    assert "does not decode" in err.value.message and "page(s) 1" in err.value.message
