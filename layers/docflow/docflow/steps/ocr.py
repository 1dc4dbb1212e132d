"""OCR: the words of a picture of a page, with boxes in the picture's pixels.

The parse step renders scanned PDF pages (and reads images) and hands them to a `Recogniser`;
it converts the boxes to page coordinates itself. Which engine recognises is decided here only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from PIL.Image import Image

__all__ = ["OcrWord", "Recogniser", "default_recogniser"]


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


def default_recogniser() -> Recogniser | None:
    """The installed OCR engine, or None when this runtime has none (then parse fails with
    `ocr_required`). Filled in by the OCR engine's change (issue 13, item 2)."""
    return None
