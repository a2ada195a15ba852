"""Progress of `dlf-status poll`: a bar on a terminal, plain lines otherwise."""

from __future__ import annotations

import threading
from typing import TextIO

from dlf_status.domain.ticks import JobOutcome, JobResult
from dlf_status.entrypoints.results import discard
from dlf_status.errors import one_line

_WIDTH = 30


class Progress:
    """Progress is decoration: a stream that is closed (`2>&-`: None) or stops taking
    lines (its reader went away) silences it, and never stops the tick."""

    def __init__(self, total: int, stream: TextIO | None) -> None:
        self._total = total
        self._stream = stream
        self._tty = stream is not None and stream.isatty()
        self._done = 0
        self._failed = 0
        self._lock = threading.Lock()  # outcomes arrive from the polling threads

    def __call__(self, outcome: JobOutcome) -> None:
        with self._lock:
            self._done += 1
            self._failed += outcome.result in (JobResult.FAILED, JobResult.NOT_REACHED)
            if self._stream is None:
                return
            try:
                self._show(outcome, self._stream)
            except (OSError, ValueError):
                # gone: the table on stdout still says it all, and the interpreter's
                # last flush must not fail the command for what was left unwritten
                discard(self._stream)
                self._stream = None

    def end(self) -> None:
        """Stop showing progress: a bar cut short (Ctrl-C, an error) gets its line
        ended, so that the error line after it starts a line of its own, and a polling
        thread still running draws nothing more."""
        with self._lock:
            stream, self._stream = self._stream, None
            if stream is None or not self._tty or self._done in (0, self._total):
                return
            try:
                stream.write("\n")
                stream.flush()
            except (OSError, ValueError):
                discard(stream)

    def _show(self, outcome: JobOutcome, stream: TextIO) -> None:
        if self._tty:
            filled = _WIDTH * self._done // max(self._total, 1)
            bar = "#" * filled + "." * (_WIDTH - filled)
            stream.write(f"\r[{bar}] {self._done}/{self._total}  failed {self._failed}")
            if self._done == self._total:
                stream.write("\n")
        else:
            # A job name may hold what a terminal obeys or hides (a bidi override,
            # a zero-width space): written escaped, as in the table.
            name = one_line(outcome.job_name or "-", 128)
            status = one_line(outcome.status or outcome.error or "", 128)
            stream.write(f"{self._done}/{self._total} {outcome.result} {name} {status}\n")
        stream.flush()
