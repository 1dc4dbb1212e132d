"""The pure rules of human review: which fields a person sees, when a step passes alone, what a
correction must look like, and who may act on a task when."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from docflow.domain.errors import Conflict, ValidationFailed
from docflow.domain.reviews import (
    Reviewer,
    ReviewField,
    ReviewStatus,
    ReviewTask,
    auto_approvable,
    changed_fields,
    corrected_values,
    ensure_not_claimed_by_other,
    ensure_open,
    review_id,
)
from docflow.steps.review import ReviewConfig, review_fields

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
FIELDS = [
    ReviewField(name="invoice_number", type="string", required=True, predicted="INV-1", confidence=0.9),
    ReviewField(name="total", type="currency", predicted=12.5, confidence=0.6),
    ReviewField(name="date", type="date", predicted="2025-03-07", confidence=0.75),
    ReviewField(name="paid", type="boolean", predicted=False, confidence=0.5),
    ReviewField(name="tags", type="list", predicted=["a"], confidence=0.5),
    ReviewField(name="count", type="number", predicted=3, confidence=0.5),
]


def _task(**changes: Any) -> ReviewTask:
    task = ReviewTask(id="rev_1", workspace_id="w", workflow_id="wf_1", execution_id="exe_1", step_id="check",
                      fields=FIELDS, created_at=NOW, due_at=NOW + timedelta(hours=72))
    return task.model_copy(update=changes)


def test_given_corrections_of_every_type_when_applied_then_unsent_fields_keep_their_prediction() -> None:
    values = corrected_values(_task(), {"total": 13, "date": "2025-03-08", "paid": True, "tags": ["b", "c"]})
    assert values == {"invoice_number": "INV-1", "total": 13, "date": "2025-03-08", "paid": True,
                      "tags": ["b", "c"], "count": 3}
    assert changed_fields(_task(), values) == ["total", "date", "paid", "tags"]


@pytest.mark.parametrize(("name", "value", "message"), [
    ("total", "12.50", "must be a number"),
    ("total", True, "must be a number"),
    ("count", float("nan"), "must be a number"),
    ("date", "7 March 2025", "YYYY-MM-DD"),
    ("date", "2025-02-30", "YYYY-MM-DD"),
    ("paid", "yes", "true or false"),
    ("tags", "a,b", "list of strings"),
    ("invoice_number", 42, "must be a string"),
    ("invoice_number", None, "is required"),
    ("colour", "red", "not a field of this review"),
])
def test_given_a_bad_value_when_corrected_then_validation_names_the_field(name: str, value: Any,
                                                                          message: str) -> None:
    with pytest.raises(ValidationFailed) as raised:
        corrected_values(_task(), {name: value})
    assert [d["field"] for d in raised.value.details] == [name]
    assert message in raised.value.details[0]["msg"]


def test_given_several_bad_values_when_corrected_then_every_one_is_named_once() -> None:
    with pytest.raises(ValidationFailed) as raised:
        corrected_values(_task(), {"total": "x", "paid": 1, "invoice_number": ""})
    assert sorted(d["field"] for d in raised.value.details) == ["invoice_number", "paid", "total"]


def test_given_a_threshold_when_fields_are_above_or_below_then_auto_approval_follows() -> None:
    high = [f.model_copy(update={"confidence": 0.95}) for f in FIELDS]
    assert auto_approvable(high, 0.9)
    assert not auto_approvable(high, None)
    assert not auto_approvable(FIELDS, 0.9)
    missing = [high[0].model_copy(update={"predicted": None}), *high[1:]]
    assert not auto_approvable(missing, 0.9)  # a required field without a value needs a person


def test_given_an_ended_or_expired_task_when_answered_then_409() -> None:
    with pytest.raises(Conflict, match="already completed"):
        ensure_open(_task(status=ReviewStatus.COMPLETED), NOW)
    with pytest.raises(Conflict, match="expired"):
        ensure_open(_task(), NOW + timedelta(hours=72))
    ensure_open(_task(), NOW + timedelta(hours=71))


def test_given_a_live_claim_when_another_key_acts_then_409_until_it_lapses() -> None:
    claimed = _task(claimed_by=Reviewer(key_id="key_a", name="Ann"), claimed_until=NOW + timedelta(minutes=15))
    with pytest.raises(Conflict, match="claimed by 'Ann'"):
        ensure_not_claimed_by_other(claimed, "key_b", NOW)
    ensure_not_claimed_by_other(claimed, "key_a", NOW)
    ensure_not_claimed_by_other(claimed, "key_b", NOW + timedelta(minutes=15))


def test_given_one_run_and_step_when_the_task_id_is_made_twice_then_it_is_the_same() -> None:
    assert review_id("w", "exe_1", "check") == review_id("w", "exe_1", "check")
    assert review_id("w", "exe_1", "check") != review_id("w", "exe_2", "check")


def test_given_values_and_extract_details_when_fields_are_listed_then_types_and_boxes_come_along() -> None:
    details = {"total": {"type": "currency", "required": True, "page": 1, "bbox": [1.0, 2.0, 3.0, 4.0]}}
    fields = review_fields({"total": 5.0, "route": "auto", "flag": True}, {"total": 0.7}, details, None)
    assert [(f.name, f.type, f.required, f.confidence) for f in fields] == [
        ("total", "currency", True, 0.7), ("route", "string", False, 1.0), ("flag", "boolean", False, 1.0)]
    assert fields[0].bbox == [1.0, 2.0, 3.0, 4.0]
    only = review_fields({"total": 5.0, "route": "auto"}, {}, details, ["total", "absent"])
    assert [(f.name, f.predicted, f.confidence) for f in only] == [("total", 5.0, 1.0), ("absent", None, 0.0)]


def test_given_review_config_when_timeout_hours_is_tiny_then_the_wait_is_at_least_a_second() -> None:
    assert ReviewConfig(timeout_hours=1 / 3600).timeout_seconds == 1
    assert ReviewConfig().timeout_seconds == 72 * 3600
    with pytest.raises(ValueError, match="unique"):
        ReviewConfig(fields=["a", "a"])
