"""Progress of `dlf-status poll`: a bar on a terminal, plain lines otherwise."""

from __future__ import annotations

import threading
from typing import TextIO

from dlf_status.domain.ticks import JobOutcome, JobResult

_WIDTH = 30


class Progress:
    def __init__(self, total: int, stream: TextIO) -> None:
        self._total = total
        self._stream = stream
        self._tty = stream.isatty()
        self._done = 0
        self._failed = 0
        self._lock = threading.Lock()  # outcomes arrive from the polling threads

    def __call__(self, outcome: JobOutcome) -> None:
        with self._lock:
            self._done += 1
            self._failed += outcome.result in (JobResult.FAILED, JobResult.NOT_REACHED)
            if self._tty:
                filled = _WIDTH * self._done // max(self._total, 1)
                bar = "#" * filled + "." * (_WIDTH - filled)
                self._stream.write(f"\r[{bar}] {self._done}/{self._total}  failed {self._failed}")
                if self._done == self._total:
                    self._stream.write("\n")
            else:
                status = outcome.status or outcome.error or ""
                self._stream.write(
                    f"{self._done}/{self._total} {outcome.result} {outcome.job_name} {status}\n"
                )
            self._stream.flush()
