"""The state machine's Task handler: begin a run, run one step, wait for a review (store the task
token; expire on timeout), or mark it failed.

The one place where typed errors become ASL error types: `Throttled` is raised as `Throttled`
(the ASL retries it with backoff); a step failure is raised under its error code, after the
use-case has recorded it on the execution."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from docflow.domain.errors import DocflowError, StepFailed, Throttled
from docflow.domain.models import ExecutionError
from docflow.runtime import aws
from docflow.usecases import reviews, run

logger = Logger()


def task_error(exc: DocflowError) -> Exception:
    """An exception whose class name is the ASL errorType."""
    name = "Throttled" if isinstance(exc, Throttled) else f"Docflow.{exc.code}"
    return type(name, (Exception,), {})(json.dumps(exc.to_dict()))


def _failure(error: dict[str, Any]) -> ExecutionError:
    """The Catch result `{"Error", "Cause"}` → the execution's error."""
    cause = error.get("Cause") or ""
    try:
        message = json.loads(cause).get("errorMessage", cause)
        detail = json.loads(message) if isinstance(message, str) and message.startswith("{") else None
    except (ValueError, AttributeError):
        message, detail = cause, None
    if isinstance(detail, dict) and "code" in detail:
        return ExecutionError(code=str(detail["code"]), message=str(detail.get("message", "")))
    return ExecutionError(code=str(error.get("Error") or "internal_error"), message=str(message)[:2000])


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    ports = aws.ports()
    action, workspace_id, execution_id = event["action"], event["workspace_id"], event["execution_id"]
    logger.append_keys(execution_id=execution_id, action=action, step_id=event.get("step_id"))
    try:
        if action == "begin":
            return run.begin(ports, workspace_id, execution_id).to_payload()
        if action == "run":
            return run.run_step(ports, workspace_id, execution_id, event["step_id"]).to_payload()
        if action == "wait":  # the Task waits for SendTaskSuccess/Failure, not for this return
            reviews.run_waiting_step(ports, workspace_id, execution_id, event["step_id"], event["task_token"])
            return {"workspace_id": workspace_id, "execution_id": execution_id, "waiting": event["step_id"]}
        if action == "wait_timeout":
            return reviews.expire_waiting_step(ports, workspace_id, execution_id, event["step_id"]).to_payload()
        if action == "fail":
            run.fail(ports, workspace_id, execution_id, _failure(event.get("error") or {}))
            return {"workspace_id": workspace_id, "execution_id": execution_id, "next": {"type": "done"}}
    except StepFailed as exc:
        raise task_error(exc) from exc
    except DocflowError as exc:
        logger.exception("task failed")
        raise task_error(exc) from exc
    raise ValueError(f"unknown action {action!r}")
