"""The system clock, and a fixed one for tests, demos and golden files."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import NamedTuple


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock(NamedTuple):
    moment: datetime

    def now(self) -> datetime:
        return self.moment
