"""A run started by a multipart/form-data request (TableFlow style): the files come with the
request, one part per file field of the workflow's `file_input_config`, beside `name`, `metadata`
and per-file `<key>_metadata` / `<key>_guidance`. The files become documents, then the run starts
through the one `start_execution`."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from docflow.domain import sniff
from docflow.domain.errors import Conflict, PayloadTooLarge, UnsupportedMediaType, ValidationFailed
from docflow.domain.models import FileField, RunInput, TriggerMethod, Workflow
from docflow.ports import Ports
from docflow.usecases.documents import ACCEPTED_CONTENT_TYPES, store_document
from docflow.usecases.executions import Started, StartRequest, fingerprint_of, replay, start_execution

# Text parts every form run may carry, besides the per-file ones.
RUN_FIELDS = ("name", "title", "metadata", "start_step", "end_step", "result_step")


@dataclass(frozen=True)
class FormPart:
    name: str
    data: bytes
    filename: str | None = None
    content_type: str | None = None


@dataclass(frozen=True)
class FormRun:
    parts: list[FormPart]
    idempotency_key: str | None = None
    triggered_by: str | None = None
    trigger_method: TriggerMethod = "api"


@dataclass
class _File:
    field: FileField
    part: FormPart
    content_type: str
    metadata: dict[str, Any] = field(default_factory=dict)
    guidance: str | None = None


def start_form_run(ports: Ports, workspace_id: str, workflow_id: str, form: FormRun) -> Started:
    workflow = ports.workflows.get(workspace_id, workflow_id)
    files, text = _classify(workflow, form.parts)
    _check_required(workflow, files)
    for item in files:
        _check_file(item)
    _attach_per_file_text(files, text)
    metadata = _json_object(text.pop("metadata", None), "metadata")
    name = text.get("name") or text.get("title")
    fingerprint = fingerprint_of({
        "workflow_id": workflow_id, "text": text, "metadata": metadata,
        "files": [[f.part.name, f.part.filename, f.content_type, hashlib.sha256(f.part.data).hexdigest(),
                   f.metadata, f.guidance] for f in files],
    })
    replayed = replay(ports, workspace_id, workflow_id, form.idempotency_key, fingerprint)
    if replayed is not None:  # checked before storing files: a retry stores nothing twice
        return replayed
    if not workflow.enabled:
        raise Conflict(f"workflow {workflow_id} is disabled; enable it to start runs")
    inputs = []
    for item in files:
        document = store_document(ports, workspace_id, item.part.filename or item.part.name, item.content_type,
                                  item.part.data)
        inputs.append(RunInput(document_id=document.id, key=item.part.name, metadata=item.metadata,
                               guidance=item.guidance))
    request = StartRequest(
        document_ids=[i.document_id for i in inputs], name=name, metadata=metadata, inputs=inputs,
        start_step=text.get("start_step"), end_step=text.get("end_step"), result_step=text.get("result_step"),
        trigger_method=form.trigger_method, triggered_by=form.triggered_by, idempotency_key=form.idempotency_key,
        fingerprint=fingerprint)
    return start_execution(ports, workspace_id, workflow_id, request)


def _invalid(loc: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, details=[{"loc": ["body", loc], "msg": message}])


def _file_field_of(workflow: Workflow, part_name: str) -> FileField | None:
    for file_field in workflow.file_input_config.file_fields:
        if part_name == file_field.key:
            return file_field
        if file_field.multiple and re.fullmatch(rf"{re.escape(file_field.key)}_[1-9][0-9]*", part_name):
            return file_field
    return None


def _text_names(workflow: Workflow, files: list[_File]) -> set[str]:
    keys = {f.key for f in workflow.file_input_config.file_fields} | {f.part.name for f in files}
    return {*RUN_FIELDS, *(f"{k}_metadata" for k in keys), *(f"{k}_guidance" for k in keys)}


def _classify(workflow: Workflow, parts: list[FormPart]) -> tuple[list[_File], dict[str, str]]:
    files: list[_File] = []
    texts: list[FormPart] = []
    seen: set[str] = set()
    for part in parts:
        if part.name in seen:
            raise _invalid(part.name, f"'{part.name}' was sent twice; a multi-file field takes "
                                      f"'{part.name}_1', '{part.name}_2', ...")
        seen.add(part.name)
        file_field = _file_field_of(workflow, part.name)
        if file_field is not None:
            files.append(_File(field=file_field, part=part, content_type=""))
        else:
            texts.append(part)
    allowed = _text_names(workflow, files)
    text: dict[str, str] = {}
    for part in texts:
        if part.name not in allowed:
            file_keys = ", ".join(_file_part_names(workflow))
            raise _invalid(part.name, f"unknown form field '{part.name}'; file fields of this workflow: {file_keys}; "
                                      f"other fields: name, metadata, <file field>_metadata, <file field>_guidance")
        try:
            text[part.name] = part.data.decode("utf-8")
        except UnicodeDecodeError:
            raise _invalid(part.name, f"form field '{part.name}' is not UTF-8 text") from None
    return files, text


def _file_part_names(workflow: Workflow) -> list[str]:
    return [f"{f.key}, {f.key}_1, {f.key}_2 …" if f.multiple else f.key for f in workflow.file_input_config.file_fields]


def _check_required(workflow: Workflow, files: list[_File]) -> None:
    if not files:
        keys = ", ".join(_file_part_names(workflow))
        raise _invalid(workflow.file_input_config.file_fields[0].key if workflow.file_input_config.file_fields
                       else "file", f"the form has no file; file fields of this workflow: {keys}")
    for file_field in workflow.file_input_config.file_fields:
        if file_field.required and not any(f.field.key == file_field.key for f in files):
            raise _invalid(file_field.key, f"file field '{file_field.key}' is required")


def _check_file(item: _File) -> None:
    part, name = item.part, item.part.name
    if not part.data:
        raise _invalid(name, f"file '{name}' is empty")
    limit = item.field.max_bytes
    if limit is not None and len(part.data) > limit:
        raise PayloadTooLarge(f"file '{name}' is {len(part.data)} bytes; field '{item.field.key}' allows {limit}",
                              details=[{"loc": ["body", name], "max_bytes": limit}])
    if not sniff.matches(part.content_type, part.data):
        raise _invalid(name, f"file '{name}' is declared {sniff.media_type_of(part.content_type)} "
                             f"but its bytes are {sniff.describe(part.data) or sniff.sniff_content_type(part.data)}")
    content_type = sniff.effective_type(part.content_type, part.data, part.filename)
    allowed = [sniff.media_type_of(t) for t in item.field.content_types]
    if allowed and content_type not in allowed:
        raise _invalid(name, f"file '{name}' is {content_type}; field '{item.field.key}' accepts {', '.join(allowed)}")
    if content_type not in ACCEPTED_CONTENT_TYPES:
        raise UnsupportedMediaType(
            f"file '{name}' is {content_type}; documents may be {', '.join(sorted(ACCEPTED_CONTENT_TYPES))}",
            details=[{"loc": ["body", name], "content_type": content_type}])
    item.content_type = content_type


def _attach_per_file_text(files: list[_File], text: dict[str, str]) -> None:
    """`<part>_metadata` / `<part>_guidance` apply to that file; `<field key>_…` to every file of the field."""
    for item in files:
        for key in (item.field.key, item.part.name):
            if f"{key}_metadata" in text:
                item.metadata = _json_object(text[f"{key}_metadata"], f"{key}_metadata")
            if f"{key}_guidance" in text:
                item.guidance = text[f"{key}_guidance"]
    for key in [k for k in text if k.endswith(("_metadata", "_guidance")) and k != "metadata"]:
        text.pop(key)


def _json_object(raw: str | None, loc: str) -> dict[str, Any]:
    if raw is None or raw.strip() == "":
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise _invalid(loc, f"'{loc}' must be a JSON object as a string: {exc.msg} at position {exc.pos}") from None
    if not isinstance(value, dict):
        raise _invalid(loc, f"'{loc}' must be a JSON object, not {type(value).__name__}")
    return value
