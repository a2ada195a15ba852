"""The one parser decides; everything after it takes whatever it accepts.

* `loads` accepts exactly the JSON within the documented bounds (depth, values,
  integer digits, I-JSON strings), on both of its paths (orjson, and the exact one
  for long integers), and raises nothing but JsonDecodeError on any bytes;
* the bounds are counted exactly: a limit equal to the count accepts, one less refuses;
* normalising, encoding, hashing, masking, problems and log lines never raise on a
  value it accepted, and the error-body reader never raises on anything.
"""

from __future__ import annotations

import contextlib
import json
import logging
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from dlf_status.domain import errorbody, jsoncodec
from dlf_status.domain.contract import ValidationReport
from dlf_status.domain.interpret import MAX_UPSTREAM_TEXT, clean_text, retry_after_seconds
from dlf_status.domain.normalize import Source, content_hash, normalise
from dlf_status.domain.redaction import Redactor
from dlf_status.entrypoints.problems import problem_document
from dlf_status.errors import UpstreamBadResponse, UpstreamErrorInfo
from dlf_status.observability import logger
from tests.hostile.hostile_json import Json, _array, header_values, hostile_json, status_answer

NOW = datetime(2026, 1, 1, tzinfo=UTC)
LONG_INTEGER = Json(b"123456789012345678901234", digits=24)  # sends `loads` down the exact path
EVERYTHING = settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))


def accepts(data: bytes, limits: jsoncodec.JsonLimits = jsoncodec.UPSTREAM) -> bool:
    try:
        jsoncodec.loads(data, limits)
    except jsoncodec.JsonDecodeError:
        return False
    return True


@EVERYTHING
@given(value=hostile_json)
def test_the_parser_accepts_exactly_what_is_within_the_bounds(value: Json) -> None:
    assert accepts(value.text) == value.accepted


@EVERYTHING
@given(value=hostile_json)
def test_both_parsing_paths_give_the_same_verdict(value: Json) -> None:
    """Beside a long integer the exact path parses; the verdict must not change."""
    wrapped = _array([value, LONG_INTEGER])

    assert accepts(wrapped.text) == wrapped.accepted


@EVERYTHING
@given(value=hostile_json)
def test_the_bounds_are_counted_exactly(value: Json) -> None:
    if value.broken or value.repeats or value.digits > 4300:  # Python refuses 4,301 digits
        return
    exact = jsoncodec.JsonLimits(value.depth, value.values, max(value.digits, 1))

    assert accepts(value.text, exact)
    if value.depth:
        assert not accepts(value.text, exact._replace(depth=value.depth - 1))
    assert not accepts(value.text, exact._replace(values=value.values - 1))
    if value.digits > 1:
        assert not accepts(value.text, exact._replace(integer_digits=value.digits - 1))


@EVERYTHING
@given(value=hostile_json)
def test_the_depth_bound_gives_one_verdict_whether_brackets_are_counted_or_peeled(
    value: Json,
) -> None:
    # At most `limit` opening brackets settles it without peeling; every limit around
    # the value's depth takes one way or the other, and both must agree with it.
    if value.broken:
        return
    for limit in range(max(value.depth - 2, 0), value.depth + 3):
        assert jsoncodec._deeper_than(value.text, limit) == (value.depth > limit)


@settings(max_examples=500, deadline=None)
@given(data=st.binary(max_size=300) | hostile_json.map(lambda value: value.text))
def test_any_bytes_give_a_value_or_a_json_decode_error(data: bytes) -> None:
    with contextlib.suppress(jsoncodec.JsonDecodeError):
        jsoncodec.loads(data)


@settings(max_examples=500, deadline=None)
@given(
    data=st.binary(max_size=300)
    | hostile_json.map(lambda value: value.text)
    | st.builds(
        lambda a, b: b'{"error_code":' + a.text + b',"x":' + b.text, hostile_json, hostile_json
    )
)
def test_the_error_body_reader_never_raises(data: bytes) -> None:
    members, repeated = errorbody.read_members(data, {"error_code", "x"})

    assert set(members) <= {"error_code", "x"}
    assert all(value is None or isinstance(value, str) for value in members.values())
    assert repeated is None or isinstance(repeated, str)


