"""Values an outside engine (Textract, Bedrock) answered, in the same types as the rules engine's.

The parsing itself is the rules engine's (steps/extract.py: amounts in any locale, dates in
several languages), so a value means the same whichever engine found it."""

from __future__ import annotations

import re
from typing import Any

from docflow.domain.documents import Extraction, FieldResult
from docflow.domain.extraction import FieldSpec, FieldType

# What a currency is written as, when an engine answers a symbol or a word instead of ISO 4217.
_CURRENCY_SIGNS = {"€": "EUR", "$": "USD", "US$": "USD", "£": "GBP", "¥": "JPY", "₹": "INR", "₩": "KRW",
                   "₽": "RUB", "ZŁ": "PLN", "CHF": "CHF", "FR.": "CHF", "KR": "SEK", "EURO": "EUR", "EUROS": "EUR",
                   "DOLLAR": "USD", "DOLLARS": "USD", "POUND": "GBP", "POUNDS": "GBP"}


def normalise_text(text: str | None, type_: FieldType) -> Any:
    """A value printed on the page (`text`) as the field's type; None when it is not one."""
    if text is None:
        return None
    from docflow.steps.extract import parse_amount, parse_boolean, parse_date, parse_list

    if type_ in ("number", "currency"):
        return parse_amount(text)
    if type_ == "date":
        return parse_date(text)
    if type_ == "boolean":
        return parse_boolean(text)
    if type_ == "list":
        return parse_list(text)
    cleaned = " ".join(text.split())
    return cleaned or None


def currency_code(text: str | None) -> str | None:
    """An ISO 4217 code from a code, a symbol or a word ('usd', '€', 'Euro'); None otherwise."""
    if not text:
        return None
    raw = text.strip().upper()
    if raw in _CURRENCY_SIGNS:
        return _CURRENCY_SIGNS[raw]
    return raw if re.fullmatch(r"[A-Z]{3}", raw) else None


def is_currency_code_field(spec: FieldSpec) -> bool:
    """The invoice preset's `currency` (a string holding an ISO code), or a user field like it."""
    return spec.name == "currency" and spec.type == "string"


def extraction_of(specs: list[FieldSpec], results: dict[str, FieldResult]) -> Extraction:
    """Every field of the request, found or not (value None, confidence 0), as the rules engine answers."""
    full = {s.name: results.get(s.name) or FieldResult(value=None, confidence=0.0) for s in specs}
    return Extraction(values={n: r.value for n, r in full.items()},
                      confidence={n: r.confidence for n, r in full.items()}, fields=full,
                      missing_required=[s.name for s in specs if s.required and full[s.name].value is None])
