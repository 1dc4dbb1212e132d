"""The step handler is the one place typed errors become ASL error types (DESIGN.md §7)."""

from __future__ import annotations

import json

from docflow_testing import load_handler

from docflow.domain.errors import DocumentEncrypted, Throttled


def test_throttling_becomes_the_retried_error_type_and_step_failures_keep_their_code() -> None:
    step = load_handler("step")
    throttled = step.task_error(Throttled("slow down"))
    assert type(throttled).__name__ == "Throttled"  # the ASL Retry list names it
    failed = step.task_error(DocumentEncrypted("needs a password"))
    assert type(failed).__name__ == "Docflow.document_encrypted"
    assert json.loads(str(failed))["code"] == "document_encrypted"


def test_catch_result_becomes_the_execution_error() -> None:
    step = load_handler("step")
    cause = json.dumps({"errorType": "Docflow.document_corrupt",
                        "errorMessage": json.dumps({"code": "document_corrupt", "message": "truncated PDF"})})
    error = step._failure({"Error": "Docflow.document_corrupt", "Cause": cause})
    assert (error.code, error.message) == ("document_corrupt", "truncated PDF")
    timeout = step._failure({"Error": "States.Timeout", "Cause": "the task timed out"})
    assert (timeout.code, timeout.message) == ("States.Timeout", "the task timed out")
