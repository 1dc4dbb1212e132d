"""Module-level jobs for the step worker tests: a spawned worker imports them by name."""

from __future__ import annotations

import os
import time

from docflow.domain.errors import DocumentCorrupt


def worker_pid() -> int:
    return os.getpid()


def echo(value: object) -> object:
    return value


def refuse_document() -> None:
    raise DocumentCorrupt("the PDF cross-reference table is damaged")


def divide_by_zero() -> float:
    return 1 / 0


def crash(code: int) -> None:
    os._exit(code)  # as a segfault in a native parser or the OOM killer would end it: no answer


def unpicklable_answer() -> object:
    return lambda: None


def hold(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()
