"""A repeated member name is refused wherever upstream JSON is read (README: "A hostile
upstream"): the parser finds it at any depth, the error-body reader too, and what the
answer then means is decided without either value."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings

from dlf_status.domain import errorbody, jsoncodec
from dlf_status.domain.contract import ValidationReport
from dlf_status.domain.interpret import classify_error, interpret_response
from dlf_status.domain.model import Headers, UpstreamResponse, ValidationMode
from dlf_status.domain.normalize import Source
from dlf_status.domain.redaction import Redactor
from dlf_status.errors import (
    JobNotFound,
    UpstreamAuthRejected,
    UpstreamBadResponse,
    UpstreamThrottled,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from tests.hostile.hostile_json import Repeated, json_values, repeated_names

EXAMPLES = settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
LONG_INTEGER = b"123456789012345678901234"  # sends `loads` down its exact path
JSON = Headers({"Content-Type": "application/json"})


def refused_name(body: bytes) -> tuple[str, str] | None:
    try:
        jsoncodec.loads(body)
    except jsoncodec.JsonRepeatedName as refused:
        return refused.name, refused.path
    return None


@pytest.mark.parametrize(
    ("body", "repeat"),
    [
        (b'{"status":"NORMAL","status":"EXCEPTION"}', ("status", "$")),
        (b'{"a":1,"a":1}', ("a", "$")),  # the same value twice is still a repeat
        (b'{"":1,"":2}', ("", "$")),
        (b'{"st\\u0061tus":1,"status":2}', ("status", "$")),
        (b'{"a/b":1,"a\\/b":2}', ("a/b", "$")),
        (b'{"a\\"b":1,"a\\u0022b":2}', ('a"b', "$")),
        (b'{"\\u003a":1,":":2}', (":", "$")),
        (b'{"\\ud83d\\ude00":1,"\xf0\x9f\x98\x80":2}', ("\U0001f600", "$")),
        (b'[[{"a":1}],[{"a":1,"b":{"c":[{"k":1,"k":2}]}}]]', ("k", "$[1][0].b.c[0]")),
        (b'{"a":[{"x":1,"x":2}],"a":3}', ("a", "$")),  # the outer one comes first
        (b'{"n":' + LONG_INTEGER + b',"n":1}', ("n", "$")),
        (b'{"odd key":{"k":1,"k":2}}', ("k", "$['odd key']")),
    ],
)
def test_a_repeated_name_is_refused_with_its_name_and_place(
    body: bytes, repeat: tuple[str, str]
) -> None:
    assert refused_name(body) == repeat


@pytest.mark.parametrize(
    "body",
    [
        b'{"a":"b:c","a:b":1,"c":":::"}',  # colons in strings are no members
        b'{"a\\"":1,"a":2,"a\\\\":3}',  # escaped quotes and backslashes end no name
        b'{"\\\\u003a":1,":":2}',  # a backslash, then text: two names
        b'{"a":{"a":{"a":1}},"b":[{"a":1},{"a":1}]}',  # one name in many objects
        b'[[],[[]],{},{"":[]}]',
        b'{"k":"\\u003a\\u003A","K":1}',
        b'{"a":1,"A":2,"a ":3}',
        b'{"n":' + LONG_INTEGER + b',"m":"x:y"}',
    ],
)
def test_names_that_only_look_alike_are_accepted(body: bytes) -> None:
    assert jsoncodec.loads(body) == json.loads(body)


@EXAMPLES
@given(value=json_values)
def test_json_without_repeats_is_never_refused_for_one(value: object) -> None:
    """The cheap check never refuses a body that repeats nothing, on either path."""
    for body in (
        json.dumps(value, ensure_ascii=False).encode(),
        json.dumps(value).encode(),
        json.dumps([value, int(LONG_INTEGER)]).encode(),
    ):
        assert refused_name(body) is None


@EXAMPLES
@given(repeated=repeated_names())
def test_a_name_repeated_at_any_depth_is_found_on_both_paths(repeated: Repeated) -> None:
    assert refused_name(repeated.text) == (repeated.name, repeated.path)
    beside_a_long_integer = b"[" + repeated.text + b"," + LONG_INTEGER + b"]"
    found = refused_name(beside_a_long_integer)
    assert found is not None
    assert found[0] == repeated.name


# Strings that hold the projection's own bytes, as real answers do (a node's log path).
_COLONED = json_values.map(lambda value: {"logPath": "obs://b/n:1.job", "x": value, "t": "[{:}]"})


@EXAMPLES
@given(
    body=repeated_names(seconds=json_values | _COLONED).map(lambda repeated: repeated.text)
    | json_values.map(lambda value: json.dumps(value).encode())
    | _COLONED.map(lambda value: json.dumps([value, value], ensure_ascii=False).encode())
)
def test_the_cheap_check_refuses_exactly_what_the_exact_reading_finds(body: bytes) -> None:
    """`loads` counts the body's colons on its structure projection; the job list's
    `check_names` counts them on the bytes. Both must name the repeat the exact,
    slow reading names, and only when there is one."""
    exact = jsoncodec.find_repeated_name(body)

    assert refused_name(body) == exact
    assert refused_name(b"[" + body + b"," + LONG_INTEGER + b"]") == (
        None if exact is None else (exact[0], exact[1].replace("$", "$[0]", 1))
    )
    assert name_checked(body) == exact


def name_checked(body: bytes) -> tuple[str, str] | None:
    """What `check_names` (the job list's check, after orjson) says of `body`."""
    try:
        jsoncodec.check_names(body, json.loads(body))
    except jsoncodec.JsonRepeatedName as refused:
        return refused.name, refused.path
    return None


@EXAMPLES
@given(repeated=repeated_names())
def test_the_error_body_reader_finds_a_name_repeated_at_any_depth(repeated: Repeated) -> None:
    body = b'{"error_code":"DLF.0100","detail":' + repeated.text + b"}"

    members = errorbody.read_members(body, {"error_code"})

    assert members == ({"error_code": "DLF.0100"}, repeated.name)


def test_the_error_body_reader_finds_repeats_beside_what_the_parser_refuses() -> None:
    deep = b"[" * 2000 + b"]" * 2000
    body = b'{"x":' + deep + b',"error_code":"DLF.0001","y":NaN,"error_code":"DLF.0100"}'

    assert errorbody.read_members(body, {"error_code"}).repeated == "error_code"


def answer(status: int, body: bytes) -> UpstreamResponse:
    return UpstreamResponse(status, JSON, body)


@EXAMPLES
@given(repeated=repeated_names())
def test_a_200_that_repeats_a_name_is_an_upstream_failure_naming_it(repeated: Repeated) -> None:
    with pytest.raises(UpstreamBadResponse, match="repeats the member") as refused:
        interpret_response(
            answer(200, repeated.text),
            source=Source("p", "job"),
            observed_at=datetime.now(UTC),
            validator=_NoValidator(),
            mode=ValidationMode.LENIENT,
        )
    assert refused.value.info.error_code is None


class _NoValidator:
    def validate(self, response: UpstreamResponse, body: object) -> ValidationReport:
        raise AssertionError("a refused body is never validated")


TWO_CODES = b'{"error_code":"DLF.0001","error_code":"DLF.0100","error_msg":"gone"}'


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (400, UpstreamBadResponse),  # DLF.0100 or a refusal: the code decides, and is unread
        (404, UpstreamBadResponse),
        (401, UpstreamAuthRejected),  # the status alone decides these
        (403, UpstreamAuthRejected),
        (429, UpstreamThrottled),
        (503, UpstreamUnavailable),
        (504, UpstreamTimeout),
    ],
)
def test_an_error_answer_that_repeats_a_name_is_never_a_missing_job(
    status: int, expected: type[Exception]
) -> None:
    error = classify_error(answer(status, TWO_CODES), Source("p", "job"))

    assert type(error) is expected
    assert not isinstance(error, JobNotFound)
    assert '"error_code"' in error.detail
    assert (error.info.error_code, error.info.error_msg) == (None, None)


def test_a_repeated_name_is_masked_and_cleaned_in_the_detail() -> None:
    secret = "SECRETACCESSKEY01234"
    body = b'{"error_code":"DLF.0100","' + secret.encode() + b'\\u001b[31m":1,"'
    body += secret.encode() + b'\\u001b[31m":2}'

    error = classify_error(answer(400, body), Source("p", "job"), Redactor([secret]))

    assert secret not in error.detail
    assert "\x1b" not in error.detail
    assert '"***' in error.detail


def test_a_name_past_the_cut_is_shown_cut() -> None:
    name = "n" * 5000
    body = json.dumps({"x": 1}).replace('"x"', f'"{name}":1,"{name}"').encode()

    with pytest.raises(UpstreamBadResponse) as refused:
        interpret_response(
            answer(200, body),
            source=Source("p", "job"),
            observed_at=datetime.now(UTC),
            validator=_NoValidator(),
            mode=ValidationMode.LENIENT,
        )
    assert len(refused.value.detail) < 500
