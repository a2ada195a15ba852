from __future__ import annotations

import pytest

from dlf_status.domain.timestamps import to_rfc3339


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1682582619000, "2023-04-27T08:03:39.000Z"),
        (1682582619123, "2023-04-27T08:03:39.123Z"),
        (0, "1970-01-01T00:00:00.000Z"),
        ("1682582619000", "2023-04-27T08:03:39.000Z"),
        (" 1682582619000 ", "2023-04-27T08:03:39.000Z"),
        (1682582619000.0, "2023-04-27T08:03:39.000Z"),
        ("2024-11-25T08:00:00+08:00", "2024-11-25T00:00:00.000Z"),
        ("2024-11-25T08:00:00+0800", "2024-11-25T00:00:00.000Z"),
        ("2024-11-25T01:30:00.5Z", "2024-11-25T01:30:00.500Z"),
        ("2024-11-25t01:30:00.123456z", "2024-11-25T01:30:00.123Z"),
        ("2024-11-25 01:31:02", "2024-11-25T01:31:02.000Z"),
        ("0999-01-01T00:00:00Z", "0999-01-01T00:00:00.000Z"),
    ],
)
def test_readable_time_becomes_rfc3339_utc_milliseconds(value: object, expected: str) -> None:
    assert to_rfc3339(value) == (expected, None)


@pytest.mark.parametrize(
    "value",
    [
        True,
        "yesterday",
        "",
        "2024-02-30T00:00:00Z",
        "0001-01-01T00:00:00+01:00",
        10**20,
        "-99999999999999999999",
        {"seconds": 1},
        [1682582619000],
        None,
    ],
)
def test_unreadable_time_gives_no_timestamp_and_a_reason(value: object) -> None:
    moment, why = to_rfc3339(value)

    assert moment is None
    assert why
