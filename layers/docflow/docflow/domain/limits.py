"""Limits (DESIGN.md §5): defaults here, each overridable by a DOCFLOW_* setting."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    max_upload_bytes: int = 100 * 1024 * 1024
    max_request_bytes: int = 6 * 1024 * 1024
    max_pages: int = 500
    # OCR of one page (a scan, an image) gives up after this long: `ocr_timeout`.
    ocr_page_seconds: int = 30
    upload_url_ttl_seconds: int = 3600
    download_url_ttl_seconds: int = 900
    # Step outputs above this go to the blob store with a pointer (Step Functions caps payloads at 256 KB).
    inline_output_bytes: int = 200 * 1024
    # Event-triggered runs started by other event-triggered runs: a chain A → B → C stops here.
    max_trigger_depth: int = 5
    # Inbound webhook bodies (POST /v1/hooks/{workflow_id}): JSON events, not files.
    max_webhook_bytes: int = 1024 * 1024
    # Steps one run may take: a second guard behind the validation of definitions (no cycles).
    max_steps_per_run: int = 100
    # A network step's transient failures (timeout, 429, 5xx) are retried this often, with
    # exponential backoff and full jitter from this base (locally; on AWS the ASL Retry does it).
    network_retry_attempts: int = 4
    network_retry_base_ms: int = 1000
