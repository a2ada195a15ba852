"""Snapshots in a local directory, with the guarantees of the S3 store.

* create-if-absent: the file is written under a temporary name, fsynced, then
  hard-linked to its key; `link` fails when the key exists, atomically.
* replace-if-unchanged: under an exclusive `flock` on a lock file beside the key,
  the current content's digest is compared with the expected one, then the new
  content replaces it with an atomic rename. Readers never see a partial file.

Versions are sha256 digests of the content. Object metadata has no place on a
plain file system and is not kept; the document itself carries the same facts.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path

from dlf_status.domain.ports import StoredObject
from dlf_status.domain.snapshots import is_safe_key
from dlf_status.errors import StoreError


def _digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


class LocalDirectoryStore:
    def __init__(self, root: Path) -> None:
        self._root = root.resolve()

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
        return StoredObject(body=body, version=_digest(body))

    def create(self, key: str, body: bytes, metadata: Mapping[str, str]) -> bool:
        path = self._path(key)
        try:
            with self._staged(path, body) as staged:
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
                with self._staged(path, body) as staged:
                    staged.replace(path)
            _fsync_directory(path.parent)
        except OSError as exc:
            raise StoreError(f"cannot write {path}: {exc.strerror or exc}") from None
        return _digest(body)

    @contextlib.contextmanager
    def _staged(self, path: Path, body: bytes) -> Iterator[Path]:
        """The body in a fsynced temporary file beside `path`, removed afterwards."""
        path.parent.mkdir(parents=True, exist_ok=True)
        staged = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        try:
            with staged.open("xb") as handle:
                handle.write(body)
                handle.flush()
                os.fsync(handle.fileno())
            yield staged
        finally:
            staged.unlink(missing_ok=True)


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
