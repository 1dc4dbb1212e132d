"""PDF pages → positioned words, on PDFium (pypdfium2, Apache-2.0/BSD).

One pass over each page's characters through PDFium's C API: a character's text, its loose box
(the font's ascent to descent, the advance width: every glyph of a line gets the same height, as
a reader sees it) and whether PDFium generated it (the spaces and line breaks it infers from
gaps). Words are the runs between whitespace; lines and tables are built from the words
(domain.documents.group_lines, steps.tables). Coordinates are PDF points, origin top-left of the
page's visible (crop) box, like every other parser output.
"""

from __future__ import annotations

import ctypes
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from docflow.domain.documents import Word
from docflow.domain.errors import DocflowError, DocumentCorrupt, DocumentEncrypted
from docflow.steps.tables import Edge

if TYPE_CHECKING:
    import pypdfium2

__all__ = ["PageText", "open_pdf", "page_text"]

# A gap wider than this between two characters of one run starts a new word (pdfplumber's default).
WORD_GAP = 3.0
# Characters PDFium could not map to Unicode, or that decode to nothing readable.
_UNREADABLE = frozenset({0, 0xFFFD, 0xFFFE, 0xFFFF})
_SEPARATORS = frozenset({0x20, 0x09, 0x0A, 0x0D, 0xA0, 0x02, 0x0C, 0x3000})
_PATH_OBJECT = 2
# Pages with more vector paths than this are drawings, not forms: table detection skips them.
MAX_TABLE_PATHS = 1500


@dataclass(frozen=True)
class PageText:
    number: int
    width: float
    height: float
    words: list[Word]
    # Characters on the page, and how many of them do not decode to text (a Type 3 font without
    # a Unicode map, a broken ToUnicode table): the caller decides whether the layer is usable.
    chars: int
    unreadable: int
    edges: list[Edge]


@contextmanager
def open_pdf(data: bytes) -> Iterator[pypdfium2.PdfDocument]:
    """The document, closed afterwards; PDFium's load errors as typed step errors."""
    import pypdfium2

    _require_complete(data)
    try:
        pdf = pypdfium2.PdfDocument(data)
    except pypdfium2.PdfiumError as exc:
        raise _load_error(exc) from None
    try:
        yield pdf
    finally:
        pdf.close()


def _require_complete(data: bytes) -> None:
    # PDFium rebuilds a lost cross-reference table by scanning, so it opens a truncated upload and
    # returns whatever pages survived: a cut-off file must fail, not yield half a document.
    if b"%%EOF" not in data[-4096:]:
        raise DocumentCorrupt(
            "the PDF is damaged or truncated and cannot be read (no %%EOF end marker: the file is cut off)",
            details=[{"reason": "missing %%EOF end marker"}],
        )


def _load_error(exc: Any) -> DocflowError:
    import pypdfium2.raw as pdfium_c

    code = getattr(exc, "err_code", None)
    if code == pdfium_c.FPDF_ERR_PASSWORD:
        return DocumentEncrypted(
            "the PDF is password-protected: remove the password (save an unprotected copy) and upload it again"
        )
    if code == pdfium_c.FPDF_ERR_SECURITY:
        return DocumentEncrypted("the PDF is encrypted with an unsupported security handler and cannot be read")
    reason = {pdfium_c.FPDF_ERR_FORMAT: "not a valid PDF structure", pdfium_c.FPDF_ERR_FILE: "cannot be read",
              pdfium_c.FPDF_ERR_PAGE: "a page is missing or damaged"}.get(code, str(exc) or "unknown error")
    return DocumentCorrupt(f"the PDF is damaged or truncated and cannot be read ({reason})",
                           details=[{"reason": reason}])


def page_text(pdf: pypdfium2.PdfDocument, index: int, *, with_edges: bool) -> PageText:
    import pypdfium2
    import pypdfium2.raw as pdfium_c

    try:
        page = pdf[index]
    except pypdfium2.PdfiumError:
        raise DocumentCorrupt(f"the PDF is damaged or truncated and cannot be read (page {index + 1} cannot be loaded)",
                              details=[{"reason": "page cannot be loaded", "page": index + 1}]) from None
    try:
        box = pdfium_c.FS_RECTF()
        if not pdfium_c.FPDF_GetPageBoundingBox(page.raw, box):
            raise DocumentCorrupt(f"page {index + 1} of the PDF has no usable page box")
        left, top = box.left, box.top
        width, height = box.right - box.left, box.top - box.bottom
        textpage = page.get_textpage()
        try:
            words, chars, unreadable = _words(textpage.raw, left, top, width, height)
        finally:
            textpage.close()
        edges = _edges(page.raw, left, top) if with_edges and words else []
        return PageText(index + 1, float(width), float(height), words, chars, unreadable, edges)
    finally:
        page.close()


