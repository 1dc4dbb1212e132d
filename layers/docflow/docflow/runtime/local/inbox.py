"""Local mode's drop folder: a thread that polls `<data-dir>/inbox/<workflow_id>/` and hands each
completely written file to the same `ingest_object` use-case the S3 drop folder uses.

"Completely written" without inotify: names that tools write first and rename after (dot files,
`*.tmp`, `*.part`, `*~`) are skipped, and a file is taken only when its size and modification
time are the same in two polls in a row. Exactly once across a crash comes from the use-case: a
file whose run was started but which was not moved yet is replayed (same idempotency key) and
moved on the next start."""

from __future__ import annotations

import logging
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

from docflow.adapters.local.inbox import LocalInboxFile
from docflow.ports import Ports
from docflow.usecases.ingest import INBOX, IngestOutcome, ingest_object

log = logging.getLogger("docflow.inbox")

# Written under a temporary name, then renamed: never a finished file.
TEMPORARY_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload", "~")


def is_temporary(name: str) -> bool:
    return name.startswith(".") or name.lower().endswith(TEMPORARY_SUFFIXES)


class InboxWatcher:
    def __init__(self, ports: Ports, data_dir: Path, interval_seconds: float) -> None:
        self._ports = ports
        self._root = Path(data_dir)
        self.inbox = self._root / INBOX
        self._interval = interval_seconds
        # What each file looked like at the last poll: (size, mtime_ns).
        self._seen: dict[Path, tuple[int, int]] = {}
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.inbox.mkdir(parents=True, exist_ok=True)
        if self._interval <= 0 or self._thread is not None:
            return  # DOCFLOW_INBOX_POLL_MS=0 turns the watcher off
        self._thread = threading.Thread(target=self._run, name="docflow-inbox", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def _run(self) -> None:
        while not self._stopping.wait(self._interval):
            try:
                self.poll_once()
            except Exception:  # a bad poll (disk, database) must not end the watcher
                log.exception("inbox poll failed")

    def poll_once(self) -> list[IngestOutcome]:
        """One look at the inbox: ingests the files that have not changed since the last look."""
        current = dict(self._scan())
        ready = [path for path, signature in current.items() if self._seen.get(path) == signature]
        self._seen = {path: signature for path, signature in current.items() if path not in ready}
        outcomes = []
        for path in sorted(ready):
            if self._stopping.is_set():
                break
            outcome = self._ingest(path)
            if outcome is not None:
                outcomes.append(outcome)
        return outcomes

    def _ingest(self, path: Path) -> IngestOutcome | None:
        try:
            outcome = ingest_object(self._ports, LocalInboxFile(self._root, path))
        except Exception:  # the file stays in the inbox and is tried again after the next poll
            log.exception("could not ingest %s; will retry", path)
            return None
        level = logging.WARNING if outcome.status == "failed" else logging.INFO
        log.log(level, "inbox %s: %s → %s %s", outcome.status, outcome.key, outcome.destination or "-",
                outcome.execution_id or outcome.message or "")
        return outcome

    def _scan(self) -> Iterator[tuple[Path, tuple[int, int]]]:
        if not self.inbox.is_dir():
            return
        for directory, subdirectories, files in self.inbox.walk():
            subdirectories[:] = [d for d in subdirectories if not d.startswith(".")]
            for name in files:
                if is_temporary(name):
                    continue
                path = directory / name
                try:
                    info = path.lstat()
                except FileNotFoundError:
                    continue
                if stat.S_ISREG(info.st_mode):  # not symlinks: moving one would move the link
                    yield path, (info.st_size, info.st_mtime_ns)
