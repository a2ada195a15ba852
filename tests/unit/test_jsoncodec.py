from __future__ import annotations

import pytest

from dlf_status.domain import jsoncodec


def test_integers_beyond_64_bits_survive_a_round_trip_exactly() -> None:
    body = b'{"totalGetBytes": 36893488147419103232, "n": -9223372036854775809}'

    parsed = jsoncodec.loads(body)

    assert parsed == {"totalGetBytes": 36893488147419103232, "n": -9223372036854775809}
    assert jsoncodec.canonical_bytes(parsed) == (
        b'{"n":-9223372036854775809,"totalGetBytes":36893488147419103232}'
    )


@pytest.mark.parametrize(
    "body",
    [
        b'{"a": NaN}',
        b'{"a": Infinity}',
        b'{"a": 1e400}',
        b'{"a": 1e400, "b": 12345678901234567890}',
        b'{"a": NaN, "b": 12345678901234567890}',
        b"\xef\xbb\xbf{}",
        b'\xef\xbb\xbf{"b": 12345678901234567890}',
        b'{"a": "\xff", "b": 12345678901234567890}',
        b'{"a": 1',
        b"",
        b"<html></html>",
    ],
)
def test_anything_but_strict_json_is_refused(body: bytes) -> None:
    with pytest.raises(jsoncodec.JsonDecodeError):
        jsoncodec.loads(body)


def test_canonical_bytes_sort_keys_at_every_level_and_are_compact() -> None:
    document = {"b": {"z": 1, "a": [{"y": 2, "x": 1}]}, "a": "é"}

    assert (
        jsoncodec.canonical_bytes(document) == '{"a":"é","b":{"a":[{"x":1,"y":2}],"z":1}}'.encode()
    )


def test_pretty_bytes_are_deterministic_and_parse_back() -> None:
    document = {"b": 1, "a": [1, 2, {"d": None, "c": True}]}

    first, second = jsoncodec.pretty_bytes(document), jsoncodec.pretty_bytes(dict(document))

    assert first == second
    assert first.startswith(b'{\n  "a"')
    assert jsoncodec.loads(first) == document
