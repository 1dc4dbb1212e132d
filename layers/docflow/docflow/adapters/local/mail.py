"""E-mail for local mode: SMTP when a host is set (DOCFLOW_SMTP_HOST), else an outbox folder of
`.eml` files under the data dir, so a workflow with an e-mail integration runs with no mail server."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from docflow.domain.clock import utc_now
from docflow.domain.errors import DeliveryTransient, StepFailed

if TYPE_CHECKING:  # the mail modules are imported when a message is sent, not at start
    from email.message import EmailMessage


def message(sender: str, to: list[str], subject: str, body: str) -> EmailMessage:
    from email.message import EmailMessage

    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = sender, ", ".join(to), subject
    mail.set_content(body)
    return mail


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 25
    user: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout_seconds: float = 10.0


class SmtpMailer:
    def __init__(self, settings: SmtpSettings, sender: str) -> None:
        self._settings, self._sender = settings, sender

    def send(self, to: list[str], subject: str, body: str) -> None:
        import smtplib

        settings = self._settings
        try:
            with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_seconds) as smtp:
                if settings.starttls:
                    smtp.starttls()
                if settings.user:
                    smtp.login(settings.user, settings.password or "")
                smtp.send_message(message(self._sender, to, subject, body))
        except smtplib.SMTPRecipientsRefused as exc:
            raise StepFailed(f"the SMTP server refused the recipients {', '.join(exc.recipients)}",
                             code="email_refused") from None
        except smtplib.SMTPResponseException as exc:
            if 400 <= exc.smtp_code < 500:  # 4xx: try again later, says SMTP
                raise DeliveryTransient(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}") from None
            raise StepFailed(f"the SMTP server refused the message: {exc.smtp_code} {exc.smtp_error!r}",
                             code="email_refused") from None
        except (OSError, smtplib.SMTPException) as exc:  # connection refused or dropped, timeout
            raise DeliveryTransient(f"SMTP {settings.host}:{settings.port}: {exc}") from None


class OutboxMailer:
    """Writes each message as `<time>-<id>.eml` (written under a temporary name, then renamed)."""

    def __init__(self, folder: Path, sender: str) -> None:
        self._folder, self._sender = folder, sender

    def send(self, to: list[str], subject: str, body: str) -> None:
        self._folder.mkdir(parents=True, exist_ok=True)
        name = f"{utc_now().strftime('%Y%m%dT%H%M%S%f')}-{uuid.uuid4().hex[:8]}.eml"
        temp = self._folder / f".{name}.tmp"
        temp.write_bytes(message(self._sender, to, subject, body).as_bytes())
        temp.replace(self._folder / name)
