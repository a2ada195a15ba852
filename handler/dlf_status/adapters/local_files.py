"""Local files: reading one that someone else wrote, with a bound on what it may
cost, and writing one whole or not at all.

A file is read in chunks and the read stops one byte past the limit: a 600 MB file
(or /dev/zero) costs the limit, not its size.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from pathlib import Path

from dlf_status.errors import InvalidInput, one_line

_CHUNK = 1 << 20


def read_at_most(path: str | Path, limit: int, *, what: str, regular_only: bool) -> bytes:
    """The whole file if it holds at most `limit` bytes; InvalidInput otherwise.

    `regular_only` refuses pipes, devices and sockets, and opens without blocking:
    opening a FIFO nobody writes to would otherwise wait forever.
    """
    shown = one_line(str(path), 200)
    flags = os.O_RDONLY | os.O_CLOEXEC | (os.O_NONBLOCK if regular_only else 0)
    try:
        descriptor = os.open(path, flags)
    except OSError as exc:
        raise InvalidInput(f"cannot read {what} {shown}: {exc.strerror or exc}") from None
    except ValueError:  # a NUL in the path
        raise InvalidInput(f"cannot read {what} {shown}: not a file name") from None
    try:
        status = os.fstat(descriptor)
        if regular_only and not stat.S_ISREG(status.st_mode):
            raise InvalidInput(f"{what} {shown} is not a regular file")
        if stat.S_ISREG(status.st_mode) and status.st_size > limit:
            raise InvalidInput(f"{what} {shown} is larger than {limit:,} bytes")
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(descriptor, min(_CHUNK, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise InvalidInput(f"cannot read {what} {shown}: {exc.strerror or exc}") from None
    finally:
        os.close(descriptor)
    if size > limit:
        raise InvalidInput(f"{what} {shown} is larger than {limit:,} bytes")
    return b"".join(chunks)


def write_new_file(path: str | Path, data: bytes, *, replace: bool = False) -> None:
    """Write `data` to `path` whole or not at all; refuse a path that exists unless
    `replace`.

    The bytes go to a temporary file beside `path` (fsynced) that is then linked into
    place, which fails if `path` exists meanwhile (`replace`: renamed over it): no
    reader ever sees a partial file, and no file is overwritten by accident.
    """
    target = Path(path)
    shown = one_line(str(target), 200)
    exists = f"{shown} exists: pass --force to replace it"
    if not replace and os.path.lexists(target):
        raise InvalidInput(exists)
    try:
        descriptor, temporary = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.name[:60]}.", suffix=".tmp"
        )
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"cannot write {shown}: {_reason(exc)}") from None
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if replace:
            Path(temporary).replace(target)
        else:
            _link_new(temporary, target)
    except FileExistsError:
        raise InvalidInput(exists) from None
    except OSError as exc:
        raise InvalidInput(f"cannot write {shown}: {_reason(exc)}") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            Path(temporary).unlink()


def _link_new(temporary: str, target: Path) -> None:
    """Put `temporary` at `target`, failing with FileExistsError if `target` exists."""
    try:
        os.link(temporary, target)
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EXDEV):
            raise
        # No hard links here (some network and FUSE file systems): claim the name,
        # then rename the whole file over the empty one.
        os.close(os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
        Path(temporary).replace(target)


def _reason(exc: BaseException) -> str:
    return str(getattr(exc, "strerror", None) or exc)
