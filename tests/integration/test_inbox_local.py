"""Local mode's drop folder: the inbox watcher over a real data dir (SQLite, files, the local
engine), driven by explicit `poll_once()` calls instead of its timer, so "two polls" is exact."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from docflow_testing import INVOICE_WORKFLOW, invoice_pdf

from docflow.adapters.local.inbox import LocalInboxFile
from docflow.runtime.local import LocalRuntime
from docflow.runtime.local.inbox import InboxWatcher, is_temporary
from docflow.runtime.settings import LocalSettings
from docflow.usecases.workflows import create_workflow

WORKSPACE = "default"


class Local:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.runtime = LocalRuntime(LocalSettings(data_dir=data_dir, port=0, workers=1, step_processes=0))
        self.watcher = InboxWatcher(self.runtime.ports, data_dir, interval_seconds=0)
        self.watcher.start()  # interval 0: creates inbox/, starts no thread

    def workflow(self, **changes: Any) -> str:
        return create_workflow(self.runtime.ports.workflows, WORKSPACE, {**INVOICE_WORKFLOW, **changes}).id

    def runs(self, workflow_id: str) -> list[Any]:
        return self.runtime.ports.executions.list_for_workflow(WORKSPACE, workflow_id, None, 100, None).items

    def files(self, folder: str) -> list[str]:
        root = self.data_dir / folder
        return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()) if root.exists() else []

    def close(self) -> None:
        self.runtime.engine.wait_idle(30)
        self.runtime.close()


@pytest.fixture
def local(tmp_path: Path) -> Iterator[Local]:
    instance = Local(tmp_path / "data")
    yield instance
    instance.close()


def drop(local: Local, relative: str, data: bytes) -> Path:
    path = local.data_dir / "inbox" / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_given_a_pdf_when_it_is_unchanged_for_two_polls_then_one_s3_run_and_it_moves_to_processed(
        local: Local) -> None:
    workflow_id = local.workflow()
    drop(local, f"{workflow_id}/invoice.pdf", invoice_pdf())

    assert local.watcher.poll_once() == []  # seen once: maybe still being written
    [outcome] = local.watcher.poll_once()

    assert outcome.status == "started" and outcome.destination == f"processed/{workflow_id}/invoice.pdf"
    [run] = local.runs(workflow_id)
    assert run.id == outcome.execution_id and run.trigger_method == "s3" and run.name == "invoice.pdf"
    assert run.trigger_data["key"] == f"inbox/{workflow_id}/invoice.pdf"
    assert local.files("inbox") == [] and local.files("processed") == [f"{workflow_id}/invoice.pdf"]
    assert local.watcher.poll_once() == []


def test_given_a_file_still_growing_when_polled_then_it_waits_until_its_size_is_stable(local: Local) -> None:
    workflow_id = local.workflow()
    pdf = invoice_pdf()
    path = drop(local, f"{workflow_id}/invoice.pdf", pdf[:100])
    assert local.watcher.poll_once() == []
    with path.open("ab") as handle:
        handle.write(pdf[100:500])
    assert local.watcher.poll_once() == []  # changed since the last poll
    with path.open("ab") as handle:
        handle.write(pdf[500:])
    assert local.watcher.poll_once() == []  # changed again
    assert local.runs(workflow_id) == []

    [outcome] = local.watcher.poll_once()

    assert outcome.status == "started"
    document = local.runtime.ports.documents.get(WORKSPACE, str(outcome.document_id))
    assert document.size == len(pdf) and local.runtime.ports.blobs.read(document.storage_key) == pdf


def test_given_a_file_written_under_a_temporary_name_when_renamed_then_it_is_picked_up(local: Local) -> None:
    workflow_id = local.workflow()
    temporary = drop(local, f"{workflow_id}/.invoice.pdf.tmp", invoice_pdf())
    part = drop(local, f"{workflow_id}/big.pdf.part", invoice_pdf())
    for _ in range(3):
        assert local.watcher.poll_once() == []

    temporary.rename(temporary.with_name("invoice.pdf"))
    assert local.watcher.poll_once() == []
    [outcome] = local.watcher.poll_once()

    assert outcome.key == f"inbox/{workflow_id}/invoice.pdf" and outcome.status == "started"
    assert local.files("inbox") == [f"{workflow_id}/big.pdf.part"] and part.exists()


@pytest.mark.parametrize(("name", "temporary"), [
    ("invoice.pdf", False), (".invoice.pdf", True), ("invoice.pdf.tmp", True), ("invoice.PART", True),
    ("invoice.pdf~", True), ("invoice.pdf.crdownload", True), ("tmp.pdf", False),
])
def test_given_a_name_when_checked_then_temporary_names_are_skipped(name: str, temporary: bool) -> None:
    assert is_temporary(name) is temporary


def test_given_a_crash_after_the_start_before_the_move_when_restarted_then_the_same_run_and_then_moved(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """kill -9 between start_execution and the move: the file is still in the inbox, untouched."""
    first = Local(tmp_path / "data")
    workflow_id = first.workflow()
    drop(first, f"{workflow_id}/invoice.pdf", invoice_pdf())

    def killed(self: LocalInboxFile, destination_key: str) -> None:
        raise SystemExit("kill -9")

    monkeypatch.setattr(LocalInboxFile, "move", killed)
    first.watcher.poll_once()
    with pytest.raises(SystemExit):
        first.watcher.poll_once()
    [started] = first.runs(workflow_id)
    first.close()
    monkeypatch.undo()

    second = Local(tmp_path / "data")
    try:
        assert second.watcher.poll_once() == []  # a new watcher knows nothing: two polls again
        [outcome] = second.watcher.poll_once()

        assert outcome.status == "replayed" and outcome.execution_id == started.id
        assert [r.id for r in second.runs(workflow_id)] == [started.id]
        assert second.files("inbox") == [] and second.files("processed") == [f"{workflow_id}/invoice.pdf"]
    finally:
        second.close()


def test_given_a_file_type_the_workflow_refuses_when_polled_then_failed_with_an_error_file(local: Local) -> None:
    workflow_id = local.workflow(file_input_config={"file_fields": [
        {"key": "invoice", "content_types": ["application/pdf"]}]})
    drop(local, f"{workflow_id}/scan.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64)

    local.watcher.poll_once()
    [outcome] = local.watcher.poll_once()

    assert outcome.status == "failed" and outcome.code == "unsupported_media_type"
    assert local.files("failed") == [f"{workflow_id}/scan.png", f"{workflow_id}/scan.png.error.json"]
    error = json.loads((local.data_dir / "failed" / workflow_id / "scan.png.error.json").read_text())
    assert set(error) == {"code", "message", "key", "time"} and error["code"] == "unsupported_media_type"
    assert "image/png" in error["message"] and error["key"] == f"inbox/{workflow_id}/scan.png"
    assert local.runs(workflow_id) == [] and local.files("files") == []


def test_given_an_unknown_workflow_folder_or_a_file_outside_one_when_polled_then_failed(local: Local) -> None:
    drop(local, "wf_unknown/invoice.pdf", invoice_pdf())
    drop(local, "loose.pdf", invoice_pdf())

    local.watcher.poll_once()
    outcomes = {o.key: o for o in local.watcher.poll_once()}

    assert outcomes["inbox/wf_unknown/invoice.pdf"].code == "unknown_workflow"
    assert outcomes["inbox/loose.pdf"].code == "missing_workflow_id"
    assert local.files("failed") == ["loose.pdf", "loose.pdf.error.json", "wf_unknown/invoice.pdf",
                                     "wf_unknown/invoice.pdf.error.json"]


def test_given_the_same_name_dropped_twice_when_processed_then_two_runs_and_both_files_kept(local: Local) -> None:
    workflow_id = local.workflow()
    for number in ("INV-1", "INV-2"):
        drop(local, f"{workflow_id}/invoice.pdf", invoice_pdf(number))
        local.watcher.poll_once()
        [outcome] = local.watcher.poll_once()
        assert outcome.status == "started"

    assert len(local.runs(workflow_id)) == 2
    assert local.files("processed") == [f"{workflow_id}/invoice (2).pdf", f"{workflow_id}/invoice.pdf"]
