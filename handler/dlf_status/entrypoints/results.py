"""Where the command line's results go: stdout, as UTF-8 bytes whatever the locale (a
document is UTF-8 JSON; a table of job names must not fail for want of an encoding).

stdout may be gone, as a shell user sends it away: closed (`>&-`), full (`> /dev/full`),
or its reader exited (`| head -1` once head has its line). None of that is a bug: it is
a StdoutUnwritable, which `cli.main` ends the command with (silently, as a process
stopped by SIGPIPE, when only the reader went away).
"""

from __future__ import annotations

import os
import sys
from typing import TextIO


class StdoutUnwritable(Exception):
    """The results could not be written to stdout. Not a DlfStatusError: nothing of
    dlf-status failed, and there is no caller but the shell to tell."""

    def __init__(self, reason: str, *, reader_gone: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.reader_gone = reader_gone


def stdout_is_open() -> bool:
    """False when the process started with stdout closed (Python sets sys.stdout to None)."""
    return sys.stdout is not None


def write_results(text: bytes | str) -> None:
    """Write and flush `text` (str as UTF-8), or raise StdoutUnwritable."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    stream = sys.stdout
    if stream is None:
        raise StdoutUnwritable("stdout is closed")
    try:
        stream.buffer.write(data)
        stream.buffer.flush()
    except BrokenPipeError:
        raise StdoutUnwritable("its reader went away", reader_gone=True) from None
    except OSError as exc:
        raise StdoutUnwritable(exc.strerror or type(exc).__name__) from None


def flush_results() -> None:
    """Flush what argparse (help, version) or print() left in stdout's buffer."""
    stream = sys.stdout
    if stream is None:
        return
    try:
        stream.flush()
    except BrokenPipeError:
        raise StdoutUnwritable("its reader went away", reader_gone=True) from None
    except (OSError, ValueError) as exc:
        raise StdoutUnwritable(str(exc)) from None


def discard(stream: TextIO | None) -> None:
    """Point `stream`'s file (stdout, or stderr under the progress lines) at the null
    device, so that the interpreter's last flush of what could not be written says
    nothing ("Exception ignored ... BrokenPipeError") and changes no exit code."""
    if stream is None:
        return
    try:
        descriptor = stream.fileno()
    except (OSError, ValueError):
        return  # not a file (a test's capture): nothing left to flush at exit
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, descriptor)
    finally:
        os.close(null)
