"""A large-answer permit held by another thread, for the tests of the answer budget."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from dlf_status.adapters.answer_budget import AnswerBudget


@contextmanager
def permit_held_elsewhere(budget: AnswerBudget) -> Iterator[threading.Event]:
    """Another thread takes a permit and holds it until the yielded event is set (at
    the latest when the block ends); the thread has ended when the block is left."""
    taken, release = threading.Event(), threading.Event()

    def hold() -> None:
        with budget.scope():
            assert budget.admit_large(0)
            taken.set()
            release.wait()

    holder = threading.Thread(target=hold)
    holder.start()
    taken.wait()
    try:
        yield release
    finally:
        release.set()
        holder.join()
