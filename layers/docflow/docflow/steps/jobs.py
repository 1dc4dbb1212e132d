"""Steps as plain-data jobs (bytes and dicts in, JSON bytes out), so a runtime can run them in
another process: local mode sends them to worker processes to use every core past the GIL, and
the JSON is written and read only here, in the worker, never by the orchestrating process."""

from __future__ import annotations

from typing import Any

from docflow.domain.documents import ParsedDocument
from docflow.domain.errors import StepFailed
from docflow.domain.limits import Limits
from docflow.steps.extract import ExtractConfig, extract_fields
from docflow.steps.parse import ParseConfig, parse_document


def parse_job(data: bytes, content_type: str, config: dict[str, Any], limits: Limits) -> bytes:
    return parse_document(data, content_type, ParseConfig.model_validate(config), limits).model_dump_json().encode()


def extract_job(parsed_json: bytes, config: dict[str, Any], document_input: dict[str, Any] | None = None) -> bytes:
    """`document_input`: the caller's per-file `metadata` and `guidance` (multipart runs), kept
    with the extraction for engines that read instructions."""
    parsed = ParsedDocument.model_validate_json(parsed_json)
    extraction = extract_fields(parsed, ExtractConfig.model_validate(config))
    if document_input:
        extraction = extraction.model_copy(update={"input": document_input})
    if extraction.missing_required:
        raise StepFailed(f"required fields not found: {', '.join(extraction.missing_required)}",
                         code="required_fields_missing",
                         details=[{"field": name} for name in extraction.missing_required])
    return extraction.model_dump_json().encode()
