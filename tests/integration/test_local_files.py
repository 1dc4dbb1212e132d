"""LocalBlobStore: the signed URLs local mode checks itself (DESIGN.md §5), and the disk."""

from __future__ import annotations

import hashlib
import io
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

import pytest

from docflow.adapters.local.files import LocalBlobStore, SignedGrant
from docflow.domain.errors import BadRequest, Forbidden, NotFound, PayloadTooLarge

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
BASE = "http://127.0.0.1:8080"
KEY = "uploads/ws_1/doc_1/invoice.pdf"


@pytest.fixture
def blobs(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "files", BASE + "/", b"0123456789abcdef0123456789abcdef", max_upload_bytes=1000)


def split(url: str) -> tuple[str, dict[str, str]]:
    """(key, query) as the server sees them for `/files/<key>?…`."""
    parts = urlsplit(url)
    assert parts.path.startswith("/files/")
    return unquote(parts.path.removeprefix("/files/")), dict(parse_qsl(parts.query))


def files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def test_upload_url_verifies_and_carries_the_grant(blobs: LocalBlobStore) -> None:
    target = blobs.presign_upload(KEY, "application/pdf", 1234, NOW + timedelta(hours=1))
    assert target.method == "PUT" and target.headers == {"Content-Type": "application/pdf", "If-None-Match": "*"}
    assert target.url.startswith(f"{BASE}/files/{KEY}?")
    key, query = split(target.url)
    assert blobs.verify("PUT", key, query, NOW) == SignedGrant(key=KEY, content_type="application/pdf",
                                                               max_bytes=1234)
    assert query["X-Docflow-Expires"] == str(int((NOW + timedelta(hours=1)).timestamp()))


def test_upload_without_size_is_capped_by_the_limit(blobs: LocalBlobStore) -> None:
    key, query = split(blobs.presign_upload(KEY, "text/plain", None, NOW + timedelta(minutes=5)).url)
    assert blobs.verify("put", key, query, NOW).max_bytes == 1000


def test_download_url(blobs: LocalBlobStore) -> None:
    url = blobs.presign_download(KEY, NOW + timedelta(minutes=15), filename="Facture №1.pdf")
    key, query = split(url)
    grant = blobs.verify("GET", key, query, NOW)
    assert grant == SignedGrant(key=KEY, content_type=None, max_bytes=None, filename="Facture №1.pdf")


@pytest.mark.parametrize("change", [
    {"X-Docflow-Max-Bytes": "999999999"},
    {"X-Docflow-Content-Type": "text/html"},
    {"X-Docflow-Expires": str(int((NOW + timedelta(days=365)).timestamp()))},
    {"X-Docflow-Method": "GET"},
    {"X-Docflow-Signature": "0" * 64},
    {"X-Docflow-Filename": "evil.html"},
])
def test_tampered_url_is_forbidden(blobs: LocalBlobStore, change: dict[str, str]) -> None:
    key, query = split(blobs.presign_upload(KEY, "application/pdf", 10, NOW + timedelta(hours=1)).url)
    with pytest.raises(Forbidden, match="signature does not match"):
        blobs.verify(change.get("X-Docflow-Method", "PUT"), key, {**query, **change}, NOW)


def test_url_for_another_key_is_forbidden(blobs: LocalBlobStore) -> None:
    _, query = split(blobs.presign_upload(KEY, "application/pdf", 10, NOW + timedelta(hours=1)).url)
    with pytest.raises(Forbidden, match="signature does not match"):
        blobs.verify("PUT", "uploads/ws_2/doc_1/invoice.pdf", query, NOW)


def test_another_secret_is_forbidden(blobs: LocalBlobStore, tmp_path: Path) -> None:
    other = LocalBlobStore(tmp_path / "files", BASE, b"another-secret-another-secret!!!")
    key, query = split(other.presign_upload(KEY, "application/pdf", 10, NOW + timedelta(hours=1)).url)
    with pytest.raises(Forbidden, match="signature does not match"):
        blobs.verify("PUT", key, query, NOW)


def test_missing_signature_is_forbidden(blobs: LocalBlobStore) -> None:
    key, query = split(blobs.presign_upload(KEY, "application/pdf", 10, NOW + timedelta(hours=1)).url)
    del query["X-Docflow-Signature"]
    with pytest.raises(Forbidden, match="not signed"):
        blobs.verify("PUT", key, query, NOW)
    with pytest.raises(Forbidden, match="not signed"):
        blobs.verify("PUT", key, {}, NOW)


