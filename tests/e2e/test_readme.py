"""The README's curl walkthrough, run as written against a live local mode: the README stays true."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from docflow_testing import API_KEY, ROOT, LocalMode, invoice_pdf

pytestmark = pytest.mark.e2e


def walkthrough() -> str:
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- walkthrough:start -->\s*```bash\n(.*?)```\s*<!-- walkthrough:end -->", readme, re.S)
    assert block, "README.md lost its marked walkthrough block"
    return block.group(1)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_readme_walkthrough_runs_as_written(local_mode: LocalMode, tmp_path: Path) -> None:
    (tmp_path / "invoice.pdf").write_bytes(invoice_pdf())
    env = {**os.environ, "API": local_mode.url, "DOCFLOW_API_KEY": API_KEY}
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", walkthrough()], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr + done.stdout
    assert "'invoice_number': 'INV-2041'" in done.stdout and "'total': 1234.5" in done.stdout
    assert done.stdout.strip().endswith("True")  # acknowledged


def event_triggers_block() -> str:
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- event-triggers:start -->\s*```bash\n(.*?)```\s*<!-- event-triggers:end -->", readme, re.S)
    assert block, "README.md lost its marked event-triggers block"
    return block.group(1)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_readme_event_trigger_example_runs_as_written(local_mode: LocalMode, tmp_path: Path) -> None:
    (tmp_path / "invoice.pdf").write_bytes(invoice_pdf())
    env = {**os.environ, "API": local_mode.url, "DOCFLOW_API_KEY": API_KEY}
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", walkthrough() + event_triggers_block()], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr + done.stdout
    assert done.stdout.strip().endswith("event")
