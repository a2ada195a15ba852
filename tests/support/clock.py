"""A clock that stands still, for tests and golden files (the package has only the
system's: nothing it ships needs another)."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple


class FixedClock(NamedTuple):
    moment: datetime

    def now(self) -> datetime:
        return self.moment
