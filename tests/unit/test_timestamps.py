from __future__ import annotations

import pytest

from dlf_status.domain.timestamps import TimeReading, read_time, to_rfc3339


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1682582619000, "2023-04-27T08:03:39.000Z"),
        (1682582619123, "2023-04-27T08:03:39.123Z"),
        (0, "1970-01-01T00:00:00.000Z"),
        (-1, "1969-12-31T23:59:59.999Z"),
        (-62135596800000, "0001-01-01T00:00:00.000Z"),
        (253402300799999, "9999-12-31T23:59:59.999Z"),
        ("1682582619000", "2023-04-27T08:03:39.000Z"),
        ("-1", "1969-12-31T23:59:59.999Z"),
        ("-0", "1970-01-01T00:00:00.000Z"),
        ("0001682582619000", "2023-04-27T08:03:39.000Z"),
        ("0" * 5000 + "1", "1970-01-01T00:00:00.001Z"),
        (1682582619000.0, "2023-04-27T08:03:39.000Z"),
        (1.7e12, "2023-11-14T22:13:20.000Z"),
        ("2024-11-25T08:00:00+08:00", "2024-11-25T00:00:00.000Z"),
        ("2024-11-25T08:00:00+0800", "2024-11-25T00:00:00.000Z"),
        ("2024-11-25T01:30:00.5Z", "2024-11-25T01:30:00.500Z"),
        ("2024-11-25 01:31:02", "2024-11-25T01:31:02.000Z"),
        ("0999-01-01T00:00:00Z", "0999-01-01T00:00:00.000Z"),
        ("2024-11-25T01:30:00,25z", "2024-11-25T01:30:00.250Z"),
        ("2024-11-25T01:30:00.123000000Z", "2024-11-25T01:30:00.123Z"),
        ("2024-11-25T08:00+08", "2024-11-25T00:00:00.000Z"),
        ("2024-11-25T00:00:00-23:59", "2024-11-25T23:59:00.000Z"),
        ("2024-11-25T00:00:00-00:00", "2024-11-25T00:00:00.000Z"),
        ("1969-07-20T20:17:40Z", "1969-07-20T20:17:40.000Z"),
        ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00.000Z"),
        ("9999-12-31T23:59:59.999Z", "9999-12-31T23:59:59.999Z"),
        ("0001-01-01T08:00:00+08:00", "0001-01-01T00:00:00.000Z"),
        ("2024-02-29T12:00:00Z", "2024-02-29T12:00:00.000Z"),
    ],
)
def test_readable_time_becomes_rfc3339_utc_milliseconds(value: object, expected: str) -> None:
    assert read_time(value) == TimeReading(expected, None, exact=True)
    assert to_rfc3339(value) == (expected, None)


@pytest.mark.parametrize(
    "value",
    [
        True,
        "yesterday",
        "",
        "2024-02-30T00:00:00Z",
        "2023-02-29T00:00:00Z",
        "0000-01-01T00:00:00Z",
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59.999-00:01",
        "2024-11-25T24:00:00Z",
        "2024-11-25T23:60:00Z",
        "2024-11-25T08:13:60Z",  # second 60 only at 23:59 UTC
        "2024-11-25T23:59:61Z",
        "2024-11-25T08:00:00+24:00",
        "2024-11-25T08:00:00+08:60",
        # outside the contract's ISO form
        "2024-11-25t01:30:00Z",
        " 2024-11-25T01:30:00Z",
        "2024-11-25T01:30:00Z ",
        "2024-11-25T01:30:00Z\n",
        "2024-11-25",
        "2024-11-25T01:30:00.Z",
        "2024-11-25T01:30:00+08:",
        "+2024-11-25T01:30:00Z",
        "12024-11-25T01:30:00Z",
        "2024-11-25T01:30:00 UTC",
        "2024-11-25T01:30:00[Europe/Paris]",
        # epoch milliseconds past the years 1 to 9999
        10**20,
        -(10**20),
        253402300800000,
        -62135596800001,
        "-99999999999999999999",
        "9" * 5000,
        1e300,
        # the contract's epoch milliseconds are an integer: no fraction of a millisecond
        1732521600000.7,
        0.5,
        -0.5,
        float("inf"),
        float("nan"),
        # a numeric string is digits after an optional '-', nothing around them
        " 1682582619000 ",
        "1682582619000\n",
        "+1682582619000",
        "1_682_582_619_000",
        "1682582619000.0",
        "1.682582619e12",
        "١٦٨٢٥٨٢٦١٩٠٠٠",  # Arabic-Indic digits, which int() would read
        {"seconds": 1},
        [1682582619000],
        None,
    ],
)
def test_unreadable_time_gives_no_timestamp_and_a_reason(value: object) -> None:
    reading = read_time(value)

    assert reading.time is None
    assert reading.problem
    assert not reading.exact
    assert to_rfc3339(value) == (None, reading.problem)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-11-25T01:30:00.9999Z", "2024-11-25T01:30:00.999Z"),
        ("2024-11-25T01:30:00.0001Z", "2024-11-25T01:30:00.000Z"),
        ("2024-11-25T01:30:00.123456Z", "2024-11-25T01:30:00.123Z"),
        ("1969-12-31T23:59:59.9999Z", "1969-12-31T23:59:59.999Z"),
        # a leap second: the last millisecond before midnight UTC, offsets included
        ("2016-12-31T23:59:60Z", "2016-12-31T23:59:59.999Z"),
        ("2016-12-31T23:59:60.5Z", "2016-12-31T23:59:59.999Z"),
        ("2017-01-01T07:59:60+08:00", "2016-12-31T23:59:59.999Z"),
    ],
)
def test_a_time_that_milliseconds_cannot_hold_is_read_and_marked_not_exact(
    value: str, expected: str
) -> None:
    assert read_time(value) == TimeReading(expected, None, exact=False)
    assert to_rfc3339(value) == (expected, None)
