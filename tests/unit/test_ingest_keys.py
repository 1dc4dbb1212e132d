"""The drop folder's keys and ids: pure functions of the ingest use-case and the domain clock."""

from __future__ import annotations

import re

import pytest

from docflow.domain.clock import new_id, stable_id
from docflow.usecases.ingest import InboxKey, parse_inbox_key


@pytest.mark.parametrize(("key", "expected"), [
    ("inbox/wf_1/invoice.pdf", InboxKey("wf_1", "invoice.pdf")),
    ("inbox/wf_1/2026/03/invoice.pdf", InboxKey("wf_1", "2026/03/invoice.pdf")),
    ("inbox/invoice.pdf", None),       # no workflow folder
    ("inbox/wf_1/", None),             # an S3 "folder" marker
    ("inbox//invoice.pdf", None),
    ("inbox/wf_1//invoice.pdf", None),
    ("processed/wf_1/invoice.pdf", None),
])
def test_given_a_key_when_parsed_then_workflow_id_and_name_below_it(key: str, expected: InboxKey | None) -> None:
    assert parse_inbox_key(key) == expected


def test_given_an_inbox_key_when_moved_then_the_same_path_under_the_other_prefix() -> None:
    key = InboxKey("wf_1", "2026/invoice.pdf")
    assert key.under("processed") == "processed/wf_1/2026/invoice.pdf"
    assert key.filename == "invoice.pdf"


def test_given_a_seed_when_a_stable_id_is_made_then_the_same_seed_names_the_same_id_shaped_like_new_ids() -> None:
    first, again, other = stable_id("doc", "s3:b/inbox/wf/a.pdf#v1"), stable_id("doc", "s3:b/inbox/wf/a.pdf#v1"), \
        stable_id("doc", "s3:b/inbox/wf/a.pdf#v2")
    assert first == again != other
    shape = re.compile(r"^doc_[0-9a-hjkmnp-tv-z]{26}$")
    assert shape.match(first) and shape.match(new_id("doc"))
