"""Where the command line's results go: stdout, as UTF-8 bytes whatever the locale (a
document is UTF-8 JSON; a table of job names must not fail for want of an encoding).

stdout may be gone, as a shell user sends it away: closed (`>&-`), full (`> /dev/full`),
or its reader exited (`| head -1` once head has its line). None of that is a bug, and
nothing of dlf-status failed: `ending_at_a_gone_stdout` ends the command there, silently
(exit 141, as a process stopped by SIGPIPE) when only the reader went away, else with
one line (exit 74).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable
from typing import TextIO

from dlf_status.entrypoints.problems import ExitCode


class _StdoutGone(BaseException):
    """The results could not be written. A BaseException, as KeyboardInterrupt is: it
    stops the command, and no `except Exception` on the way mistakes it for a bug."""

    def __init__(self, reason: str, *, reader_gone: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.reader_gone = reader_gone


def ending_at_a_gone_stdout(run: Callable[[], int]) -> int:
    """`run()`'s exit code, or the one that says stdout could not take the results."""
    try:
        return run()
    except _StdoutGone as gone:
        if gone.reader_gone:  # `| head -1`: what a process stopped by SIGPIPE says
            discard(sys.stdout)
            return ExitCode.READER_GONE
        with contextlib.suppress(OSError, ValueError):  # a stderr gone too: the code says it
            print(f"dlf-status: cannot write the results: {gone.reason}", file=sys.stderr)
        return ExitCode.OUTPUT_FAILED


def require_stdout() -> None:
    """Stop now when the process started with stdout closed (Python's sys.stdout is
    then None): do nothing that nobody would see."""
    if sys.stdout is None:
        raise _StdoutGone("stdout is closed")


def write_results(text: bytes | str) -> None:
    """Write and flush `text` (str as UTF-8) to stdout."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    require_stdout()
    try:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    except BrokenPipeError:
        raise _StdoutGone("its reader went away", reader_gone=True) from None
    except OSError as exc:
        raise _StdoutGone(exc.strerror or type(exc).__name__) from None


def flush_results() -> None:
    """Flush what argparse (help, version) or print() left in stdout's buffer."""
    if sys.stdout is None:
        return
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        raise _StdoutGone("its reader went away", reader_gone=True) from None
    except OSError as exc:
        raise _StdoutGone(exc.strerror or type(exc).__name__) from None


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
