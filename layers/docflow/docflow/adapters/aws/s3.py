"""S3 as the BlobStore: uploads go straight from the client to S3 through presigned PUTs, so
document bytes never pass through Lambda (whose payload limit is 6 MB)."""

from __future__ import annotations

import hashlib
import math
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from docflow.adapters.aws.clients import error_code, translate_throttling
from docflow.adapters.common import content_disposition, upload_headers
from docflow.domain.clock import utc_now
from docflow.domain.errors import NotFound
from docflow.ports import StoredObject, UploadTarget

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import CopySourceTypeDef

# SigV4 presigned URLs live at most 7 days.
MAX_PRESIGN_SECONDS = 7 * 24 * 3600
_CHUNK = 1024 * 1024
_MISSING = frozenset({"404", "NoSuchKey", "NotFound"})


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

    @property
    def bucket(self) -> str:
        return self._bucket

    def inbox_object(self, key: str, version_id: str | None, etag: str | None) -> S3InboxObject:
        return S3InboxObject(self._client, self._bucket, key, version_id, etag)

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

    def delete(self, key: str) -> None:
        with translate_throttling("s3"):
            self._client.delete_object(Bucket=self._bucket, Key=key)

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


_GONE = _MISSING | {"NoSuchVersion"}


class S3InboxObject:
    """An object version under `inbox/` of the stack's bucket, as the ingest use-case sees it.

    Works on the event's version: a second upload to the same key is another version with its own
    event and its own run, and moving this one (copy, then delete this version) leaves the newer
    one in place. Without a version id (versioning off) the ETag stands in for it."""

    def __init__(self, client: S3Client, bucket: str, key: str, version_id: str | None, etag: str | None) -> None:
        self._client = client
        self.bucket = bucket
        self._key = key
        self.version_id = version_id or None
        self.etag = (etag or "").strip('"') or None

    @property
    def key(self) -> str:
        return self._key

    @property
    def idempotency_key(self) -> str:
        return f"s3:{self.bucket}/{self._key}#{self.version_id or self.etag or ''}"

    @property
    def trigger_data(self) -> dict[str, Any]:
        return {"bucket": self.bucket, "key": self._key, "version_id": self.version_id, "etag": self.etag}

    def _params(self) -> dict[str, Any]:
        """This object version's Bucket, Key and VersionId (when there is one)."""
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": self._key}
        if self.version_id:
            params["VersionId"] = self.version_id
        return params

    def size(self) -> int | None:
        try:
            with translate_throttling("s3"):
                response = self._client.head_object(**self._params())
        except ClientError as exc:
            if error_code(exc) in _GONE:
                return None
            raise
        if not self.version_id and self.etag and response.get("ETag", "").strip('"') != self.etag:
            return None  # replaced by a newer upload, which has an event of its own
        return int(response["ContentLength"])

    def read(self) -> bytes | None:
        params = self._params()
        if not self.version_id and self.etag:
            params["IfMatch"] = self.etag
        try:
            with translate_throttling("s3"):
                body = self._client.get_object(**params)["Body"]
                try:
                    return bytes(body.read())
                finally:
                    body.close()
        except ClientError as exc:
            if error_code(exc) in _GONE | {"PreconditionFailed", "412"}:
                return None
            raise

    def free_key(self, destination_key: str) -> str:
        return destination_key  # versioning keeps an object this replaces

    def move(self, destination_key: str) -> None:
        source = self._params()
        copy_source: CopySourceTypeDef = {"Bucket": self.bucket, "Key": self._key}
        if self.version_id:
            copy_source["VersionId"] = self.version_id
        try:
            with translate_throttling("s3"):
                self._client.copy_object(Bucket=self.bucket, Key=destination_key, CopySource=copy_source,
                                         MetadataDirective="COPY")
        except ClientError as exc:
            if error_code(exc) in _GONE:
                return  # a concurrent delivery moved it first
            raise
        with translate_throttling("s3"):
            # With a version id this deletes that version for good (no delete marker hides a newer upload).
            self._client.delete_object(**source)

    def write_error(self, key: str, body: bytes) -> None:
        with translate_throttling("s3"):
            self._client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType="application/json")
