"""If-None-Match as RFC 9110 reads it, and the freshness of store reads."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dlf_status.entrypoints.conditional import none_match, store_read_cache_control, weak_etag

TAG = weak_etag("0123abcd")


@pytest.mark.parametrize(
    "header",
    [
        "*",
        " * ",
        '"0123abcd"',  # weak comparison: a strong tag matches a weak one of the same value
        'W/"0123abcd"',
        '"other", W/"0123abcd"',
        'W/"other",W/"0123abcd"',
        '"other" ,\t"0123abcd"',
        ', , "0123abcd"',  # empty list elements are allowed (RFC 9110 5.6.1)
        '"0123abcd", ',
    ],
)
def test_a_matching_if_none_match(header: str) -> None:
    assert none_match(header, TAG)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "0123abcd",  # not quoted: not an entity tag
        'w/"0123abcd"',  # the weak prefix is case-sensitive
        '"0123abc"',
        '"0123ABCD"',  # opaque tags compare byte for byte
        '"other" "0123abcd"',  # no comma: not a list
        'garbage, "0123abcd"',  # a list that is not one is ignored whole,
        '"0123abcd", not a tag',  # wherever its bad member stands
        '"other", *',  # '*' is a value of its own, never a list member
        'W/ "0123abcd"',
    ],
)
def test_a_header_that_does_not_match(header: str | None) -> None:
    assert not none_match(header, TAG)


@given(st.text())
def test_any_header_gives_an_answer(header: str) -> None:
    assert none_match(header, TAG) in (True, False)


@pytest.mark.parametrize(
    ("stale_after", "expected"),
    [(900.0, "max-age=30"), (1.0, "max-age=1"), (29.0, "max-age=1"), (86_400.0, "max-age=60")],
)
def test_store_reads_are_fresh_for_a_thirtieth_of_stale_after(
    stale_after: float, expected: str
) -> None:
    assert store_read_cache_control(stale_after) == expected
