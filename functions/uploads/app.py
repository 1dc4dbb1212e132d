"""S3 `Object Created` (via EventBridge) → record the document upload."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from docflow.domain.errors import NotFound
from docflow.runtime import aws
from docflow.usecases.documents import record_upload_by_key

logger = Logger()


@logger.inject_lambda_context
@event_source(data_class=EventBridgeEvent)
def lambda_handler(event: EventBridgeEvent, context: LambdaContext) -> dict[str, Any]:
    key = unquote_plus(event.detail["object"]["key"])  # keys in S3 events are URL-encoded
    try:
        document = record_upload_by_key(aws.ports(), key)
    except NotFound:
        logger.warning("object without a document handle", extra={"key": key})
        return {"key": key, "status": "ignored"}
    return {"key": key, "status": document.status.value if document else "ignored"}
