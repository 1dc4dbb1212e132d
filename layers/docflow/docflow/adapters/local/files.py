"""Files on disk as the BlobStore, with S3-style presigned URLs served by `docflow serve`.

Local mode has no S3 to check a presigned PUT, so the URL carries its own grant (method, key,
expiry, content type, byte limit, download filename) signed with HMAC-SHA256, and the server
calls `verify` before touching the disk (DESIGN.md §5)."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import stat
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from io import BufferedWriter
from pathlib import Path
from typing import IO, BinaryIO
from urllib.parse import quote, urlencode

from docflow.adapters.common import upload_headers
from docflow.domain.clock import iso
from docflow.domain.errors import BadRequest, Forbidden, NotFound, PayloadTooLarge
from docflow.domain.limits import Limits
from docflow.ports import StoredObject, UploadTarget

_CHUNK = 64 * 1024
_META_SUFFIX = ".meta.json"

P_EXPIRES = "X-Docflow-Expires"
P_METHOD = "X-Docflow-Method"
P_CONTENT_TYPE = "X-Docflow-Content-Type"
P_MAX_BYTES = "X-Docflow-Max-Bytes"
P_FILENAME = "X-Docflow-Filename"
P_SIGNATURE = "X-Docflow-Signature"


@dataclass(frozen=True)
class SignedGrant:
    """What a verified URL allows: PUT up to `max_bytes` of `content_type`, or GET (then
    `content_type`/`max_bytes` are None and `filename` names the download)."""

    key: str
    content_type: str | None
    max_bytes: int | None
    filename: str | None = None


def validate_key(key: str) -> str:
    """Keys are relative POSIX paths of plain segments: no absolute paths, no `..`, nothing
    hidden (temp files start with a dot) and no names that would collide with a sidecar."""
    segments = key.split("/")
    if (not key or len(key) > 1024 or key.startswith("/") or "\\" in key
            or any(not s or s.startswith(".") for s in segments)
            or any(ord(c) < 32 or ord(c) == 127 for c in key)
            or key.endswith(_META_SUFFIX)):
        raise BadRequest(f"invalid storage key: {key!r}")
    return key


class LocalBlobStore:
    def __init__(self, root: Path, base_url: str, secret: bytes, *,
                 max_upload_bytes: int = Limits.max_upload_bytes) -> None:
        if len(secret) < 16:
            raise ValueError("the URL signing secret must be at least 16 bytes")
        self._root = Path(root).resolve()
        self._root.mkdir(parents=True, exist_ok=True)
        self._base_url = base_url.rstrip("/")
        self._secret = secret
        self._max_upload_bytes = max_upload_bytes

    # --- paths ------------------------------------------------------------------------------

    def path(self, key: str) -> Path:
        """The file for `key`, guaranteed to be inside the root (also against symlinks)."""
        path = (self._root / validate_key(key)).resolve()
        if not path.is_relative_to(self._root):
            raise BadRequest(f"invalid storage key: {key!r}")
        return path

    @staticmethod
    def _meta_path(path: Path) -> Path:
        return path.with_name(path.name + _META_SUFFIX)

    # --- signing ------------------------------------------------------------------------------

    def _signature(self, method: str, key: str, expires: str, content_type: str, max_bytes: str, filename: str) -> str:
        # A JSON array is an unambiguous encoding of the fields (no separator can be smuggled in).
        message = json.dumps(["docflow-v1", method, key, expires, content_type, max_bytes, filename],
                             separators=(",", ":"))
        return hmac.new(self._secret, message.encode(), hashlib.sha256).hexdigest()

    def _signed_url(self, method: str, key: str, expires_at: datetime, content_type: str = "",
                    max_bytes: str = "", filename: str = "") -> str:
        validate_key(key)
        expires = str(int(expires_at.timestamp()))
        params = {P_EXPIRES: expires, P_METHOD: method}
        if content_type:
            params[P_CONTENT_TYPE] = content_type
        if max_bytes:
            params[P_MAX_BYTES] = max_bytes
        if filename:
            params[P_FILENAME] = filename
        params[P_SIGNATURE] = self._signature(method, key, expires, content_type, max_bytes, filename)
        return f"{self._base_url}/files/{quote(key, safe='/')}?{urlencode(params, quote_via=quote)}"

    def presign_upload(self, key: str, content_type: str, size: int | None, expires_at: datetime) -> UploadTarget:
        max_bytes = self._max_upload_bytes if size is None else size
        url = self._signed_url("PUT", key, expires_at, content_type, str(max_bytes))
        return UploadTarget(url=url, method="PUT", headers=upload_headers(content_type), expires_at=expires_at)

    def presign_download(self, key: str, expires_at: datetime, filename: str | None = None) -> str:
        return self._signed_url("GET", key, expires_at, filename=filename or "")

    def verify(self, method: str, key: str, query: Mapping[str, str], now: datetime) -> SignedGrant:
        """Checks the signature first (a tampered URL learns nothing else), then the method,
        then the expiry."""
        signature = query.get(P_SIGNATURE)
        expires = query.get(P_EXPIRES)
        signed_method = query.get(P_METHOD)
        if not signature or not expires or not signed_method:
            raise Forbidden("this URL is not signed: request a new upload or download URL")
        content_type = query.get(P_CONTENT_TYPE, "")
        max_bytes = query.get(P_MAX_BYTES, "")
        filename = query.get(P_FILENAME, "")
        expected = self._signature(signed_method, key, expires, content_type, max_bytes, filename)
        if not hmac.compare_digest(expected.encode(), signature.encode()):
            raise Forbidden("the URL signature does not match: the URL was altered or signed by another server")
        if signed_method != method.upper():
            raise Forbidden(f"this URL allows {signed_method}, not {method.upper()}")
        try:
            expiry = int(expires)
            limit = int(max_bytes) if max_bytes else None
        except ValueError as exc:  # signed by us, so only a change of our own format lands here
            raise Forbidden("malformed signed URL") from exc
        if now.timestamp() > expiry:
            raise Forbidden(f"this URL expired at {iso(datetime.fromtimestamp(expiry, UTC))}; request a new one",
                            code="url_expired")
        return SignedGrant(key=key, content_type=content_type or None, max_bytes=limit, filename=filename or None)

    # --- reading ------------------------------------------------------------------------------

    def head(self, key: str) -> StoredObject | None:
        path = self.path(key)
        try:
            info = path.stat()
        except (FileNotFoundError, NotADirectoryError):
            return None
        if not stat.S_ISREG(info.st_mode):
            return None
        size = info.st_size
        content_type: str | None = None
        with contextlib.suppress(FileNotFoundError, ValueError):
            content_type = json.loads(self._meta_path(path).read_text()).get("content_type")
        return StoredObject(size=size, content_type=content_type)

    def read(self, key: str) -> bytes:
        with self.open_read(key) as handle:
            return handle.read()

    def open_read(self, key: str) -> BinaryIO:
        """For streaming a download without holding the file in memory; the caller closes it."""
        try:
            return open(self.path(key), "rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise NotFound(f"object {key} not found") from exc

    def sha256(self, key: str) -> str:
        digest = hashlib.sha256()
        with self.open_read(key) as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
        return digest.hexdigest()

    # --- writing ------------------------------------------------------------------------------

    def write(self, key: str, data: bytes, content_type: str) -> None:
        path = self.path(key)
        with self._temp_file(path) as (handle, temp):
            handle.write(data)
            handle.close()
            self._commit(temp, path, content_type)

    def delete(self, key: str) -> None:
        path = self.path(key)
        path.unlink(missing_ok=True)  # the bytes first: a sidecar alone is never read
        self._meta_path(path).unlink(missing_ok=True)

    def write_stream(self, key: str, stream: IO[bytes], length: int | None, max_bytes: int,
                     content_type: str) -> StoredObject:
        """Copies the request body in chunks; more than `max_bytes` (or a body shorter than its
        declared `length`) raises and leaves nothing behind. With a `length`, reads exactly that
        many bytes: reading past a request body can block on a keep-alive connection."""
        if length is not None and length > max_bytes:
            raise PayloadTooLarge(f"the upload is {length} bytes; this URL allows at most {max_bytes}",
                                  details=[{"max_bytes": max_bytes}])
        path = self.path(key)
        budget = max_bytes + 1 if length is None else length
        with self._temp_file(path) as (handle, temp):
            written = 0
            while written < budget:
                chunk = stream.read(min(_CHUNK, budget - written))
                if not chunk:
                    break
                handle.write(chunk)
                written += len(chunk)
            handle.close()
            if written > max_bytes:
                raise PayloadTooLarge(f"the upload exceeds the {max_bytes} bytes this URL allows",
                                      details=[{"max_bytes": max_bytes}])
            if length is not None and written < length:
                raise BadRequest(f"the upload ended after {written} of {length} bytes")
            self._commit(temp, path, content_type)
        return StoredObject(size=written, content_type=content_type)

    @contextlib.contextmanager
    def _temp_file(self, path: Path) -> Iterator[tuple[BufferedWriter, Path]]:
        """A hidden temp file next to the target (same filesystem, so os.replace is atomic),
        removed unless it was committed."""
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        temp = Path(name)
        handle = os.fdopen(fd, "wb")
        try:
            yield handle, temp
        finally:
            handle.close()
            temp.unlink(missing_ok=True)

    def _commit(self, temp: Path, path: Path, content_type: str) -> None:
        """Sidecar first, then the data: a reader never sees new bytes without a content type."""
        meta = self._meta_path(path)
        with self._temp_file(meta) as (handle, meta_temp):
            handle.write(json.dumps({"content_type": content_type}).encode())
            handle.close()
            os.replace(meta_temp, meta)
        os.replace(temp, path)
