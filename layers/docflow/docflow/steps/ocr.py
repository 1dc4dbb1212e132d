"""OCR: the words of a picture of a page, with boxes in the picture's pixels.

The parse step renders scanned PDF pages (and reads images) and hands them to a `Recogniser`;
`page_from_ocr` turns the words into a page of the same shape as a text layer's. The engine is
Debian's tesseract 5 (Apache-2.0) with the language models the project installs (`make ocr`): it
reads the seven languages of the invoice model, installs from the package registry with its
models, and on a 200 dpi scan made in the tests reads every word of an English and a German
invoice, umlauts included, at about 2–3 s a page on one core with all seven languages loaded.
"""

from __future__ import annotations

import csv
import functools
import io
import os
import shutil
import subprocess
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from docflow.domain.documents import ParsedPage, Word, group_lines
from docflow.domain.errors import DocumentCorrupt, StepFailed

if TYPE_CHECKING:
    from PIL.Image import Image

__all__ = ["OcrWord", "Recogniser", "TesseractRecogniser", "default_recogniser", "image_pages", "page_from_ocr"]

LANGUAGES = ("eng", "deu", "fra", "nld", "spa", "ita", "pol")
# Words the engine itself is less sure of than this are specks, not text.
MIN_WORD_CONFIDENCE = 0.3
# Images without a resolution are taken as scanned at this many dots per inch.
DEFAULT_DPI = 200.0


@dataclass(frozen=True)
class OcrWord:
    text: str
    # In the image's pixels, origin top-left.
    x0: float
    top: float
    x1: float
    bottom: float
    confidence: float  # 0..1, the engine's own


class Recogniser(Protocol):
    def recognise(self, image: Image, timeout_seconds: float) -> list[OcrWord]:
        """The words of `image` in reading order. Raises StepFailed `ocr_timeout` past the time
        limit, StepFailed `ocr_failed` when the engine breaks."""


@dataclass(frozen=True)
class TesseractRecogniser:
    binary: str
    languages: tuple[str, ...]

    def recognise(self, image: Image, timeout_seconds: float) -> list[OcrWord]:
        png = io.BytesIO()
        image.save(png, format="PNG")
        command = [self.binary, "stdin", "stdout", "-l", "+".join(self.languages), "--psm", "3", "tsv"]
        try:
            done = subprocess.run(command, input=png.getvalue(), capture_output=True, timeout=timeout_seconds,
                                  check=False, env={**os.environ, "OMP_THREAD_LIMIT": "1"})
        except subprocess.TimeoutExpired:
            raise StepFailed(f"OCR of a page took longer than the limit of {timeout_seconds:g} s "
                             "(Limits.ocr_page_seconds)", code="ocr_timeout",
                             details=[{"limit_seconds": timeout_seconds}]) from None
        except OSError as exc:
            raise StepFailed(f"the OCR engine could not be started: {exc}", code="ocr_failed") from None
        if done.returncode != 0:
            reason = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or [f"exit {done.returncode}"]
            raise StepFailed(f"the OCR engine failed: {reason[0][:200]}", code="ocr_failed")
        return _tsv_words(done.stdout.decode(errors="replace"))


def _tsv_words(tsv: str) -> list[OcrWord]:
    words = []
    for row in csv.DictReader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE):
        text = (row.get("text") or "").strip()
        if row.get("level") != "5" or not text:
            continue
        left, top, width, height = (float(row[key]) for key in ("left", "top", "width", "height"))
        words.append(OcrWord(text, left, top, left + width, top + height, max(0.0, float(row["conf"])) / 100))
    return words


@functools.cache
def default_recogniser() -> Recogniser | None:
    """The installed OCR engine, or None when this machine has none (then parse fails with
    `ocr_required`). DOCFLOW_OCR_LANGUAGES (e.g. "eng+deu") narrows the languages: fewer is faster."""
    binary = shutil.which("tesseract")
    if binary is None:
        return None
    try:
        listed = subprocess.run([binary, "--list-langs"], capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    installed = set(listed.stdout.decode(errors="replace").split())
    wanted = tuple(os.environ.get("DOCFLOW_OCR_LANGUAGES", "+".join(LANGUAGES)).replace(",", "+").split("+"))
    languages = tuple(lang for lang in wanted if lang in installed) or (("eng",) if "eng" in installed else ())
    return TesseractRecogniser(binary, languages) if languages else None


def page_from_ocr(words: list[OcrWord], number: int, image_size: tuple[int, int],
                  page_size: tuple[float, float]) -> ParsedPage:
    """A parsed page from OCR words: boxes scaled from the image's pixels to the page's points."""
    sx, sy = page_size[0] / image_size[0], page_size[1] / image_size[1]
    kept = [Word(text=w.text, x0=w.x0 * sx, top=w.top * sy, x1=w.x1 * sx, bottom=w.bottom * sy)
            for w in words if w.confidence >= MIN_WORD_CONFIDENCE and any(c.isalnum() for c in w.text)]
    lines = group_lines(kept)
    return ParsedPage(number=number, width=page_size[0], height=page_size[1],
                      text="\n".join(line.text for line in lines), lines=lines, tables=[], ocr=True)


def image_pages(data: bytes) -> list[tuple[Image, tuple[float, float]]]:
    """The frames of a PNG, JPEG or TIFF (a multi-page TIFF has several), each in greyscale with
    its size in points (from the image's resolution, else DEFAULT_DPI)."""
    from PIL import Image as PILImage
    from PIL import ImageSequence, UnidentifiedImageError

    try:
        image = PILImage.open(io.BytesIO(data))
        frames = []
        for frame in ImageSequence.Iterator(image):
            dpi = frame.info.get("dpi") or (DEFAULT_DPI, DEFAULT_DPI)
            xdpi, ydpi = (float(d) if d and float(d) > 1 else DEFAULT_DPI for d in dpi[:2])
            grey = frame.convert("L")
            frames.append((grey, (grey.width * 72 / xdpi, grey.height * 72 / ydpi)))
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise DocumentCorrupt(f"the image is damaged or not a readable PNG, JPEG or TIFF ({exc})",
                              details=[{"reason": str(exc)[:200]}]) from None
    if not frames:
        raise DocumentCorrupt("the image has no frames")
    return frames
