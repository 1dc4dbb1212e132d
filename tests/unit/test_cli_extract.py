"""`docflow extract FILE`: the parse and extract steps on one file, no server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from invoice_samples import SAMPLES, render

from docflow.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def invoice(tmp_path: Path) -> Path:
    path = tmp_path / "invoice.pdf"
    path.write_bytes(render(SAMPLES[0]))
    return path


def test_given_an_invoice_when_extracted_as_json_then_values_confidence_and_pages_are_printed(
    capsys: pytest.CaptureFixture[str], invoice: Path
) -> None:
    code, out, _ = run(capsys, "extract", str(invoice), "--json")
    assert code == 0
    result = json.loads(out)
    assert set(result) == {"values", "confidence", "pages"}
    assert result["values"]["invoice_number"] == "BA-10482"
    assert result["values"]["total"] == 2148.0
    assert result["pages"]["total"] == 1
    assert 0.0 <= result["confidence"]["total"] <= 1.0


def test_given_a_fields_file_when_extracted_then_only_those_fields_are_read(
    capsys: pytest.CaptureFixture[str], invoice: Path, tmp_path: Path
) -> None:
    fields = tmp_path / "fields.json"
    fields.write_text(json.dumps([{"name": "vat_number", "labels": ["VAT Reg. No."]}]))
    code, out, _ = run(capsys, "extract", str(invoice), "--fields", str(fields), "--json")
    assert code == 0
    assert json.loads(out)["values"] == {"vat_number": "GB 293 8471 22"}


def test_given_no_json_flag_when_extracted_then_one_line_per_field_is_printed(
    capsys: pytest.CaptureFixture[str], invoice: Path
) -> None:
    code, out, _ = run(capsys, "extract", str(invoice), "--preset", "invoice")
    assert code == 0
    assert any(line.startswith("invoice_number") and "BA-10482" in line for line in out.splitlines())


def test_given_a_corrupt_pdf_when_extracted_then_it_exits_1_with_the_error_code(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(render(SAMPLES[0])[:400])
    code, out, _ = run(capsys, "extract", str(broken), "--json")
    assert code == 1
    assert json.loads(out)["error"]["code"] == "document_corrupt"
    code, _, err = run(capsys, "extract", str(broken))
    assert code == 1
    assert "document_corrupt" in err


def test_given_a_bad_fields_file_when_extracted_then_it_exits_2_naming_the_problem(
    capsys: pytest.CaptureFixture[str], invoice: Path, tmp_path: Path
) -> None:
    fields = tmp_path / "fields.json"
    fields.write_text(json.dumps([{"name": "1bad"}]))
    code, _, err = run(capsys, "extract", str(invoice), "--fields", str(fields))
    assert code == 2
    assert "invalid extract config" in err
    code, _, err = run(capsys, "extract", str(tmp_path / "missing.pdf"))
    assert code == 2
    assert "no such file" in err


def test_given_an_outside_engine_without_aws_credentials_when_extracted_then_it_fails_with_a_clear_code(
    capsys: pytest.CaptureFixture[str], invoice: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    code, out, _ = run(capsys, "extract", str(invoice), "--engine", "textract", "--json")
    assert code == 1
    assert json.loads(out)["error"]["code"] == "engine_credentials_missing"
