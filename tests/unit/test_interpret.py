from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from dlf_status import errors
from dlf_status.domain.contract import MAX_LISTED, ValidationReport, Violation
from dlf_status.domain.documents import StatusDocument
from dlf_status.domain.interpret import (
    MAX_NODES,
    MAX_UPSTREAM_TEXT,
    clean_text,
    error_info,
    interpret_response,
    retry_after_seconds,
)
from dlf_status.domain.model import Headers, UpstreamResponse, ValidationMode
from dlf_status.domain.normalize import Source
from dlf_status.domain.redaction import Redactor
from tests.conftest import StubValidator

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
SOURCE = Source("p1", "job_sms", None, "https://upstream.invalid")
JSON = {"Content-Type": "application/json;charset=UTF-8"}


def answer(status: int, body: Any, headers: dict[str, str] | None = None) -> UpstreamResponse:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return UpstreamResponse(status, Headers(headers or JSON), raw)


def interpret(
    response: UpstreamResponse,
    validator: StubValidator | None = None,
    mode: ValidationMode = ValidationMode.LENIENT,
) -> StatusDocument:
    return interpret_response(
        response,
        source=SOURCE,
        observed_at=NOW,
        validator=validator or StubValidator(),
        mode=mode,
    )


def test_a_200_becomes_a_document_validated_once_with_the_parsed_body() -> None:
    validator = StubValidator()

    document = interpret(answer(200, {"name": "job_sms", "status": "NORMAL"}), validator)

    assert document["job"]["status"] == "NORMAL"
    assert len(validator.calls) == 1
    assert validator.calls[0][1] == {"name": "job_sms", "status": "NORMAL"}


def test_dlf_0100_means_the_job_does_not_exist() -> None:
    response = answer(400, {"error_code": "DLF.0100", "error_msg": "The job does not exists."})

    with pytest.raises(
        errors.JobNotFound, match="job 'job_sms' in project p1 does not exist"
    ) as caught:
        interpret(response)

    assert caught.value.info.error_code == "DLF.0100"
    assert caught.value.info.error_msg == "The job does not exists."


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (400, {"error_code": "DLF.0137", "error_msg": "no workspace"}, errors.UpstreamRejected),
        (
            401,
            {"error_code": "APIGW.0301", "error_msg": "bad", "request_id": "r"},
            errors.UpstreamAuthRejected,
        ),
        (
            403,
            {"error_code": "APIGW.0302", "error_msg": "no", "request_id": "r"},
            errors.UpstreamAuthRejected,
        ),
        (
            404,
            {"error_code": "APIGW.0101", "error_msg": "no route", "request_id": "r"},
            errors.UpstreamRejected,
        ),
        (429, {"error_code": "APIG.0308", "error_msg": "slow down"}, errors.UpstreamThrottled),
        (500, b"<html>oops</html>", errors.UpstreamUnavailable),
        (503, {"error_code": "DLF.0003", "error_msg": "busy"}, errors.UpstreamUnavailable),
        (504, {"error_code": "APIG.0201", "error_msg": "Backend timeout"}, errors.UpstreamTimeout),
        (204, b"", errors.UpstreamBadResponse),
    ],
)
def test_each_failure_status_means_one_precise_error(
    status: int, body: Any, expected: type[errors.UpstreamError]
) -> None:
    with pytest.raises(expected) as caught:
        interpret(answer(status, body))

    assert type(caught.value) is expected
    assert caught.value.info.http_status == status


def test_a_dlf_0100_on_another_status_is_not_a_missing_job() -> None:
    with pytest.raises(errors.UpstreamUnavailable):
        interpret(answer(500, {"error_code": "DLF.0100", "error_msg": "?"}))


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        ({"error_code": "DLF.1", "error_msg": "snake"}, "DLF.1", "snake"),
        ({"errorCode": "DLF.2", "errorMsg": "camel"}, "DLF.2", "camel"),
        ({"code": "DLF.3", "message": "plain"}, "DLF.3", "plain"),
        (
            {"error_code": "DLF.4", "error_msg": "evil\r\nX-Injected: 1"},
            "DLF.4",
            "evil  X-Injected: 1",
        ),
        ({"error_code": "DLF.5", "error_msg": "x" * 1000}, "DLF.5", "x" * 300),
        ({"unrelated": True}, None, None),
    ],
)
def test_error_info_reads_every_known_spelling_and_cleans_it(
    body: dict[str, Any], code: str | None, message: str | None
) -> None:
    info = error_info(answer(400, body))

    assert (info.error_code, info.error_msg) == (code, message)


