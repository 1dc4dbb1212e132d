"""Integrations (DESIGN.md §1): where an `integration` step sends its message. One belongs to one
workflow. Pure: the config models (a discriminated union on `integration_type`), the stored record,
and how secrets are masked for display and kept when a masked form is sent back.

Secrets, stored whole but never echoed whole:
- slack `webhook_url`: the whole URL is the credential (hooks.slack.com/services/T…/B…/<token>);
- webhook `url`: the query string (tokens travel there: `?token=`, `?code=`, `?sig=`); the path is
  shown, since it is how a user recognises the endpoint;
- webhook `headers`: every value but a few content-negotiation ones (Content-Type, Accept, User-Agent).
A masked value sent back in a PUT (exactly as a GET showed it) means "keep the stored one"."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator

from docflow.domain.clock import new_id, utc_now
from docflow.domain.models import Record

IntegrationType = Literal["slack", "email", "webhook"]
TYPES: tuple[str, ...] = ("slack", "email", "webhook")
MASK = "****"
# Header values that are never credentials: shown as they are.
PLAIN_HEADERS = frozenset({"content-type", "accept", "user-agent"})
_HEADER_NAME = r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$"  # an RFC 9110 token
# One address, no display name: enough to refuse a typo without a mail library.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?"
_EMAIL = rf"^[^@\s<>,;]{{1,64}}@{_LABEL}(?:\.{_LABEL})+$"
_FORBIDDEN_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection"})


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SlackConfig(_Config):
    webhook_url: str = Field(min_length=1, max_length=2048, description="A Slack incoming-webhook URL (secret: "
                                                                        "shown masked)")
    channel: str | None = Field(default=None, max_length=80, examples=["#invoices"])


class EmailConfig(_Config):
    to: list[Annotated[str, Field(pattern=_EMAIL, max_length=254)]] = Field(min_length=1, max_length=50,
                                                                           examples=[["ap@example.com"]])
    subject: str = Field(min_length=1, max_length=998, examples=["Invoice {{invoice_number}} processed"])
    template: str | None = Field(default=None, max_length=100_000,
                                 description="The message body (Jinja2, sandboxed); the step's template wins")

    @field_validator("to", mode="before")
    @classmethod
    def _one_address(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value  # the seed also sends a single address


class WebhookConfig(_Config):
    url: str = Field(min_length=1, max_length=2048, examples=["https://example.com/hooks/docflow"],
                     description="Where the JSON body goes (its query string is a secret: shown masked)")
    method: Literal["POST", "PUT", "PATCH"] = "POST"
    headers: dict[Annotated[str, Field(pattern=_HEADER_NAME)], Annotated[str, Field(max_length=8192)]] = Field(
        default_factory=dict, max_length=50, examples=[{"Authorization": "Bearer …"}],
        description="Sent with every call (values are secrets: shown masked)")

    @field_validator("method", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("headers")
    @classmethod
    def _settable(cls, value: dict[str, str]) -> dict[str, str]:
        taken = sorted(name for name in value if name.lower() in _FORBIDDEN_HEADERS)
        if taken:
            raise ValueError(f"{', '.join(taken)} cannot be set: the sender writes it")
        if any(ch in v for v in value.values() for ch in "\r\n\0"):
            raise ValueError("header values cannot contain line breaks")
        return value


class SlackSpec(_Config):
    integration_type: Literal["slack"]
    config: SlackConfig


class EmailSpec(_Config):
    integration_type: Literal["email"]
    config: EmailConfig


class WebhookSpec(_Config):
    integration_type: Literal["webhook"]
    config: WebhookConfig


IntegrationSpec = Annotated[SlackSpec | EmailSpec | WebhookSpec, Field(discriminator="integration_type")]
SPEC = TypeAdapter[SlackSpec | EmailSpec | WebhookSpec](IntegrationSpec)
# The config fields that hold a URL the SSRF guard must accept, by type.
URL_FIELDS: dict[str, tuple[str, ...]] = {"slack": ("webhook_url",), "email": (), "webhook": ("url",)}


class Integration(Record):
    id: str = Field(default_factory=lambda: new_id("int"))
    workspace_id: str
    workflow_id: str
    name: str
    integration_type: IntegrationType
    config: dict[str, Any]  # the validated config of its type, secrets whole
    created_at: datetime = Field(default_factory=utc_now)
    updated_at: datetime = Field(default_factory=utc_now)
    revision: int = 0


# --- masking -----------------------------------------------------------------------------------

def mask_secret(value: str) -> str:
    """`****` plus the last 4 characters of a long value (enough to tell two secrets apart)."""
    return MASK + value[-4:] if len(value) >= 16 else MASK


def mask_slack_url(url: str) -> str:
    """`https://hooks.slack.com/services/T0…/****abcd`: the host, the first path segment and two
    characters of the second, then the tail of the token."""
    parts = urlsplit(url)
    segments = [s for s in parts.path.split("/") if s]
    shown = "/" + "/".join(segments[:1]) if segments else ""
    if len(segments) > 1:
        shown += f"/{segments[1][:2]}…"
    return f"{parts.scheme}://{parts.netloc}{shown}/{mask_secret(url)}"


def mask_query(url: str) -> str:
    """The URL with every query value masked (names kept: they say what is configured)."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    masked = urlencode([(name, mask_secret(value)) for name, value in parse_qsl(parts.query, keep_blank_values=True)],
                       safe="*")
    return urlunsplit((parts.scheme, parts.netloc, parts.path, masked, ""))


def mask_headers(headers: dict[str, str]) -> dict[str, str]:
    return {name: value if name.lower() in PLAIN_HEADERS else mask_secret(value) for name, value in headers.items()}


def masked_config(integration_type: str, config: dict[str, Any]) -> dict[str, Any]:
    """The config as every response shows it."""
    shown = dict(config)
    if integration_type == "slack":
        shown["webhook_url"] = mask_slack_url(config["webhook_url"])
    elif integration_type == "webhook":
        shown["url"] = mask_query(config["url"])
        shown["headers"] = mask_headers(config.get("headers") or {})
    return shown


def unmask_config(integration_type: str, sent: dict[str, Any], stored: Integration | None) -> dict[str, Any]:
    """`sent` with each value that equals the masked form of the stored one replaced by the stored
    secret (a GET's config sent back in a PUT keeps every secret; a new value replaces it)."""
    if stored is None or stored.integration_type != integration_type:
        return sent
    config = dict(sent)
    old = stored.config
    if integration_type == "slack" and config.get("webhook_url") == mask_slack_url(old["webhook_url"]):
        config["webhook_url"] = old["webhook_url"]
    elif integration_type == "webhook":
        if config.get("url") == mask_query(old["url"]) and mask_query(old["url"]) != old["url"]:
            config["url"] = old["url"]
        headers = config.get("headers")
        if isinstance(headers, dict):
            before = {name.lower(): value for name, value in (old.get("headers") or {}).items()}
            config["headers"] = {
                name: before[name.lower()] if (name.lower() in before and name.lower() not in PLAIN_HEADERS
                                               and value == mask_secret(before[name.lower()])) else value
                for name, value in headers.items()}
    return config
