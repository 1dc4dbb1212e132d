"""The webhook delivery queue (SQS) → one attempt per message, reported per record: a record
whose handling raised (a store outage) is returned to the queue and, after the redrive policy's
receives, kept in its dead-letter queue; a receiver that failed is not an error here: the attempt
is recorded and the next one enqueued with its delay (adapters/aws/sqs.py says why)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from docflow.adapters.aws.sqs import QueuedDelivery
from docflow.runtime import aws
from docflow.usecases.outbound_webhooks import deliver_queued

logger = Logger()
copy_config_to_registered_loggers(source_logger=logger, include={"docflow"})
processor = BatchProcessor(event_type=EventType.SQS)


def _record(record: SQSRecord) -> str | None:
    message = QueuedDelivery.from_json(record.body)
    receives = int(record.attributes.approximate_receive_count or "1")
    delivery = deliver_queued(aws.ports(), message.workspace_id, message.subscription_id, message.delivery_id,
                              message.attempt, redelivered=receives > 1)
    return None if delivery is None else delivery.status.value


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=_record, processor=processor, context=context)
