"""Content types from magic bytes (domain/sniff.py): what the drop folder registers a file as."""

from __future__ import annotations

import pytest

from docflow.domain.sniff import SNIFF_WINDOW, describe, sniff_content_type


@pytest.mark.parametrize(("data", "expected"), [
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "application/pdf"),
    (b"\xef\xbb\xbf garbage before the header %PDF-1.4", "application/pdf"),  # readers accept it in the first KB
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image/png"),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
    (b"II*\x00\x08\x00\x00\x00", "image/tiff"),
    (b"MM\x00*\x00\x00\x00\x08", "image/tiff"),
    (b"Invoice INV-1\nTotal: 12.00 EUR\n", "text/plain"),
    ("Rechnung über 12,00 €\n".encode(), "text/plain"),
    (b"\xef\xbb\xbfwith a byte-order mark\n", "text/plain"),
    (b"GIF89a\x01\x00", "application/octet-stream"),
    (b"PK\x03\x04\x14\x00\x06\x00", "application/octet-stream"),
    ("latin-1: caf\xe9\n".encode("latin-1"), "application/octet-stream"),  # not valid UTF-8
    (b"text\x00with a NUL", "application/octet-stream"),
    (b"\x01\x02\x03\x04" * 10, "application/octet-stream"),
    (b"", "application/octet-stream"),
])
def test_given_bytes_when_sniffed_then_the_magic_decides(data: bytes, expected: str) -> None:
    assert sniff_content_type(data) == expected


def test_given_text_when_the_name_says_csv_or_markdown_then_that_text_type() -> None:
    assert sniff_content_type(b"a,b\n1,2\n", "rows.CSV") == "text/csv"
    assert sniff_content_type(b"a\tb\n", "rows.tsv") == "text/tab-separated-values"
    assert sniff_content_type(b"# Title\n", "notes.md") == "text/markdown"
    assert sniff_content_type(b"plain\n", "notes.txt") == "text/plain"
    assert sniff_content_type(b"plain\n", ".hidden") == "text/plain"


def test_given_a_pdf_named_csv_when_sniffed_then_the_name_does_not_win() -> None:
    assert sniff_content_type(b"%PDF-1.7 ...", "rows.csv") == "application/pdf"


def test_given_utf8_text_cut_mid_character_at_the_window_when_sniffed_then_still_text() -> None:
    data = b"a" * (SNIFF_WINDOW - 1) + "€ and more".encode()  # the euro sign straddles the window's end
    assert sniff_content_type(data) == "text/plain"


def test_given_bytes_cut_mid_character_at_the_real_end_when_sniffed_then_not_text() -> None:
    assert sniff_content_type("total 12 €".encode()[:-1]) == "application/octet-stream"


def test_given_binary_when_described_then_words_for_error_messages() -> None:
    assert describe(b"PK\x03\x04") == "a ZIP archive (e.g. DOCX, XLSX)"
    assert describe(b"%PDF-1.4") == "a PDF"
    assert describe(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "a WebP image"
    assert describe(b"x\x00y") == "binary data (it contains NUL bytes)"
    assert describe(b"plain text") is None
