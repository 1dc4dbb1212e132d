"""Shared bits: paths, the fake-AWS environment for subprocesses, small statistics."""

from __future__ import annotations

import os
import statistics
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REGION = "us-east-1"


def aws_env() -> dict[str, str]:
    """The environment of a Lambda container, with credentials that can never reach AWS."""
    env = dict(os.environ)
    env.pop("AWS_PROFILE", None)
    env.update({
        "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION, "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing", "POWERTOOLS_TRACE_DISABLED": "1",
        "POWERTOOLS_SERVICE_NAME": "docflow", "POWERTOOLS_LOG_LEVEL": "WARNING", "DOCFLOW_TABLE": "docflow-bench",
        "DOCFLOW_BUCKET": "docflow-bench", "DOCFLOW_EVENT_BUS": "docflow-bench",
        "DOCFLOW_STATE_MACHINE_ARN": f"arn:aws:states:{REGION}:123456789012:stateMachine:docflow-bench",
    })
    return env


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"
