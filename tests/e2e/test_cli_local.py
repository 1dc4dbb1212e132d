"""The `docflow` command for the whole API (issue 14, item 2), as a separate process against a
running local mode over HTTP, and on a data dir."""

from __future__ import annotations

import json
import os
import socket
import subprocess
from pathlib import Path

import pytest
from docflow_testing import API_KEY, INVOICE_WORKFLOW, ROOT, LocalMode, invoice_pdf, review_workflow

from docflow import __version__

pytestmark = pytest.mark.e2e

DOCFLOW = str(ROOT / ".venv" / "bin" / "docflow")


def docflow(*args: str, url: str | None = None, key: str | None = API_KEY, cwd: Path | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCFLOW_")}
    env.update({"DOCFLOW_ACCESS_LOG": "0"})
    if url:
        env["DOCFLOW_URL"] = url
    if key:
        env["DOCFLOW_API_KEY"] = key
    return subprocess.run([DOCFLOW, *args], capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd)


def test_given_the_cli_when_asked_its_version_then_it_prints_it() -> None:
    done = docflow("--version", key=None)
    assert done.returncode == 0 and done.stdout.strip() == f"docflow {__version__}"


def test_given_a_workflow_file_when_created_listed_got_and_deleted_then_each_step_shows(
    local_mode: LocalMode, tmp_path: Path,
) -> None:
    spec = tmp_path / "workflow.json"
    spec.write_text(json.dumps(INVOICE_WORKFLOW))
    created = docflow("workflows", "create", "-f", str(spec), url=local_mode.url)
    assert created.returncode == 0, created.stderr
    workflow_id = json.loads(created.stdout)["id"]
    listed = docflow("workflows", "list", url=local_mode.url)
    assert listed.stdout.splitlines()[0].split() == ["ID", "NAME", "TRIGGER_TYPE", "VERSION", "UPDATED_AT"]
    assert any(line.startswith(workflow_id) for line in listed.stdout.splitlines())
    as_json = json.loads(docflow("workflows", "list", "--json", url=local_mode.url).stdout)
    assert [w["id"] for w in as_json] == [workflow_id]
    got = docflow("workflows", "get", workflow_id, url=local_mode.url)
    assert json.loads(got.stdout)["name"] == INVOICE_WORKFLOW["name"]
    assert docflow("workflows", "delete", workflow_id, url=local_mode.url).returncode == 0
    gone = docflow("workflows", "get", workflow_id, url=local_mode.url)
    assert gone.returncode == 1 and "404 (not_found)" in gone.stderr and "Traceback" not in gone.stderr


def test_given_a_wrong_workflow_id_when_run_then_nothing_is_uploaded(local_mode: LocalMode, tmp_path: Path) -> None:
    pdf = tmp_path / "invoice.pdf"
    pdf.write_bytes(invoice_pdf())
    done = docflow("run", "wf_doesnotexist", str(pdf), url=local_mode.url)
    assert done.returncode == 1 and "404" in done.stderr
    assert local_mode.server.runtime.ports.documents.list("default", 10, None).items == []


def test_given_a_run_with_wait_when_it_ends_then_each_step_is_told_and_the_output_printed(
    local_mode: LocalMode, tmp_path: Path,
) -> None:
    workflow_id = local_mode.api.post("/v1/workflows", json=INVOICE_WORKFLOW).json()["id"]
    pdf = tmp_path / "invoice.pdf"
    pdf.write_bytes(invoice_pdf())
    done = docflow("run", workflow_id, str(pdf), "--wait", url=local_mode.url)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["values"]["invoice_number"] == "INV-2041"
    steps = [line for line in done.stderr.splitlines() if " ✓ " in line]
    assert [line.split()[0] for line in steps] == ["parse", "extract"]
    assert all(line.endswith(" ms") for line in steps)
    assert done.stderr.splitlines()[-1].startswith("completed (exe_")
    listed = docflow("executions", "list", workflow_id, "--status", "completed", url=local_mode.url)
    execution_id = listed.stdout.splitlines()[1].split()[0]
    assert execution_id.startswith("exe_")
    got = json.loads(docflow("executions", "get", execution_id, url=local_mode.url).stdout)
    assert got["status"] == "completed" and got["workflow_id"] == workflow_id


def test_given_a_run_waiting_for_review_when_canceled_from_the_cli_then_it_is_canceled(local_mode: LocalMode) -> None:
    workflow_id = local_mode.api.post("/v1/workflows", json=review_workflow()).json()["id"]
    document_id = local_mode.api.upload("invoice.pdf", invoice_pdf())
    execution_id = local_mode.api.post(f"/v1/workflows/{workflow_id}/executions",
                                       json={"document_id": document_id}).json()["id"]
    done = docflow("executions", "cancel", execution_id, url=local_mode.url)
    assert done.returncode == 0, done.stderr
    assert local_mode.api.get(f"/v1/executions/{execution_id}").json()["status"] == "canceled"


def test_given_a_server_url_when_keys_are_managed_then_they_work_and_revoked_ones_stop(local_mode: LocalMode) -> None:
    created = docflow("keys", "create", "--name", "robot", url=local_mode.url)
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip()
    assert secret.startswith("dfk_") and "workspace 'default'" in created.stderr
    listed = docflow("keys", "list", url=local_mode.url)
    robot = next(line for line in listed.stdout.splitlines() if " robot " in line)
    assert secret not in listed.stdout
    assert docflow("workflows", "list", url=local_mode.url, key=secret).returncode == 0
    assert docflow("keys", "revoke", robot.split()[0], url=local_mode.url).returncode == 0
    refused = docflow("workflows", "list", url=local_mode.url, key=secret)
    assert refused.returncode == 1 and "401" in refused.stderr


def test_given_no_url_when_keys_are_managed_then_the_data_dir_is_used_and_named(tmp_path: Path) -> None:
    data = tmp_path / "data"
    created = docflow("keys", "create", "--name", "local", "--data-dir", str(data), "--workspace", "team", key=None)
    assert created.returncode == 0, created.stderr
    assert f"data dir {data.resolve()}" in created.stderr and "workspace 'team'" in created.stderr
    listed = docflow("keys", "list", "--json", "--data-dir", str(data), "--workspace", "team", key=None)
    keys = json.loads(listed.stdout)
    assert [k["name"] for k in keys] == ["local"]
    revoked = docflow("keys", "revoke", keys[0]["id"], "--data-dir", str(data), "--workspace", "team", key=None)
    assert revoked.returncode == 0 and "revoked" in revoked.stderr
    unknown = docflow("keys", "revoke", "key_nope", "--data-dir", str(data), "--workspace", "team", key=None)
    assert unknown.returncode == 1 and "not found" in unknown.stderr


@pytest.mark.parametrize(("args", "message"), [
    (("workflows", "list", "--url", "127.0.0.1:8080"), "give its scheme and host, e.g. http://127.0.0.1:8080"),
    (("run", "wf_1", "x.pdf", "--timeout", "-5"), "must be more than 0 seconds"),
    (("executions", "list", "wf_1", "--limit", "0"), "at least 1"),
])
def test_given_bad_usage_when_run_then_it_exits_2_with_a_clear_message(args: tuple[str, ...], message: str) -> None:
    done = docflow(*args)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr


def test_given_a_port_in_use_when_serving_then_it_says_which_flag_to_use(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = docflow("serve", "--port", str(port), "--data-dir", str(tmp_path / "data"), key=None, timeout=60)
    assert done.returncode == 2, done.stderr
    assert f"port {port} on 127.0.0.1 is in use" in done.stderr and "--port" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(("words", "expected"), [
    (["docflow", "work"], ["workflows"]),
    (["docflow", "executions", "l"], ["list"]),
    (["docflow", "executions", "list", "wf_1", "--status", "c"], ["canceled", "completed"]),
])
def test_given_bash_completion_enabled_when_a_word_is_tabbed_then_docflow_completes_it(
        words: list[str], expected: list[str]) -> None:
    shell_code = docflow("completion", "bash")
    assert shell_code.returncode == 0, shell_code.stderr
    line = " ".join(words)
    # What bash does on <TAB>: the function `complete` registered is called with the line so far.
    script = (f'eval "$(cat)"; COMP_LINE={line!r}; COMP_POINT=${{#COMP_LINE}}; COMP_WORDS=({" ".join(words)}); '
              f'COMP_CWORD={len(words) - 1}; _python_argcomplete docflow {words[-1]} {words[-2]}; '
              'printf "%s\\n" "${COMPREPLY[@]}"')
    env = {**os.environ, "PATH": f"{Path(DOCFLOW).parent}:{os.environ['PATH']}"}
    done = subprocess.run(["bash", "-c", script], input=shell_code.stdout, capture_output=True, text=True,
                          timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    assert sorted(word.strip() for word in done.stdout.splitlines()) == expected


def test_given_a_reader_that_goes_away_when_printing_then_there_is_no_traceback() -> None:
    done = subprocess.run(f"{DOCFLOW} completion zsh | head -1", shell=True, capture_output=True, text=True,
                          timeout=60)
    assert done.stdout.strip() == "#compdef docflow" and "Traceback" not in done.stderr
