"""Extract fields from one file without a run (the `docflow extract` command): the parse step,
then the extract step's engine, with the same configs, errors and output a workflow gets."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from docflow.domain.documents import Extraction
from docflow.domain.extraction import EngineRequest
from docflow.domain.limits import Limits

if TYPE_CHECKING:
    from docflow.ports import ExtractionEngine


def extract_file(data: bytes, content_type: str, extract_config: dict[str, Any], limits: Limits,
                 engines: Callable[[], Mapping[str, ExtractionEngine]] | None = None,
                 parse_config: dict[str, Any] | None = None) -> Extraction:
    """Parse `data` and extract `extract_config`'s fields. `engines`: builds the outside engines
    (`textract`, `bedrock`), asked only when the config names one. Raises the steps' typed errors
    (DocflowError) and pydantic's ValidationError for a bad config."""
    from docflow.steps.extract import ExtractConfig, extract_fields
    from docflow.steps.parse import ParseConfig, parse_document

    config = ExtractConfig.model_validate(extract_config)
    parsed = parse_document(data, content_type, ParseConfig.model_validate(parse_config or {}), limits)
    if config.engine == "rules":
        return extract_fields(parsed, config)
    available = engines() if engines is not None else {}
    engine = available.get(config.engine)
    if engine is None:
        from docflow.domain.errors import StepFailed

        raise StepFailed(f"the {config.engine!r} engine is not configured here", code="engine_unavailable",
                         details=[{"engine": config.engine}])
    answer = engine.extract(EngineRequest(fields=config.all_fields(), preset=config.preset, data=data,
                                          content_type=content_type, parsed=parsed))
    return answer.extraction
