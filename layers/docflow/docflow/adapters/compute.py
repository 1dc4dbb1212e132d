"""Where step jobs (docflow.steps.jobs) run: in the calling thread, or in worker processes."""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any


class InlineCompute:
    """In the caller's thread: a Lambda invocation runs one step and has its own process."""

    def run[T](self, job: Callable[..., T], *args: Any) -> T:
        return job(*args)

    def close(self) -> None:
        """Nothing to release."""


class ProcessCompute:
    """A pool of worker processes, started on first use. Steps are CPU-bound Python, so threads
    alone would share one core (the GIL); processes let local mode use every core."""

    def __init__(self, processes: int) -> None:
        self._processes = processes
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                # spawn: forking a process that runs threads (the HTTP server, the engine) is unsafe.
                self._pool = ProcessPoolExecutor(self._processes, mp_context=multiprocessing.get_context("spawn"),
                                                 initializer=_exit_with_parent, initargs=(os.getpid(),))
            return self._pool

    def run[T](self, job: Callable[..., T], *args: Any) -> T:
        return self._executor().submit(job, *args).result()

    def warm(self) -> None:
        """Starts every worker now, with the step modules imported: the pool would otherwise
        start a worker (about a second of CPU) in the middle of the first burst of runs."""
        pool = self._executor()
        for future in [pool.submit(_import_steps) for _ in range(self._processes)]:
            future.result()

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _import_steps() -> None:
    import docflow.steps.extract
    import docflow.steps.invoice
    import docflow.steps.parse  # noqa: F401 - imported for its side of warming: the modules are loaded
    time.sleep(0.05)  # held a moment, so that each call of warm() lands on a worker of its own


def _exit_with_parent(parent_pid: int) -> None:
    """Workers end when the server is gone, even after a kill -9 that let it clean nothing up."""

    def watch() -> None:
        while True:
            time.sleep(1)
            try:
                os.kill(parent_pid, 0)
            except ProcessLookupError:
                os._exit(0)

    threading.Thread(target=watch, name="docflow-parent-watch", daemon=True).start()
