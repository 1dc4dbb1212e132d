"""What a step type is: one `StepKind` per module, registered once in `steps/registry.py`.

A kind declares its config model, what it needs from the orchestrator (`needs`), the step ids it
may branch to, and its executor. Validation on save, the local engine and the state machine all
read the same registry. Executors are plain functions of a `StepRun`: the use-case layer
(usecases/run.py) implements it over the ports, so a step never touches storage itself."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic import BaseModel

from docflow.domain.integrations import Integration
from docflow.domain.limits import Limits
from docflow.domain.reviews import OnTimeout, ReviewField

if TYPE_CHECKING:
    from docflow.ports import ExtractionEngine

# compute: CPU work, sent to a step worker process where the runtime has one (parse, extract);
# inline: cheap, runs in the orchestrating thread (transform, condition);
# network: an outbound call, retried on DeliveryTransient (integration);
# wait: pauses the run until something outside answers (review).
Needs = Literal["compute", "inline", "network", "wait"]


class StepRun(Protocol):
    """What an executor may ask of the run it belongs to."""

    @property
    def execution_id(self) -> str: ...
    @property
    def workflow_id(self) -> str: ...
    @property
    def document_name(self) -> str | None: ...
    @property
    def metadata(self) -> dict[str, Any]: ...
    @property
    def limits(self) -> Limits: ...
    @property
    def document_input(self) -> dict[str, Any] | None:
        """The caller's per-file metadata and guidance for the run's first document (multipart runs)."""
    def values(self) -> tuple[dict[str, Any], dict[str, float]]:
        """The current values and their confidence: those of the latest step that produced values."""
    def field_details(self) -> dict[str, dict[str, Any]]:
        """What the run's extract steps know of each field: `type` and `required` from their
        config, `page`, `bbox` and `source_text` from their output (later steps win)."""
    def document(self) -> tuple[bytes, str]:
        """The run's first document: its bytes and content type."""
    def parsed(self) -> bytes:
        """The latest parse output of this run, or the document parsed with defaults."""
    def compute[T](self, job: Callable[..., T], *args: Any) -> T:
        """Runs a picklable job (a plain-data function of a step module) where the runtime runs CPU work."""
    def integration(self, integration_id: str) -> Integration | None:
        """An integration of this run's workflow, None when there is none with this id."""
    def integrations_of_type(self, integration_type: str) -> list[Integration]:
        """The integrations of this run's workflow of one type."""
    def http(self, method: str, url: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        """One request through the SSRF guard: (status, the first bytes of the body). Raises
        UrlRefused, or DeliveryTransient for timeouts, connection errors, 429 and 5xx."""
    def mail(self, to: list[str], subject: str, body: str) -> None:
        """Sends an e-mail through the runtime's mailer (DeliveryTransient when it may pass)."""
    def extraction_engine(self, name: str) -> ExtractionEngine:
        """An outside extraction engine ("textract", "bedrock"); StepFailed `engine_unavailable`
        when the runtime has none by that name."""
    @property
    def storage_key(self) -> str | None:
        """Where the run's first document is stored in the blob store (Textract reads S3 objects)."""


@dataclass(frozen=True)
class Wait:
    """A step that needs a person (review): the run parks until the task is answered or times out."""

    fields: list[ReviewField]
    timeout_seconds: int
    on_timeout: OnTimeout
    confidence_threshold: float | None


@dataclass(frozen=True)
class StepResult:
    # The step's output as JSON: `values` (and `confidence`) in it become the run's current values.
    output: bytes
    # The step id a branching step chose (condition); None to go on along `next`.
    branch: str | None = None
    # A short account of the step's input and output for the execution log: names and counts,
    # never document text or values.
    summary: dict[str, Any] = field(default_factory=dict)
    # Set by a step that waits for a person (then `output` is not stored until the answer).
    wait: Wait | None = None
    # What the step consumed, added up into the execution's `usage`: e.g. {"pages": 2,
    # "ocr_pages": 1} (parse), {"textract_pages": {"AnalyzeExpense": 2}}, {"bedrock_tokens":
    # {"input": 1200, "output": 80}} (extract).
    usage: dict[str, Any] = field(default_factory=dict)


def no_targets(config: Any) -> list[tuple[str, str]]:
    return []


@dataclass(frozen=True)
class StepKind:
    name: str
    config_model: type[BaseModel]
    needs: Needs
    execute: Callable[[StepRun, Any], StepResult]
    # (config field, step id) for every step this one may branch to: checked on save like `next`.
    targets: Callable[[Any], list[tuple[str, str]]] = no_targets
    description: str = ""
    # A step that waits (needs "wait"): how long, from its config; bounds the orchestrator's wait.
    wait_seconds: Callable[[Any], int] | None = None

    def config(self, raw: dict[str, Any]) -> BaseModel:
        return self.config_model.model_validate(raw)

    @property
    def branches(self) -> bool:
        return self.targets is not no_targets
