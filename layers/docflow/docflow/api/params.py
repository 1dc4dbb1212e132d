"""Query, path and header parameters that several routers share."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Header, Path, Query

Limit = Annotated[int, Query(ge=1, le=100, description="Page size (default 20, at most 100)")]
Cursor = Annotated[str | None, Query(max_length=512, description="`next_cursor` of the previous page")]
IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key", max_length=255,
    description="Makes the start safe to retry: the same key with the same request returns the first run; "
                "the same key with another request is 422 idempotency_key_reused")]

WorkflowId = Annotated[str, Path(max_length=128, description="A workflow id (wf_…)")]
ExecutionId = Annotated[str, Path(max_length=128, description="An execution id (exe_…)")]
DocumentId = Annotated[str, Path(max_length=128, description="A document id (doc_…)")]
WaitSeconds = Annotated[int, Query(ge=0, le=20, description=(
    "Wait up to this many seconds (at most 20) for the run to leave queued/processing, then answer "
    "(at once when it has; else with its state when the time is up)"))]
