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

Listing walks the tree in the order S3 lists keys (byte order of the whole key: a
directory sorts as its name followed by '/'), through directory descriptors opened
with O_NOFOLLOW: a symbolic link is never followed, so nothing outside the root is
ever listed or read. Hidden names (`.staging`, `.<name>.<digest>.meta`) and lock
files are the store's own and never listed. A listed version is the content's
digest, as `get` returns it, so listing reads each listed file once.

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
import errno
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

from dlf_status.domain.ports import (
    MAX_LIST_PAGE,
    ListedObject,
    ObjectListing,
    StoredObject,
    check_list_limit,
)
from dlf_status.domain.snapshots import is_safe_key
from dlf_status.errors import StoreError, StoreFileSystemError, WriteOutcomeUnknown, one_line
from dlf_status.observability import logger

STAGING_DIRECTORY: Final = ".staging"
# A writer keeps a staged file for milliseconds; ten minutes is far beyond any write.
STALE_STAGED_SECONDS: Final = 600.0
SWEEP_INTERVAL_SECONDS: Final = 600.0
_STAGED_NAME = re.compile(r"[0-9a-f]{32}\.tmp")
LOCK_SUFFIX: Final = ".lock"
_DIRECTORY_FLAGS: Final = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# A listing digests each file read this much at a time: a file that is not ours (a
# gigabyte dropped under latest/) is listed with its size, never held whole.
_LISTING_CHUNK: Final = 1 << 20
_FILE_FLAGS: Final = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
# Gone between the directory read and the open, or replaced by a link or a directory.
_VANISHED: Final = frozenset({errno.ENOENT, errno.ENOTDIR, errno.ELOOP, errno.EISDIR})


def _digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def _failure(action: str, key: str, exc: OSError) -> StoreFileSystemError:
    """What the file system refused, as one line: the errno's name and text and the
    key, never the root's path (it says where this machine keeps things)."""
    name = errno.errorcode.get(exc.errno or 0, "OSError" if exc.errno is None else str(exc.errno))
    reason = exc.strerror or os.strerror(exc.errno or errno.EIO)
    shown = one_line(key, 200)
    return StoreFileSystemError(
        f"cannot {action} {shown}: {name} ({reason})", errno_name=name, key=key
    )


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
        # realpath, not Path.resolve: on Python 3.11 a loop of symbolic links makes
        # resolve() raise RuntimeError (quoting the root's path); realpath leaves the
        # loop in place and the open that follows fails with ELOOP, a store failure.
        path = Path(os.path.realpath(self._root / key))
        if not path.is_relative_to(self._root):  # a symbolic link on the way (the root's
            # path is not said: it is where this machine keeps things)
            raise StoreError(
                f"refusing {one_line(key, 200)}: a symbolic link leads outside the store"
            )
        return path

    def get(self, key: str) -> StoredObject | None:
        path = self._path(key)
        try:
            body = _read_regular_file(path)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise _failure("read", key, exc) from None
        version = _digest(body)
        return StoredObject(body=body, version=version, metadata=_read_metadata(path, version, key))

    def list_objects(
        self, prefix: str, *, start_after: str = "", limit: int = MAX_LIST_PAGE
    ) -> ObjectListing:
        check_list_limit(limit)
        directory, _, _ = prefix.rpartition("/")
        if directory and not is_safe_key(directory):
            return ObjectListing((), None)  # no listed key can start so
        objects: list[ListedObject] = []
        try:
            for listed in _Walk(prefix, start_after).objects(self._root, directory):
                if len(objects) == limit:  # one more exists: the page is truncated
                    return ObjectListing(tuple(objects), objects[-1].key)
                objects.append(listed)
        except OSError as exc:
            raise _failure("list", f"{prefix}*", exc) from None
        return ObjectListing(tuple(objects), None)

    def create(self, key: str, body: bytes, metadata: Mapping[str, str]) -> bool:
        path = self._path(key)
        linked = False
        try:
            _make_parents(path)
            with self._staged(body) as staged:
                try:
                    os.link(staged, path)
                except FileExistsError:
                    return False
                linked = True
            _fsync_directory(path.parent)
        except OSError as exc:
            failure = _failure("write", key, exc)
            if linked:  # the object is there and is this call's: a writer that acts once
                # per object it created (a transition's event) must still act
                raise WriteOutcomeUnknown(str(failure)) from None
            raise failure from None
        return True

    def replace(
        self, key: str, body: bytes, metadata: Mapping[str, str], expected_version: str | None
    ) -> str | None:
        path = self._path(key)
        try:
            _make_parents(path)
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
            raise _failure("write", key, exc) from None
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
            try:
                staged.unlink(missing_ok=True)
            finally:  # the descriptor (and its lock) is released whatever the unlink did
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


def _read_regular_file(path: Path) -> bytes:
    """The whole of the regular file at `path`. Opened without blocking and checked
    before it is read: a pipe where a key belongs would block the reader for ever (a
    device would never end), and a directory is EISDIR, as a plain read says."""
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        mode = os.fstat(descriptor).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR))
        if not stat.S_ISREG(mode):
            raise OSError(errno.EINVAL, "not a regular file")
        with os.fdopen(descriptor, "rb", closefd=False) as handle:
            return handle.read()
    finally:
        os.close(descriptor)


