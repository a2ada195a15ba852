from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

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


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=8,
)


@given(_json_values)
def test_pretty_bytes_show_every_character_a_terminal_would_act_on_escaped(value: Any) -> None:
    """What the CLI prints holds upstream text: nothing in it but printable characters
    and line breaks (no C1 control, DEL, bidi override or zero-width space raw), and it
    still reads back as the same value."""
    printed = jsoncodec.pretty_bytes(value).decode("utf-8")

    assert all(char == "\n" or char.isprintable() for char in printed), ascii(printed)
    assert json.loads(printed) == value


def test_pretty_bytes_leave_printable_text_as_it_is() -> None:
    document = {"name": "作业 café \U0001f600", "csi": "\x9b2J", "rtl": "a\u202eb"}

    printed = jsoncodec.pretty_bytes(document).decode("utf-8")

    assert '"作业 café \U0001f600"' in printed
    assert '"\\u009b2J"' in printed
    assert '"a\\u202eb"' in printed


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


_PROJECTION_BYTES = st.sampled_from([":", '":"', "obs://a", "[{", "}]", '\\"', "\\", "::"])


@given(
    value=st.recursive(
        st.none() | st.integers() | _PROJECTION_BYTES | st.text(max_size=4),
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(_PROJECTION_BYTES | st.text(max_size=3), children, max_size=3)
        ),
        max_leaves=30,
    ),
    copies=st.integers(1, 40),
)
def test_the_depth_bound_reads_past_strings_that_hold_colons_quotes_and_brackets(
    value: Any, copies: int
) -> None:
    """The depth is read on one projection of the body (quotes, brackets and colons):
    strings holding any of them, many brackets (the pairs are then peeled) or few, the
    verdict is the value's depth, and the colons counted there are the body's."""
    body = json.dumps([value] * copies, ensure_ascii=False).encode()
    depth = _depth([value] * copies)

    for limit in (depth - 1, depth, 2):
        assert jsoncodec._deeper_than(body, limit) == (depth > limit)
    assert jsoncodec._structure(body).count(b":") == body.count(b":")
