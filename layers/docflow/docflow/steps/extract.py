"""The `extract` step: fields out of a parsed document (DESIGN.md §2).

The `rules` engine runs here: each field by its labels, position and type (steps/reading.py),
and the built-in invoice model for `preset: "invoice"` (steps/invoice.py). `textract` and
`bedrock` run through Ports.extraction_engines and answer in the same shape.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from docflow.domain.documents import Extraction, FieldResult, ParsedDocument
from docflow.domain.errors import StepFailed
from docflow.domain.extraction import EngineName, FieldSpec, FieldType, PresetName, merge_fields
from docflow.steps.base import StepKind, StepResult, StepRun
from docflow.steps.reading import (
    CONFIDENCE_BELOW,
    CONFIDENCE_PATTERN_ONLY,
    CONFIDENCE_SAME_LINE,
    Document,
    extract_one,
    parse_amount,
    parse_boolean,
    parse_date,
    parse_list,
)

__all__ = [
    "CONFIDENCE_BELOW",
    "CONFIDENCE_PATTERN_ONLY",
    "CONFIDENCE_SAME_LINE",
    "ExtractConfig",
    "FieldSpec",
    "FieldType",
    "extract_fields",
    "parse_amount",
    "parse_boolean",
    "parse_date",
    "parse_list",
]


class ExtractConfig(BaseModel):
    """Configuration of an `extract` step."""

    model_config = ConfigDict(extra="forbid")

    engine: EngineName = "rules"
    preset: PresetName | None = Field(
        default=None,
        description="Built-in fields, no labels needed ('invoice'); `fields` add to them or override them.",
    )
    fields: list[FieldSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _fields_or_preset(self) -> ExtractConfig:
        if not self.fields and self.preset is None:
            raise ValueError("name the fields to extract (`fields`) or a `preset` such as 'invoice'")
        seen: set[str] = set()
        for spec in self.fields:
            if spec.name in seen:
                raise ValueError(f"field name {spec.name!r} appears more than once")
            seen.add(spec.name)
        return self

    def all_fields(self) -> list[FieldSpec]:
        """The preset's fields (user fields of the same name win), then the user's own."""
        return merge_fields(self.preset, self.fields)


@dataclass(frozen=True)
class _PresetModel:
    labels: Callable[[], list[str]]
    read: Callable[[Document, set[str]], dict[str, FieldResult]]


def _preset_model(preset: str | None) -> _PresetModel | None:
    """The rules engine's model of a preset. Imported on first use: its many patterns compile at
    import, and an API cold start that only validates configs never needs them."""
    if preset == "invoice":
        from docflow.steps.invoice import invoice_labels, read_invoice

        return _PresetModel(invoice_labels, read_invoice)
    return None


def extract_fields(document: ParsedDocument, config: ExtractConfig) -> Extraction:
    """Extract `config.fields` from `document`. Missing fields get value None and confidence 0;
    required ones are listed in `missing_required` (deciding what that means is the engine's job)."""
    if config.engine != "rules":
        raise StepFailed(  # textract and bedrock run through the step (Ports.extraction_engines)
            f"extract_fields is the rules engine, not {config.engine!r}",
            code="engine_unavailable",
            details=[{"engine": config.engine}],
        )
    specs = config.all_fields()
    own = {spec.name for spec in config.fields}
    preset = _preset_model(config.preset)
    # Preset fields the user did not redefine are the preset model's; the others read by label.
    modelled = {spec.name for spec in specs if spec.name not in own} if preset else set()
    labels = [label for spec in specs if spec.name not in modelled for label in spec.effective_labels()]
    doc = Document(document, labels + (preset.labels() if preset else []))
    results: dict[str, FieldResult] = preset.read(doc, modelled) if preset else {}
    for spec in specs:
        if spec.name not in modelled:
            results[spec.name] = extract_one(doc, spec) or FieldResult(value=None, confidence=0.0)
    results = {spec.name: results[spec.name] for spec in specs}
    return Extraction(
        values={name: r.value for name, r in results.items()},
        confidence={name: r.confidence for name, r in results.items()},
        fields=results,
        missing_required=[s.name for s in specs if s.required and results[s.name].value is None],
    )


# --- the step ------------------------------------------------------------------------------------


def extract_job(parsed_json: bytes, config: dict[str, Any],
                document_input: dict[str, Any] | None = None) -> tuple[bytes, dict[str, Any]]:
    """A plain-data job (it may run in a worker process). `document_input`: the caller's per-file
    `metadata` and `guidance` (multipart runs), kept with the extraction for engines that read
    instructions."""
    parsed = ParsedDocument.model_validate_json(parsed_json)
    extraction = extract_fields(parsed, ExtractConfig.model_validate(config))
    if extraction.missing_required:
        raise StepFailed(f"required fields not found: {', '.join(extraction.missing_required)}",
                         code="required_fields_missing",
                         details=[{"field": name} for name in extraction.missing_required])
    if document_input:
        extraction = extraction.model_copy(update={"input": document_input})
    found = sorted(name for name, value in extraction.values.items() if value is not None)
    counts = {"fields": len(extraction.values), "found": found,
              "missing": sorted(set(extraction.values) - set(found))}
    return extraction.model_dump_json().encode(), counts


def _execute(run: StepRun, config: ExtractConfig) -> StepResult:
    parsed = run.parsed()
    if config.engine != "rules":
        return _execute_engine(run, config, parsed)
    output, counts = run.compute(extract_job, parsed, config.model_dump(), run.document_input)
    return StepResult(output, summary={"input": {"parsed_bytes": len(parsed)}, "output": counts})


def _execute_engine(run: StepRun, config: ExtractConfig, parsed: bytes) -> StepResult:
    """An outside engine (`textract`, `bedrock`: Ports.extraction_engines): the same output,
    summary and required-fields check as the rules job, plus what the call consumed."""
    from docflow.domain.extraction import EngineRequest

    engine = run.extraction_engine(config.engine)
    data, content_type = run.document()
    document_input = run.document_input or {}
    answer = engine.extract(EngineRequest(
        fields=config.all_fields(), preset=config.preset, data=data, content_type=content_type,
        storage_key=run.storage_key, parsed=ParsedDocument.model_validate_json(parsed),
        guidance=document_input.get("guidance"), metadata=document_input.get("metadata") or run.metadata or {}))
    extraction = answer.extraction
    if extraction.missing_required:
        raise StepFailed(f"required fields not found: {', '.join(extraction.missing_required)}",
                         code="required_fields_missing",
                         details=[{"field": name} for name in extraction.missing_required])
    if run.document_input:
        extraction = extraction.model_copy(update={"input": run.document_input})
    found = sorted(name for name, value in extraction.values.items() if value is not None)
    counts = {"fields": len(extraction.values), "found": found, "missing": sorted(set(extraction.values) - set(found)),
              "engine": config.engine}
    return StepResult(extraction.model_dump_json().encode(),
                      summary={"input": {"parsed_bytes": len(parsed)}, "output": counts}, usage=answer.usage)


STEP = StepKind("extract", ExtractConfig, "compute", _execute,
                description="fields by label, pattern and type, each with a confidence")

