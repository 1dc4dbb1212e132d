"""S3BlobStore under moto. moto accepts any presigned URL (expired, tampered, wrong size), so
these tests check what we sign: expiry, Content-Type and Content-Length (DESIGN.md §5)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from moto import mock_aws

from docflow.adapters.aws.clients import make_clients
from docflow.adapters.aws.s3 import S3BlobStore
from docflow.adapters.common import content_disposition
from docflow.domain.clock import utc_now
from docflow.domain.errors import NotFound

BUCKET = "docflow-presign"


@pytest.fixture
def blobs(monkeypatch: pytest.MonkeyPatch) -> Iterator[S3BlobStore]:
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        clients = make_clients("us-east-1")
        clients.s3.create_bucket(Bucket=BUCKET)
        yield S3BlobStore(clients.s3, BUCKET)


def query(url: str) -> dict[str, Any]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def signed_headers(url: str) -> set[str]:
    return set(query(url)["X-Amz-SignedHeaders"].split(";"))


def test_upload_signs_type_and_length(blobs: S3BlobStore) -> None:
    expires_at = utc_now() + timedelta(hours=1)
    target = blobs.presign_upload("uploads/ws/doc/a.pdf", "application/pdf", 1234, expires_at)
    assert target.method == "PUT"
    assert target.headers == {"Content-Type": "application/pdf", "If-None-Match": "*"}
    assert target.expires_at == expires_at
    params = query(target.url)
    assert params["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    assert int(params["X-Amz-Expires"]) in (3599, 3600)
    assert {"host", "content-type", "content-length", "if-none-match"} <= signed_headers(target.url)
    assert "/uploads/ws/doc/a.pdf" in urlsplit(target.url).path


def test_upload_without_size_signs_type_only(blobs: S3BlobStore) -> None:
    target = blobs.presign_upload("uploads/x", "text/plain", None, utc_now() + timedelta(minutes=5))
    headers = signed_headers(target.url)
    assert "content-type" in headers and "content-length" not in headers
    assert int(query(target.url)["X-Amz-Expires"]) in (299, 300)


def test_expiry_is_clamped(blobs: S3BlobStore) -> None:
    far = blobs.presign_upload("k", "text/plain", 1, utc_now() + timedelta(days=30))
    assert int(query(far.url)["X-Amz-Expires"]) == 7 * 24 * 3600
    past = blobs.presign_upload("k", "text/plain", 1, utc_now() - timedelta(minutes=1))
    assert int(query(past.url)["X-Amz-Expires"]) == 1


def test_download_with_filename(blobs: S3BlobStore) -> None:
    url = blobs.presign_download("uploads/a.pdf", utc_now() + timedelta(minutes=15), filename='Fac"ture №1.pdf')
    params = query(url)
    assert params["response-content-disposition"] == content_disposition('Fac"ture №1.pdf')
    assert params["response-content-disposition"].startswith('attachment; filename="Fac_ture _1.pdf"')
    assert "filename*=UTF-8''Fac%22ture%20%E2%84%961.pdf" in params["response-content-disposition"]
    assert int(params["X-Amz-Expires"]) in (899, 900)
    plain = query(blobs.presign_download("uploads/a.pdf", utc_now() + timedelta(minutes=15)))
    assert "response-content-disposition" not in plain


def test_objects(blobs: S3BlobStore) -> None:
    assert blobs.head("missing") is None
    with pytest.raises(NotFound):
        blobs.read("missing")
    with pytest.raises(NotFound):
        blobs.sha256("missing")
    data = bytes(range(256)) * 9000  # > 2 chunks
    blobs.write("outputs/a.bin", data, "application/octet-stream")
    head = blobs.head("outputs/a.bin")
    assert head is not None and (head.size, head.content_type) == (len(data), "application/octet-stream")
    assert blobs.read("outputs/a.bin") == data
    assert blobs.sha256("outputs/a.bin") == hashlib.sha256(data).hexdigest()
