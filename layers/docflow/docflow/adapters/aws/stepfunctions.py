"""Step Functions as the ExecutionLauncher: one state machine run per execution, named by the
execution id so a retried or redelivered start can never create a second run (DESIGN.md §4)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from docflow.adapters.aws.clients import error_code, translate_throttling
from docflow.domain.models import Execution, ExecutionError

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient


def execution_arn(state_machine_arn: str, execution_id: str) -> str:
    """arn:…:stateMachine:<name> → arn:…:execution:<name>:<execution id>."""
    if ":stateMachine:" not in state_machine_arn:
        raise ValueError(f"not a state machine ARN: {state_machine_arn}")
    return state_machine_arn.replace(":stateMachine:", ":execution:", 1) + f":{execution_id}"


class StepFunctionsLauncher:
    def __init__(self, client: SFNClient, state_machine_arn: str) -> None:
        self._client = client
        self._state_machine_arn = state_machine_arn

    def launch(self, execution: Execution) -> None:
        """ExecutionAlreadyExists means an earlier attempt started this very run: success."""
        payload = json.dumps({"workspace_id": execution.workspace_id, "execution_id": execution.id},
                             separators=(",", ":"))
        try:
            with translate_throttling("stepfunctions"):
                self._client.start_execution(stateMachineArn=self._state_machine_arn, name=execution.id,
                                             input=payload)
        except ClientError as exc:
            if error_code(exc) != "ExecutionAlreadyExists":
                raise

    def cancel(self, execution: Execution) -> None:
        """Stopping a run that never started (or is long gone) is not an error: the caller
        marks the execution canceled either way."""
        try:
            with translate_throttling("stepfunctions"):
                self._client.stop_execution(executionArn=execution_arn(self._state_machine_arn, execution.id),
                                            error="Docflow.Canceled", cause="canceled through the API")
        except ClientError as exc:
            if error_code(exc) != "ExecutionDoesNotExist":
                raise


# A token the state machine no longer waits on: its wait timed out (the timeout path then reads the
# stored answer) or the run was stopped. Not an error for the caller, whose answer is stored.
_GONE_TOKEN_ERRORS = frozenset({"TaskTimedOut", "TaskDoesNotExist", "InvalidToken"})


class StepFunctionsCallbacks:
    """The WaitingRuns port on AWS: a run waiting for a review sits in a `.waitForTaskToken` Task."""

    def __init__(self, client: SFNClient) -> None:
        self._client = client

    def resume(self, execution: Execution, task_token: str | None, progress: dict[str, Any]) -> None:
        if task_token is None:
            return  # the waiting Task has not stored its token yet: it sends this itself (await_review)
        self._send(lambda: self._client.send_task_success(
            taskToken=task_token, output=json.dumps(progress, separators=(",", ":"))))

    def abort(self, execution: Execution, task_token: str | None, error: ExecutionError) -> None:
        if task_token is None:
            return
        cause = json.dumps({"code": error.code, "message": error.message}, separators=(",", ":"))
        self._send(lambda: self._client.send_task_failure(taskToken=task_token, error=f"Docflow.{error.code}",
                                                          cause=cause[:32768]))

    @staticmethod
    def _send(call: Callable[[], object]) -> None:
        try:
            with translate_throttling("stepfunctions"):
                call()
        except ClientError as exc:
            if error_code(exc) not in _GONE_TOKEN_ERRORS:
                raise
