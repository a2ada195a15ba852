"""A lone surrogate is not text: both parse paths refuse it (orjson always did; the
standard-library path, taken for bodies with 19-digit numbers, now does too)."""

from __future__ import annotations

import pytest

from dlf_status.domain import jsoncodec

LONG_NUMBER = b"12345678901234567890123"


@pytest.mark.parametrize("long_number", [b"1", LONG_NUMBER], ids=["orjson", "stdlib"])
@pytest.mark.parametrize(
    "text", [rb'"\udc80"', rb'"\ud800"', rb'"a\ud800b"', rb'"\ude00\ud83d"'], ids=str
)
def test_a_lone_surrogate_is_refused_on_either_path(long_number: bytes, text: bytes) -> None:
    with pytest.raises(jsoncodec.JsonDecodeError):
        jsoncodec.loads(b"[" + text + b", " + long_number + b"]")


@pytest.mark.parametrize("long_number", [b"1", LONG_NUMBER], ids=["orjson", "stdlib"])
def test_a_lone_surrogate_in_a_key_is_refused(long_number: bytes) -> None:
    with pytest.raises(jsoncodec.JsonDecodeError):
        jsoncodec.loads(b'{"\\ud800": ' + long_number + b"}")


@pytest.mark.parametrize("long_number", [b"1", LONG_NUMBER], ids=["orjson", "stdlib"])
def test_a_surrogate_pair_and_an_escaped_backslash_are_text(long_number: bytes) -> None:
    parsed = jsoncodec.loads(rb'["\ud83d\ude00", "\\ud800", ' + long_number + b"]")

    assert parsed[:2] == ["\U0001f600", "\\ud800"]
