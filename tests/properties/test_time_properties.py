"""Any value in a time field: either the document's time is the same instant as
the value, or the value is kept verbatim in `extra` (hypothesis).

The instant a value stands for is worked out here from the contract's own patterns
(openapi.yaml, `Timestamp`) with exact arithmetic, not by the code under test."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any, cast

from hypothesis import given, settings
from hypothesis import strategies as st

from dlf_status.adapters.compiled_validator import CompiledValidator
from dlf_status.domain import jsoncodec
from dlf_status.domain.contract import packaged_contract
from dlf_status.domain.extra_keys import decode_extra
from dlf_status.domain.model import Headers, UpstreamResponse
from dlf_status.domain.normalize import JOB_TIMES, Source, normalise
from tests.properties.strategies import json_values

ROOT = Path(__file__).resolve().parents[2]
TIMESTAMP = json.loads((ROOT / "handler" / "dlf_status" / "spec" / "openapi.json").read_text())[
    "components"
]["schemas"]["Timestamp"]
EPOCH_PATTERN, ISO_PATTERN = (
    re.compile(form["pattern"]) for form in TIMESTAMP["anyOf"] if "pattern" in form
)
VALIDATOR = CompiledValidator(packaged_contract())
SOURCE = Source("p1", "job", None, "https://upstream.invalid")
OBSERVED = datetime(2026, 5, 4, tzinfo=UTC)
TIME_KEYS = st.sampled_from(
    [(key, field) for field, spellings in JOB_TIMES.items() for key in spellings]
)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
FIRST_MILLISECOND = -62_135_596_800_000  # 0001-01-01T00:00:00.000Z
AFTER_LAST_MILLISECOND = 253_402_300_800_000  # 10000-01-01T00:00:00.000Z
MISSING = object()


def observe(body: dict[str, Any]) -> dict[str, Any]:
    """A plain dict: the properties read the fields they check from tables, by name."""
    raw = jsoncodec.canonical_bytes(body)
    response = UpstreamResponse(200, Headers({"Content-Type": "application/json"}), raw)
    document = normalise(
        body, source=SOURCE, observed_at=OBSERVED, report=VALIDATOR.validate(response, body)
    )
    return cast("dict[str, Any]", document)


def millis_of(document_time: str) -> Fraction:
    """The instant of a document time (RFC 3339, UTC, milliseconds), in milliseconds."""
    moment = datetime.strptime(document_time, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    return Fraction((moment - EPOCH) // timedelta(microseconds=1), 1000)


def contract_instant(value: Any) -> Fraction | None:
    """The instant `value` stands for, in milliseconds, if the contract accepts it
    as a time; None if it does not (or names no real calendar time)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        return Fraction(value) if value.is_integer() else None
    if isinstance(value, str) and EPOCH_PATTERN.search(value):
        return Fraction(int(value))
    if isinstance(value, str) and ISO_PATTERN.search(value):
        return _iso_instant(value)
    return None


def _iso_instant(text: str) -> Fraction | None:
    """Calendar arithmetic on a string the contract's ISO pattern accepts; second 60
    is the second after 59, as the calendar has it."""
    parts = re.fullmatch(
        r"(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d)(?::(\d\d)(?:[.,](\d+))?)?"
        r"(?:[Zz]|([+-])(\d\d):?(\d\d)?)?",
        text,
    )
    assert parts is not None, text  # the contract's pattern accepted it
    year, month, day, hour, minute = (int(parts[index]) for index in range(1, 6))
    second, fraction = int(parts[6] or 0), parts[7] or "0"
    offset_hours, offset_minutes = int(parts[9] or 0), int(parts[10] or 0)
    if hour > 23 or minute > 59 or second > 60 or offset_hours > 23 or offset_minutes > 59:
        return None
    try:
        days = (date(year, month, day) - date(1970, 1, 1)).days
    except ValueError:
        return None
    offset = (offset_hours * 60 + offset_minutes) * (-1 if parts[8] == "-" else 1)
    seconds = ((days * 24 + hour) * 60 + minute - offset) * 60 + second
    return (seconds + Fraction(int(fraction), 10 ** len(fraction))) * 1000


def must_be_read(value: Any, instant: Fraction | None) -> bool:
    """Whether the document must hold a time for `value`: the contract accepts it, it
    lies in the years 1 to 9999, and a second 60 is a leap second (23:59:60 UTC)."""
    if instant is None:
        return False
    if isinstance(value, str) and re.search(r":[0-9]{2}:60", value):
        instant -= 1000  # the second it follows, which must be 23:59:59 UTC
        if instant // 60_000 % 1440 != 1439:
            return False
    return FIRST_MILLISECOND <= instant < AFTER_LAST_MILLISECOND


def time_field_outcome(key: str, field: str, value: Any) -> tuple[Any, Any, dict[str, Any]]:
    document = observe({"name": "j", key: value})
    kept = decode_extra(document["extra"]).get(key, MISSING)
    return document["job"][field], kept, document