@EVERYTHING
@given(
    value=hostile_json,
    secret=st.sampled_from(['sk"\\/+=%2F-secret', "PLAINSECRETAK0123"]),
)
def test_what_the_parser_accepts_goes_everywhere_without_raising(
    value: Json, secret: str, caplog: pytest.LogCaptureFixture
) -> None:
    body = status_answer([(Json(b'"nodes"'), _array([value])), (Json(b'"x"'), value)])
    assume(body.accepted)
    redactor = Redactor([secret])
    parsed = redactor.value(jsoncodec.loads(body.text))

    document = normalise(
        parsed, source=Source("p", "j"), observed_at=NOW, report=ValidationReport()
    )
    encoded = jsoncodec.canonical_bytes(document)
    content_hash(document)
    jsoncodec.pretty_bytes(document)
    assert jsoncodec.loads(encoded, jsoncodec.STORED) == json.loads(encoded)
    text = clean_text(encoded.decode("utf-8"), redactor)
    problem = problem_document(
        UpstreamBadResponse(f"bad ({text})", UpstreamErrorInfo(error_msg=text, request_id=text))
    )
    jsoncodec.canonical_bytes(problem)
    with caplog.at_level(logging.DEBUG):
        logger.warning("property", extra={"value": parsed, "document": document})
    assert caplog.records


@settings(max_examples=500, deadline=None)
@given(value=header_values | st.text(max_size=400))
def test_retry_after_and_echoed_text_never_raise(value: str) -> None:
    seconds = retry_after_seconds(value, NOW)
    cleaned = clean_text(value)

    assert seconds is None or 0 <= seconds <= 1e9
    if value.strip().isdigit() and not value.strip().isascii():
        assert seconds is None  # '²' is a digit to str.isdigit(), not to HTTP
    assert cleaned is None or (cleaned.isprintable() and len(cleaned) <= MAX_UPSTREAM_TEXT)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        (b"[" * 65 + b"]" * 65, "nested deeper than 64 levels"),
        (b'{"a":' * 65 + b"1" + b"}" * 65, "nested deeper than 64 levels"),
        (b'{"a":' * 64 + b"1" + b"}" * 64, None),
        (
            b"[" + b",".join([b"0"] * jsoncodec.MAX_VALUES) + b"]",
            f"more than {jsoncodec.MAX_VALUES:,}",
        ),
        (b'["' + b"[" * 200 + b'"]', None),  # brackets in a string are not nesting
        (b'["\\"' + b"[" * 200 + b'"]', None),
        (b'["\\\\",' + b"[" * 64 + b"]" * 64 + b"]", "nested deeper than 64 levels"),
        (b"[" + b"9" * 101 + b"]", "101 digits, more than 100"),
        (b'["\\ud800", 12345678901234567890]', "lone surrogate"),
        (b'["\\\\ud800", 12345678901234567890]', None),  # a backslash, then text
    ],
)
def test_hand_picked_bodies_are_refused_with_the_reason(text: bytes, why: str | None) -> None:
    if why is None:
        jsoncodec.loads(text)
        return
    with pytest.raises(jsoncodec.JsonDecodeError, match=why):
        jsoncodec.loads(text)


def test_a_repeated_name_is_refused_on_both_paths() -> None:
    for body in (b'{"a":1,"a":2}', b'{"a":1,"a":2,"n":123456789012345678901}'):
        with pytest.raises(jsoncodec.JsonRepeatedName) as refused:
            jsoncodec.loads(body)
        assert (refused.value.name, refused.value.path) == ("a", "$")


def test_an_error_body_is_read_around_anything_hostile() -> None:
    body = (
        b'{"x":'
        + b"[" * 3000
        + b"]" * 3000
        + b',"n":'
        + b"9" * 5000
        + b',"error_msg":"gone \\ud800","error_code":"DLF.0100","y":NaN'
    )

    members, repeated = errorbody.read_members(body, {"error_code", "error_msg", "n", "x"})

    assert repeated is None
    assert members == {
        "x": None,
        "n": "9" * 5000,
        "error_msg": "gone \ud800",
        "error_code": "DLF.0100",
    }
