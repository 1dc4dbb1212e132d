"""The rules engine of the extract step: labels, positions, patterns, normalisation, confidence."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fpdf import FPDF
from pydantic import ValidationError

from docflow.domain.documents import Extraction, ParsedDocument
from docflow.domain.errors import StepFailed
from docflow.domain.limits import Limits
from docflow.steps.extract import (
    CONFIDENCE_BELOW,
    CONFIDENCE_PATTERN_ONLY,
    CONFIDENCE_SAME_LINE,
    ExtractConfig,
    extract_fields,
    parse_amount,
    parse_boolean,
    parse_date,
    parse_list,
)
from docflow.steps.parse import ParseConfig, parse_document

CORPUS = Path(__file__).resolve().parents[3] / "shared/corpus/invoices-dev"

INVOICE_FIELDS: list[dict[str, Any]] = [
    {"name": "invoice_number", "labels": ["Invoice Number", "Invoice No", "Invoice #", "Invoice"], "required": True},
    {"name": "date", "type": "date", "labels": ["Invoice Date", "Date"]},
    {"name": "amount", "type": "currency", "labels": ["Total", "Amount due", "Total amount", "Grand total"]},
]


def text_doc(text: str) -> ParsedDocument:
    return parse_document(text.encode(), "text/plain", ParseConfig(), Limits())


def extract(document: ParsedDocument, *fields: dict[str, Any], engine: str = "rules") -> Extraction:
    return extract_fields(document, ExtractConfig.model_validate({"engine": engine, "fields": list(fields)}))


def value(document: ParsedDocument, **spec: Any) -> Any:
    return extract(document, {"name": "field", **spec}).values["field"]


# --- configuration -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "config",
    [
        {"fields": []},
        {"fields": [{"name": "a"}, {"name": "a", "type": "date"}]},
        {"fields": [{"name": "total", "pattern": "([0-9]+"}]},
        {"fields": [{"name": "invoice number"}]},
        {"fields": [{"name": "total", "type": "money"}]},
        {"fields": [{"name": "total", "label": ["Total"]}]},
        {"fields": [{"name": "total", "labels": [" : "]}]},
        {"engine": "ocr", "fields": [{"name": "total"}]},
        {"fields": [{"name": "total"}], "model": "x"},
    ],
)
def test_invalid_configs_are_refused(config: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        ExtractConfig.model_validate(config)


def test_pattern_error_says_what_is_wrong() -> None:
    with pytest.raises(ValidationError, match="not a valid regular expression"):
        ExtractConfig.model_validate({"fields": [{"name": "total", "pattern": "([0-9]+"}]})


@pytest.mark.parametrize("engine", ["textract", "bedrock"])
def test_other_engines_are_not_available_yet(engine: str) -> None:
    with pytest.raises(StepFailed) as err:
        extract(text_doc("Total: 5"), {"name": "total"}, engine=engine)
    assert err.value.code == "engine_unavailable"
    assert engine in err.value.message and "rules" in err.value.message


# --- finding values ----------------------------------------------------------------------------


def test_label_and_value_on_the_same_line() -> None:
    doc = text_doc("ACME Corp\nInvoice Number: INV-2024-001\nInvoice Date: 2014-08-03\nTotal: $1,234.56\n")
    result = extract(doc, *INVOICE_FIELDS)

    assert result.values == {"invoice_number": "INV-2024-001", "date": "2014-08-03", "amount": 1234.56}
    assert result.missing_required == []
    number = result.fields["invoice_number"]
    assert number.page == 1
    assert number.source_text == "INV-2024-001"
    assert number.method == "label_same_line"
    assert number.confidence >= CONFIDENCE_SAME_LINE
    assert result.confidence["amount"] == result.fields["amount"].confidence
    assert result.fields["amount"].source_text == "$1,234.56"
    # Text files have synthetic positions: 6 pt a character, 12 pt a line.
    assert number.bbox == [16 * 6, 12, 28 * 6, 22]


def test_value_in_the_same_column_below_the_label() -> None:
    doc = text_doc("Invoice Date      Due Date      Reference\n03/20/2023        04/04/2023    CUST-123\n")
    result = extract(
        doc,
        {"name": "invoice_date", "type": "date", "labels": ["Invoice Date"]},
        {"name": "due_date", "type": "date", "labels": ["Due Date"]},
        {"name": "reference"},
    )
    assert result.values == {"invoice_date": "2023-03-20", "due_date": "2023-04-04", "reference": "CUST-123"}
    assert all(f.method == "label_below" for f in result.fields.values())
    assert CONFIDENCE_BELOW <= result.confidence["due_date"] < CONFIDENCE_SAME_LINE


def test_next_label_on_the_line_is_not_a_value() -> None:
    doc = text_doc("Invoice Date: Due Date:\n2023-03-20    2023-04-04\nName: Jane Roe  Order: 17\n")
    result = extract(
        doc,
        {"name": "invoice_date", "type": "date", "labels": ["Invoice Date"]},
        {"name": "due_date", "type": "date", "labels": ["Due Date"]},
        {"name": "name"},
    )
    assert result.values == {"invoice_date": "2023-03-20", "due_date": "2023-04-04", "name": "Jane Roe"}


def test_labels_default_to_the_field_name() -> None:
    doc = text_doc("Purchase order number:  PO-77\n")
    result = extract(doc, {"name": "purchase_order_number"})
    assert result.values["purchase_order_number"] == "PO-77"


@pytest.mark.parametrize(
    "line",
    [
        "INVOICE NUMBER: A-17",
        "Invoice   number A-17",
        "invoice-number: A-17",
        "Invoice No.: A-17",
        "Invoice #A-17",
        "Invoice # : A-17",
    ],
)
def test_labels_are_matched_loosely(line: str) -> None:
    spec = {"labels": ["Invoice Number", "Invoice No", "Invoice #"]}
    assert value(text_doc(f"Bill to: Jane Roe\n{line}\n"), **spec) == "A-17"


def test_label_must_be_a_whole_word() -> None:
    doc = text_doc("Subtotal: 10.00\nTotals are in EUR\nTotal: 12.00\n")
    assert value(doc, type="currency", labels=["Total"]) == 12.00


def test_the_more_specific_label_wins() -> None:
    doc = text_doc("Total 1  278.61  40.39  319.00\nGrand Total  319.00\nTotal HT: 5.00\n")
    result = extract(doc, {"name": "amount", "type": "currency", "labels": ["Total", "Grand total"]})
    assert result.values["amount"] == 319.00
    assert result.fields["amount"].source_text == "319.00"


def test_amount_in_a_row_takes_the_currency_marked_or_last_number() -> None:
    assert value(text_doc("Total  1   278.61   40.39   319.00\n"), type="number", labels=["Total"]) == 319.00
    doc = text_doc("TOTAL AMOUNT DUE ON August 3 , 2014   $4.11\n")
    assert value(doc, type="currency", labels=["Total amount due"]) == 4.11


def test_a_value_that_does_not_normalise_is_skipped() -> None:
    doc = text_doc("Date: to be confirmed\nTotal: n/a\nDate: 2020-01-02\nTotal: 7.50\n")
    result = extract(doc, {"name": "date", "type": "date"}, {"name": "total", "type": "number"})
    assert result.values == {"date": "2020-01-02", "total": 7.5}


def test_pattern_narrows_the_value_after_a_label() -> None:
    doc = text_doc("Reference: order ABC-12345 shipped\nOther: XYZ-99999\n")
    result = extract(doc, {"name": "reference", "pattern": r"[A-Z]{3}-\d+"})
    assert result.values["reference"] == "ABC-12345"
    assert result.fields["reference"].method == "label_same_line"


def test_pattern_first_group_is_the_value() -> None:
    doc = text_doc("Reference: order #4411 (paid)\n")
    assert value(doc, labels=["Reference"], pattern=r"#(\d+)", type="number") == 4411


def test_pattern_alone_finds_the_value_anywhere_with_lower_confidence() -> None:
    doc = text_doc("Thank you for your order.\nYour parcel ZX-40021 ships today.\n")
    result = extract(doc, {"name": "tracking_code", "pattern": r"\b[A-Z]{2}-\d{5}\b"})
    field = result.fields["tracking_code"]
    assert field.value == "ZX-40021"
    assert field.method == "pattern"
    assert field.confidence == pytest.approx(CONFIDENCE_PATTERN_ONLY)
    assert field.page == 1


def test_missing_fields_are_none_and_required_ones_are_listed() -> None:
    doc = text_doc("Nothing useful here\n")
    result = extract(
        doc,
        {"name": "invoice_number", "required": True},
        {"name": "po_number", "labels": ["PO"]},
        {"name": "total", "type": "currency", "required": True},
    )
    assert result.values == {"invoice_number": None, "po_number": None, "total": None}
    assert result.confidence == {"invoice_number": 0.0, "po_number": 0.0, "total": 0.0}
    assert result.fields["total"].page is None
    assert result.missing_required == ["invoice_number", "total"]


def test_label_in_the_middle_of_a_sentence_is_trusted_less() -> None:
    doc = text_doc("Please pay the total: 10.00 within 30 days\nTotal: 12.00\n")
    result = extract(doc, {"name": "total", "type": "number"})
    assert result.values["total"] == 12.00
    prose = extract(text_doc("Please pay the total: 10.00 within 30 days\n"), {"name": "total", "type": "number"})
    assert prose.values["total"] == 10.00
    assert prose.confidence["total"] < result.confidence["total"]


# --- normalisation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$4.11", 4.11),
        ("1,234.56", 1234.56),
        ("1.234,56", 1234.56),
        ("1 234,56 €", 1234.56),
        ("1\u00a0234.56", 1234.56),
        ("€ 4.904,94", 4904.94),
        ("EUR 34,73", 34.73),
        ("Rs 1939", 1939.0),
        ("USD 1,000,000", 1000000.0),
        ("-12.50", -12.5),
        ("$-12.50", -12.5),
        ("(45.00)", -45.0),
        ("45.00-", -45.0),
        ("0,75", 0.75),
        ("12", 12.0),
        ("2 100.00", 100.0),  # a quantity and a price, not 2100
        ("15.00% 7.00", 7.0),
        ("due 2014-08-03: 9.99", 9.99),
        ("n/a", None),
        ("15%", None),
        ("", None),
    ],
)
def test_parse_amount(text: str, expected: float | None) -> None:
    assert parse_amount(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("August 3 , 2014", "2014-08-03"),
        ("Aug 3rd, 2014", "2014-08-03"),
        ("3 August 2014", "2014-08-03"),
        ("03.08.2014", "2014-08-03"),
        ("2014-08-03", "2014-08-03"),
        ("31/12/2017", "2017-12-31"),
        ("12/31/2017", "2017-12-31"),
        ("20-10-2015 near the mall", "2015-10-20"),
        ("7. Mai 2014", "2014-05-07"),
        ("19 april 2014", "2014-04-19"),
        ("02 Juillet 2015", "2015-07-02"),
        ("21.05.14", "2014-05-21"),
        ("Jan 1, 2022", "2022-01-01"),
        ("2022/01/31", "2022-01-31"),
        ("31/02/2017", None),
        ("August 2014", None),
        ("no date", None),
    ],
)
def test_parse_date(text: str, expected: str | None) -> None:
    assert parse_date(text) == expected


def test_ambiguous_numeric_dates() -> None:
    assert parse_date("03/08/2014") == "2014-03-08"  # slash: month first unless told
    assert parse_date("03.08.2014") == "2014-08-03"  # dot: day first
    assert parse_date("03/08/2014", dayfirst=True) == "2014-08-03"
    assert parse_date("03.08.2014", dayfirst=False) == "2014-03-08"


def test_ambiguous_dates_follow_the_document() -> None:
    day_first = text_doc("Invoice Date: 03/08/2014\nDue Date: 25/08/2014\n")
    assert value(day_first, type="date", labels=["Invoice Date"]) == "2014-08-03"
    month_first = text_doc("Invoice Date: 03/08/2014\nDue Date: 08/25/2014\n")
    assert value(month_first, type="date", labels=["Invoice Date"]) == "2014-03-08"
    english = text_doc("Invoice Date: 03-08-2014\nShipped on August 5, 2014\n")
    assert value(english, type="date", labels=["Invoice Date"]) == "2014-03-08"
    german = text_doc("Rechnungsdatum: 03-08-2014\nLieferung am 5. August 2014, Zahlung bis 10. Oktober 2014\n")
    assert value(german, type="date", labels=["Rechnungsdatum"]) == "2014-08-03"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("yes", True), ("No", False), ("TRUE", True), ("false", False), ("x", True), ("Checked", True),
     ("☐", False), ("maybe", None), ("", None)],
)  # fmt: skip
def test_parse_boolean(text: str, expected: bool | None) -> None:
    assert parse_boolean(text) is expected


def test_booleans_and_lists_in_documents() -> None:
    doc = text_doc("Paid: Yes\nSigned: no\nTags: red, green; blue\n")
    result = extract(
        doc,
        {"name": "paid", "type": "boolean"},
        {"name": "signed", "type": "boolean"},
        {"name": "tags", "type": "list"},
    )
    assert result.values == {"paid": True, "signed": False, "tags": ["red", "green", "blue"]}
    assert parse_list(" ; ,") is None


def test_string_values_are_stripped() -> None:
    assert value(text_doc("Customer:   Jane Roe ,\n"), labels=["Customer"]) == "Jane Roe"


# --- PDFs --------------------------------------------------------------------------------------


def two_page_pdf() -> bytes:
    pdf = FPDF()
    pdf.set_font("helvetica", size=10)
    pdf.add_page()
    pdf.set_xy(20, 20)
    pdf.cell(40, 6, "Invoice No")
    pdf.set_xy(90, 20)
    pdf.cell(40, 6, "Invoice Date")
    pdf.set_xy(20, 26)
    pdf.cell(40, 6, "2024-0042")
    pdf.set_xy(90, 26)
    pdf.cell(40, 6, "March 5, 2024")
    pdf.add_page()
    pdf.set_xy(20, 40)
    pdf.cell(30, 6, "Subtotal")
    pdf.set_x(150)
    pdf.cell(30, 6, "1.000,00 EUR")
    pdf.set_xy(20, 46)
    pdf.cell(30, 6, "Amount due")
    pdf.set_x(150)
    pdf.cell(30, 6, "1.190,00 EUR")
    return bytes(pdf.output())


def test_pdf_columns_and_pages() -> None:
    doc = parse_document(two_page_pdf(), "application/pdf", ParseConfig(), Limits())
    result = extract(doc, *INVOICE_FIELDS)

    assert result.values == {"invoice_number": "2024-0042", "date": "2024-03-05", "amount": 1190.0}
    assert result.fields["invoice_number"].method == "label_below"
    assert result.fields["invoice_number"].page == 1
    assert result.fields["amount"].page == 2
    assert result.fields["amount"].method == "label_same_line"
    x0, top, x1, bottom = result.fields["amount"].bbox or []
    assert x0 == pytest.approx(150 / 25.4 * 72, abs=3) and x0 < x1 and top < bottom


def test_real_invoice_with_generic_labels() -> None:
    path = CORPUS / "AmazonWebServices.pdf"
    if not path.exists():
        pytest.skip(f"corpus not available at {CORPUS}")
    doc = parse_document(path.read_bytes(), "application/pdf", ParseConfig(), Limits())
    result = extract(doc, *INVOICE_FIELDS)

    assert result.values == {"invoice_number": "42183017", "date": "2014-08-03", "amount": 4.11}
    assert result.missing_required == []
    assert all(result.fields[name].page == 1 for name in result.values)
    assert min(result.confidence.values()) >= CONFIDENCE_SAME_LINE
