"""The `parse` step: document bytes → pages, lines of positioned words, tables (DESIGN.md §2).

Supported now: PDFs with a text layer (PDFium through pypdfium2: steps/pdf.py, ruled tables in
steps/tables.py) and plain text (text/plain, text/csv, text/markdown, text/tab-separated-values).
Pages without a usable text layer (scans, images, fonts without a Unicode map) go through OCR.

Plain text gets synthetic positions (one character = 6 pt wide, one line = 12 pt high) so that
the extract step can treat words of a text file exactly like words of a PDF: columns laid out
with spaces stay columns.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from docflow.domain.documents import Line, ParsedDocument, ParsedPage, Word, group_lines
from docflow.domain.errors import (
    DocumentCorrupt,
    DocumentDisguised,
    DocumentEmpty,
    DocumentTooLarge,
    StepFailed,
    UnsupportedDocumentType,
)
from docflow.domain.limits import Limits
from docflow.domain.sniff import PDF_HEADER_WINDOW, describe, looks_like_text
from docflow.steps.base import StepKind, StepResult, StepRun
from docflow.steps.ocr import Recogniser, default_recogniser, image_pages, page_from_ocr
from docflow.steps.pdf import PageText, open_pdf, page_text
from docflow.steps.tables import ruled_tables

__all__ = ["SUPPORTED_CONTENT_TYPES", "ParseConfig", "parse_document"]

PDF_TYPES = frozenset({"application/pdf", "application/x-pdf"})
TEXT_TYPES = frozenset({"text/plain", "text/csv", "text/markdown", "text/x-markdown", "text/tab-separated-values"})
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/jpg", "image/tiff", "image/tif"})
SUPPORTED_CONTENT_TYPES = ("application/pdf", "image/png", "image/jpeg", "image/tiff", "text/plain", "text/csv",
                           "text/markdown", "text/tab-separated-values")
_IMAGE_ALIASES = {"image/jpg": "image/jpeg", "image/tif": "image/tiff"}
# Scanned PDF pages are rendered at this resolution for OCR.
OCR_DPI = 200

# Synthetic geometry of plain text, in points.
TEXT_CHAR_WIDTH = 6.0
TEXT_LINE_HEIGHT = 12.0
TEXT_FONT_HEIGHT = 10.0
# A page whose characters are more than this share undecodable has no usable text layer.
UNREADABLE_SHARE = 0.2



class ParseConfig(BaseModel):
    """Configuration of a `parse` step."""

    model_config = ConfigDict(extra="forbid")

    max_pages: int | None = Field(
        default=None, ge=1, description="Refuse documents with more pages (on top of the platform limit)."
    )
    tables: bool = Field(default=True, description="Detect tables on PDF pages (costs time on large documents).")
    ocr: Literal["auto", "always", "never"] = Field(
        default="auto",
        description="OCR pages without a usable text layer (auto), every page (always), or none (never: "
                    "such pages fail with ocr_required).",
    )


def parse_document(data: bytes, content_type: str, config: ParseConfig, limits: Limits,
                   recogniser: Recogniser | Literal["default"] | None = "default") -> ParsedDocument:
    """Parse `data` declared as `content_type` (parameters such as `; charset=utf-8` allowed).
    `recogniser`: the OCR engine (default: the installed one; None: no OCR on this machine).

    Raises the typed step errors of `docflow.domain.errors`; never a raw parser exception.
    """
    ocr = _Ocr(config, limits, default_recogniser() if recogniser == "default" else recogniser)
    media_type, params = _split_content_type(content_type)
    if not data:
        raise DocumentEmpty("the document is empty (0 bytes)")
    if len(data) > limits.max_upload_bytes:
        raise DocumentTooLarge(
            f"the document is {_size(len(data))}; the limit is {_size(limits.max_upload_bytes)}",
            details=[{"size_bytes": len(data), "limit_bytes": limits.max_upload_bytes}],
        )
    if media_type in PDF_TYPES:
        return _parse_pdf(data, config, _page_limit(config, limits), ocr)
    if media_type in TEXT_TYPES:
        return _parse_text(data, media_type, params.get("charset"))
    if media_type in IMAGE_TYPES:
        return _parse_image(data, media_type, _page_limit(config, limits), ocr)
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


class _Ocr:
    """Whether and how this parse may OCR a page."""

    def __init__(self, config: ParseConfig, limits: Limits, recogniser: Recogniser | None) -> None:
        self.mode, self.recogniser, self.seconds = config.ocr, recogniser, float(limits.ocr_page_seconds)

    def available(self) -> bool:
        return self.mode != "never" and self.recogniser is not None

    def why_not(self) -> str:
        if self.mode == "never":
            return "OCR is turned off for this step (config.ocr is 'never')"
        return "no OCR engine is installed on this runtime (install tesseract: `make ocr`)"

    def page(self, image: Any, number: int, page_size: tuple[float, float]) -> ParsedPage:
        assert self.recogniser is not None
        words = self.recogniser.recognise(image, self.seconds)
        return page_from_ocr(words, number, image.size, page_size)


def _parse_image(data: bytes, media_type: str, limit: tuple[int, str], ocr: _Ocr) -> ParsedDocument:
    if not ocr.available():
        raise StepFailed(f"{media_type} documents are read with OCR, and {ocr.why_not()}", code="ocr_required",
                         details=[{"content_type": media_type}])
    frames = image_pages(data)
    if len(frames) > limit[0]:
        raise _too_many_pages(len(frames), limit)
    pages = [ocr.page(image, number, size) for number, (image, size) in enumerate(frames, start=1)]
    return ParsedDocument(content_type=_IMAGE_ALIASES.get(media_type, media_type), page_count=len(pages),
                          text="\f".join(page.text for page in pages), pages=pages)


def _parse_pdf(data: bytes, config: ParseConfig, limit: tuple[int, str], ocr: _Ocr) -> ParsedDocument:
    if b"%PDF-" not in data[:PDF_HEADER_WINDOW]:
        what = describe(data) or ("text" if looks_like_text(data) else "not a PDF")
        raise DocumentDisguised(
            f"the document is declared application/pdf but has no %PDF header: the bytes are {what}",
            details=[{"declared": "application/pdf", "detected": what}],
        )
    with open_pdf(data) as pdf:
        count = len(pdf)
        if count == 0:
            raise DocumentCorrupt("the PDF has no pages")
        if count > limit[0]:
            raise _too_many_pages(count, limit)
        texts = [page_text(pdf, index, with_edges=config.tables) for index in range(count)]
        unusable = [text.number for text in texts if not _usable(text) or config.ocr == "always"]
        if unusable and not ocr.available():
            raise _needs_ocr(texts, unusable, ocr)
        scanned = {number: _ocr_pdf_page(pdf, number, ocr) for number in unusable}
    parsed = [scanned.get(text.number) or _pdf_page(text, config) for text in texts]
    return ParsedDocument(
        content_type="application/pdf",
        page_count=len(parsed),
        text="\f".join(page.text for page in parsed),
        pages=parsed,
    )


def _usable(text: PageText) -> bool:
    """A page whose text layer a reader can use: some characters, nearly all of them decodable."""
    return text.chars > 0 and text.unreadable <= UNREADABLE_SHARE * text.chars


def _ocr_pdf_page(pdf: Any, number: int, ocr: _Ocr) -> ParsedPage:
    page = pdf[number - 1]
    try:
        width, height = page.get_size()
        image = page.render(scale=OCR_DPI / 72, grayscale=True).to_pil().convert("L")
    finally:
        page.close()
    return ocr.page(image, number, (float(width), float(height)))


def _needs_ocr(texts: list[PageText], unusable: list[int], ocr: _Ocr) -> StepFailed:
    garbled = [text.number for text in texts if text.chars and text.number in unusable]
    if len(unusable) == len(texts) and not garbled:
        what = f"the PDF has no text layer on any of its {len(texts)} pages (a scan or images?)"
    elif garbled:
        what = (f"the text layer of page(s) {', '.join(map(str, garbled))} does not decode to readable text "
                "(a font without a Unicode map)")
    else:
        what = f"page(s) {', '.join(map(str, unusable))} of {len(texts)} have no text layer (scanned?)"
    return StepFailed(f"{what}: it needs OCR, and {ocr.why_not()}", code="ocr_required",
                      details=[{"page_count": len(texts), "pages": unusable}])


def _pdf_page(text: PageText, config: ParseConfig) -> ParsedPage:
    lines = group_lines(text.words)
    tables = ruled_tables(text.edges, text.words) if config.tables else []
    return ParsedPage(
        number=text.number,
        width=text.width,
        height=text.height,
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
              "tables": sum(len(p.tables) for p in parsed.pages),
              "ocr_pages": sum(1 for p in parsed.pages if p.ocr)}
    return parsed.model_dump_json().encode(), counts


def _execute(run: StepRun, config: ParseConfig) -> StepResult:
    data, content_type = run.document()
    output, counts = run.compute(parse_job, data, content_type, config.model_dump(), run.limits)
    return StepResult(output, summary={"input": {"content_type": content_type, "bytes": len(data)},
                                       "output": counts},
                      usage={"pages": counts["pages"], "ocr_pages": counts["ocr_pages"]})


STEP = StepKind("parse", ParseConfig, "compute", _execute,
                description="the document's text, words with positions, lines and tables")

