"""The outside extraction engines (`textract`, `bedrock`) from settings, for both composition roots
and the CLI. Nothing touches AWS here: each engine builds its boto3 client on its first call, so
a runtime that never runs them never needs credentials, and one that lacks them fails that step
with a clear `engine_credentials_missing` / `engine_access_denied` instead of a traceback.

Settings: AWS_REGION (else AWS_DEFAULT_REGION, else the AWS config's region),
DOCFLOW_BEDROCK_MODEL_ID (a model id or inference profile id; default below),
DOCFLOW_BEDROCK_SEND (`document`: the file as a document/image block when Converse takes it, the
default; `text`: always the parse step's text), DOCFLOW_TEXTRACT_MAX_WAIT_SECONDS (how long one
step waits for an asynchronous Textract job before it is retried; default 180), and the bucket
Textract reads multi-page documents from (the AWS runtime's DOCFLOW_BUCKET; none locally)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from docflow.ports import ExtractionEngine

# Claude 3.5 Haiku through the US cross-region inference profile: tool use with a forced tool and
# document blocks, and the model the price table's Bedrock defaults are for (domain/usage.py).
DEFAULT_BEDROCK_MODEL_ID = "us.anthropic.claude-3-5-haiku-20241022-v1:0"
DEFAULT_TEXTRACT_MAX_WAIT_SECONDS = 180.0


def _region(env: Mapping[str, str]) -> str | None:
    return env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None


def _client_factory(service: str, region: str | None, read_timeout: int) -> Callable[[], Any]:
    def build() -> Any:
        import boto3
        from botocore.config import Config

        from docflow.adapters.aws.engine_errors import RETRIES

        config = Config(retries=RETRIES, connect_timeout=5, read_timeout=read_timeout, tcp_keepalive=True)
        session: Any = boto3.session.Session(region_name=region)
        return session.client(service, config=config)

    return build


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    from docflow.runtime.settings import env_number

    return env_number(name, default, env=env, what="a number of seconds")


def engines_from_env(bucket: str | None = None, env: Mapping[str, str] | None = None) -> dict[str, ExtractionEngine]:
    """Both engines by name, for `Ports.extraction_engines`. `bucket`: the S3 bucket the run's
    documents are stored in (multi-page documents go to Textract's asynchronous API from there)."""
    from docflow.adapters.aws.bedrock import BedrockEngine
    from docflow.adapters.aws.textract import TextractEngine

    env = os.environ if env is None else env
    region = _region(env)
    send = (env.get("DOCFLOW_BEDROCK_SEND") or "document").strip().lower()
    if send not in ("document", "text"):
        raise SystemExit(f"DOCFLOW_BEDROCK_SEND must be 'document' or 'text', not {send!r}")
    textract = TextractEngine(_client_factory("textract", region, 60), bucket=bucket, region=region,
                              max_wait_seconds=_seconds(env, "DOCFLOW_TEXTRACT_MAX_WAIT_SECONDS",
                                                        DEFAULT_TEXTRACT_MAX_WAIT_SECONDS))
    bedrock = BedrockEngine(_client_factory("bedrock-runtime", region, 120),
                            env.get("DOCFLOW_BEDROCK_MODEL_ID") or DEFAULT_BEDROCK_MODEL_ID,
                            region=region, send_document=send == "document")
    return {"textract": textract, "bedrock": bedrock}
