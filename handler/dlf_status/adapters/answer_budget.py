"""The memory of the upstream answers in flight, shared by every thread of a process.

One answer is bounded on its own (the size cap, the value and node bounds), but a
tick polls POLL_CONCURRENCY jobs at once and `serve` answers requests in threads: the
costliest answers under the cap cost about 100 MiB each to read, interpret, normalise
and write, so two at once OOM-kill a 256 MB function. Most answers are a few
kilobytes, so the budget gates only the large ones:

- an answer is read freely up to `large_bytes` (decompressed bytes, 256 KiB);
- past that, its thread needs one of `permits` before it reads on, and keeps it until
  the job's observation is done (`scope`): the cost is in processing the answer, not
  only in its bytes;
- a thread holds at most one permit (asking again while holding it is a no-op), so
  no thread waits for a permit while holding one, and none deadlocks; it waits at
  most the time its call has left, and is refused (`False`) after that: the caller
  fails that job with a precise, retryable error, never a hang. A waiting thread
  holds only its prefix (`large_bytes` and one read).

The small answers under `large_bytes` need no permit: sixteen of the costliest shapes
cut to that size fit a 256 MB function together (tests/infrastructure).

Scopes nest: the service opens one around a whole observation and the upstream
client one around each call (so a call made outside any observation, a page of the
job list, gives its permit back when it returns); the permit goes back when the
outermost scope of the thread closes, whichever way it closes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

# An answer past this many bytes (decompressed) is a large one. The status answer of
# a job of a hundred nodes is about 30 KiB; 256 KiB of the costliest shapes expand to
# a few megabytes at most in the process.
LARGE_ANSWER_BYTES: Final = 256 * 1024
# What one large answer costs at its worst (the worst-case memory row of `make bench`:
# about 100 MiB above the idle process), rounded up; and what the idle process with
# its small answers in flight is given before any large one.
MB_PER_LARGE_ANSWER: Final = 128
MB_BEFORE_LARGE_ANSWERS: Final = 128


def permits_for_memory(memory_mb: int | None) -> int:
    """Large answers at once in a process of `memory_mb` (Lambda's MemorySize): one
    per 128 MB past the first 128, at least one (one at 256 MB, three at 512); one
    when the memory is not known."""
    if memory_mb is None:
        return 1
    return max(1, (memory_mb - MB_BEFORE_LARGE_ANSWERS) // MB_PER_LARGE_ANSWER)


class _ThisThread(threading.local):
    depth: int = 0  # scopes open on this thread
    holding: bool = False  # this thread holds a permit


class AnswerBudget:
    """`permits` large answers at once in this process; every thread shares it."""

    def __init__(self, permits: int, *, large_bytes: int = LARGE_ANSWER_BYTES) -> None:
        if permits < 1:
            raise ValueError(f"an answer budget needs at least one permit, not {permits}")
        self.permits = permits
        self.large_bytes = large_bytes
        self._free = threading.Semaphore(permits)
        self._thread = _ThisThread()
        self._count_lock = threading.Lock()
        self._in_use = 0

    @property
    def in_use(self) -> int:
        """Permits held now, by every thread."""
        return self._in_use

    @property
    def holding(self) -> bool:
        """Whether this thread holds a permit."""
        return self._thread.holding

    @contextmanager
    def scope(self) -> Iterator[None]:
        """One observation (or one call) on this thread: a permit taken within it is
        given back when the outermost scope closes, on every way out."""
        state = self._thread
        state.depth += 1
        try:
            yield
        finally:
            state.depth -= 1
            if state.depth == 0 and state.holding:
                state.holding = False
                with self._count_lock:
                    self._in_use -= 1
                self._free.release()

    def admit_large(self, wait_seconds: float) -> bool:
        """A permit for the large answer this thread is reading, waiting at most
        `wait_seconds` for one; True at once if the thread holds one already. Only
        within a scope (the permit is the scope's to give back)."""
        state = self._thread
        if state.holding:
            return True
        if state.depth == 0:
            raise RuntimeError("a large-answer permit is taken within a scope only")
        if wait_seconds > 0:
            acquired = self._free.acquire(timeout=wait_seconds)
        else:
            acquired = self._free.acquire(blocking=False)
        if acquired:
            state.holding = True
            with self._count_lock:
                self._in_use += 1
        return acquired
