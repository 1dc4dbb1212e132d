"""The `parse` step: document bytes → pages, lines of positioned words, tables (DESIGN.md §2).

Supported now: PDFs with a text layer (pdfplumber) and plain text (text/plain, text/csv,
text/markdown, text/tab-separated-values). Images and scanned PDFs need OCR, which comes later:
they fail with a clear error instead of returning an empty document.

Plain text gets synthetic positions (one character = 6 pt wide, one line = 12 pt high) so that
the extract step can treat words of a text file exactly like words of a PDF: columns laid out
with spaces stay columns.
"""

from __future__ import annotations

import csv
import io
import re
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from docflow.domain.documents import Line, ParsedDocument, ParsedPage, Word, group_lines
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
from docflow.domain.sniff import PDF_HEADER_WINDOW, describe, looks_like_text
from docflow.steps.base import StepKind, StepResult, StepRun

if TYPE_CHECKING:  # pdfplumber is imported lazily: it is slow to import and only PDFs need it.
    from pdfplumber.page import Page

__all__ = ["SUPPORTED_CONTENT_TYPES", "ParseConfig", "parse_document"]

PDF_TYPES = frozenset({"application/pdf", "application/x-pdf"})
TEXT_TYPES = frozenset({"text/plain", "text/csv", "text/markdown", "text/x-markdown", "text/tab-separated-values"})
SUPPORTED_CONTENT_TYPES = ("application/pdf", "text/plain", "text/csv", "text/markdown", "text/tab-separated-values")

# Synthetic geometry of plain text, in points.
TEXT_CHAR_WIDTH = 6.0
TEXT_LINE_HEIGHT = 12.0
TEXT_FONT_HEIGHT = 10.0



class ParseConfig(BaseModel):
    """Configuration of a `parse` step."""

    model_config = ConfigDict(extra="forbid")

    max_pages: int | None = Field(
        default=None, ge=1, description="Refuse documents with more pages (on top of the platform limit)."
    )
    tables: bool = Field(default=True, description="Detect tables on PDF pages (costs time on large documents).")


def parse_document(data: bytes, content_type: str, config: ParseConfig, limits: Limits) -> ParsedDocument:
    """Parse `data` declared as `content_type` (parameters such as `; charset=utf-8` allowed).

    Raises the typed step errors of `docflow.domain.errors`; never a raw parser exception.
    """
    media_type, params = _split_content_type(content_type)
    if not data:
        raise DocumentEmpty("the document is empty (0 bytes)")
    if len(data) > limits.max_upload_bytes:
        raise DocumentTooLarge(
            f"the document is {_size(len(data))}; the limit is {_size(limits.max_upload_bytes)}",
            details=[{"size_bytes": len(data), "limit_bytes": limits.max_upload_bytes}],
        )
    if media_type in PDF_TYPES:
        return _parse_pdf(data, config, _page_limit(config, limits))
    if media_type in TEXT_TYPES:
        return _parse_text(data, media_type, params.get("charset"))
    if media_type.startswith("image/"):
        raise UnsupportedDocumentType(
            f"{media_type} documents need OCR, which is not available yet; "
            f"supported types: {', '.join(SUPPORTED_CONTENT_TYPES)}",
            details=[{"content_type": media_type}],
        )
    raise UnsupportedDocumentType(
        f"cannot parse {media_type or 'a document without a content type'}; "
        f"supported types: {', '.join(SUPPORTED_CONTENT_TYPES)}",
        details=[{"content_type": media_type}],
    )


# --- content types and sniffing ---------------------------------------------------------------


def _split_content_type(content_type: str) -> tuple[str, dict[str, str]]:
    media_type, _, rest = (content_type or "").partition(";")
    params: dict[str, str] = {}
    for part in rest.split(";"):
        key, sep, value = part.partition("=")
        if sep:
            params[key.strip().lower()] = value.strip().strip('"').strip()
    return media_type.strip().lower(), params


# --- PDF -------------------------------------------------------------------------------------


def _page_limit(config: ParseConfig, limits: Limits) -> tuple[int, str]:
    if config.max_pages is not None and config.max_pages < limits.max_pages:
        return config.max_pages, "the step's max_pages"
    return limits.max_pages, "the platform limit"


def _too_many_pages(count: int, limit: tuple[int, str]) -> DocumentTooLarge:
    return DocumentTooLarge(
        f"the PDF has {count} pages; at most {limit[0]} are allowed ({limit[1]})",
        details=[{"page_count": count, "limit_pages": limit[0]}],
    )


