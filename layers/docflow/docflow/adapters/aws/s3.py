"""S3 as the BlobStore: uploads go straight from the client to S3 through presigned PUTs, so
document bytes never pass through Lambda (whose payload limit is 6 MB)."""

from __future__ import annotations

import hashlib
import math
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from botocore.exceptions import ClientError

from docflow.adapters.aws.clients import error_code, translate_throttling
from docflow.adapters.common import upload_headers
from docflow.domain.clock import utc_now
from docflow.domain.errors import NotFound
from docflow.ports import StoredObject, UploadTarget

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

# SigV4 presigned URLs live at most 7 days.
MAX_PRESIGN_SECONDS = 7 * 24 * 3600
_CHUNK = 1024 * 1024
_MISSING = frozenset({"404", "NoSuchKey", "NotFound"})


def content_disposition(filename: str) -> str:
    """`attachment` with an ASCII fallback and the exact name as RFC 5987 `filename*`."""
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in filename) or "download"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _expires_in(expires_at: datetime) -> int:
    seconds = math.ceil((expires_at - utc_now()).total_seconds())
    return max(1, min(seconds, MAX_PRESIGN_SECONDS))


class S3BlobStore:
    """Create the client with SigV4 (see `clients.make_clients`): only SigV4 signs the
    Content-Type and Content-Length headers, which is how S3 itself refuses a PUT of another
    type or size than the document handle declared (DESIGN.md §5)."""

    def __init__(self, client: S3Client, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    def presign_upload(self, key: str, content_type: str, size: int | None, expires_at: datetime) -> UploadTarget:
        # If-None-Match: * is signed too: the URL writes the object once, and a second PUT within its
        # lifetime cannot replace bytes whose size and sha256 are already recorded (S3 answers 412).
        params: dict[str, Any] = {"Bucket": self._bucket, "Key": key, "ContentType": content_type, "IfNoneMatch": "*"}
        if size is not None:
            params["ContentLength"] = size
        url = self._client.generate_presigned_url("put_object", Params=params, ExpiresIn=_expires_in(expires_at),
                                                  HttpMethod="PUT")
        return UploadTarget(url=url, method="PUT", headers=upload_headers(content_type), expires_at=expires_at)

    def presign_download(self, key: str, expires_at: datetime, filename: str | None = None) -> str:
        params: dict[str, Any] = {"Bucket": self._bucket, "Key": key}
        if filename:
            params["ResponseContentDisposition"] = content_disposition(filename)
        return self._client.generate_presigned_url("get_object", Params=params, ExpiresIn=_expires_in(expires_at))

    def head(self, key: str) -> StoredObject | None:
        try:
            with translate_throttling("s3"):
                response = self._client.head_object(Bucket=self._bucket, Key=key)
        except ClientError as exc:
            if error_code(exc) in _MISSING:
                return None
            raise
        return StoredObject(size=int(response["ContentLength"]), content_type=response.get("ContentType"))

    def _get(self, key: str) -> Any:
        try:
            with translate_throttling("s3"):
                return self._client.get_object(Bucket=self._bucket, Key=key)
        except ClientError as exc:
            if error_code(exc) in _MISSING:
                raise NotFound(f"object {key} not found") from exc
            raise

    def read(self, key: str) -> bytes:
        body = self._get(key)["Body"]
        with translate_throttling("s3"):
            try:
                return bytes(body.read())
            finally:
                body.close()

    def write(self, key: str, data: bytes, content_type: str) -> None:
        with translate_throttling("s3"):
            self._client.put_object(Bucket=self._bucket, Key=key, Body=data, ContentType=content_type)

    def sha256(self, key: str) -> str:
        """Streams the object: documents can be 100 MB, a Lambda's memory is not."""
        digest = hashlib.sha256()
        body = self._get(key)["Body"]
        with translate_throttling("s3"):
            try:
                for chunk in body.iter_chunks(_CHUNK):
                    digest.update(chunk)
            finally:
                body.close()
        return digest.hexdigest()
