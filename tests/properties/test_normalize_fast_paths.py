"""The normaliser's shortcuts give what the plain definitions give (hypothesis)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from dlf_status.domain import normalize
from dlf_status.domain.timestamps import read_time
from tests.properties.strategies import READABLE_MILLIS, json_values

# Values a time field holds: epoch integers (some past 64 bits), their text and ISO
# forms, the same numbers as floats and booleans (equal in Python, not as times), and
# any other JSON value.
TIME_VALUES = st.one_of(
    READABLE_MILLIS,
    st.integers(min_value=-(2**70), max_value=2**70),
    READABLE_MILLIS.map(str),
    READABLE_MILLIS.map(float),
    st.sampled_from([0, 1, 1.0, True, False, 0.0, "1", "2026-11-25T10:00:00.123456+01:00"]),
    st.datetimes().map(lambda moment: moment.isoformat() + "Z"),
    st.text(max_size=70),
    json_values,
)


@settings(max_examples=400, deadline=None)
@given(st.lists(TIME_VALUES, min_size=1, max_size=8))
def test_a_time_read_through_the_cache_is_the_time_read_afresh(values: list[Any]) -> None:
    # Twice over: the second reading of each value may come from the cache, after
    # values equal to it in Python (1, 1.0, True) were read.
    for value in [*values, *values]:
        assert normalize._read_time(value) == read_time(value)
