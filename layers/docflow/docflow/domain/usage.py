"""What a run consumed (`Execution.usage`, DESIGN.md §1) and what that costs on AWS.

Steps report what they consumed (`StepResult.usage`: pages, OCR pages, Textract pages, Bedrock
tokens); the orchestrator adds what running them cost it (state transitions, Lambda time). A
`PriceTable` turns the sum into `cost_usd`. Pure: no clock, no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class BedrockTokens(BaseModel):
    model_config = ConfigDict(extra="forbid")

    input: int = 0
    output: int = 0


class Usage(BaseModel):
    """Counters only ever added to: a retried call that recorded nothing adds nothing."""

    model_config = ConfigDict(extra="forbid")

    pages: int = 0
    ocr_pages: int = 0
    # Pages sent to Textract by API ("AnalyzeExpense", "AnalyzeDocument:Queries", ...): priced per API.
    textract_pages: dict[str, int] = Field(default_factory=dict)
    bedrock_tokens: BedrockTokens = Field(default_factory=BedrockTokens)
    # State machine states entered for this run (0 in local mode: no state machine).
    step_transitions: int = 0
    # Time the step function spent on this run, and how many times it was invoked (0 locally).
    lambda_ms: int = 0
    lambda_invocations: int = 0

    def plus(self, consumed: Mapping[str, Any]) -> Usage:
        """This usage with `consumed` (the `Usage` shape, any subset of its keys) added."""
        if not consumed:
            return self
        textract = dict(self.textract_pages)
        for api, pages in (consumed.get("textract_pages") or {}).items():
            textract[api] = textract.get(api, 0) + int(pages)
        tokens = consumed.get("bedrock_tokens") or {}
        return Usage(
            pages=self.pages + int(consumed.get("pages", 0)),
            ocr_pages=self.ocr_pages + int(consumed.get("ocr_pages", 0)),
            textract_pages=textract,
            bedrock_tokens=BedrockTokens(input=self.bedrock_tokens.input + int(tokens.get("input", 0)),
                                         output=self.bedrock_tokens.output + int(tokens.get("output", 0))),
            step_transitions=self.step_transitions + int(consumed.get("step_transitions", 0)),
            lambda_ms=self.lambda_ms + int(consumed.get("lambda_ms", 0)),
            lambda_invocations=self.lambda_invocations + int(consumed.get("lambda_invocations", 0)),
        )


def _textract_defaults() -> dict[str, float]:
    return {"AnalyzeExpense": 0.01, "AnalyzeDocument:Queries": 0.015, "AnalyzeDocument:Tables": 0.015,
            "AnalyzeDocument:Forms": 0.05, "DetectDocumentText": 0.0015}


@dataclass(frozen=True)
class PriceTable:
    """USD list prices, us-east-1, on-demand, first pricing tier, as published on the AWS pricing
    pages (`as_of`). Every price is a setting (DOCFLOW_PRICE_<NAME>, runtime/settings.py): set them
    for another region, a negotiated rate or another Bedrock model."""

    as_of: str = "2025-06-01"
    # Step Functions Standard workflows: $0.025 per 1,000 state transitions.
    step_transition: float = 0.000025
    # Lambda on arm64: $0.0000133334 per GB-second, $0.20 per million requests.
    lambda_gb_second: float = 0.0000133334
    lambda_request: float = 0.0000002
    # The step function's memory (template.yaml); Lambda bills time × memory.
    lambda_memory_mb: int = 1024
    # Textract per page, by API (AnalyzeExpense $10, Queries $15 per 1,000 pages).
    textract_page: dict[str, float] = field(default_factory=_textract_defaults)
    # Bedrock per 1,000 tokens, on demand: Claude 3.5 Haiku ($0.0008 in, $0.004 out).
    bedrock_input_1k: float = 0.0008
    bedrock_output_1k: float = 0.004
    # Not in `Usage` (a run does not count its own requests): `make bench` counts them per run
    # under moto and prices them here (bench/cost.py). DynamoDB on demand: $0.625 per million
    # write units, $0.125 per million read units; S3: $0.005 per 1,000 PUTs, $0.0004 per 1,000
    # GETs; EventBridge custom events and HTTP API requests: $1.00 per million; SQS $0.40 per million.
    dynamodb_write_unit: float = 0.000000625
    dynamodb_read_unit: float = 0.000000125
    s3_put: float = 0.000005
    s3_get: float = 0.0000004
    eventbridge_event: float = 0.000001
    http_api_request: float = 0.000001
    sqs_request: float = 0.0000004

    def cost_usd(self, usage: Usage) -> float:
        """What `usage` costs at these prices, rounded to a millionth of a dollar."""
        textract = sum(pages * self.textract_page.get(api, max(self.textract_page.values(), default=0.0))
                       for api, pages in usage.textract_pages.items())
        lambda_seconds = usage.lambda_ms / 1000 * self.lambda_memory_mb / 1024
        total = (usage.step_transitions * self.step_transition
                 + lambda_seconds * self.lambda_gb_second + usage.lambda_invocations * self.lambda_request
                 + textract
                 + usage.bedrock_tokens.input / 1000 * self.bedrock_input_1k
                 + usage.bedrock_tokens.output / 1000 * self.bedrock_output_1k)
        return round(total, 6)


@dataclass(frozen=True)
class Metering:
    """What an orchestrator call costs the runtime running it, so the use-case that records the
    call's outcome records its cost in the same write. `transitions` by call: how many states of
    statemachines/workflow.asl.json the state machine enters for it; `bills_compute`: whether the
    call's time is billed (Lambda). Local mode has neither."""

    prices: PriceTable = field(default_factory=PriceTable)
    transitions: Mapping[str, int] = field(default_factory=dict)
    bills_compute: bool = False

    def of_call(self, call: str, elapsed_ms: int) -> dict[str, int]:
        """The usage of one orchestrator call (`begin`, `step`, `done`, `failed`)."""
        consumed = {"step_transitions": self.transitions.get(call, 0)}
        if self.bills_compute and call in ("begin", "step"):
            consumed |= {"lambda_ms": elapsed_ms, "lambda_invocations": 1}
        return consumed


# The states workflow.asl.json enters per call: Begin → Route; RunStep or AwaitReview → Route;
# Done; a step that fails goes RunStep → MarkFailed → Failed: its call's 2, and 1 more.
STATE_MACHINE_TRANSITIONS: Mapping[str, int] = {"begin": 2, "step": 2, "done": 1, "failed": 1}
