"""What an extract step is asked for, whichever engine answers it (DESIGN.md §2).

`FieldSpec` is one field a user names; a preset ("invoice") is a built-in list of them, so a
workflow needs no labels. Every engine (`rules` locally, `textract`, `bedrock`) takes an
`EngineRequest` and answers an `Extraction` (domain/documents.py) plus what it consumed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from docflow.domain.documents import Extraction, ParsedDocument

__all__ = [
    "PRESETS",
    "EngineAnswer",
    "EngineName",
    "EngineRequest",
    "FieldSpec",
    "FieldType",
    "PresetName",
    "merge_fields",
    "preset_fields",
]

# `list` values are lists of strings, except a preset's `line_items`: a list of objects.
FieldType = Literal["string", "number", "date", "currency", "boolean", "list"]
EngineName = Literal["rules", "textract", "bedrock"]
PresetName = Literal["invoice"]


class FieldSpec(BaseModel):
    """One field to extract."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    type: FieldType = "string"
    description: str | None = None
    required: bool = False
    labels: list[str] = Field(
        default_factory=list,
        description="Phrases that precede the value, e.g. 'Invoice Number'. Default: the name, '_' read as ' '.",
    )
    pattern: str | None = Field(
        default=None, description="Regular expression the value must match (its first group, if it has one)."
    )

    @field_validator("labels")
    @classmethod
    def _labels_have_words(cls, labels: list[str]) -> list[str]:
        cleaned = [" ".join(label.split()) for label in labels]
        for label in cleaned:
            if not re.search(r"\w", label):
                raise ValueError(f"label {label!r} has no letters or digits")
        return cleaned

    @field_validator("pattern")
    @classmethod
    def _pattern_compiles(cls, pattern: str | None) -> str | None:
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"pattern is not a valid regular expression: {exc}") from None
        return pattern

    def effective_labels(self) -> list[str]:
        return self.labels or [self.name.replace("_", " ").strip() or self.name]


def _spec(name: str, type_: FieldType, description: str) -> FieldSpec:
    return FieldSpec(name=name, type=type_, description=description)


# The built-in invoice model: these names and types are the contract of `preset: "invoice"` on
# every engine. Labels are the rules engine's business (it knows them in several languages).
_INVOICE = (
    _spec("invoice_number", "string", "The invoice's own number or id, as printed (not an order or customer number)."),
    _spec("date", "date", "The invoice (issue) date."),
    _spec("due_date", "date", "The date payment is due, when the invoice states one."),
    _spec("total", "currency", "The total amount payable, taxes included."),
    _spec("subtotal", "currency", "The total before taxes (net amount)."),
    _spec("tax", "currency", "The total tax (VAT, GST, sales tax) amount."),
    _spec("currency", "string", "The ISO 4217 code of the invoice's currency, e.g. EUR, USD, GBP."),
    _spec("issuer", "string", "The seller: the company or person that issued the invoice."),
    _spec("buyer", "string", "The customer the invoice is addressed to."),
    _spec("line_items", "list",
          "The invoiced lines, each {description, quantity, unit_price, amount} (numbers or null)."),
)
PRESETS: dict[str, tuple[FieldSpec, ...]] = {"invoice": _INVOICE}
LINE_ITEM_KEYS = ("description", "quantity", "unit_price", "amount")


def preset_fields(preset: str | None) -> list[FieldSpec]:
    return [spec.model_copy() for spec in PRESETS.get(preset or "", ())]


def merge_fields(preset: str | None, fields: list[FieldSpec]) -> list[FieldSpec]:
    """The preset's fields, each replaced by a user field of the same name, then the user's others."""
    own = {spec.name: spec for spec in fields}
    merged = [own.pop(spec.name, spec) for spec in preset_fields(preset)]
    return merged + list(own.values())


@dataclass(frozen=True)
class EngineRequest:
    """One extraction asked of an outside engine (Textract, Bedrock)."""

    fields: list[FieldSpec]
    preset: str | None
    # The document itself, and where it is stored (a blob key: Textract reads multi-page PDFs from S3).
    data: bytes
    content_type: str
    storage_key: str | None = None
    # The parse step's output, when the run has one (Bedrock may send text instead of the file).
    parsed: ParsedDocument | None = None
    # The caller's per-file `guidance` and `metadata` (multipart runs), for engines that read instructions.
    guidance: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EngineAnswer:
    extraction: Extraction
    # What the call consumed, in the execution's `usage` shape: e.g.
    # {"textract_pages": {"AnalyzeExpense": 2}} or {"bedrock_tokens": {"input": 1200, "output": 80}}.
    usage: dict[str, Any] = field(default_factory=dict)
