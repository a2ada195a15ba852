"""Ports: what the core needs from the outside, as small Protocols.

Production adapters live in `dlf_status.adapters`; tests pass their own.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""
        ...
