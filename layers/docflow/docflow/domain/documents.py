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


class ParsedDocument(BaseModel):
    content_type: str
    page_count: int
    text: str
    pages: list[ParsedPage]


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
