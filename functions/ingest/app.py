"""S3 `Object Created` under `inbox/` (via EventBridge) → a document and a run (the drop folder)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from docflow.runtime import aws
from docflow.usecases.ingest import ingest_object

logger = Logger()


def object_key(raw: str, exists: Callable[[str], bool]) -> str:
    """EventBridge's `detail.object.key` is the key as stored (S3's own notifications to SQS, SNS
    and Lambda URL-encode it, "my file.pdf" → "my+file.pdf"). Should an encoded key ever arrive,
    the key that exists wins: the decoded form only when the key as sent is absent."""
    decoded = unquote_plus(raw)
    return decoded if decoded != raw and not exists(raw) and exists(decoded) else raw


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    detail = event["detail"]
    bucket, obj = detail["bucket"]["name"], detail["object"]
    # S3 sends `etag`; moto's emulation sends `eTag`.
    version_id, etag = obj.get("version-id"), obj.get("etag") or obj.get("eTag")

    def exists(key: str) -> bool:
        candidate = aws.inbox_object(bucket, key, version_id, etag)
        return candidate is not None and candidate.size() is not None

    source = aws.inbox_object(bucket, object_key(obj["key"], exists), version_id, etag)
    if source is None:  # the rule matches the stack's bucket only
        logger.warning("event of another bucket", extra={"bucket": bucket, "key": obj["key"]})
        return {"status": "ignored", "key": obj["key"]}
    outcome = ingest_object(aws.ports(), source)
    result = {k: v for k, v in asdict(outcome).items() if v is not None}
    logger.info(f"ingest {outcome.status}", extra=result)
    return result
