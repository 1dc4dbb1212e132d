"""Run by the official Cradl SDK's own interpreter (.venv-cradl), never by pytest: a user's script
against Docflow's /compat/cradl, with the credentials set up as the README says (a credentials
file whose api_endpoint is Docflow, and the Docflow API key in the SDK's token cache).

argv: the workflow id to run, the review workflow id, a PDF path. Prints one JSON line of what
it saw; any SDK exception fails the script."""

from __future__ import annotations

import base64
import hashlib
import json
import sys
import time
from importlib import metadata
from pathlib import Path


def sdk_is_unmodified() -> str:
    """Every installed file of cradl matches the hash the wheel recorded: not patched."""
    dist = metadata.distribution("cradl")
    checked = 0
    for file in dist.files or []:
        if file.hash is None or not str(file).startswith("cradl/"):
            continue
        digest = base64.urlsafe_b64encode(hashlib.new(file.hash.mode, file.read_binary()).digest()).rstrip(b"=")
        assert digest.decode() == file.hash.value, f"{file} differs from the published wheel"
        checked += 1
    assert checked >= 5, "the cradl distribution lists no hashed files"
    return dist.version


def main() -> None:
    workflow_id, review_workflow_id, pdf = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    version = sdk_is_unmodified()
    from cradl.client import Client
    from cradl.response import NotFound

    client = Client()  # credentials from ~/.cradl, exactly as a Cradl user has them
    seen: dict[str, object] = {"sdk_version": version}

    document = client.create_document(pdf.read_bytes(), name="invoice.pdf", metadata={"source": "sdk"})
    seen["document_id"] = document["documentId"]
    fetched = client.get_document(document["documentId"])
    seen["content_roundtrip"] = base64.b64decode(fetched["content"]) == pdf.read_bytes()
    seen["content_type"] = fetched["contentType"]
    seen["listed_documents"] = [d["documentId"] for d in client.list_documents(max_results=10)["documents"]]
    seen["workflows"] = [w["workflowId"] for w in client.list_workflows()["workflows"]]
    seen["workflow_name"] = client.get_workflow(workflow_id)["name"]

    execution = client.execute_workflow(workflow_id, {"documentId": document["documentId"], "title": "March"})
    seen["started_status"] = execution["status"]
    deadline = time.monotonic() + 60
    while execution["status"] == "running":
        assert time.monotonic() < deadline, "the run did not finish in 60 s"
        time.sleep(0.2)
        execution = client.get_workflow_execution(workflow_id, execution["executionId"])
    seen["final_status"] = execution["status"]
    seen["values"] = execution["output"]["values"]
    seen["has_times"] = bool(execution["startTime"] and execution["endTime"])
    listed = client.list_workflow_executions(workflow_id, status="succeeded", max_results=5)
    seen["listed_succeeded"] = [e["executionId"] for e in listed["executions"]]
    done = client.update_workflow_execution(workflow_id, execution["executionId"], status="completed")
    seen["after_update"] = done["status"]
    seen["listed_completed"] = [e["executionId"] for e in
                                client.list_workflow_executions(workflow_id, status="completed")["executions"]]

    waiting = client.execute_workflow(review_workflow_id, {"documentId": document["documentId"]})
    stopped = client.delete_workflow_execution(review_workflow_id, waiting["executionId"])
    seen["after_delete"] = stopped["status"]

    spare = client.create_document(b"Invoice Number: X-1\nTotal: 5.00\n", name="note.txt")
    seen["text_content_type"] = client.get_document(spare["documentId"])["contentType"]
    client.delete_document(spare["documentId"])
    try:
        client.get_document(spare["documentId"])
        seen["deleted_document_gone"] = False
    except NotFound:  # the SDK's own exception for a 404
        seen["deleted_document_gone"] = True
    print(json.dumps(seen))


if __name__ == "__main__":
    main()
