from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from dlf_status.domain.statuses import STATUS_MAP, STATUSES, normalise_status


@pytest.mark.parametrize("documented", ["STARTING", "NORMAL", "EXCEPTION", "STOPPING", "STOPPED"])
def test_documented_status_maps_to_itself(documented: str) -> None:
    assert normalise_status(documented) == documented


@pytest.mark.parametrize(
    ("sdk_status", "expected"),
    [
        ("INIT", "STARTING"),
        ("ABNORMAL", "EXCEPTION"),
        ("PAUSE", "STOPPED"),
        ("DISABLE", "STOPPED"),
        ("OVERLOAD", "NORMAL"),
    ],
)
def test_sdk_only_status_folds_into_a_documented_one(sdk_status: str, expected: str) -> None:
    assert normalise_status(sdk_status) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("normal", "NORMAL"),
        (" Stopped ", "STOPPED"),
        (" NORMAL", "NORMAL"),
        ("\tinit\r\n", "STARTING"),
    ],
)
def test_status_is_read_without_regard_to_case_or_surrounding_white_space(
    raw: str, expected: str
) -> None:
    assert normalise_status(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "DEGRADED",
        "",
        " ",
        "RUNNING",
        "running",
        "NOR MAL",
        "\u017ftopped",  # LATIN SMALL LETTER LONG S upper-cases to S
        "\u0131n\u0131t",  # dotless i upper-cases to I
        "NORMAL\x1f",  # str.strip() would remove this control character
        "\u3000NORMAL",  # and this ideographic space
        "NORMAL\u00a0",
        "\uff2e\uff2f\uff32\uff2d\uff21\uff2c",  # fullwidth NORMAL
    ],
)
def test_unlisted_status_is_unknown(raw: str) -> None:
    assert normalise_status(raw) == "UNKNOWN"


ASCII_WHITE_SPACE = st.text(" \t\n\r\f\v", max_size=3)


def _with_case(word: str, upper: list[bool]) -> str:
    return "".join(
        char.upper() if big else char.lower() for char, big in zip(word, upper, strict=False)
    )


@given(
    st.sampled_from(sorted(STATUS_MAP)),
    st.lists(st.booleans(), min_size=9, max_size=9),
    ASCII_WHITE_SPACE,
    ASCII_WHITE_SPACE,
)
def test_a_listed_word_in_any_ascii_case_with_white_space_around_is_its_status(
    word: str, upper: list[bool], before: str, after: str
) -> None:
    assert normalise_status(before + _with_case(word, upper) + after) == STATUS_MAP[word]


@given(st.text())
def test_a_word_with_anything_but_ascii_is_unknown(raw: str) -> None:
    assume(not raw.isascii())

    assert normalise_status(raw) == "UNKNOWN"


def test_the_six_statuses_are_the_contract() -> None:
    assert STATUSES == ("STARTING", "NORMAL", "EXCEPTION", "STOPPING", "STOPPED", "UNKNOWN")
