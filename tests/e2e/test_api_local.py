"""Local mode's own part of the document API over real HTTP: the signed file URLs it checks itself
where S3 would on AWS (DESIGN.md §1 documents, §5 limits)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest
import requests
from docflow_testing import LocalMode

pytestmark = pytest.mark.e2e

DATA = b"Invoice Number: INV-7\nTotal Due: $12.00\n"


def assert_error(response: requests.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, f"{response.status_code}: {response.text}"
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}, body
    if code is not None:
        assert body["error"]["code"] == code, body
    return dict(body["error"])


def new_handle(local_mode: LocalMode, data: bytes = DATA, content_type: str = "text/plain") -> dict[str, Any]:
    created = local_mode.api.post("/v1/documents", json={"name": "note.txt", "content_type": content_type,
                                                         "size": len(data)})
    assert created.status_code == 201, created.text
    handle = dict(created.json())
    assert handle["upload_method"] == "PUT" and handle["id"] == handle["document_id"]
    assert handle["file_url"].startswith(f"{local_mode.url}/files/")
    return handle


def document(local_mode: LocalMode, document_id: str) -> dict[str, Any]:
    response = local_mode.api.get(f"/v1/documents/{document_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def put(url: str, data: Any, content_type: str | None = "text/plain", **headers: str) -> requests.Response:
    if content_type is not None:
        headers["Content-Type"] = content_type
    return requests.put(url, data=data, headers=headers, timeout=30)


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


def test_upload_with_another_content_type_is_403(local_mode: LocalMode) -> None:
    handle = new_handle(local_mode)
    for sent in ("application/pdf", "application/octet-stream", None):
        assert_error(put(handle["file_url"], DATA, sent), 403, "forbidden")
    assert document(local_mode, handle["id"])["status"] == "pending_upload"
    # Parameters of the media type do not matter; the type itself does.
    assert put(handle["file_url"], DATA, "Text/Plain; charset=utf-8").status_code == 200
    assert document(local_mode, handle["id"])["status"] == "uploaded"


def test_upload_larger_than_declared_is_413_and_the_document_stays_pending(local_mode: LocalMode) -> None:
    handle = new_handle(local_mode)
    assert_error(put(handle["file_url"], DATA + b"x"), 413, "payload_too_large")

    def chunks() -> Iterator[bytes]:  # chunked: waitress counts the body before the app sees it
        yield DATA
        yield b"one byte too many"

    assert_error(put(handle["file_url"], chunks()), 413, "payload_too_large")
    state = document(local_mode, handle["id"])
    assert state["status"] == "pending_upload" and state["size"] is None and state["download_url"] is None
    # Nothing half-written blocks the real upload afterwards.
    assert put(handle["file_url"], DATA).status_code == 200
    assert document(local_mode, handle["id"])["size"] == len(DATA)


def test_tampered_or_misused_url_is_403(local_mode: LocalMode) -> None:
    handle = new_handle(local_mode)
    url = handle["file_url"]
    signature = dict(parse_qsl(urlsplit(url).query))["X-Docflow-Signature"]
    flipped = ("0" if signature[0] != "0" else "1") + signature[1:]
    other = new_handle(local_mode)
    tampered = [
        with_query(url, **{"X-Docflow-Signature": flipped}),
        with_query(url, **{"X-Docflow-Max-Bytes": str(100 * 2**20)}),  # a bigger allowance
        with_query(url, **{"X-Docflow-Content-Type": "application/pdf"}),
        with_query(url, **{"X-Docflow-Expires": str(int(dict(parse_qsl(urlsplit(url).query))["X-Docflow-Expires"])
                                                    + 86400)}),
        url.split("?")[0],  # unsigned
        url.replace(handle["id"], other["id"]),  # another document's path under this signature
    ]
    for bad in tampered:
        response = put(bad, DATA)
        assert response.status_code == 403, (bad, response.text)
        assert_error(response, 403)
    assert document(local_mode, handle["id"])["status"] == "pending_upload"
    assert document(local_mode, other["id"])["status"] == "pending_upload"
    # An upload URL does not download, and (after the upload) a download URL does not upload.
    assert_error(requests.get(url, timeout=30), 403)
    assert put(url, DATA).status_code == 200
    download_url = document(local_mode, handle["id"])["download_url"]
    assert_error(put(download_url, b"evil"), 403)
    assert requests.get(download_url, timeout=30).content == DATA


def test_upload_shorter_than_declared_is_refused_and_the_document_stays_pending(local_mode: LocalMode) -> None:
    handle = new_handle(local_mode)
    response = put(handle["file_url"], DATA[:-1])
    state = document(local_mode, handle["id"])
    assert response.status_code in (400, 403), response.text
    assert_error(response, response.status_code)
    assert state["status"] == "pending_upload", state
    assert put(handle["file_url"], DATA).status_code == 200


def test_second_upload_is_409_and_the_bytes_are_unchanged(local_mode: LocalMode) -> None:
    handle = new_handle(local_mode)
    assert put(handle["file_url"], DATA).status_code == 200
    first = document(local_mode, handle["id"])
    assert first["status"] == "uploaded"
    replacement = b"X" * len(DATA)
    assert_error(put(handle["file_url"], replacement), 409, "conflict")
    # With the upload_headers the handle gave (If-None-Match: *), the answer is S3's to that condition.
    assert_error(put(handle["file_url"], replacement, **{"If-None-Match": "*"}), 412, "precondition_failed")
    after = document(local_mode, handle["id"])
    assert after["sha256"] == first["sha256"] == hashlib.sha256(DATA).hexdigest()
    assert requests.get(after["download_url"], timeout=30).content == DATA


def test_download_url_serves_the_exact_bytes(local_mode: LocalMode) -> None:
    data = bytes(range(256)) * 40 + b"%PDF-ish tail \x00\xff"
    handle = new_handle(local_mode, data, "application/pdf")
    assert put(handle["file_url"], data, "application/pdf").status_code == 200
    state = document(local_mode, handle["id"])
    assert state["status"] == "uploaded" and state["size"] == state["declared_size"] == len(data)
    assert state["sha256"] == hashlib.sha256(data).hexdigest() and state["content_type"] == "application/pdf"
    downloaded = requests.get(state["download_url"], timeout=30)
    assert downloaded.status_code == 200
    assert downloaded.content == data and hashlib.sha256(downloaded.content).hexdigest() == state["sha256"]
    assert downloaded.headers["Content-Type"] == "application/pdf"
    assert downloaded.headers["Content-Length"] == str(len(data))
    assert "note.txt" in downloaded.headers.get("Content-Disposition", "")
    head = requests.head(state["download_url"], timeout=30)
    assert head.status_code == 200 and head.headers["Content-Length"] == str(len(data))


def test_api_body_that_is_not_utf8_is_400(local_mode: LocalMode) -> None:
    response = local_mode.api.post("/v1/workflows", data=b'{"name": "\xff\xfe"}',
                                   headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text
    assert_error(response, 400, "bad_request")


def test_document_create_refuses_unsupported_types_and_oversized_files(local_mode: LocalMode) -> None:
    api = local_mode.api
    for content_type in ("application/x-msdownload", "application/zip", "text/html"):
        refused = api.post("/v1/documents", json={"name": "f", "content_type": content_type, "size": 10})
        assert_error(refused, 415, "unsupported_media_type")
    limit = 100 * 2**20
    refused = api.post("/v1/documents", json={"name": "big.pdf", "content_type": "application/pdf", "size": limit + 1})
    assert "limit" in assert_error(refused, 413, "payload_too_large")["message"]
    at_limit = api.post("/v1/documents", json={"name": "big.pdf", "content_type": "application/pdf", "size": limit})
    assert at_limit.status_code == 201, at_limit.text
    for size in (0, -1):
        refused = api.post("/v1/documents", json={"name": "f.pdf", "content_type": "application/pdf", "size": size})
        assert_error(refused, 422, "validation_error")
