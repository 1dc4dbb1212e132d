"""What a parse step produces and an extract step consumes."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class Word(BaseModel):
    text: str
    # Bounding box in PDF points, origin top-left: x0, top, x1, bottom.
    x0: float
    top: float
    x1: float
    bottom: float


class Line(BaseModel):
    text: str
    words: list[Word]


class ParsedPage(BaseModel):
    number: int
    width: float
    height: float
    text: str
    lines: list[Line] = Field(default_factory=list)
    tables: list[list[list[str | None]]] = Field(default_factory=list)
    # True when the words come from OCR (a scan, an image, an unreadable text layer).
    ocr: bool = False


class ParsedDocument(BaseModel):
    content_type: str
    page_count: int
    text: str
    pages: list[ParsedPage]


def group_lines(words: list[Word]) -> list[Line]:
    """Cluster words into lines by vertical overlap, each line read left to right."""
    words = sorted(words, key=lambda w: (w.top, w.x0))
    groups: list[list[Word]] = []
    ref_top = ref_bottom = 0.0
    for word in words:
        if groups:
            overlap = min(ref_bottom, word.bottom) - max(ref_top, word.top)
            smaller = min(ref_bottom - ref_top, word.bottom - word.top)
            if smaller <= 0 or overlap >= 0.5 * smaller:
                groups[-1].append(word)
                continue
        groups.append([word])
        ref_top, ref_bottom = word.top, word.bottom
    lines = []
    for group in groups:
        group.sort(key=lambda w: w.x0)
        lines.append(Line(text=" ".join(w.text for w in group), words=group))
    return lines


class FieldResult(BaseModel):
    value: Any
    confidence: float
    page: int | None = None
    source_text: str | None = None
    # How the value was found (e.g. "label_same_line", "label_below", "pattern") and where:
    # x0, top, x1, bottom in the page's coordinates, for a reviewer to see it.
    method: str | None = None
    bbox: list[float] | None = None


class Extraction(BaseModel):
    values: dict[str, Any]
    confidence: dict[str, float]
    fields: dict[str, FieldResult]
    missing_required: list[str] = Field(default_factory=list)
    # The caller's per-file metadata and guidance the step was given (multipart runs).
    input: dict[str, Any] | None = None