def _parse_pdf(data: bytes, config: ParseConfig, limit: tuple[int, str]) -> ParsedDocument:
    if b"%PDF-" not in data[:PDF_HEADER_WINDOW]:
        what = describe(data) or ("text" if looks_like_text(data) else "not a PDF")
        raise DocumentDisguised(
            f"the document is declared application/pdf but has no %PDF header: the bytes are {what}",
            details=[{"declared": "application/pdf", "detected": what}],
        )

    import pdfplumber

    try:
        pdf = pdfplumber.open(io.BytesIO(data))
    except Exception as exc:  # pdfplumber wraps pdfminer's errors in PdfminerException
        raise _pdf_error(exc) from None

    try:
        declared = _declared_page_count(pdf)
        if declared is not None and declared > limit[0]:
            raise _too_many_pages(declared, limit)
        pages = pdf.pages
        if not pages:
            raise DocumentCorrupt("the PDF has no pages")
        if len(pages) > limit[0]:
            raise _too_many_pages(len(pages), limit)
        parsed = []
        for page in pages:
            parsed.append(_parse_pdf_page(page, config))
            page.close()  # drop pdfplumber's per-page caches as we go
    except DocflowError:
        raise
    except Exception as exc:  # pdfminer raises anything on damaged files, also lazily per page
        raise _pdf_error(exc) from None
    finally:
        _close(pdf)

    if not any(page.lines for page in parsed):
        raise StepFailed(
            f"the PDF has no text layer on any of its {len(parsed)} pages (a scan or images?): "
            "it needs OCR, which is not available yet",
            code="ocr_required",
            details=[{"page_count": len(parsed)}],
        )
    return ParsedDocument(
        content_type="application/pdf",
        page_count=len(parsed),
        text="\f".join(page.text for page in parsed),
        pages=parsed,
    )


def _declared_page_count(pdf: Any) -> int | None:
    """The page tree's /Count, to refuse a huge document before building its pages."""
    from pdfminer.pdftypes import resolve1

    try:
        count = resolve1(resolve1(pdf.doc.catalog.get("Pages")).get("Count"))
    except Exception:
        return None
    return count if isinstance(count, int) and count >= 0 else None


def _close(pdf: Any) -> None:
    # pdf.close() would build every page object first (and can raise again on a damaged page tree).
    try:
        for page in pdf.__dict__.get("_pages") or ():
            page.close()
        pdf.flush_cache()
    except Exception:  # closing must never hide the real outcome
        pass


def _pdf_error(exc: BaseException) -> DocflowError:
    from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect
    from pdfplumber.utils.exceptions import PdfminerException

    cause: BaseException = exc
    while isinstance(cause, PdfminerException) and cause.args and isinstance(cause.args[0], BaseException):
        cause = cause.args[0]
    if isinstance(cause, PDFPasswordIncorrect):
        return DocumentEncrypted(
            "the PDF is password-protected: remove the password (save an unprotected copy) and upload it again"
        )
    if isinstance(cause, PDFEncryptionError):
        return DocumentEncrypted(f"the PDF is encrypted in a way that cannot be read ({_describe(cause)})")
    return DocumentCorrupt(
        f"the PDF is damaged or truncated and cannot be read ({_describe(cause)})",
        details=[{"reason": _describe(cause)}],
    )


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    name = type(exc).__name__
    return f"{name}: {text[:200]}" if text else name


def _without_stray_spaces(page: Page) -> Page:
    """Drop space characters drawn on top of letters: some generators overlay them, and
    pdfplumber would then split a word in two ("F actuurnummer")."""
    chars = page.chars
    spaces = [c for c in chars if c["text"].isspace()]
    if not spaces:
        return page
    by_line: dict[int, list[tuple[float, float]]] = {}
    for c in chars:
        if not c["text"].isspace():
            by_line.setdefault(round(c["top"]), []).append((c["x0"], c["x1"]))
    stray: set[int] = set()
    for s in spaces:
        half = (s["x1"] - s["x0"]) / 2
        if half <= 0:
            continue
        key = round(s["top"])
        for row in (by_line.get(key - 1, ()), by_line.get(key, ()), by_line.get(key + 1, ())):
            if any(min(x1, s["x1"]) - max(x0, s["x0"]) > half for x0, x1 in row):
                stray.add(id(s))
                break
    if not stray:
        return page
    return page.filter(lambda obj: id(obj) not in stray)


