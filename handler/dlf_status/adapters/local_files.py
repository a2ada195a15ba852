"""Reading a local file that someone else wrote, with a bound on what it may cost.

A file is read in chunks and the read stops one byte past the limit: a 600 MB file
(or /dev/zero) costs the limit, not its size.
"""

from __future__ import annotations

import os
import stat
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