def _words(textpage: Any, left: float, top: float, width: float, height: float) -> tuple[list[Word], int, int]:
    import pypdfium2.raw as pdfium_c

    get_unicode, loose_box = pdfium_c.FPDFText_GetUnicode, pdfium_c.FPDFText_GetLooseCharBox
    map_error, font_size = pdfium_c.FPDFText_HasUnicodeMapError, pdfium_c.FPDFText_GetFontSize
    rect = pdfium_c.FS_RECTF()
    ref = ctypes.byref(rect)
    count = pdfium_c.FPDFText_CountChars(textpage)
    boxes: list[tuple[str, float, float, float, float]] = []  # text, x0, y0 (bottom), x1, y1 (top): PDF space
    run: list[str] = []
    x0 = y0 = x1 = y1 = 0.0  # the current word's box
    em = last_x1 = last_top = last_bottom = 0.0
    chars = unreadable = 0
    garbled = False  # the current word's font has no Unicode map
    for i in range(count):
        code = get_unicode(textpage, i)
        if code in _SEPARATORS:  # PDFium's generated spaces and line breaks are these too
            if run:
                boxes.append(("".join(run), x0, y0, x1, y1))
                unreadable += len(run) if garbled else 0
                run = []
            continue
        loose_box(textpage, i, ref)
        chars += 1
        if code in _UNREADABLE or 0xE000 <= code <= 0xF8FF or code < 0x20:
            unreadable += 1
        if run and (rect.left - last_x1 > WORD_GAP or rect.left < x0 - WORD_GAP
                    or min(last_top, rect.top) - max(last_bottom, rect.bottom) <= 0):
            boxes.append(("".join(run), x0, y0, x1, y1))
            unreadable += len(run) if garbled else 0
            run = []
        bottom, right = rect.bottom, rect.right
        if not run:
            # A font maps all its characters or none: asking once per word is enough, and cheaper.
            garbled = map_error(textpage, i) == 1
            # The loose box spans the font's ascent and descent, often 1.2 em: one em above the
            # descent keeps tightly set lines apart, as pdfminer and readers measure them.
            em = font_size(textpage, i)
            x0, y0, x1, y1 = rect.left, bottom, right, min(rect.top, bottom + em)
        else:
            x1 = max(x1, right)
            y0, y1 = min(y0, bottom), max(y1, min(rect.top, bottom + em))
        run.append(chr(code) if code not in _UNREADABLE else "\ufffd")
        last_x1, last_top, last_bottom = right, rect.top, bottom
    if run:
        boxes.append(("".join(run), x0, y0, x1, y1))
        unreadable += len(run) if garbled else 0
    words = [Word(text=text, x0=_clamp(bx0 - left, width), top=_clamp(top - by1, height),
                  x1=_clamp(bx1 - left, width), bottom=_clamp(top - by0, height))
             for text, bx0, by0, bx1, by1 in boxes]
    return words, chars, unreadable


def _clamp(value: float, limit: float) -> float:
    return float(min(max(value, 0.0), limit))


def _edges(page: Any, left: float, top: float) -> list[Edge]:
    """The ruling lines of the page (thin paths, and the sides of rectangles), for table cells."""
    import pypdfium2.raw as pdfium_c

    count = pdfium_c.FPDFPage_CountObjects(page)
    if count > MAX_TABLE_PATHS * 4:
        return []
    lft, btm, rgt, tp = ctypes.c_float(), ctypes.c_float(), ctypes.c_float(), ctypes.c_float()
    refs = (ctypes.byref(lft), ctypes.byref(btm), ctypes.byref(rgt), ctypes.byref(tp))
    edges: list[Edge] = []
    paths = 0
    for i in range(count):
        obj = pdfium_c.FPDFPage_GetObject(page, i)
        if pdfium_c.FPDFPageObj_GetType(obj) != _PATH_OBJECT or not pdfium_c.FPDFPageObj_GetBounds(obj, *refs):
            continue
        paths += 1
        if paths > MAX_TABLE_PATHS:
            return []
        x0, x1, y0, y1 = lft.value - left, rgt.value - left, top - tp.value, top - btm.value
        edges.extend(Edge.sides(x0, y0, x1, y1))
    return edges
