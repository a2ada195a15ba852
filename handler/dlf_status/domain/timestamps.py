"""Upstream time values to RFC 3339 UTC with milliseconds.

The upstream has sent epoch milliseconds as numbers, the SDK types them as
strings (numeric or ISO-8601), the documentation says "Date". All become
``2023-04-27T07:56:59.000Z``; anything else is refused with a reason, never an
exception.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NUMERIC = re.compile(r"-?[0-9]+")


def format_utc(moment: datetime) -> str:
    """RFC 3339, UTC, milliseconds; isoformat pads years before 1000 to four digits."""
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="milliseconds")[:-6] + "Z"


def _from_epoch_millis(millis: int | float) -> datetime:
    return _EPOCH + timedelta(milliseconds=millis)


def to_rfc3339(value: object) -> tuple[str | None, str | None]:
    """Return (timestamp, None) or (None, why it cannot be read)."""
    try:
        if isinstance(value, bool):
            return None, "a boolean is not a time"
        if isinstance(value, int | float):
            return format_utc(_from_epoch_millis(value)), None
        if isinstance(value, str):
            text = value.strip()
            if _NUMERIC.fullmatch(text):
                return format_utc(_from_epoch_millis(int(text))), None
            moment = datetime.fromisoformat(text.upper())
            if moment.tzinfo is None:
                # No offset: read as UTC (documented in the README).
                moment = moment.replace(tzinfo=UTC)
            return format_utc(moment), None
    except (ValueError, OverflowError, ArithmeticError) as exc:
        return None, f"cannot read {value!r:.80} as a time: {exc}"
    return None, f"a {type(value).__name__} is not a time"
