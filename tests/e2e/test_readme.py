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


def marked_block(name: str) -> str:
    """The bash block of README.md between `<!-- name:start -->` and `<!-- name:end -->`."""
    readme = (ROOT / "README.md").read_text()
    block = re.search(rf"<!-- {name}:start -->\s*```bash\n(.*?)```\s*<!-- {name}:end -->", readme, re.S)
    assert block, f"README.md lost its marked {name} block"
    return block.group(1)


def walkthrough() -> str:
    return marked_block("walkthrough")


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_readme_walkthrough_runs_as_written(local_mode: LocalMode, tmp_path: Path) -> None:
    (tmp_path / "invoice.pdf").write_bytes(invoice_pdf())
    env = {**os.environ, "API": local_mode.url, "DOCFLOW_API_KEY": API_KEY}
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", walkthrough()], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr + done.stdout
    assert '"invoice_number": "INV-2041"' in done.stdout and '"total": 1234.5' in done.stdout
    assert "{'" not in done.stdout  # JSON, never a Python repr
    assert done.stdout.strip().endswith("true")  # acknowledged


def run_blocks(local_mode: LocalMode, tmp_path: Path, *names: str) -> str:
    """The walkthrough and then the named blocks, in one shell, as a reader would paste them."""
    (tmp_path / "invoice.pdf").write_bytes(invoice_pdf())
    env = {**os.environ, "API": local_mode.url, "DOCFLOW_API_KEY": API_KEY}
    script = walkthrough() + "".join(marked_block(name) for name in names)
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr + done.stdout
    return done.stdout.strip()


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_readme_event_trigger_example_runs_as_written(local_mode: LocalMode, tmp_path: Path) -> None:
    assert run_blocks(local_mode, tmp_path, "event-triggers").endswith("event")


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_readme_multipart_example_runs_as_written(local_mode: LocalMode, tmp_path: Path) -> None:
    assert run_blocks(local_mode, tmp_path, "multipart").endswith("totals include VAT")


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_readme_schedule_example_runs_as_written(local_mode: LocalMode, tmp_path: Path) -> None:
    out = run_blocks(local_mode, tmp_path, "schedules").splitlines()
    assert out[-3:] == ["0 9 * * 1-5", "*/30 * * * *", "204"]
    assert out[-4].startswith('["') and out[-4].count("T09:00:00-0") == 3


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_readme_branches_example_runs_as_written(local_mode: LocalMode, tmp_path: Path) -> None:
    assert run_blocks(local_mode, tmp_path, "branches").endswith('"route": "review"}')


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_readme_integrations_example_runs_as_written(local_mode: LocalMode, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    real = socket.getaddrinfo
    public = {"hooks.slack.com": "93.184.215.14", "erp.example.com": "93.184.215.15"}  # no network in tests

    def getaddrinfo(host: str, port: object, *args: object, **kwargs: object) -> object:
        if host in public:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (public[host], port or 443))]
        return real(host, port, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)  # the server runs in this process
    out = run_blocks(local_mode, tmp_path, "integrations").splitlines()
    assert out[-5:] == [
        '{"webhook_url": "https://hooks.slack.com/services/T0…/****abcd", "channel": "#finance"}',
        "#ap",
        '{"url": "https://erp.example.com/in?key=****cdef", "method": "POST", "headers": {"Authorization": '
        '"****0123"}}',
        '[{"loc": ["body", "config", "url"], "msg": "169.254.169.254 is a cloud metadata address"}]',
        "204",
    ]


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_readme_templates_example_runs_as_written(local_mode: LocalMode, tmp_path: Path) -> None:
    assert run_blocks(local_mode, tmp_path, "templates").splitlines()[-2:] == ["Invoice processing", "parties"]


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_readme_review_example_runs_as_written(local_mode: LocalMode, tmp_path: Path) -> None:
    out = run_blocks(local_mode, tmp_path, "review").splitlines()
    assert out[-4].startswith("/v1/reviews/rev_") and out[-4].endswith("/pages/1")
    assert out[-3] == "'total' must be a number (a currency field), got a string"
    assert out[-2:] == ['["total"]', "1234.5 1250.0"]


def test_readme_extract_cli_example_runs_as_written(tmp_path: Path) -> None:
    (tmp_path / "invoice.pdf").write_bytes(invoice_pdf())
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", marked_block("extract-cli")], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr + done.stdout
    lines = done.stdout.strip().splitlines()
    assert any(line.startswith("invoice_number") and line.endswith("INV-2041") for line in lines)
    assert '"total": 1234.5' in lines[-2] and '"issuer": "ACME Supplies Ltd"' in lines[-2]
    assert lines[-1] == '{"values": {"total": 1234.5}, "confidence": {"total": 0.98}, "pages": {"total": 1}}'


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_readme_invoice_preset_example_runs_as_written(local_mode: LocalMode, tmp_path: Path) -> None:
    out = run_blocks(local_mode, tmp_path, "preset").splitlines()[-1]
    assert out == ('{"invoice_number": ["INV-2041", 0.95], "date": ["2025-03-07", 0.95], "total": [1234.5, 0.95], '
                   '"currency": ["USD", 0.95], "issuer": ["ACME Supplies Ltd", 0.75]}')