def test_wrong_method_is_forbidden(blobs: LocalBlobStore) -> None:
    key, query = split(blobs.presign_upload(KEY, "application/pdf", 10, NOW + timedelta(hours=1)).url)
    with pytest.raises(Forbidden, match="allows PUT, not GET"):
        blobs.verify("GET", key, query, NOW)
    key, query = split(blobs.presign_download(KEY, NOW + timedelta(hours=1)))
    with pytest.raises(Forbidden, match="allows GET, not PUT"):
        blobs.verify("PUT", key, query, NOW)


def test_expired_url_has_its_own_message(blobs: LocalBlobStore) -> None:
    expires = NOW + timedelta(minutes=10)
    key, query = split(blobs.presign_upload(KEY, "application/pdf", 10, expires).url)
    blobs.verify("PUT", key, query, expires)  # still valid at the stated second
    with pytest.raises(Forbidden, match="expired") as raised:
        blobs.verify("PUT", key, query, expires + timedelta(seconds=1))
    assert raised.value.code == "url_expired"
    assert "signature" not in raised.value.message


def test_write_stream_round_trip(blobs: LocalBlobStore, tmp_path: Path) -> None:
    body = os.urandom(700)
    stored = blobs.write_stream(KEY, io.BytesIO(body + b"next request"), len(body), 1000, "application/pdf")
    assert stored.size == 700 and stored.content_type == "application/pdf"
    assert blobs.read(KEY) == body
    head = blobs.head(KEY)
    assert head is not None and (head.size, head.content_type) == (700, "application/pdf")
    with blobs.open_read(KEY) as handle:
        assert handle.read() == body
    assert blobs.sha256(KEY) == hashlib.sha256(body).hexdigest()
    assert sorted(p.name for p in files_under(tmp_path / "files")) == ["invoice.pdf", "invoice.pdf.meta.json"]


@pytest.mark.parametrize("length", [None, 20])
def test_oversize_stream_leaves_nothing(blobs: LocalBlobStore, tmp_path: Path, length: int | None) -> None:
    with pytest.raises(PayloadTooLarge):
        blobs.write_stream(KEY, io.BytesIO(b"x" * 20), length, 10, "text/plain")
    assert files_under(tmp_path / "files") == []
    assert blobs.head(KEY) is None


def test_oversize_stream_keeps_the_previous_file(blobs: LocalBlobStore) -> None:
    blobs.write(KEY, b"old", "text/plain")
    with pytest.raises(PayloadTooLarge):
        blobs.write_stream(KEY, io.BytesIO(b"x" * 5000), None, 1000, "text/plain")
    assert blobs.read(KEY) == b"old"


def test_truncated_stream_leaves_nothing(blobs: LocalBlobStore, tmp_path: Path) -> None:
    with pytest.raises(BadRequest, match="ended after 5 of 10"):
        blobs.write_stream(KEY, io.BytesIO(b"12345"), 10, 100, "text/plain")
    assert files_under(tmp_path / "files") == []


@pytest.mark.parametrize("key", [
    "../escape.txt", "a/../../escape.txt", "/etc/passwd", "a//b", "", ".hidden", "a/./b", "a\\..\\b",
    "x.pdf.meta.json", "a/\x00b",
])
def test_path_traversal_and_odd_keys_are_rejected(blobs: LocalBlobStore, tmp_path: Path, key: str) -> None:
    with pytest.raises(BadRequest):
        blobs.write(key, b"x", "text/plain")
    with pytest.raises(BadRequest):
        blobs.head(key)
    with pytest.raises(BadRequest):
        blobs.presign_upload(key, "text/plain", 1, NOW)
    with pytest.raises(BadRequest):
        blobs.write_stream(key, io.BytesIO(b"x"), 1, 10, "text/plain")
    assert files_under(tmp_path / "files") == []
    assert not (tmp_path / "escape.txt").exists()


def test_symlink_out_of_the_root_is_rejected(blobs: LocalBlobStore, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "files" / "link").symlink_to(outside, target_is_directory=True)
    with pytest.raises(BadRequest):
        blobs.write("link/x.txt", b"x", "text/plain")
    assert list(outside.iterdir()) == []


def test_missing_object(blobs: LocalBlobStore) -> None:
    assert blobs.head("nothing/here") is None
    with pytest.raises(NotFound):
        blobs.read("nothing/here")
    with pytest.raises(NotFound):
        blobs.sha256("nothing/here")


def test_url_encoding_of_odd_content_types(blobs: LocalBlobStore) -> None:
    target = blobs.presign_upload("uploads/a b+c.txt", "text/plain; charset=utf-8", 5, NOW + timedelta(hours=1))
    key, query = split(target.url)
    assert key == "uploads/a b+c.txt"
    assert blobs.verify("PUT", key, query, NOW).content_type == "text/plain; charset=utf-8"
