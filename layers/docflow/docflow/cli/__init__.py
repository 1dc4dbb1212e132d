"""The `docflow` command (DESIGN.md §6): local mode, the whole API from the shell, and
extraction without a server. Exit codes: 0 success, 1 a failed call or run, 2 bad usage.

    docflow serve | run | extract | workflows ... | executions ... | keys ... | completion SHELL

Commands that call an API take `--url` (else DOCFLOW_URL, else http://127.0.0.1:8080) and the
key in DOCFLOW_API_KEY. `keys` works on a data dir unless a URL is given."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from docflow.cli.client import fail

__all__ = ["build_parser", "fail", "main"]

DATA_DIR_HELP = "where local mode keeps its data (DOCFLOW_DATA_DIR, default .docflow)"


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds, not {text}")
    return value


def _page_size(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {text!r}")
    return int(text)


def _keys(args: argparse.Namespace) -> int:
    """On a server when a URL is given (--url or DOCFLOW_URL), else on the data dir."""
    from docflow.cli import local, remote

    if args.url or os.environ.get("DOCFLOW_URL"):
        api = remote.server_keys(args)
        if args.keys_command == "create":
            created = api.call("POST", "/v1/api-keys", json={"name": args.name})
            print(created["key"])
            print(f"key {created['id']} in this server's workspace '{created['workspace_id']}': store it now, "
                  "it is not shown again", file=sys.stderr)
        elif args.keys_command == "list":
            _keys_out(args, remote.every(api, "/v1/api-keys"))
        else:
            api.call("DELETE", f"/v1/api-keys/{args.id}")
            print(f"revoked key {args.id}", file=sys.stderr)
        return 0
    if args.data_dir is None and not os.environ.get("DOCFLOW_DATA_DIR") and not Path(".docflow").exists() \
            and args.keys_command != "create":
        fail("no data dir here (.docflow): pass --data-dir, or --url for a running server")
    from docflow.domain.errors import DocflowError

    with local.DataDirKeys(args) as keys:
        try:
            if args.keys_command == "create":
                secret, key = keys.create(args.name)
                print(secret)
                print(f"key {key['id']} ({key['prefix']}…) written to {keys.where()}: store it now, it is not "
                      "shown again", file=sys.stderr)
            elif args.keys_command == "list":
                print(f"keys of {keys.where()}", file=sys.stderr)
                _keys_out(args, keys.list())
            else:
                keys.revoke(args.id)
                print(f"revoked key {args.id} in {keys.where()}", file=sys.stderr)
        except DocflowError as exc:
            fail(exc.message, 1)
    return 0


def _keys_out(args: argparse.Namespace, items: list[dict[str, Any]]) -> None:
    from docflow.cli import remote

    remote.listing(args, items, ("id", "name", "prefix", "created_at", "last_used_at", "revoked_at"))


def _with_url(parser: argparse.ArgumentParser, default_help: str = "DOCFLOW_URL, else http://127.0.0.1:8080") -> None:
    parser.add_argument("--url", default=None, help=f"API base URL ({default_help})")


def build_parser() -> argparse.ArgumentParser:
    from docflow import __version__
    from docflow.cli import local, remote

    parser = argparse.ArgumentParser(prog="docflow", description="Docflow: document workflows behind a REST API")
    parser.add_argument("--version", action="version", version=f"docflow {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run local mode: the API, the engine and the storage on this machine")
    serve.add_argument("--host", default=None, help="interface to listen on (DOCFLOW_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="port (DOCFLOW_PORT, default 8080; 0 picks a free one)")
    serve.add_argument("--data-dir", type=Path, default=None, help=DATA_DIR_HELP)
    serve.add_argument("--workers", type=int, default=None, help="executions run at once (DOCFLOW_WORKERS)")
    serve.set_defaults(func=local.serve)

    keys = commands.add_parser("keys", help="API keys: on a server with --url (or DOCFLOW_URL), else on a data dir")
    key_commands = keys.add_subparsers(dest="keys_command", required=True)
    for name, help_text in (("create", "create an API key and print it once"), ("list", "list keys (never secrets)"),
                            ("revoke", "revoke a key: it stops working at once")):
        command = key_commands.add_parser(name, help=help_text)
        if name == "create":
            command.add_argument("--name", required=True)
        if name == "revoke":
            command.add_argument("id", help="the key's id (key_…)")
        if name == "list":
            command.add_argument("--json", action="store_true", help="print the keys as JSON")
        command.add_argument("--workspace", default=None, help="on a data dir: the workspace (default 'default')")
        command.add_argument("--data-dir", type=Path, default=None, help=DATA_DIR_HELP)
        _with_url(command, "a running server; default: the data dir")
        command.set_defaults(func=_keys)

    workflows = commands.add_parser("workflows", help="create, list, get and delete workflows")
    workflow_commands = workflows.add_subparsers(dest="workflows_command", required=True)
    create = workflow_commands.add_parser("create", help="create a workflow from a JSON file")
    create.add_argument("-f", "--file", required=True, help="the workflow as JSON (as POST /v1/workflows takes it)")
    create.set_defaults(func=remote.workflows_create)
    listing = workflow_commands.add_parser("list", help="list workflows, newest first")
    listing.add_argument("--json", action="store_true", help="print the workflows as JSON")
    listing.set_defaults(func=remote.workflows_list)
    for name, func in (("get", remote.workflows_get), ("delete", remote.workflows_delete)):
        command = workflow_commands.add_parser(name, help=f"{name} one workflow")
        command.add_argument("id", help="the workflow's id (wf_…)")
        command.set_defaults(func=func)
    for command in (create, listing, *workflow_commands.choices.values()):
        if not any(a.dest == "url" for a in command._actions):
            _with_url(command)

    executions = commands.add_parser("executions", help="list, get and cancel runs")
    execution_commands = executions.add_subparsers(dest="executions_command", required=True)
    runs = execution_commands.add_parser("list", help="a workflow's runs, newest first")
    runs.add_argument("workflow_id")
    runs.add_argument("--status", choices=["queued", "processing", "review", "completed", "failed", "canceled"])
    runs.add_argument("--limit", type=_page_size, default=20, help="at most this many (default 20)")
    runs.add_argument("--json", action="store_true", help="print the runs as JSON")
    runs.set_defaults(func=remote.executions_list)
    for name, func, help_text in (("get", remote.executions_get, "one run, with its log and output"),
                                  ("cancel", remote.executions_cancel, "stop a run that has not finished")):
        command = execution_commands.add_parser(name, help=help_text)
        command.add_argument("id", help="the execution's id (exe_…)")
        command.set_defaults(func=func)
    for command in execution_commands.choices.values():
        _with_url(command)

    run = commands.add_parser("run", help="upload FILE and run workflow WORKFLOW_ID on it")
    run.add_argument("workflow_id")
    run.add_argument("file")
    run.add_argument("--wait", action="store_true", help="show each step as it ends and print the output as JSON")
    _with_url(run)
    run.add_argument("--content-type", default=None, help="override the type guessed from the file name")
    run.add_argument("--timeout", type=_seconds, default=600.0, help="seconds --wait waits at most (default 600)")
    run.set_defaults(func=remote.run)

    extract = commands.add_parser("extract", help="parse FILE and print its fields, on this machine (no server)")
    extract.add_argument("file")
    which = extract.add_mutually_exclusive_group()
    which.add_argument("--preset", choices=["invoice"], default=None, help="built-in fields (default: invoice)")
    which.add_argument("--fields", default=None, help="a JSON file: a list of fields as in an extract step")
    extract.add_argument("--engine", choices=["rules", "textract", "bedrock"], default="rules",
                         help="textract and bedrock call AWS with your credentials (default: rules)")
    extract.add_argument("--json", action="store_true", help='print {"values", "confidence", "pages"} as JSON')
    extract.add_argument("--content-type", default=None, help="override the type guessed from the file name")
    extract.set_defaults(func=local.extract)

    completion = commands.add_parser("completion", help="print the shell code that completes docflow's commands",
                                     description='enable with: eval "$(docflow completion bash)" in ~/.bashrc '
                                                 '(zsh: in ~/.zshrc; fish: docflow completion fish | source)')
    completion.add_argument("shell", choices=["bash", "zsh", "fish"])
    completion.set_defaults(func=_completion)
    return parser


def _completion(args: argparse.Namespace) -> int:
    import argcomplete

    print(argcomplete.shellcode(["docflow"], shell=args.shell))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    if "_ARGCOMPLETE" in os.environ:  # the shell asks for completions (argcomplete's hook): answer, exit
        import argcomplete

        argcomplete.autocomplete(parser)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except BrokenPipeError:  # the reader went away (`| head`): not a failure of the command
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit's flush is quiet
        return 0
