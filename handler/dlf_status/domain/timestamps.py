"""Upstream time values to RFC 3339 UTC with milliseconds.

The upstream has sent epoch milliseconds as numbers, the SDK types them as
strings (numeric or ISO-8601), the documentation says "Date". Epoch milliseconds
are read as `openapi.yaml` (`Timestamp`) has them, so that the normaliser never
converts a number the contract refuses: an integer, or a numeric string of digits
after an optional '-'. All become ``2023-04-27T07:56:59.000Z``; anything else is
refused with a reason, never an exception.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLIS_PER_DAY = 86_400_000
# More significant digits than any epoch millisecond up to year 9999 has (15).
_MAX_EPOCH_DIGITS = 20
# openapi.yaml's numeric string form (ASCII digits only; `fullmatch` also refuses a
# final newline, as the contract's `$(?!\n)` does).
_EPOCH_TEXT = re.compile(r"-?[0-9]+")


class TimeReading(NamedTuple):
    """One time value read: `time` (RFC 3339) or `problem` (why it is not a time).
    `exact` is false when `time` does not hold the whole value (the raw value must
    then be kept beside it)."""

    time: str | None
    problem: str | None
    exact: bool = True


def format_utc(moment: datetime) -> str:
    """RFC 3339, UTC, milliseconds; isoformat pads years before 1000 to four digits."""
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="milliseconds")[:-6] + "Z"


def _refused(value: object, why: str) -> TimeReading:
    return TimeReading(None, f"cannot read {value!r:.80} as a time: {why}", exact=False)


def _from_epoch_millis(value: object, millis: int) -> TimeReading:
    # Integer arithmetic throughout: the instant is exactly `millis`.
    days, rest = divmod(millis, _MILLIS_PER_DAY)
    try:
        return TimeReading(format_utc(_EPOCH + timedelta(days=days, milliseconds=rest)), None)
    except OverflowError:
        return _refused(value, "epoch milliseconds outside the years 1 to 9999")


def _from_epoch_text(value: str) -> TimeReading:
    digits = value.removeprefix("-").lstrip("0") or "0"
    if len(digits) > _MAX_EPOCH_DIGITS:
        return _refused(value, "epoch milliseconds outside the years 1 to 9999")
    return _from_epoch_millis(value, -int(digits) if value.startswith("-") else int(digits))


def read_time(value: object) -> TimeReading:
    """Read one upstream time value; never raises."""
    if isinstance(value, bool):
        return _refused(value, "a boolean is not a time")
    if isinstance(value, int):
        return _from_epoch_millis(value, value)
    if isinstance(value, float):
        # An integral number is an integer, as JSON Schema reads it; a fraction of a
        # millisecond is not epoch milliseconds (the contract says integer).
        if not math.isfinite(value) or not value.is_integer():
            return _refused(value, "epoch milliseconds are a whole number")
        return _from_epoch_millis(value, int(value))
    if isinstance(value, str):
        if _EPOCH_TEXT.fullmatch(value):
            return _from_epoch_text(value)
        try:
            moment = datetime.fromisoformat(value.strip().upper())
        except ValueError as exc:
            return _refused(value, str(exc))
        if moment.tzinfo is None:
            # No offset: read as UTC (documented in the README).
            moment = moment.replace(tzinfo=UTC)
        try:
            return TimeReading(format_utc(moment), None)
        except OverflowError as exc:
            return _refused(value, str(exc))
    return TimeReading(None, f"a {type(value).__name__} is not a time", exact=False)


def to_rfc3339(value: object) -> tuple[str | None, str | None]:
    """Return (timestamp, None) or (None, why it cannot be read); a time finer than a
    millisecond is cut to the millisecond."""
    reading = read_time(value)
    return reading.time, reading.problem
