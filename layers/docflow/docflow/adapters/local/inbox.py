"""A file under `<data-dir>/inbox/` as the ingest use-case's source: local mode's twin of an S3
object version under the bucket's `inbox/` prefix (the folders mirror the prefixes)."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path, PurePosixPath
from typing import Any


class LocalInboxFile:
    """The bytes are read once (and cached): the idempotency key names exactly the bytes that were
    registered, by path, sha256 and modification time, so a replay after a crash (same file,
    untouched) finds the run it started, and the same name copied in again is a new run."""

    def __init__(self, data_dir: Path, path: Path) -> None:
        self._root = Path(data_dir)
        self._path = Path(path)
        self._key = self._path.relative_to(self._root).as_posix()
        self._data: bytes | None = None
        self._mtime_ns = 0

    @property
    def key(self) -> str:
        return self._key

    def _read(self) -> bytes | None:
        if self._data is None:
            try:
                with open(self._path, "rb") as handle:
                    self._mtime_ns = os.fstat(handle.fileno()).st_mtime_ns
                    self._data = handle.read()
            except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
                return None
        return self._data

    def _sha256(self) -> str:
        return hashlib.sha256(self._read() or b"").hexdigest()

    @property
    def idempotency_key(self) -> str:
        return f"local:{self._key}#{self._sha256()}:{self._mtime_ns}"

    @property
    def trigger_data(self) -> dict[str, Any]:
        return {"key": self._key, "sha256": self._sha256(), "mtime_ns": self._mtime_ns}

    def size(self) -> int | None:
        try:
            return self._path.stat().st_size
        except (FileNotFoundError, NotADirectoryError):
            return None

    def read(self) -> bytes | None:
        return self._read()

    def _target(self, key: str) -> Path:
        target = (self._root / key).resolve()
        if not target.is_relative_to(self._root.resolve()):
            raise ValueError(f"{key!r} is outside the data dir")
        return target

    def free_key(self, destination_key: str) -> str:
        """`invoice.pdf`, else `invoice (2).pdf`, `invoice (3).pdf`…: a folder has no versions, so
        a second file of the same name never replaces the first."""
        path = PurePosixPath(destination_key)
        candidate, number = destination_key, 1
        while self._target(candidate).exists():
            number += 1
            candidate = str(path.with_name(f"{path.stem} ({number}){path.suffix}"))
        return candidate

    def move(self, destination_key: str) -> None:
        target = self._target(destination_key)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(self._path, target)  # atomic on one filesystem: never half here, half there
        except FileNotFoundError:
            return  # moved already

    def write_error(self, key: str, body: bytes) -> None:
        target = self._target(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(body)
            os.replace(temp, target)
        finally:
            Path(temp).unlink(missing_ok=True)