def test_request_id_comes_from_the_body_or_else_the_header() -> None:
    from_body = error_info(answer(401, {"request_id": "body-id"}, {**JSON, "X-Request-Id": "h"}))
    from_header = error_info(answer(500, b"<html/>", {"X-Request-Id": "header-id"}))

    assert from_body.request_id == "body-id"
    assert from_header.request_id == "header-id"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2", 2.0),
        ("0", 0.0),
        ("Wed, 25 Nov 2026 12:00:30 GMT", 30.0),
        ("Wed, 25 Nov 2026 11:00:00 GMT", 0.0),
        ("soon", None),
        (None, None),
    ],
)
def test_retry_after_is_read_as_seconds_or_an_http_date(
    value: str | None, expected: float | None
) -> None:
    assert retry_after_seconds(value, NOW) == expected


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"<html>login</html>", "text/html"),
        (b'{"name": "trunc', "application/json"),
        (b"", "application/json"),
    ],
)
def test_a_200_that_is_not_json_is_a_bad_response(body: bytes, content_type: str) -> None:
    with pytest.raises(errors.UpstreamBadResponse, match="not JSON"):
        interpret(answer(200, body, {"Content-Type": content_type}))


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ([{"name": "job"}], "an array"),
        ("job", "a string"),
        (3, "a number"),
        (0.5, "a number"),
        (False, "a boolean"),
        (None, "null"),
    ],
)
def test_a_200_that_is_json_but_not_an_object_is_a_bad_response(body: Any, said: str) -> None:
    with pytest.raises(errors.UpstreamBadResponse) as raised:
        interpret(answer(200, body))

    assert str(raised.value) == f"DataArts Studio's 200 answer is {said}, not an object"


def test_strict_mode_refuses_an_answer_with_violations() -> None:
    validator = StubValidator(ValidationReport(violations=(Violation("$.status", "not a string"),)))

    with pytest.raises(errors.ContractViolation, match=r"at \$\.status: not a string") as caught:
        interpret(answer(200, {"name": "j", "status": 3}), validator, ValidationMode.STRICT)

    assert caught.value.violations == (("$.status", "not a string"),)


def test_strict_mode_also_refuses_a_value_only_the_normaliser_cannot_read() -> None:
    with pytest.raises(errors.ContractViolation, match=r"\$\.startTime"):
        interpret(
            answer(200, {"name": "j", "startTime": "2024-02-30T00:00:00Z"}),
            mode=ValidationMode.STRICT,
        )


def test_lenient_mode_records_violations_and_still_answers() -> None:
    validator = StubValidator(ValidationReport(violations=(Violation("$.status", "not a string"),)))

    document = interpret(answer(200, {"name": "j", "status": 3}), validator)

    assert document["validation"]["valid"] is False


# -- hostile answers (issue 9): bounds, strict headers, masked and cleaned echoes ------------


@pytest.mark.parametrize("value", ["²", "٣", "1_0", " 1e3", "-5", "0x10", "5, 6", "\x00"])
def test_retry_after_takes_only_ascii_digits_or_a_date(value: str) -> None:
    assert retry_after_seconds(value, NOW) is None


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("7", 7.0),
        (" 12 ", 12.0),
        ("9" * 30, 1e9),  # more than any cap: never an OverflowError
        ("Fri, 31 Dec 9999 23:59:59 -2359", 1e9),
        ("Thu, 01 Jan 1970 00:00:00 GMT", 0.0),
    ],
)
def test_retry_after_extremes_are_numbers_not_errors(value: str, seconds: float) -> None:
    assert retry_after_seconds(value, NOW) == seconds


