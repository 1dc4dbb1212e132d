"""The local orchestrator: a worker pool that drives each execution through `usecases.run`,
step by step, exactly as the state machine does on AWS (same functions, same decisions)."""

from __future__ import annotations

import logging
import random
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from docflow.domain.errors import DeliveryTransient, StepFailed
from docflow.domain.models import Execution, ExecutionError
from docflow.ports import Ports, UnfinishedExecutions
from docflow.usecases import run

log = logging.getLogger("docflow.engine")


class LocalEngine:
    """Implements the ExecutionLauncher and WaitingRuns ports for local mode. A run waiting for a
    review holds no worker: its driver returns, and an answer launches it again."""

    def __init__(self, workers: int) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="docflow-engine")
        self._ports: Ports | None = None
        self._unfinished: UnfinishedExecutions | None = None
        self._running: dict[str, Future[None]] = {}
        # Runs launched again while their driver was still returning (an answer right after a park).
        self._again: dict[str, Execution] = {}
        self._lock = threading.Lock()
        self._stopped = False
        self._stopping = threading.Event()  # wakes runs waiting to retry a network step

    def attach(self, ports: Ports, unfinished: UnfinishedExecutions) -> None:
        self._ports, self._unfinished = ports, unfinished

    def launch(self, execution: Execution) -> None:
        with self._lock:
            if execution.id in self._running:
                self._again[execution.id] = execution  # one run, one worker: relaunched when it returns
                return
            if self._stopped:
                return  # shutting down: the run stays queued and resumes at the next start
            future = self._pool.submit(self._drive, execution.workspace_id, execution.id)
            self._running[execution.id] = future
        future.add_done_callback(lambda _: self._forget(execution.id))

    def cancel(self, execution: Execution) -> None:
        """Nothing to stop: the worker sees the canceled status before its next step."""

    def resume(self, execution: Execution, task_token: str | None, progress: dict[str, Any]) -> None:
        """A review was answered: drive the run on from where the store says it is."""
        self.launch(execution)

    def abort(self, execution: Execution, task_token: str | None, error: ExecutionError) -> None:
        """Nothing to stop: the run is already marked failed and no worker holds it."""

    def resume_unfinished(self) -> int:
        """Relaunches every run a stop interrupted (runs waiting for a review stay parked); returns how many."""
        assert self._unfinished is not None
        unfinished = self._unfinished.list_unfinished()
        for execution in unfinished:
            self.launch(execution)
        return len(unfinished)

    def wait_idle(self, timeout: float | None = None) -> None:
        with self._lock:
            futures = list(self._running.values())
        for future in futures:
            future.result(timeout=timeout)

    def shutdown(self) -> None:
        with self._lock:
            self._stopped = True
        self._stopping.set()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _forget(self, execution_id: str) -> None:
        with self._lock:
            self._running.pop(execution_id, None)
            again = self._again.pop(execution_id, None)
        if again is not None:
            self.launch(again)

    def _drive(self, workspace_id: str, execution_id: str) -> None:
        ports = self._ports
        assert ports is not None
        try:
            progress = run.begin(ports, workspace_id, execution_id)
            while progress.step is not None:
                progress = self._run_step(ports, workspace_id, execution_id, progress.step.step_id)
        except _Interrupted:
            pass  # shutting down while waiting to retry: the run resumes at the next start
        except StepFailed:
            pass  # run_step has recorded the failure on the execution
        except Exception as exc:  # the catch-all, like the state machine's Catch → MarkFailed
            log.exception("execution %s failed", execution_id)
            run.fail(ports, workspace_id, execution_id, run.error_of(exc))

    def _run_step(self, ports: Ports, workspace_id: str, execution_id: str, step_id: str) -> run.Progress:
        """One step; a network step's transient failure is retried with exponential backoff and
        full jitter, bounded (what the state machine's Retry does on AWS)."""
        limits = ports.limits
        for attempt in range(limits.network_retry_attempts + 1):
            try:
                return run.run_step(ports, workspace_id, execution_id, step_id)
            except DeliveryTransient as exc:
                if attempt == limits.network_retry_attempts:
                    raise
                delay = random.uniform(0, limits.network_retry_base_ms * 2 ** attempt) / 1000
                log.warning("execution %s step %s: %s; retry %d of %d in %.1f s", execution_id, step_id,
                            exc.message, attempt + 1, limits.network_retry_attempts, delay)
                if self._stopping.wait(delay):
                    raise _Interrupted() from exc
        raise AssertionError("unreachable")


class _Interrupted(Exception):
    """The engine stops while a run waits to retry a step."""