def check_exact_or_kept(key: str, field: str, value: Any) -> None:
    converted, kept, document = time_field_outcome(key, field, value)
    instant = contract_instant(value)
    if value is None:  # null is absence: nothing to keep, nothing wrong
        assert (converted, kept, document["validation"]["valid"]) == (None, MISSING, True)
        return

    if converted is not None and kept is MISSING:
        assert millis_of(converted) == instant
    else:
        # kept verbatim, type included (1 and 1.0 differ in JSON)
        assert (type(kept), kept) == (type(value), value)
    if instant is None:
        assert converted is None
    # and every time the contract accepts and the document can hold is read
    assert (converted is not None) is must_be_read(value, instant)
    # valid exactly when the value is a time the document holds
    assert document["validation"]["valid"] is (converted is not None)
    if converted is None:
        assert f"$.{key}" in [item["path"] for item in document["validation"]["violations"]]


decorations = st.sampled_from(["", "", "", " ", "\t", "\n", "+", "-", "0", "00", "\u00a0"])
epoch_numbers = (
    st.integers(min_value=-(2**70), max_value=2**70)
    | st.integers(min_value=-62135596800000, max_value=253402300799999)
    | st.floats(allow_nan=False)
    | st.integers(min_value=-(2**52), max_value=2**52).map(float)
    | st.integers(min_value=-(2**52), max_value=2**52).map(lambda millis: millis + 0.5)
)
epoch_texts = st.builds(
    lambda before, number, after: f"{before}{number}{after}",
    decorations,
    st.integers(min_value=-(10**22), max_value=10**22),
    decorations,
)


@settings(max_examples=400, deadline=None)
@given(TIME_KEYS, epoch_numbers | epoch_texts | json_values)
def test_an_epoch_value_converts_to_the_same_instant_or_is_kept_in_extra(
    key_and_field: tuple[str, str], value: Any
) -> None:
    check_exact_or_kept(*key_and_field, value)


def _two(number: int) -> str:
    return f"{number:02d}"


iso_fractions = st.builds(
    lambda separator, digits: separator + digits,
    st.sampled_from([".", ","]),
    st.text("0123456789", min_size=1, max_size=12) | st.sampled_from(["5", "999", "9999", "0001"]),
)
iso_seconds = st.just("") | st.builds(
    lambda second, fraction: f":{_two(second)}{fraction}",
    st.integers(0, 61) | st.just(60),
    st.just("") | iso_fractions,
)
iso_zones = st.sampled_from(["", "Z", "z"]) | st.builds(
    lambda sign, hours, minutes: f"{sign}{_two(hours)}{minutes}",
    st.sampled_from(["+", "-"]),
    st.integers(0, 25),
    st.sampled_from(["", "00", ":00", ":30", "45", ":59", ":60"]),
)
iso_texts = st.builds(
    lambda before, year, month, day, separator, hour, minute, seconds, zone, after: (
        f"{before}{year:04d}-{_two(month)}-{_two(day)}{separator}"
        f"{_two(hour)}:{_two(minute)}{seconds}{zone}{after}"
    ),
    decorations,
    st.integers(0, 9999) | st.sampled_from([1, 1969, 1970, 2016, 9999]),
    st.integers(0, 13),
    st.integers(0, 32),
    st.sampled_from(["T", "T", " ", "t"]),
    st.integers(0, 24) | st.just(23),
    st.integers(0, 60) | st.just(59),
    iso_seconds,
    iso_zones,
    decorations,
)
# the contract's form with every part in range: exact, finer than milliseconds, or
# (rarely) outside the years 1 to 9999 once in UTC
well_formed_iso_texts = st.builds(
    lambda year, month, day, separator, hour, minute, second, fraction, zone: (
        f"{year:04d}-{_two(month)}-{_two(day)}{separator}"
        f"{_two(hour)}:{_two(minute)}:{_two(second)}{fraction}{zone}"
    ),
    st.integers(1, 9999),
    st.integers(1, 12),
    st.integers(1, 28),
    st.sampled_from(["T", " "]),
    st.integers(0, 23),
    st.integers(0, 59),
    st.integers(0, 59),
    st.just("") | iso_fractions,
    st.sampled_from(["", "Z", "z", "+08:00", "-0530", "+14", "-23:59"]),
)
# leap seconds, with and without an offset that brings them to 23:59 UTC
leap_seconds = st.builds(
    lambda day, fraction, zone: f"{day}T{zone[0]}:60{fraction}{zone[1]}",
    st.sampled_from(["2016-12-31", "2015-06-30", "2024-11-25", "9999-12-31", "0001-01-01"]),
    st.just("") | iso_fractions,
    st.sampled_from([("23:59", "Z"), ("07:59", "+08:00"), ("18:29", "-05:30"), ("08:13", "Z")]),
)


@settings(max_examples=1500, deadline=None)
@given(TIME_KEYS, well_formed_iso_texts | iso_texts | leap_seconds)
def test_an_iso_value_converts_to_the_same_instant_or_is_kept_in_extra(
    key_and_field: tuple[str, str], value: str
) -> None:
    check_exact_or_kept(*key_and_field, value)


@settings(max_examples=300, deadline=None)
@given(TIME_KEYS, st.text(max_size=40))
def test_any_text_converts_to_the_same_instant_or_is_kept_in_extra(
    key_and_field: tuple[str, str], value: str
) -> None:
    check_exact_or_kept(*key_and_field, value)