def test_a_body_past_the_node_bound_is_an_upstream_failure_before_validation() -> None:
    validator = StubValidator()
    body = b'{"name":"j","nodes":[' + b",".join([b"{}"] * (MAX_NODES + 1)) + b"]}"

    with pytest.raises(
        errors.UpstreamBadResponse, match=f"{MAX_NODES + 1:,} nodes, more than {MAX_NODES:,}"
    ):
        interpret(answer(200, body), validator)

    assert validator.calls == []


def test_a_body_past_the_depth_bound_says_so() -> None:
    body = b'{"name":"j","x":' + b"[" * 64 + b"]" * 64 + b"}"

    with pytest.raises(errors.UpstreamBadResponse, match="nested deeper than 64 levels"):
        interpret(answer(200, body))


def test_violations_and_unknown_fields_past_the_listing_bound_are_counted_not_listed() -> None:
    many = tuple(Violation(f"$.v{index:05d}", "bad") for index in range(MAX_LISTED + 5))
    unknown = tuple(f"$.k{index:05d}" for index in range(MAX_LISTED + 2))
    validator = StubValidator(ValidationReport(violations=many, unknown_fields=unknown))

    validation = interpret(answer(200, {"name": "j"}), validator)["validation"]

    assert len(validation["unknown_fields"]) == MAX_LISTED
    assert validation["valid"] is False
    notes = [item["message"] for item in validation["violations"][MAX_LISTED:]]
    assert notes == [
        "2 more unknown fields are not listed (at most 1,000 are; their values are all in extra)",
        "5 or more further violations are not listed (at most 1,000 are)",
    ]


def test_a_dlf_0100_beside_anything_hostile_is_still_a_missing_job() -> None:
    body = (
        b'{"x":'
        + b"[" * 5000
        + b"]" * 5000
        + b',"error_code":"DLF.0100","n":'
        + b"9" * 5000
        + b',"error_msg":"gone\\ud800\\u202e","s":NaN'
    )

    with pytest.raises(errors.JobNotFound) as caught:
        interpret(answer(400, body))

    assert caught.value.info.error_msg == "gone"


def test_echoed_upstream_text_is_masked_before_it_is_cut() -> None:
    secret = 'fake"SK\\/+=%2F-0123456789'
    redactor = Redactor([secret])
    message = "x" * (MAX_UPSTREAM_TEXT - 5) + secret  # the cut falls inside the secret
    body = json.dumps({"error_code": "APIGW.0301", "error_msg": message}).encode()
    headers = {**JSON, "X-Request-Id": secret}

    info = error_info(answer(401, body, headers), redactor)

    assert info.error_msg == "x" * (MAX_UPSTREAM_TEXT - 5) + "***"
    assert info.request_id == "***"
    assert clean_text("\x00a\u2028b\udc80 c\u202e", redactor) == "a b  c"


def test_a_200_that_echoes_a_credential_is_stored_masked() -> None:
    secret = "FAKEACCESSKEY0123"
    escaped = "".join(f"\\u{ord(char):04x}" for char in secret).encode()
    body = b'{"name":"j","x":"' + escaped + b'","' + secret.encode() + b'":1,"n":1}'

    document = interpret_response(
        answer(200, body),
        source=SOURCE,
        observed_at=NOW,
        validator=StubValidator(),
        mode=ValidationMode.LENIENT,
        redactor=Redactor([secret]),
    )

    assert document["extra"] == {"x": "***", "***": 1, "n": 1}


def test_a_credential_split_by_the_first_cut_never_shows_through() -> None:
    secret = "fake-secret-key-0123456789abcdef0123456"
    redactor = Redactor([secret])
    # Each secret masked frees room, so the cut one would land inside 300 characters.
    value = (secret + "xy") * 40

    cleaned = clean_text(value, redactor)

    assert cleaned is not None
    assert not any(secret[:size] in cleaned for size in range(8, len(secret)))
    assert cleaned.startswith("***xy***xy")
