"""Steps as plain-data jobs (dicts and bytes in, dicts out), so a runtime can run them in another
process: local mode sends them to worker processes to use every core past the GIL."""

from __future__ import annotations

from typing import Any

from docflow.domain.documents import ParsedDocument
from docflow.domain.errors import StepFailed
from docflow.domain.limits import Limits
from docflow.steps.extract import ExtractConfig, extract_fields
from docflow.steps.parse import ParseConfig, parse_document


def parse_job(data: bytes, content_type: str, config: dict[str, Any], limits: Limits) -> dict[str, Any]:
    return parse_document(data, content_type, ParseConfig.model_validate(config), limits).model_dump(mode="json")


def extract_job(parsed: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    extraction = extract_fields(ParsedDocument.model_validate(parsed), ExtractConfig.model_validate(config))
    if extraction.missing_required:
        raise StepFailed(f"required fields not found: {', '.join(extraction.missing_required)}",
                         code="required_fields_missing",
                         details=[{"field": name} for name in extraction.missing_required])
    return extraction.model_dump(mode="json")
