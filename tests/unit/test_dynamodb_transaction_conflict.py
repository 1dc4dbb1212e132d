"""DynamoDB's answers to racing idempotent starts, replayed deterministically with botocore's Stubber.

moto cannot produce a TransactionConflict (and is not thread-safe around transactions), so the
adapter's handling of the real service's race is pinned here, answer by answer."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from docflow.adapters.aws.dynamodb import DynamoExecutionRepository
from docflow.adapters.common import dump_model
from docflow.domain.errors import Conflict
from docflow.domain.models import Execution

TABLE = "docflow-stub"


def _execution(**changes: Any) -> Execution:
    return Execution(workflow_id="wf_1", workflow_version=1, workspace_id="ws_1", idempotency_key="k", **changes)


def _cancelled(*reasons: dict[str, Any]) -> dict[str, Any]:
    return {"service_error_code": "TransactionCanceledException", "service_message": "cancelled",
            "http_status_code": 400, "service_error_meta": {}, "response_meta": {},
            "modeled_fields": {"CancellationReasons": list(reasons)}}


@pytest.fixture
def stubbed() -> Any:
    client = boto3.client("dynamodb", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def test_given_a_transaction_conflict_when_the_other_start_commits_then_its_run_is_returned(stubbed: Any,
                                                                                           monkeypatch: Any) -> None:
    client, stubber = stubbed
    monkeypatch.setattr("docflow.adapters.aws.dynamodb.time.sleep", lambda _: None)
    winner = _execution()
    stubber.add_client_error("transact_write_items",
                             **_cancelled({"Code": "None"}, {"Code": "TransactionConflict"}))
    stubber.add_client_error("transact_write_items", **_cancelled(
        {"Code": "None"}, {"Code": "ConditionalCheckFailed", "Item": {"execution_id": {"S": winner.id}}}))
    stubber.add_response("get_item", {"Item": {"data": {"S": dump_model(winner)}}})
    repository = DynamoExecutionRepository(client, TABLE, blobs=None)  # type: ignore[arg-type]

    assert repository.add(_execution()) == winner


def test_given_conflicts_that_never_settle_when_adding_then_a_conflict_is_raised(stubbed: Any,
                                                                                 monkeypatch: Any) -> None:
    client, stubber = stubbed
    monkeypatch.setattr("docflow.adapters.aws.dynamodb.time.sleep", lambda _: None)
    for _ in range(5):
        stubber.add_client_error("transact_write_items",
                                 **_cancelled({"Code": "TransactionConflict"}, {"Code": "None"}))
    repository = DynamoExecutionRepository(client, TABLE, blobs=None)  # type: ignore[arg-type]

    with pytest.raises(Conflict, match="did not settle"):
        repository.add(_execution())
