"""The PageImages port: a document's pages as PNGs for the review page, rendered server-side.

PDFs go through pypdfium2 (sizes in PDF points, the space the parse step's word boxes are in), images
through Pillow (sizes in pixels; each frame of a multi-frame TIFF is a page). Text documents have
no pages to show: the page shows their text instead. Both libraries are imported on first use, so
importing this module costs a cold start nothing."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from docflow.domain.errors import DocumentCorrupt, DocumentEncrypted, DocumentTooLarge, NotFound

if TYPE_CHECKING:
    from PIL.Image import Image

PDF = "application/pdf"
# About the width of the document pane on a 1280 px screen, sharp on a 2x display's half.
TARGET_WIDTH = 1100
# A strip-like page (a receipt roll) is rendered no taller than this, narrower instead.
MAX_HEIGHT = 8 * TARGET_WIDTH
# PDFium is not thread-safe (pypdfium2 says: one thread at a time), and local mode serves
# requests from several threads.
_PDFIUM = threading.Lock()


def _media_type(content_type: str) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


class PageImages:
    """Implements docflow.ports.PageImages."""

    def pages(self, data: bytes, content_type: str) -> list[tuple[float, float]]:
        kind = _media_type(content_type)
        if kind == PDF:
            return _pdf_sizes(data)
        if kind.startswith("image/"):
            return _image_sizes(data)
        return []

    def render(self, data: bytes, content_type: str, page: int) -> bytes:
        kind = _media_type(content_type)
        if kind == PDF:
            return _pdf_png(data, page)
        if kind.startswith("image/"):
            return _image_png(data, page)
        raise NotFound(f"page {page} not found: a {kind or 'untyped'} document has no page images")


def _missing(page: int, count: int) -> NotFound:
    return NotFound(f"page {page} not found: the document has {count} page{'s' if count != 1 else ''}",
                    details=[{"page": page, "page_count": count}])


def _scale(width: float, height: float) -> float:
    scale = TARGET_WIDTH / width if width > 0 else 1.0
    return min(scale, MAX_HEIGHT / height) if height > 0 else scale


# --- PDF ---------------------------------------------------------------------------------------

@contextmanager
def _pdf(data: bytes) -> Iterator[Any]:
    import pypdfium2

    with _PDFIUM:
        try:
            document = pypdfium2.PdfDocument(data)
        except pypdfium2.PdfiumError as exc:
            if getattr(exc, "err_code", None) == pypdfium2.raw.FPDF_ERR_PASSWORD:
                raise DocumentEncrypted("the PDF is encrypted; its pages cannot be shown") from exc
            raise DocumentCorrupt(f"the PDF cannot be read: {exc}") from exc
        try:
            yield document
        finally:
            document.close()


def _pdf_sizes(data: bytes) -> list[tuple[float, float]]:
    with _pdf(data) as document:
        return [(float(w), float(h)) for w, h in (document.get_page_size(i) for i in range(len(document)))]


def _pdf_png(data: bytes, page: int) -> bytes:
    with _pdf(data) as document:
        if not 1 <= page <= len(document):
            raise _missing(page, len(document))
        pdf_page = document[page - 1]
        try:
            width, height = pdf_page.get_size()
            bitmap = pdf_page.render(scale=_scale(width, height))
            image = bitmap.to_pil()
        finally:
            pdf_page.close()
    return _png(image)


# --- images ------------------------------------------------------------------------------------

@contextmanager
def _image(data: bytes) -> Iterator[Image]:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            yield image
    except Image.DecompressionBombError as exc:
        raise DocumentTooLarge(f"the image is too large to show: {exc}") from exc
    except (UnidentifiedImageError, OSError, EOFError, SyntaxError, ValueError) as exc:
        # Pillow reports truncated or malformed files as OSError/SyntaxError/ValueError by format.
        raise DocumentCorrupt(f"the image cannot be read: {exc}") from exc


def _image_sizes(data: bytes) -> list[tuple[float, float]]:
    with _image(data) as image:
        sizes = []
        for frame in range(getattr(image, "n_frames", 1)):
            image.seek(frame)
            sizes.append((float(image.width), float(image.height)))
        return sizes


def _image_png(data: bytes, page: int) -> bytes:
    from PIL import Image

    with _image(data) as image:
        count = getattr(image, "n_frames", 1)
        if not 1 <= page <= count:
            raise _missing(page, count)
        image.seek(page - 1)
        image.load()
        frame = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    scale = _scale(frame.width, frame.height)
    size = (max(1, round(frame.width * scale)), max(1, round(frame.height * scale)))
    return _png(frame.resize(size, Image.Resampling.LANCZOS) if size != frame.size else frame)


def _png(image: Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False)
    return out.getvalue()