def _parse_pdf_page(page: Page, config: ParseConfig) -> ParsedPage:
    page = _without_stray_spaces(page)
    raw_words = page.extract_words(keep_blank_chars=False, use_text_flow=False)
    lines = group_lines(
        [
            Word(text=w["text"], x0=float(w["x0"]), top=float(w["top"]), x1=float(w["x1"]), bottom=float(w["bottom"]))
            for w in raw_words
        ]
    )
    tables: list[list[list[str | None]]] = []
    if config.tables and lines:
        tables = [
            [[cell if cell is None else str(cell) for cell in row] for row in table]
            for table in page.extract_tables()
            if table
        ]
    return ParsedPage(
        number=int(page.page_number),
        width=float(page.width),
        height=float(page.height),
        text="\n".join(line.text for line in lines),
        lines=lines,
        tables=tables,
    )


# --- text --------------------------------------------------------------------------------------

_BOMS: tuple[tuple[bytes, str], ...] = (
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)
_WORD = re.compile(r"\S+")


def _decode(data: bytes, charset: str | None) -> str:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError:
                raise DocumentCorrupt(
                    f"the text starts with a {encoding} byte-order mark but is not valid {encoding}"
                ) from None
    what = describe(data)
    if what is not None or not looks_like_text(data):
        what = what or "binary data (control characters)"
        raise DocumentDisguised(
            f"the document is declared as text but the bytes are {what}",
            details=[{"declared": "text", "detected": what}],
        )
    candidates = [charset] if charset else []
    for encoding in [*candidates, "utf-8", "cp1252", "latin-1"]:
        try:
            return data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
    return data.decode("latin-1")  # pragma: no cover - latin-1 decodes any bytes


def _parse_text(data: bytes, media_type: str, charset: str | None) -> ParsedDocument:
    text = _decode(data, charset).replace("\r\n", "\n").replace("\r", "\n")
    raw_lines = [line.expandtabs(8).rstrip() for line in text.split("\n")]
    while raw_lines and not raw_lines[-1]:
        raw_lines.pop()
    if not any(raw_lines):
        raise DocumentEmpty("the text document contains only whitespace")

    lines = []
    for index, raw in enumerate(raw_lines):
        if not raw.strip():
            continue
        top = index * TEXT_LINE_HEIGHT
        words = [
            Word(
                text=m.group(),
                x0=m.start() * TEXT_CHAR_WIDTH,
                top=top,
                x1=m.end() * TEXT_CHAR_WIDTH,
                bottom=top + TEXT_FONT_HEIGHT,
            )
            for m in _WORD.finditer(raw)
        ]
        lines.append(Line(text=" ".join(w.text for w in words), words=words))

    page_text = "\n".join(raw_lines)
    page = ParsedPage(
        number=1,
        width=max(len(raw) for raw in raw_lines) * TEXT_CHAR_WIDTH,
        height=len(raw_lines) * TEXT_LINE_HEIGHT,
        text=page_text,
        lines=lines,
        tables=_delimited_table(text, media_type),
    )
    return ParsedDocument(content_type=media_type, page_count=1, text=page_text, pages=[page])


def _delimited_table(text: str, media_type: str) -> list[list[list[str | None]]]:
    if media_type not in ("text/csv", "text/tab-separated-values"):
        return []
    delimiter = "\t" if media_type == "text/tab-separated-values" else ","
    try:
        rows: list[list[str | None]] = [list(row) for row in csv.reader(io.StringIO(text), delimiter=delimiter) if row]
    except csv.Error:
        return []
    return [rows] if rows else []


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n:,} bytes ({n / (1024 * 1024):.1f} MB)"
    return f"{n:,} bytes"


# --- the step ------------------------------------------------------------------------------------


def parse_job(data: bytes, content_type: str, config: dict[str, Any], limits: Limits) -> tuple[bytes, dict[str, Any]]:
    """A plain-data job (it may run in a worker process): the parsed document as JSON, and its counts."""
    parsed = parse_document(data, content_type, ParseConfig.model_validate(config), limits)
    counts = {"pages": parsed.page_count, "lines": sum(len(p.lines) for p in parsed.pages),
              "words": sum(len(line.words) for p in parsed.pages for line in p.lines),
              "tables": sum(len(p.tables) for p in parsed.pages)}
    return parsed.model_dump_json().encode(), counts


def _execute(run: StepRun, config: ParseConfig) -> StepResult:
    data, content_type = run.document()
    output, counts = run.compute(parse_job, data, content_type, config.model_dump(), run.limits)
    return StepResult(output, summary={"input": {"content_type": content_type, "bytes": len(data)},
                                       "output": counts})


STEP = StepKind("parse", ParseConfig, "compute", _execute,
                description="the document's text, words with positions, lines and tables")

