"""The rules engine's built-in invoice model (`preset: "invoice"`): no labels, seven languages,
any layout; consistency checks, calibrated confidence, and no confidence for non-invoices."""

from __future__ import annotations

from pathlib import Path

import pytest
import samples
from invoice_samples import SAMPLES, Sample, render

from docflow.domain.documents import Extraction, ParsedDocument
from docflow.domain.limits import Limits
from docflow.steps.extract import ExtractConfig, extract_fields
from docflow.steps.invoice import NOT_AN_INVOICE_CAP
from docflow.steps.parse import ParseConfig, parse_document

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT.parent / "shared/corpus/invoices-dev"
TARGET_FIELDS = ("invoice_number", "date", "total", "currency", "issuer")


def parsed_pdf(data: bytes) -> ParsedDocument:
    return parse_document(data, "application/pdf", ParseConfig(), Limits())


def parsed_text(text: str) -> ParsedDocument:
    return parse_document(text.encode(), "text/plain", ParseConfig(), Limits())


def preset(document: ParsedDocument, **config: object) -> Extraction:
    return extract_fields(document, ExtractConfig.model_validate({"preset": "invoice", **config}))


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: s.name)
def test_given_an_invoice_in_any_of_seven_languages_when_the_preset_reads_it_then_every_field_is_right(
    sample: Sample,
) -> None:
    extraction = preset(parsed_pdf(render(sample)))
    for name, want in sample.expected.items():
        got = extraction.values[name]
        if isinstance(want, float):
            assert got == pytest.approx(want, abs=0.005), (name, got)
        else:
            assert got == want, (name, got)
    for name in TARGET_FIELDS:
        assert extraction.confidence[name] >= 0.7, (name, extraction.fields[name])


def test_given_an_invoice_with_a_table_when_read_then_line_items_carry_description_quantity_price_amount() -> None:
    extraction = preset(parsed_pdf(render(SAMPLES[0])))
    assert extraction.values["line_items"] == [
        {"description": "Data pipeline audit", "quantity": 1.0, "unit_price": 1250.0, "amount": 1250.0},
        {"description": "Dashboard licences", "quantity": 12.0, "unit_price": 45.0, "amount": 540.0},
    ]
    assert extraction.confidence["line_items"] >= 0.9  # the rows add up to the subtotal


@pytest.mark.parametrize("make", [samples.letter_pdf, samples.contract_pdf, samples.resume_pdf])
def test_given_a_document_that_is_not_an_invoice_when_the_preset_reads_it_then_no_field_is_above_one_half(
    make: object,
) -> None:
    extraction = preset(parsed_pdf(make()))  # type: ignore[operator]
    assert max(extraction.confidence.values()) <= 0.5, extraction.confidence


def test_given_the_readme_when_the_preset_reads_it_then_nothing_is_trusted() -> None:
    extraction = preset(parsed_text((ROOT / "README.md").read_text()))
    assert max(extraction.confidence.values()) <= NOT_AN_INVOICE_CAP


def test_given_a_user_field_named_like_a_preset_field_when_extracted_then_the_user_field_wins() -> None:
    document = parsed_pdf(render(SAMPLES[0]))
    extraction = preset(document, fields=[{"name": "total", "type": "currency", "labels": ["Subtotal"]},
                                          {"name": "terms", "labels": ["Payment by"]}])
    assert extraction.values["total"] == 1790.0  # the user's label, not the amount payable
    assert extraction.values["terms"] == "bank transfer within 30 days. Thank you for your business."
    assert extraction.values["invoice_number"] == "BA-10482"  # the rest of the preset still reads
    assert list(extraction.values)[-1] == "terms"


def test_given_subtotal_tax_and_total_that_add_up_when_read_then_they_are_trusted_more_than_a_lone_total() -> None:
    checked = preset(parsed_text("INVOICE\nInvoice No: 77\nSubtotal: 100.00\nVAT 20%: 20.00\nTotal: 120.00 EUR"))
    lone = preset(parsed_text("INVOICE\nInvoice No: 77\nSubtotal: 100.00\nVAT 20%: 25.00\nTotal: 120.00 EUR"))
    assert checked.values["total"] == lone.values["total"] == 120.0
    assert checked.confidence["total"] > lone.confidence["total"]


