"""Upstream time values to RFC 3339 UTC with milliseconds.

The upstream has sent epoch milliseconds as numbers, the SDK types them as
strings (numeric or ISO-8601), the documentation says "Date". `openapi.yaml`
(`Timestamp`) accepts exactly three forms, and so does this module, so that the
normaliser never converts a value the contract refuses: an integer of epoch
milliseconds, the same as a numeric string, or an ISO-8601 date-time. Each becomes
``2023-04-27T07:56:59.000Z``; anything else is refused with a reason, never an
exception. A conversion that cannot keep the whole value (a fraction finer than a
millisecond, a leap second) still gives the time, and says it is not exact so that
the caller keeps the raw value too.
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
# openapi.yaml's two string forms, with the same alternatives (ASCII digits only;
# `fullmatch` also refuses a final newline, as the contract's `$(?!\n)` does).
_EPOCH_TEXT = re.compile(r"-?[0-9]+")
_ISO = re.compile(
    r"(?P<year>[0-9]{4})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})[T ]"
    r"(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2})"
    r"(?::(?P<second>[0-9]{2})(?:[.,](?P<fraction>[0-9]+))?)?"
    r"(?:[Zz]|(?P<sign>[+-])(?P<offset_hours>[0-9]{2})(?::?(?P<offset_minutes>[0-9]{2}))?)?"
)


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
    # The value is cut before repr, which would otherwise escape all of it first
    # (eight megabytes of newlines are sixteen of `\\n`).
    shown = repr(value[:80] if isinstance(value, str) else value)[:80]
    return TimeReading(None, f"cannot read {shown} as a time: {why}", exact=False)


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


def _from_iso(value: str, parts: re.Match[str]) -> TimeReading:
    second = int(parts["second"] or 0)
    fraction = parts["fraction"] or ""
    leap = second == 60
    offset_hours, offset_minutes = (
        int(parts["offset_hours"] or 0),
        int(parts["offset_minutes"] or 0),
    )
    if offset_hours > 23 or offset_minutes > 59:
        return _refused(value, "an offset is at most 23:59")
    offset = timedelta(hours=offset_hours, minutes=offset_minutes)
    try:
        local = datetime(
            int(parts["year"]),
            int(parts["month"]),
            int(parts["day"]),
            int(parts["hour"]),
            int(parts["minute"]),
            59 if leap else second,
            int(fraction[:3].ljust(3, "0")) * 1000,
            tzinfo=UTC,
        )
        moment = local + offset if parts["sign"] == "-" else local - offset
    except ValueError as exc:
        return _refused(value, str(exc))
    except OverflowError:
        return _refused(value, "the time in UTC is outside the years 1 to 9999")
    if leap:
        # A leap second is 23:59:60 UTC; UTC milliseconds have no place for it, so it
        # is the last millisecond before midnight (order kept), and not exact.
        if (moment.hour, moment.minute) != (23, 59):
            return _refused(value, "second 60 is a leap second, only ever 23:59:60 UTC")
        return TimeReading(format_utc(moment.replace(microsecond=999_000)), None, exact=False)
    return TimeReading(format_utc(moment), None, exact=fraction[3:].strip("0") == "")


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
        parts = _ISO.fullmatch(value)
        if parts is not None:
            return _from_iso(value, parts)
        return _refused(
            value,
            "neither epoch milliseconds (digits, an optional '-', nothing around them) "
            "nor an ISO-8601 date-time",
        )
    return TimeReading(None, f"a {type(value).__name__} is not a time", exact=False)


def to_rfc3339(value: object) -> tuple[str | None, str | None]:
    """Return (timestamp, None) or (None, why it cannot be read); a time finer than a
    millisecond is cut to the millisecond."""
    reading = read_time(value)
    return reading.time, reading.problem