def _make_parents(path: Path) -> None:
    """The directories above `path`. mkdir says EEXIST when a file stands where one of
    them belongs, which would read as "the object exists": it is ENOTDIR."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR)) from None


def _read_metadata(path: Path, version: str, key: str) -> dict[str, str]:
    """The metadata of `version`; none if it has no file. A file that cannot be read
    (no descriptor left, a directory in its place) fails the read: taken for "none",
    it would hide the transition record latest.json owes, and the next replace would
    drop it for good. One that is not a JSON object (written by someone else: ours are
    renamed into place whole) is logged and read as none, so that the next writer can
    replace it."""
    try:
        raw = _read_regular_file(_metadata_path(path, version))
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise _failure("read the metadata of", key, exc) from None
    try:
        loaded = json.loads(raw)
    except ValueError:
        loaded = None
    if not isinstance(loaded, dict):
        logger.error("snapshot metadata unreadable", extra={"key": key})
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


class _Walk:
    """The objects below a root whose keys start with `prefix` and sort after
    `start_after`, ascending; a file that vanishes while listed is left out."""

    def __init__(self, prefix: str, start_after: str) -> None:
        self._prefix = prefix
        self._start_after = start_after

    def objects(self, root: Path, directory: str) -> Iterator[ListedObject]:
        try:
            descriptor = os.open(root, _DIRECTORY_FLAGS)
        except FileNotFoundError:
            return  # nothing written yet
        try:
            walked = ""
            for segment in directory.split("/") if directory else ():
                walked += segment
                inner = _open_unless_vanished(segment, _DIRECTORY_FLAGS, descriptor)
                if inner is None:
                    _warn_if_in_the_way(descriptor, segment, walked)
                    return
                walked += "/"
                os.close(descriptor)
                descriptor = inner
            yield from self._below(descriptor, f"{directory}/" if directory else "")
        finally:
            os.close(descriptor)

    def _wanted_directory(self, below: str) -> bool:
        """Whether any key under `below` (ending in '/') can be listed."""
        if not (below.startswith(self._prefix) or self._prefix.startswith(below)):
            return False
        # Every key under `below` sorts before `below` with its '/' raised to '0'.
        return self._start_after < below[:-1] + "0"

    def _below(self, descriptor: int, base: str) -> Iterator[ListedObject]:
        found: list[tuple[str, bool]] = []
        with os.scandir(descriptor) as entries:
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                if entry.is_dir(follow_symlinks=False) or entry.is_file(follow_symlinks=False):
                    found.append((entry.name, entry.is_dir(follow_symlinks=False)))
                elif (base + entry.name).startswith(self._prefix):
                    _warn_not_listed(base + entry.name)
        # Byte order of the whole key: a directory sorts as its name and '/'.
        found.sort(key=lambda item: item[0] + "/" if item[1] else item[0])
        for name, is_directory in found:
            key = base + name
            if is_directory:
                if not is_safe_key(key) or not self._wanted_directory(key + "/"):
                    continue
                inner = _open_unless_vanished(name, _DIRECTORY_FLAGS, descriptor)
                if inner is None:
                    continue
                try:
                    yield from self._below(inner, key + "/")
                finally:
                    os.close(inner)
            elif (
                key.startswith(self._prefix)
                and key > self._start_after
                and not name.endswith(LOCK_SUFFIX)
                and is_safe_key(key)
            ):
                listed = _listed(descriptor, name, key)
                if listed is not None:
                    yield listed


def _warn_not_listed(key: str) -> None:
    """A symbolic link, a pipe or a device where a key could be: no object of S3's
    kind, and never followed; said, so that a reader's count is not short silently."""
    logger.warning("store entry not listed", extra={"key": one_line(key, 300)})


def _warn_if_in_the_way(directory: int, name: str, key: str) -> None:
    """`name` could not be walked: missing (nothing written yet) is the rule; anything
    else (a file, a link) stands where a directory belongs and hides what is below."""
    with contextlib.suppress(OSError):
        os.stat(name, dir_fd=directory, follow_symlinks=False)
        _warn_not_listed(key)


def _open_unless_vanished(name: str, flags: int, directory: int) -> int | None:
    """A descriptor of `name` in `directory`, or None if it vanished (or was swapped
    for what the flags refuse) since it was listed."""
    try:
        return os.open(name, flags, dir_fd=directory)
    except OSError as exc:
        if exc.errno in _VANISHED:
            return None
        raise


def _listed(directory: int, name: str, key: str) -> ListedObject | None:
    """The file's digest and size, read through a descriptor that follows no link."""
    descriptor = _open_unless_vanished(name, _FILE_FLAGS, directory)
    if descriptor is None:
        return None
    digest = hashlib.sha256()  # as _digest, a chunk at a time: a huge file costs time only
    size = 0
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            return None
        while chunk := os.read(descriptor, _LISTING_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    finally:
        os.close(descriptor)
    return ListedObject(key, digest.hexdigest(), size)
