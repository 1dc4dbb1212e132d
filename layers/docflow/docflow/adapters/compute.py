"""Where step jobs (docflow.steps.jobs) run: in the calling thread, or in worker processes."""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
import threading
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from multiprocessing.reduction import ForkingPickler
from typing import Any, NoReturn

from docflow.domain.errors import StepWorkerLost

_STOP = None  # sent instead of a job: the worker returns


class WorkersStopped(RuntimeError):
    """A job handed over after close(): the server is stopping."""


class InlineCompute:
    """In the caller's thread: a Lambda invocation runs one step and has its own process."""

    def run[T](self, job: Callable[..., T], *args: Any) -> T:
        return job(*args)

    def close(self) -> None:
        """Nothing to release."""


class _Worker:
    """One worker process and the parent's end of its pipe."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")  # forking a process that runs threads is unsafe
        self.conn, child = context.Pipe()
        self.process: BaseProcess = context.Process(target=_serve, args=(child,), name="docflow-step-worker",
                                                    daemon=True)
        self.process.start()
        child.close()  # the worker holds the only other end: its exit reads here as EOF

    def kill(self) -> None:
        """For a worker whose pipe can no longer be trusted (it died, or a message broke off)."""
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)
        self.conn.close()

    def stop(self, timeout: float) -> None:
        with contextlib.suppress(OSError):  # already gone
            self.conn.send(_STOP)
        self.process.join(timeout)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout)
        self.conn.close()


class ProcessCompute:
    """A fixed number of worker processes, each behind its own pipe: the calling thread takes a
    free worker, sends the job and reads the answer itself. Steps are CPU-bound Python, so
    threads alone would share one core (the GIL); processes let local mode use every core.

    Not ProcessPoolExecutor: its broker thread and queue feeder thread add two hand-overs per
    job, about 2 ms of the server's CPU per run of a small document, and one worker killed (out
    of memory, a crash in a native parser) breaks that pool for every later run. Here the lost
    worker fails its own step (`StepWorkerLost`) and the next job gets a new worker."""

    def __init__(self, processes: int) -> None:
        self._processes = processes
        self._free: list[_Worker] = []
        self._started = 0  # workers alive, free or busy
        self._available = threading.Condition()
        self._closed = False

    def run[T](self, job: Callable[..., T], *args: Any) -> T:
        worker = self._take()
        try:
            message = _pickled((job, args))
        except BaseException:
            self._give_back(worker)  # nothing was sent: the worker is as it was
            raise
        self._send(worker, message)
        result: T = self._receive(worker)
        return result

    def warm(self) -> None:
        """Starts every worker now, with the step modules imported: a worker started in the
        middle of the first burst of runs would cost it about a second of CPU."""
        workers: list[_Worker] = []
        try:
            workers.extend(self._take() for _ in range(self._processes))
        except WorkersStopped:
            for worker in workers:
                self._give_back(worker)
            return  # the server is stopping: nothing to warm
        message = _pickled((_import_steps, ()))
        sent, failures = [], []
        for worker in workers:  # all of them at once, then the answers
            try:
                self._send(worker, message)
                sent.append(worker)
            except Exception as exc:  # that worker is lost (its place freed); the others still warm
                failures.append(exc)
        for worker in sent:  # every answer read, so that each worker is given back with a clean pipe
            try:
                self._receive(worker)
            except Exception as exc:
                failures.append(exc)
        if failures:
            raise failures[0]

    def _send(self, worker: _Worker, message: bytes) -> None:
        try:
            worker.conn.send_bytes(message)
        except BaseException as exc:
            self._lost(worker, exc)

    def _receive(self, worker: _Worker) -> Any:
        """The worker's answer (it is free again), or its error raised here."""
        try:
            ok, value, remote_traceback = worker.conn.recv()
        except BaseException as exc:
            self._lost(worker, exc)
        self._give_back(worker)
        if not ok:
            raise value from _RemoteTraceback(remote_traceback)
        return value

    def close(self) -> None:
        with self._available:
            self._closed = True
            free, self._free = self._free, []
            self._available.notify_all()
        for worker in free:
            worker.stop(timeout=10)

    def _take(self) -> _Worker:
        with self._available:
            while True:
                if self._closed:
                    raise WorkersStopped("the step workers are stopped")
                if self._free:
                    return self._free.pop()
                if self._started < self._processes:
                    self._started += 1
                    break
                self._available.wait()
        try:
            return _Worker()  # outside the lock: starting a process takes a while
        except BaseException as exc:
            self._lost(None, exc)

    def _give_back(self, worker: _Worker) -> None:
        with self._available:
            if self._closed:
                stop = True
            else:
                stop = False
                self._free.append(worker)
                self._available.notify()
        if stop:
            worker.stop(timeout=10)

    def _lost(self, worker: _Worker | None, exc: BaseException) -> NoReturn:
        """A worker whose pipe cannot be trusted any more (it died, or a message broke off) is
        ended and its place freed for a new one; the caller's step fails."""
        if worker is not None:
            worker.kill()
        with self._available:
            self._started -= 1
            self._available.notify()
        if worker is not None and isinstance(exc, (EOFError, OSError)):
            code = worker.process.exitcode
            raise StepWorkerLost("the worker process running this step ended before it answered"
                                 + (f" (exit code {code})" if code is not None else "")
                                 + "; it may have run out of memory on this document") from exc
        raise exc


def _pickled(message: Any) -> bytes:
    return bytes(ForkingPickler.dumps(message))  # a copy: the pickler's buffer is released at once


class _RemoteTraceback(Exception):
    """The worker's traceback, chained to the error the caller raises (as ProcessPoolExecutor does)."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text

    def __str__(self) -> str:
        return f"\n(in the step worker)\n{self.text}"


def _serve(conn: Connection) -> None:
    """The worker's loop: a job in, (ok, result or exception, traceback) out, until told to stop
    or the server is gone (its end of the pipe closes, even after a kill -9)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the server's to handle: it stops us
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is _STOP:
            return
        job, args = message
        try:
            answer: tuple[bool, Any, str] = (True, job(*args), "")
        except BaseException as exc:  # the caller raises it: a step's StepFailed, or a bug
            answer = (False, exc, traceback.format_exc())
        try:
            data = _pickled(answer)
        except Exception as exc:  # an answer (or an exception) that does not pickle
            data = _pickled((False, RuntimeError(f"the step's answer could not be sent back: {exc}"),
                                         traceback.format_exc()))
        try:
            conn.send_bytes(data)
        except OSError:
            return


def _import_steps() -> None:
    import docflow.steps.extract
    import docflow.steps.invoice
    import docflow.steps.parse  # noqa: F401 - imported for its side of warming: the modules are loaded
