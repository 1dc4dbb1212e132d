"""E-mail on AWS: Amazon SES (`SendEmail` from the stack's verified sender, DOCFLOW_MAIL_FROM)."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import Any

from botocore.exceptions import ClientError

from docflow.adapters.aws.clients import error_code
from docflow.domain.errors import DeliveryTransient, StepFailed

_TRANSIENT = {"Throttling", "ThrottlingException", "TooManyRequestsException", "ServiceUnavailable",
              "InternalFailure", "LimitExceededException"}


class SesMailer:
    """The SES client is made on the first message: only runs with an e-mail step pay for it."""

    def __init__(self, make_client: Callable[[], Any], sender: str) -> None:
        self._make_client, self._sender = make_client, sender

    @cached_property
    def _client(self) -> Any:
        return self._make_client()

    def send(self, to: list[str], subject: str, body: str) -> None:
        try:
            self._client.send_email(
                Source=self._sender, Destination={"ToAddresses": to},
                Message={"Subject": {"Data": subject, "Charset": "UTF-8"},
                         "Body": {"Text": {"Data": body, "Charset": "UTF-8"}}})
        except ClientError as exc:
            code = error_code(exc)
            if code in _TRANSIENT:
                raise DeliveryTransient(f"SES {code}: {exc}") from None
            raise StepFailed(f"SES refused the message ({code}): {exc}", code="email_refused") from None
