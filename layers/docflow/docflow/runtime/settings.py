"""Settings from DOCFLOW_* environment variables (flags override them in the CLI)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path

from docflow.adapters.http_out import OutboundSettings
from docflow.adapters.local.mail import SmtpSettings
from docflow.domain.limits import Limits
from docflow.domain.ssrf import Allowlist
from docflow.domain.usage import PriceTable


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, not {raw!r}") from None


def env_number(name: str, default: float, *, env: Mapping[str, str] | None = None, what: str = "a number",
               zero_allowed: bool = False) -> float:
    """A positive number from the environment (0 too when `zero_allowed`); a bad one stops the
    process with a message naming the setting."""
    raw = (os.environ if env is None else env).get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SystemExit(f"{name} must be {what}, not {raw!r}") from None
    if not (value >= 0 if zero_allowed else value > 0):
        raise SystemExit(f"{name} must be {'0 or more' if zero_allowed else 'more than 0'}, not {raw!r}")
    return value


def _env_float(name: str, default: float) -> float:
    return env_number(name, default)


def outbound_from_env() -> OutboundSettings:
    """The SSRF guard's settings: DOCFLOW_OUTBOUND_ALLOW (comma-separated CIDRs and host names the
    guard lets through although they are not public, e.g. `127.0.0.1/32` for a local receiver),
    DOCFLOW_OUTBOUND_CONNECT_TIMEOUT_SECONDS, DOCFLOW_OUTBOUND_TIMEOUT_SECONDS (a whole request),
    DOCFLOW_OUTBOUND_MAX_RESPONSE_BYTES (what is read of a response)."""
    defaults = OutboundSettings()
    try:
        allow = Allowlist.parse(os.environ.get("DOCFLOW_OUTBOUND_ALLOW"))
    except ValueError as exc:
        raise SystemExit(f"DOCFLOW_OUTBOUND_ALLOW: {exc}") from None
    return OutboundSettings(
        allow=allow,
        connect_timeout_seconds=_env_float("DOCFLOW_OUTBOUND_CONNECT_TIMEOUT_SECONDS",
                                           defaults.connect_timeout_seconds),
        timeout_seconds=_env_float("DOCFLOW_OUTBOUND_TIMEOUT_SECONDS", defaults.timeout_seconds),
        max_response_bytes=_env_int("DOCFLOW_OUTBOUND_MAX_RESPONSE_BYTES", defaults.max_response_bytes),
    )


def smtp_from_env() -> SmtpSettings | None:
    """DOCFLOW_SMTP_HOST (none: the outbox folder), _PORT (25), _USER, _PASSWORD, _STARTTLS (true/false)."""
    host = os.environ.get("DOCFLOW_SMTP_HOST")
    if not host:
        return None
    return SmtpSettings(host=host, port=_env_int("DOCFLOW_SMTP_PORT", 25),
                        user=os.environ.get("DOCFLOW_SMTP_USER") or None,
                        password=os.environ.get("DOCFLOW_SMTP_PASSWORD") or None,
                        starttls=(os.environ.get("DOCFLOW_SMTP_STARTTLS") or "").lower() in ("1", "true", "yes"))


def _env_price(name: str, default: float) -> float:
    return env_number(name, default, what="a price in US dollars", zero_allowed=True)


def prices_from_env() -> PriceTable:
    """The price table behind `cost_usd` (domain/usage.py, dated defaults): DOCFLOW_PRICE_<FIELD>
    for each price (e.g. DOCFLOW_PRICE_BEDROCK_INPUT_1K for another model), DOCFLOW_PRICE_TEXTRACT_<API>
    per Textract API (e.g. DOCFLOW_PRICE_TEXTRACT_ANALYZEEXPENSE), DOCFLOW_PRICE_AS_OF; the Lambda
    memory from AWS_LAMBDA_FUNCTION_MEMORY_SIZE (set by Lambda) or DOCFLOW_LAMBDA_MEMORY_MB."""
    defaults = PriceTable()
    textract = {api: _env_price(f"DOCFLOW_PRICE_TEXTRACT_{api.replace(':', '_').upper()}", price)
                for api, price in defaults.textract_page.items()}
    memory = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE") or os.environ.get("DOCFLOW_LAMBDA_MEMORY_MB")
    return PriceTable(
        as_of=os.environ.get("DOCFLOW_PRICE_AS_OF") or defaults.as_of,
        step_transition=_env_price("DOCFLOW_PRICE_STEP_TRANSITION", defaults.step_transition),
        lambda_gb_second=_env_price("DOCFLOW_PRICE_LAMBDA_GB_SECOND", defaults.lambda_gb_second),
        lambda_request=_env_price("DOCFLOW_PRICE_LAMBDA_REQUEST", defaults.lambda_request),
        lambda_memory_mb=int(memory) if memory and memory.isdigit() else defaults.lambda_memory_mb,
        textract_page=textract,
        bedrock_input_1k=_env_price("DOCFLOW_PRICE_BEDROCK_INPUT_1K", defaults.bedrock_input_1k),
        bedrock_output_1k=_env_price("DOCFLOW_PRICE_BEDROCK_OUTPUT_1K", defaults.bedrock_output_1k),
    )


def limits_from_env() -> Limits:
    """Each limit of DESIGN.md §5 as DOCFLOW_<NAME> (e.g. DOCFLOW_MAX_UPLOAD_BYTES)."""
    defaults = Limits()
    return Limits(**{f.name: _env_int(f"DOCFLOW_{f.name.upper()}", getattr(defaults, f.name)) for f in fields(Limits)})


@dataclass(frozen=True)
class LocalSettings:
    data_dir: Path = Path(".docflow")
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 4
    # Worker processes for step jobs (0: run them in the engine's threads).
    step_processes: int = field(default_factory=lambda: min(os.cpu_count() or 1, 4))
    api_key: str | None = None
    limits: Limits = field(default_factory=Limits)
    # How often the drop-folder watcher looks at <data-dir>/inbox/ (0 turns it off).
    inbox_poll_ms: int = 500
    outbound: OutboundSettings = field(default_factory=OutboundSettings)
    # E-mail integrations: SMTP when a host is set, else .eml files in <data-dir>/outbox/.
    smtp: SmtpSettings | None = None
    mail_from: str = "docflow@localhost"
    prices: PriceTable = field(default_factory=PriceTable)

    @classmethod
    def from_env(cls, **overrides: object) -> LocalSettings:
        values: dict[str, object] = {
            "data_dir": Path(os.environ.get("DOCFLOW_DATA_DIR") or ".docflow"),
            "host": os.environ.get("DOCFLOW_HOST") or "127.0.0.1",
            "port": _env_int("DOCFLOW_PORT", 8080),
            "workers": _env_int("DOCFLOW_WORKERS", 4),
            "step_processes": _env_int("DOCFLOW_STEP_PROCESSES", min(os.cpu_count() or 1, 4)),
            "api_key": os.environ.get("DOCFLOW_API_KEY") or None,
            "limits": limits_from_env(),
            "inbox_poll_ms": _env_int("DOCFLOW_INBOX_POLL_MS", 500),
            "outbound": outbound_from_env(),
            "smtp": smtp_from_env(),
            "mail_from": os.environ.get("DOCFLOW_MAIL_FROM") or "docflow@localhost",
            "prices": prices_from_env(),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]


@dataclass(frozen=True)
class AwsSettings:
    table: str
    bucket: str
    event_bus: str
    state_machine_arn: str | None
    limits: Limits
    # Cron schedules (template.yaml `# --- cron schedules`): set on the API function only.
    schedule_group: str | None = None
    schedule_target_arn: str | None = None
    scheduler_role_arn: str | None = None
    schedule_dlq_arn: str | None = None
    outbound: OutboundSettings = field(default_factory=OutboundSettings)
    # The SES identity e-mail integrations send from (none: e-mail steps fail with email_unavailable).
    mail_from: str | None = None
    # Outbound webhooks (template.yaml `# --- outbound webhooks`): the delivery queue, set on the
    # fan-out and deliverer functions only.
    webhook_queue_url: str | None = None
    prices: PriceTable = field(default_factory=PriceTable)

    @classmethod
    def from_env(cls) -> AwsSettings:
        return cls(table=os.environ["DOCFLOW_TABLE"], bucket=os.environ["DOCFLOW_BUCKET"],
                   event_bus=os.environ.get("DOCFLOW_EVENT_BUS", "default"),
                   state_machine_arn=os.environ.get("DOCFLOW_STATE_MACHINE_ARN") or None,
                   limits=limits_from_env(),
                   schedule_group=os.environ.get("DOCFLOW_SCHEDULE_GROUP") or None,
                   schedule_target_arn=os.environ.get("DOCFLOW_SCHEDULE_TARGET_ARN") or None,
                   scheduler_role_arn=os.environ.get("DOCFLOW_SCHEDULER_ROLE_ARN") or None,
                   schedule_dlq_arn=os.environ.get("DOCFLOW_SCHEDULE_DLQ_ARN") or None,
                   outbound=outbound_from_env(), mail_from=os.environ.get("DOCFLOW_MAIL_FROM") or None,
                   webhook_queue_url=os.environ.get("DOCFLOW_WEBHOOK_QUEUE_URL") or None,
                   prices=prices_from_env())
