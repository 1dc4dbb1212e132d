"""OCR through the installed tesseract (`make ocr`): scans made here, images, limits, geometry."""

from __future__ import annotations

import io

import pytest
import samples
from PIL import Image

from docflow.domain.errors import DocumentCorrupt, StepFailed
from docflow.domain.limits import Limits
from docflow.steps.ocr import OcrWord, TesseractRecogniser, default_recogniser, image_pages, page_from_ocr
from docflow.steps.parse import ParseConfig, parse_document

RECOGNISER = default_recogniser()
needs_tesseract = pytest.mark.skipif(RECOGNISER is None, reason="tesseract is not installed: run `make ocr`")


def parse(data: bytes, content_type: str, **config: object) -> object:
    return parse_document(data, content_type, ParseConfig.model_validate(config), Limits())


def words_of(document: object) -> list[str]:
    return [w.text for p in document.pages for line in p.lines for w in line.words]  # type: ignore[attr-defined]


@needs_tesseract
def test_given_a_scanned_png_invoice_when_parsed_then_ocr_reads_its_words_in_page_points() -> None:
    doc = parse_document(samples.scan(samples.invoice_pdf()), "image/png", ParseConfig(), Limits())
    page = doc.pages[0]
    assert doc.content_type == "image/png" and page.ocr
    texts = [line.text for line in page.lines]
    assert "Invoice Number: NW-2025-0311" in texts and "Total Due: 1,480.00" in texts
    # A4 scanned at 200 dpi is an A4 page in points, and the words sit where fpdf2 drew them.
    assert page.width == pytest.approx(595.3, abs=1) and page.height == pytest.approx(841.9, abs=1)
    number = next(line for line in page.lines if line.text.startswith("Invoice Number")).words[0]
    assert number.x0 == pytest.approx(10 / 25.4 * 72, abs=6)  # fpdf2's 10 mm left margin


@needs_tesseract
def test_given_a_german_scan_as_an_image_only_pdf_when_parsed_then_umlauts_are_read() -> None:
    data = samples.scan(samples.german_invoice_pdf(), image_format="PDF")
    doc = parse_document(data, "application/pdf", ParseConfig(), Limits())
    assert doc.pages[0].ocr
    words = set(words_of(doc))
    assert {"Müller", "Söhne", "Bürobedarf", "Rechnungsempfänger:", "83,30"} <= words


@needs_tesseract
def test_given_jpeg_and_multi_page_tiff_when_parsed_then_each_frame_is_a_page() -> None:
    jpeg = parse(samples.scan(samples.invoice_pdf(), image_format="JPEG"), "image/jpeg")
    assert "NW-2025-0311" in words_of(jpeg)
    frames = [Image.open(io.BytesIO(samples.scan(pdf))) for pdf in (samples.invoice_pdf(), samples.letter_pdf())]
    out = io.BytesIO()
    frames[0].save(out, format="TIFF", save_all=True, append_images=frames[1:], dpi=(200, 200))
    tiff = parse(out.getvalue(), "image/tiff")
    assert tiff.page_count == 2 and [p.number for p in tiff.pages] == [1, 2]  # type: ignore[attr-defined]


@needs_tesseract
def test_given_a_text_layer_without_a_unicode_map_when_parsed_then_the_page_is_ocred() -> None:
    doc = parse(samples.type3_pdf(), "application/pdf")
    assert doc.pages[0].ocr  # type: ignore[attr-defined]


@needs_tesseract
def test_given_ocr_always_when_a_pdf_has_a_text_layer_then_ocr_reads_it_anyway() -> None:
    doc = parse(samples.invoice_pdf(), "application/pdf", ocr="always")
    assert doc.pages[0].ocr and {"Northwind", "1,480.00"} <= set(words_of(doc))  # type: ignore[attr-defined]


@needs_tesseract
def test_given_a_page_slower_than_the_limit_when_ocred_then_ocr_timeout() -> None:
    image, _ = image_pages(samples.scan(samples.invoice_pdf(), dpi=300))[0]
    assert RECOGNISER is not None
    with pytest.raises(StepFailed) as err:
        RECOGNISER.recognise(image, timeout_seconds=0.05)
    assert err.value.code == "ocr_timeout" and "0.05 s" in err.value.message


def test_given_a_broken_engine_when_recognising_then_ocr_failed(tmp_path: object) -> None:
    broken = TesseractRecogniser("/bin/false", ("eng",))
    with pytest.raises(StepFailed) as err:
        broken.recognise(Image.new("L", (10, 10), 255), 5)
    assert err.value.code == "ocr_failed"
    missing = TesseractRecogniser("/nonexistent/tesseract", ("eng",))
    with pytest.raises(StepFailed) as err:
        missing.recognise(Image.new("L", (10, 10), 255), 5)
    assert err.value.code == "ocr_failed"


def test_given_ocr_words_in_pixels_when_made_a_page_then_boxes_are_in_points_and_specks_dropped() -> None:
    words = [OcrWord("Total:", 200, 400, 400, 440, 0.95), OcrWord("12.00", 500, 402, 640, 442, 0.9),
             OcrWord("~", 10, 10, 12, 12, 0.1), OcrWord("x", 900, 900, 910, 910, 0.1)]
    page = page_from_ocr(words, 3, (1000, 2000), (500.0, 1000.0))
    assert page.number == 3 and page.ocr and page.width == 500.0 and page.height == 1000.0
    assert [line.text for line in page.lines] == ["Total: 12.00"]
    first = page.lines[0].words[0]
    assert (first.x0, first.top, first.x1, first.bottom) == (100.0, 200.0, 200.0, 220.0)


def test_given_a_damaged_image_when_parsed_then_document_corrupt() -> None:
    with pytest.raises(DocumentCorrupt) as err:
        image_pages(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    assert err.value.code == "document_corrupt"
