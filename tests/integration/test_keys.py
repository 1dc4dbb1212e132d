"""API keys: format, hashing only, header forms, revocation."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest

from docflow.adapters.local.sqlite import SqliteApiKeyRepository, SqliteDatabase
from docflow.domain.errors import Unauthorized, ValidationFailed
from docflow.usecases.keys import authenticate, ensure_key, generate_secret, hash_key, issue_key, revoke_key


@pytest.fixture
def keys(tmp_path: Path) -> SqliteApiKeyRepository:
    return SqliteApiKeyRepository(SqliteDatabase(tmp_path / "k.sqlite3"))


def test_generated_keys_are_prefixed_base62_and_unique() -> None:
    secrets = {generate_secret() for _ in range(200)}
    assert len(secrets) == 200
    assert all(re.fullmatch(r"dfk_[0-9A-Za-z]{43}", s) for s in secrets)


def test_only_the_hash_and_a_display_prefix_are_stored(keys: SqliteApiKeyRepository, tmp_path: Path) -> None:
    issued = issue_key(keys, "team", "ci")
    assert issued.key.key_hash == hash_key(issued.secret) and issued.key.prefix == issued.secret[:12]
    raw = (tmp_path / "k.sqlite3").read_bytes() + b"".join(p.read_bytes() for p in tmp_path.glob("k.sqlite3-*"))
    assert issued.secret.encode() not in raw


def test_bearer_and_basic_forms_authenticate(keys: SqliteApiKeyRepository) -> None:
    issued = issue_key(keys, "team", "ci")
    assert authenticate(keys, f"Bearer {issued.secret}").id == issued.key.id
    basic = base64.b64encode(f"{issued.secret}:".encode()).decode()
    assert authenticate(keys, f"Basic {basic}").workspace_id == "team"


@pytest.mark.parametrize("header", [None, "", "Bearer", "Token abc", "Bearer dfk_unknown", "Basic !!!",
                                    "Bearer not-a-docflow-key"])
def test_bad_credentials_are_unauthorized(keys: SqliteApiKeyRepository, header: str | None) -> None:
    with pytest.raises(Unauthorized):
        authenticate(keys, header)


def test_revoked_key_stops_working(keys: SqliteApiKeyRepository) -> None:
    issued = issue_key(keys, "team", "ci")
    revoke_key(keys, "team", issued.key.id)
    with pytest.raises(Unauthorized):
        authenticate(keys, f"Bearer {issued.secret}")


def test_external_key_is_registered_once_and_validated(keys: SqliteApiKeyRepository) -> None:
    secret = "dfk_" + "x" * 32
    first = ensure_key(keys, secret)
    assert ensure_key(keys, secret).id == first.id and first.workspace_id == "default"
    for bad in ("dfk_short", "abc_" + "x" * 40, "dfk_" + "x" * 129, "dfk_" + "x" * 31 + "!"):
        with pytest.raises(ValidationFailed):
            ensure_key(keys, bad)
