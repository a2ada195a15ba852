"""Snapshots in a local directory, with the guarantees of the S3 store.

* create-if-absent: the file is written under a temporary name, fsynced, then
  hard-linked to its key; `link` fails when the key exists, atomically.
* replace-if-unchanged: under an exclusive `flock` on a lock file beside the key,
  the current content's digest is compared with the expected one, then the new
  content replaces it with an atomic rename. Readers never see a partial file.

Versions are sha256 digests of the content. Object metadata has no place on a
plain file system: what `replace` is given is kept in a hidden file beside the key,
named after the digest of the content it belongs to (`.latest.json.<digest>.meta`),
written before the content is renamed into place. A reader finds the metadata of
exactly the version it read, whenever a writer stops. `create` keeps none (the
documents carry the same facts).

Staged files live in `<root>/.staging/<32 hex digits>.tmp`, one directory for the
whole store, so that what a killed writer leaves behind can be found and removed.
A writer holds an exclusive `flock` on its staged file from the moment it creates
it until after the file is renamed or linked into place and unlinked; the kernel
drops the lock when the writer dies. The sweep (on the first write of a store,
then at most every SWEEP_INTERVAL_SECONDS) removes only files whose name is ours,
that are regular files, older than STALE_STAGED_SECONDS, and whose lock it can
take: never a file a live writer holds. The age rule covers the one instant
between a writer's create and its lock; should a sweep still win that race (a
writer stalled for ten minutes in between, or clocks ten minutes apart on a
shared file system), the writer's link or rename fails and its write is reported
as a StoreError, never lost silently.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import stat
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Final

from dlf_status.domain.ports import StoredObject
from dlf_status.domain.snapshots import is_safe_key
from dlf_status.errors import StoreError
from dlf_status.observability import logger

STAGING_DIRECTORY: Final = ".staging"
# A writer keeps a staged file for milliseconds; ten minutes is far beyond any write.
STALE_STAGED_SECONDS: Final = 600.0
SWEEP_INTERVAL_SECONDS: Final = 600.0
_STAGED_NAME = re.compile(r"[0-9a-f]{32}\.tmp")


def _digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def _metadata_path(path: Path, version: str) -> Path:
    return path.with_name(f".{path.name}.{version[:32]}.meta")


class LocalDirectoryStore:
    def __init__(self, root: Path) -> None:
        self._root = root.resolve()
        self._staging = self._root / STAGING_DIRECTORY
        self._next_sweep = 0.0  # monotonic time; the first write sweeps
        self._sweep_lock = threading.Lock()

    @property
    def location(self) -> str:
        return str(self._root)

    def _path(self, key: str) -> Path:
        if not is_safe_key(key):
            raise StoreError(f"refusing an unsafe snapshot key {key!r:.120}")
        path = (self._root / key).resolve()
        if not path.is_relative_to(self._root):
            raise StoreError(f"refusing a snapshot key outside {self._root}")
        return path

    def get(self, key: str) -> StoredObject | None:
        path = self._path(key)
        try:
            body = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StoreError(f"cannot read {path}: {exc.strerror or exc}") from None
        version = _digest(body)
        return StoredObject(body=body, version=version, metadata=_read_metadata(path, version))

    def create(self, key: str, body: bytes, metadata: Mapping[str, str]) -> bool:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with self._staged(body) as staged:
                try:
                    os.link(staged, path)
                except FileExistsError:
                    return False
            _fsync_directory(path.parent)
        except OSError as exc:
            raise StoreError(f"cannot write {path}: {exc.strerror or exc}") from None
        return True

    def replace(
        self, key: str, body: bytes, metadata: Mapping[str, str], expected_version: str | None
    ) -> str | None:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with _locked(path.with_name(path.name + ".lock")):
                current = self.get(key)
                if (None if current is None else current.version) != expected_version:
                    return None
                version = _digest(body)
                if metadata:
                    encoded = json.dumps(dict(metadata), sort_keys=True).encode()
                    with self._staged(encoded) as staged_metadata:
                        staged_metadata.replace(_metadata_path(path, version))
                with self._staged(body) as staged:
                    staged.replace(path)
                _remove_other_metadata(path, version)
            _fsync_directory(path.parent)
        except OSError as exc:
            raise StoreError(f"cannot write {path}: {exc.strerror or exc}") from None
        return version

    @contextlib.contextmanager
    def _staged(self, body: bytes) -> Iterator[Path]:
        """The body in a fsynced, locked file under .staging, removed afterwards (the
        lock is released last, after the unlink: see the module's docstring)."""
        self._maybe_sweep()
        self._staging.mkdir(parents=True, exist_ok=True)
        staged = self._staging / f"{uuid.uuid4().hex}.tmp"
        descriptor = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            with os.fdopen(descriptor, "wb", closefd=False) as handle:
                handle.write(body)
                handle.flush()
                os.fsync(descriptor)
            yield staged
        finally:
            staged.unlink(missing_ok=True)
            os.close(descriptor)

    def _maybe_sweep(self) -> None:
        with self._sweep_lock:
            now = time.monotonic()
            if now < self._next_sweep:
                return
            self._next_sweep = now + SWEEP_INTERVAL_SECONDS
        try:
            removed = self.sweep_staged()
        except OSError as exc:  # a sweep is housekeeping: it never fails a write
            logger.warning("staged files not swept", extra={"error": exc.strerror or str(exc)})
            return
        if removed:
            logger.info("stale staged files removed", extra={"count": removed})

    def sweep_staged(self, older_than: float = STALE_STAGED_SECONDS) -> int:
        """Remove staged files left by writers that died; return how many."""
        try:
            entries = list(os.scandir(self._staging))
        except (FileNotFoundError, NotADirectoryError):
            return 0
        cutoff = time.time() - older_than
        removed = 0
        for entry in entries:
            if _STAGED_NAME.fullmatch(entry.name) and _remove_if_abandoned(entry.path, cutoff):
                removed += 1
        return removed


def _remove_if_abandoned(path: str, cutoff: float) -> bool:
    """Unlink `path` if it is a regular file older than `cutoff` whose lock nobody holds."""
    try:
        status = os.lstat(path)
        if not stat.S_ISREG(status.st_mode) or status.st_mtime > cutoff:
            return False
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return False  # gone already, or not ours to open
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(descriptor)
        return False  # a live writer holds it
    try:
        if os.fstat(descriptor).st_ino != status.st_ino:
            return False
        Path(path).unlink()
    except OSError:
        return False
    finally:
        os.close(descriptor)  # after the unlink, as a writer does
    return True


def _read_metadata(path: Path, version: str) -> dict[str, str]:
    try:
        loaded = json.loads(_metadata_path(path, version).read_bytes())
    except (OSError, ValueError):
        return {}
    if not isinstance(loaded, dict):
        return {}
    return {str(key).lower(): str(value) for key, value in loaded.items()}


def _remove_other_metadata(path: Path, version: str) -> None:
    """The metadata of replaced versions (and of writers that stopped half-way)."""
    keep = _metadata_path(path, version).name
    for other in path.parent.glob(f".{path.name}.*.meta"):
        if other.name != keep:
            other.unlink(missing_ok=True)


@contextlib.contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    with lock_path.open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
