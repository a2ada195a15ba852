"""The `dlf-status` console script: Ctrl-C handled before the command line loads.

Loading `cli.py`'s modules takes a few hundred milliseconds, and Ctrl-C meanwhile would
be the traceback of an import. So this module imports nothing of dlf-status at its
top: `main` first installs a handler that writes one line and exits 130, then imports
the CLI, whose `main` puts Python's own handler back once it can catch
KeyboardInterrupt itself.
"""

from __future__ import annotations

import contextlib
import os
import signal
from types import FrameType

INTERRUPTED_LINE = b"dlf-status: interrupted\n"
INTERRUPTED = 130  # ExitCode.INTERRUPTED (128 + SIGINT), which is not imported yet


def interrupted_while_starting(signum: int, frame: FrameType | None) -> None:
    """Ctrl-C while the CLI loads: nothing has been done yet, so one line and exit 130."""
    with contextlib.suppress(OSError):  # stderr closed: the exit code says it
        os.write(2, INTERRUPTED_LINE)
    os._exit(INTERRUPTED)


def main() -> int:
    # A shell that started it with SIGINT ignored (`cmd &` without job control) keeps it so.
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, interrupted_while_starting)
    from dlf_status.entrypoints import cli

    return cli.main()