def test_given_an_amount_payable_and_a_surcharge_row_when_read_then_the_amount_payable_is_the_total() -> None:
    extraction = preset(parsed_text(
        "Rechnung\nRechnungsnummer: 5531\nSumme: 40,00 EUR\nVersandkosten: 4,90 EUR\nZu zahlen: 44,90 EUR\n"))
    assert extraction.values["total"] == 44.9
    assert extraction.values["currency"] == "EUR"


@pytest.mark.parametrize(("line", "code"), [("Total 12.00 (all amounts in euros)", "EUR"),
                                            ("Total due: £12.00", "GBP"), ("Do zapłaty: 12,00 zł", "PLN"),
                                            ("Grand Total Rs. 1,200", "INR"), ("Total: US$ 12.00", "USD"),
                                            ("Total: CHF 12.00", "CHF")])
def test_given_a_currency_as_code_symbol_or_word_when_read_then_it_is_the_iso_code(line: str, code: str) -> None:
    extraction = preset(parsed_text(f"Invoice\nInvoice number: 9\n{line}\n"))
    assert extraction.values["currency"] == code


def test_given_a_title_line_with_number_and_date_when_read_then_both_come_from_it() -> None:
    extraction = preset(parsed_text("ACME Sp. z o.o.\nFaktura VAT nr 12/2025 z dnia 05.03.2025\nDo zapłaty: 10,00 zł"))
    assert extraction.values["invoice_number"] == "12/2025"
    assert extraction.values["date"] == "2025-03-05"
    assert extraction.values["issuer"] == "ACME Sp. z o.o."


def test_given_the_buyer_block_names_a_company_when_read_then_the_issuer_is_not_the_buyer() -> None:
    extraction = preset(parsed_text(
        "Invoice\nBill To:\nGlobex Corporation\n12 Main Street\nInvoice Number: 4411\nTotal: $50.00\n"
        "Pay to: Initech LLC, account 123456\n"))
    assert extraction.values["issuer"] == "Initech LLC"
    assert extraction.values["buyer"] == "Globex Corporation"


@pytest.mark.skipif(not CORPUS.is_dir(), reason="the shared dev corpus is not checked out here")
def test_given_a_dutch_corpus_invoice_when_read_then_the_target_fields_are_right() -> None:
    extraction = preset(parsed_pdf((CORPUS / "coolblue1.pdf").read_bytes()))
    values = extraction.values
    assert (values["invoice_number"], values["date"], values["total"], values["currency"]) == (
        "993548900", "2014-04-19", 717.97, "EUR")
    assert values["issuer"] == "Coolblue B.V."
    assert (values["subtotal"], values["tax"]) == (593.36, 124.61)


def test_given_labels_printed_without_accents_when_read_then_they_still_match() -> None:
    extraction = preset(parsed_text("Facture\nNumero de facture : 88\nNet a payer : 12,50 EUR\n"))
    assert extraction.values["invoice_number"] == "88"
    assert extraction.values["total"] == 12.5


def test_given_no_currency_mark_when_read_then_the_country_of_the_iban_decides_less_surely() -> None:
    extraction = preset(parsed_text("Rechnung\nRechnungsnummer: 12\nGesamtbetrag: 83,30\n"
                                    "IBAN DE44 3705 0198 0012 3456 78\n"))
    assert extraction.values["currency"] == "EUR"
    assert extraction.confidence["currency"] < 0.7


def test_given_a_scanned_invoice_when_read_then_ocr_words_give_the_same_values_a_little_less_surely() -> None:
    sample = next(s for s in SAMPLES if s.name == "de_title")
    scanned = parse_document(samples.scan(render(sample)), "image/png", ParseConfig(), Limits())
    assert scanned.pages[0].ocr
    extraction = preset(scanned)
    for name in TARGET_FIELDS:
        assert extraction.values[name] == sample.expected[name], name
        assert extraction.confidence[name] < 0.9  # OCR'd values are never as sure as a text layer's


def test_given_a_payment_reminder_letter_that_mentions_an_invoice_when_read_then_nothing_is_trusted() -> None:
    letter = parsed_text(
        "Acme Ltd\n12 Main Street, Springfield\n\nDear Mr Smith,\n\nour records show that invoice number 4411 of "
        "3 March 2025 is still open. The total of $50.00 was due on 2 April 2025. Please pay it this week.\n\n"
        "Kind regards,\nJane Doe, Accounts")
    extraction = preset(letter)
    assert max(extraction.confidence.values()) <= NOT_AN_INVOICE_CAP
