"""API keys: issue, authenticate, list, revoke. Only a SHA-256 hash of a key is ever stored."""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from docflow.domain.clock import utc_now
from docflow.domain.errors import Throttled, Unauthorized, ValidationFailed
from docflow.domain.models import ApiKey, Page
from docflow.ports import ApiKeyRepository

KEY_PREFIX = "dfk_"
EXTERNAL_KEY = re.compile(r"^dfk_[A-Za-z0-9_-]{32,128}$")
WORKSPACE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
DISPLAY_PREFIX_LENGTH = 12


@dataclass(frozen=True)
class IssuedKey:
    key: ApiKey
    secret: str


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _base62(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    digits = []
    while number:
        number, rest = divmod(number, 62)
        digits.append(_BASE62[rest])
    return "".join(reversed(digits)).rjust(43, "0")


def generate_secret() -> str:
    return KEY_PREFIX + _base62(secrets.token_bytes(32))


def check_workspace_name(workspace_id: str) -> str:
    if not WORKSPACE_NAME.match(workspace_id):
        raise ValidationFailed(
            f"workspace '{workspace_id}' must be 1-63 letters, digits, '-' or '_'",
            details=[{"loc": ["workspace"], "msg": "invalid name"}],
        )
    return workspace_id


def issue_key(keys: ApiKeyRepository, workspace_id: str, name: str, secret: str | None = None) -> IssuedKey:
    """A new key in `workspace_id` (created if new). `secret` lets a caller bring its own key."""
    check_workspace_name(workspace_id)
    if secret is None:
        secret = generate_secret()
    elif not EXTERNAL_KEY.match(secret):
        raise ValidationFailed("an API key must be 'dfk_' followed by 32 to 128 characters of [A-Za-z0-9_-]")
    key = ApiKey(workspace_id=workspace_id, name=name, prefix=secret[:DISPLAY_PREFIX_LENGTH],
                 key_hash=hash_key(secret))
    keys.add(key)
    return IssuedKey(key=key, secret=secret)


def ensure_key(keys: ApiKeyRepository, secret: str, workspace_id: str = "default", name: str = "env") -> ApiKey:
    """Registers a key supplied from outside (DOCFLOW_API_KEY) unless it is already known."""
    if not EXTERNAL_KEY.match(secret):
        raise ValidationFailed("DOCFLOW_API_KEY must be 'dfk_' followed by 32 to 128 characters of [A-Za-z0-9_-]")
    existing = keys.find_by_hash(hash_key(secret))
    return existing if existing is not None else issue_key(keys, workspace_id, name, secret).key


def secret_from_header(authorization: str | None) -> str:
    """The key in `Bearer <key>` or `Basic base64(<key>:)`."""
    if not authorization:
        raise Unauthorized("missing Authorization header: send 'Authorization: Bearer <api key>'")
    scheme, _, credentials = authorization.strip().partition(" ")
    credentials = credentials.strip()
    if scheme.lower() == "bearer" and credentials:
        return credentials
    if scheme.lower() == "basic" and credentials:
        try:
            decoded = base64.b64decode(credentials, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise Unauthorized("malformed Basic credentials") from None
        return decoded.split(":", 1)[0]
    raise Unauthorized("unsupported Authorization scheme: use 'Bearer <api key>'")


def authenticate(keys: ApiKeyRepository, authorization: str | None, now: datetime | None = None) -> ApiKey:
    secret = secret_from_header(authorization)
    if not secret.startswith(KEY_PREFIX):
        raise Unauthorized("invalid API key")
    digest = hash_key(secret)
    key = keys.find_by_hash(digest)
    # The lookup is by hash; the compare is constant-time so timing says nothing about near misses.
    if key is None or key.revoked_at is not None or not hmac.compare_digest(key.key_hash, digest):
        raise Unauthorized("invalid or revoked API key")
    _note_use(keys, key, now or utc_now())
    return key


# last_used_at is written at most this often per key: a write per request would double the
# cost of authenticating (and on AWS make every request a DynamoDB write).
LAST_USED_EVERY = timedelta(minutes=1)


def _note_use(keys: ApiKeyRepository, key: ApiKey, now: datetime) -> None:
    if key.last_used_at is not None and now - key.last_used_at < LAST_USED_EVERY:
        return
    with contextlib.suppress(Throttled):  # best effort: the request goes on; a later one stamps it
        keys.mark_used(key, now)


def list_keys(keys: ApiKeyRepository, workspace_id: str, limit: int, cursor: str | None) -> Page[ApiKey]:
    return keys.list(workspace_id, limit, cursor)


def revoke_key(keys: ApiKeyRepository, workspace_id: str, key_id: str) -> ApiKey:
    return keys.revoke(workspace_id, key_id, utc_now())
