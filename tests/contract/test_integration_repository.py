"""The IntegrationRepository contract, run against DynamoDB (moto) and SQLite by the `store`
fixture: whole round trips, workspace-scoped reads, per-workflow lists (a Query on AWS: the fixture
fails on any Scan) and revision-checked saves."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from docflow.domain.errors import BadRequest, Conflict, NotFound
from docflow.domain.integrations import Integration
from docflow.ports import IntegrationRepository

if TYPE_CHECKING:
    from conftest import Store

WS, OTHER = "ws_alpha", "ws_beta"


def repo(store: Store) -> IntegrationRepository:
    assert store.integrations is not None
    return store.integrations


def make(ws: str = WS, workflow_id: str = "wf_one", **changes: object) -> Integration:
    values: dict[str, object] = {
        "workspace_id": ws, "workflow_id": workflow_id, "name": "to finance", "integration_type": "webhook",
        "config": {"url": "https://example.com/hook?token=s3cret", "method": "POST",
                   "headers": {"Authorization": "Bearer abc"}, "ratio": 0.1}}
    return Integration.model_validate({**values, **changes})


def test_given_an_integration_when_added_then_it_reads_back_whole(store: Store) -> None:
    integration = repo(store).add(make())
    assert integration.id.startswith("int_")
    assert repo(store).get(WS, integration.id) == integration


def test_given_another_workspace_when_reading_then_not_found(store: Store) -> None:
    integration = repo(store).add(make())
    with pytest.raises(NotFound):
        repo(store).get(OTHER, integration.id)
    with pytest.raises(NotFound):
        repo(store).delete(OTHER, integration.id)
    with pytest.raises(NotFound):
        repo(store).save(integration.model_copy(update={"workspace_id": OTHER}))
    assert repo(store).list_for_workflow(OTHER, "wf_one", 10, None).items == []
    assert repo(store).get(WS, integration.id) == integration


def test_given_integrations_of_two_workflows_when_listed_then_each_sees_its_own_newest_first_in_pages(
        store: Store) -> None:
    # Newest first is id order (ids sort by creation time; within one millisecond, by their random part).
    mine = sorted((repo(store).add(make(name=f"n{i}")) for i in range(5)), key=lambda i: i.id)
    repo(store).add(make(workflow_id="wf_two"))
    first = repo(store).list_for_workflow(WS, "wf_one", 2, None)
    assert [i.id for i in first.items] == [mine[4].id, mine[3].id] and first.next_cursor
    second = repo(store).list_for_workflow(WS, "wf_one", 2, first.next_cursor)
    third = repo(store).list_for_workflow(WS, "wf_one", 2, second.next_cursor)
    assert [i.id for i in second.items + third.items] == [mine[2].id, mine[1].id, mine[0].id]
    assert third.next_cursor is None
    assert [i.workflow_id for i in repo(store).list_for_workflow(WS, "wf_two", 10, None).items] == ["wf_two"]
    with pytest.raises(BadRequest):
        repo(store).list_for_workflow(WS, "wf_one", 2, "not-a-cursor")
    if store.kind == "aws":
        assert "Query" in store.operations


def test_given_a_read_integration_when_saved_then_revision_moves_and_a_stale_save_conflicts(store: Store) -> None:
    first = repo(store).add(make())
    saved = repo(store).save(first.model_copy(update={"name": "renamed"}))
    assert saved.revision == first.revision + 1
    assert repo(store).get(WS, first.id) == saved
    with pytest.raises(Conflict):
        repo(store).save(first.model_copy(update={"name": "stale"}))
    assert repo(store).get(WS, first.id).name == "renamed"


def test_given_no_integration_when_saved_or_deleted_then_not_found(store: Store) -> None:
    with pytest.raises(NotFound):
        repo(store).save(make())
    integration = repo(store).add(make())
    repo(store).delete(WS, integration.id)
    with pytest.raises(NotFound):
        repo(store).get(WS, integration.id)
    with pytest.raises(NotFound):
        repo(store).delete(WS, integration.id)
    assert repo(store).list_for_workflow(WS, "wf_one", 10, None).items == []
