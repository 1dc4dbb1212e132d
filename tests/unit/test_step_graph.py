"""Definitions are checked on save against the step registry: a definition the engine could not
run (unknown type, bad config, duplicate id, dangling target, unreachable step, cycle) is a 422
naming the step; and the pure `next_step` follows the branch a condition chose."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from docflow.domain.errors import ValidationFailed
from docflow.domain.flow import NextStep, next_step
from docflow.domain.models import Execution, ExecutionLogEntry, StepStatus, WorkflowDefinition
from docflow.steps.registry import STEP_KINDS, validate_workflow_definition

NOW = datetime(2026, 1, 1, tzinfo=UTC)
FIELDS = {"fields": [{"name": "total", "type": "currency", "labels": ["Total"]}]}


def definition(*steps: dict[str, Any]) -> WorkflowDefinition:
    return WorkflowDefinition.model_validate({"steps": list(steps)})


def refused(*steps: dict[str, Any]) -> dict[str, Any]:
    with pytest.raises(ValidationFailed) as raised:
        validate_workflow_definition(definition(*steps))
    return {"message": raised.value.message, "loc": raised.value.details[0]["loc"]}


def cond(step_id: str, if_true: str, if_false: str, **more: Any) -> dict[str, Any]:
    return {"id": step_id, "type": "condition", **more,
            "config": {"expression": "total > `100`", "if_true": if_true, "if_false": if_false}}


def test_given_every_registered_kind_then_each_has_a_config_model_needs_and_an_executor() -> None:
    assert set(STEP_KINDS) == {"parse", "extract", "transform", "condition", "review", "integration"}
    for name, kind in STEP_KINDS.items():
        assert kind.name == name and kind.needs in ("compute", "inline", "network", "wait") and callable(kind.execute)


def test_given_a_branching_definition_when_saved_then_it_is_accepted() -> None:
    validate_workflow_definition(definition(
        {"id": "parse", "type": "parse"}, {"id": "extract", "type": "extract", "config": FIELDS},
        cond("big", "flag", "done"),
        {"id": "flag", "type": "transform", "config": {"set": {"flagged": "`true`"}}, "next": "done"},
        {"id": "done", "type": "transform", "config": {"expression": "@"}}))


@pytest.mark.parametrize(("steps", "message", "loc"), [
    ([], "at least one step", ["body", "definition", "steps"]),
    ([{"id": "a", "type": "parse"}, {"id": "a", "type": "parse"}], "'a' is used twice",
     ["body", "definition", "steps", 1, "id"]),
    ([{"id": "a", "type": "parse", "next": "zz"}], "next 'zz', which is not a step",
     ["body", "definition", "steps", 0, "next"]),
    ([{"id": "a", "type": "parse"}, cond("c", "a", "nowhere")], "if_false 'nowhere'",
     ["body", "definition", "steps", 1, "config", "if_false"]),
    ([{"id": "a", "type": "parse"}, cond("c", "d", "d", next="d"), {"id": "d", "type": "parse"}],
     "cannot also have next", ["body", "definition", "steps", 1, "next"]),
    ([{"id": "a", "type": "parse", "next": "c"}, {"id": "b", "type": "parse"}, {"id": "c", "type": "parse"}],
     "step 'b' is unreachable", ["body", "definition", "steps", 1, "id"]),
    ([{"id": "a", "type": "parse", "next": "b"}, {"id": "b", "type": "parse", "next": "a"}],
     "cycle: a → b → a", ["body", "definition", "steps", 0, "id"]),
    ([{"id": "a", "type": "parse"}, cond("c", "a", "d"), {"id": "d", "type": "parse"}],
     "cycle: a → c → a", ["body", "definition", "steps", 0, "id"]),
    ([{"id": "t", "type": "transform", "config": {"expression": "total >"}}], "not a valid JMESPath expression",
     ["body", "definition", "steps", 0, "config", "expression"]),
    ([{"id": "t", "type": "transform", "config": {"set": {"net": "total - "}}}], "net: not a valid JMESPath",
     ["body", "definition", "steps", 0, "config", "set"]),
    ([{"id": "t", "type": "transform", "config": {}}], "either expression or set",
     ["body", "definition", "steps", 0, "config"]),
    ([{"id": "c", "type": "condition", "config": {"expression": "a ==", "if_true": "c", "if_false": "c"}}],
     "not a valid JMESPath", ["body", "definition", "steps", 0, "config", "expression"]),
], ids=["empty", "duplicate", "dangling-next", "dangling-branch", "next-on-branch",
        "unreachable", "next-cycle", "branch-cycle", "bad-expression", "bad-set", "no-mode", "bad-condition"])
def test_given_a_definition_the_engine_cannot_run_when_saved_then_422_names_the_step(
        steps: list[dict[str, Any]], message: str, loc: list[Any]) -> None:
    error = refused(*steps)
    assert message in error["message"] and error["loc"] == loc, error


def test_given_a_type_this_build_has_no_module_for_when_saved_then_422_names_the_step(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(STEP_KINDS, "review")  # as a build without the review module would be
    error = refused({"id": "a", "type": "review"})
    assert "type 'review' is not available" in error["message"]
    assert error["loc"] == ["body", "definition", "steps", 0, "type"]


def _ran(*entries: tuple[str, str, str | None]) -> list[ExecutionLogEntry]:
    return [ExecutionLogEntry(step_id=step_id, type=step_type, status=StepStatus.COMPLETED, started_at=NOW,  # type: ignore[arg-type]
                              completed_at=NOW, duration_ms=1, branch=branch) for step_id, step_type, branch in entries]


def test_given_a_condition_that_chose_a_branch_when_asked_what_next_then_the_branch_runs() -> None:
    flow = definition({"id": "c", "type": "condition",
                       "config": {"expression": "x", "if_true": "yes", "if_false": "no"}},
                      {"id": "yes", "type": "transform", "config": {"expression": "@"}, "next": "end"},
                      {"id": "no", "type": "transform", "config": {"expression": "@"}},
                      {"id": "end", "type": "transform", "config": {"expression": "@"}})
    run = Execution(workflow_id="wf", workflow_version=1, workspace_id="w", definition=flow)
    assert next_step(run.model_copy(update={"execution_log": _ran(("c", "condition", "no"))})) == \
        NextStep("no", "transform")
    taken = _ran(("c", "condition", "yes"), ("yes", "transform", None))
    assert next_step(run.model_copy(update={"execution_log": taken})) == NextStep("end", "transform")
    done = _ran(("c", "condition", "no"), ("no", "transform", None), ("end", "transform", None))
    assert next_step(run.model_copy(update={"execution_log": done})) is None
