"""Step Functions as the ExecutionLauncher: one state machine run per execution, named by the
execution id so a retried or redelivered start can never create a second run (DESIGN.md §4)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from docflow.adapters.aws.clients import error_code, translate_throttling
from docflow.domain.models import Execution

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
