"""`validate` names a member an object repeats, where it is, as the hot path does
(the answer is refused there: one of the values would be lost), whether the body is
a raw file, a recorded exchange's `body` or its `body_text`; never "not valid JSON"."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dlf_status.adapters.compiled_validator import CompiledValidator
from dlf_status.domain.contract import (
    NOT_JSON,
    SHOW_JOB_STATUS,
    not_json_violation,
    packaged_contract,
)
from dlf_status.domain.model import Headers, UpstreamResponse
from dlf_status.entrypoints.cli import main
from dlf_status.recorded import exchange_keeping_repeats

STATUS_ANSWER = (
    Path(__file__).resolve().parents[2] / "contract_tests/fixtures/valid/doc-2024-success.json"
)
EXCHANGE: dict[str, Any] = json.loads(STATUS_ANSWER.read_text())
HEADERS_TEXT = json.dumps(EXCHANGE["headers"])
# The fixture's valid body, its first node's `speed` written twice (0, then 7).
NODE_REPEATS = json.dumps(EXCHANGE["body"]).replace('"speed": 0', '"speed": 0, "speed": 7')
TOP_REPEATS = json.dumps(EXCHANGE["body"])[:-1] + ', "status": "EXCEPTION"}'


def _exchange_with_body(body_text: str) -> str:
    return f'{{"source": "made up", "status": 200, "headers": {HEADERS_TEXT}, "body": {body_text}}}'


def _exchange_with_body_text(body_text: str) -> str:
    return json.dumps(
        {"source": "made up", "status": 200, "headers": EXCHANGE["headers"], "body_text": body_text}
    )


CASES = [
    pytest.param(_exchange_with_body(NODE_REPEATS), "$.nodes[0]", '"speed"', id="body, in a node"),
    pytest.param(_exchange_with_body(TOP_REPEATS), "$", '"status"', id="body, at the top"),
    pytest.param(_exchange_with_body_text(NODE_REPEATS), "$.nodes[0]", '"speed"', id="body_text"),
    pytest.param(TOP_REPEATS, "$", '"status"', id="raw body"),
]


@pytest.mark.parametrize("validator", ["compiled", "reference"])
@pytest.mark.parametrize(("text", "path", "name"), CASES)
def test_validate_names_the_repeated_member_and_its_place(
    validator: str,
    text: str,
    path: str,
    name: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    answer = tmp_path / "answer.json"
    answer.write_text(text)

    code = main(["validate", "--validator", validator, str(answer)])

    out, err = capsys.readouterr()
    assert code == 1
    lines = out.splitlines()
    assert any(line.startswith(f"{path}: an object repeats the member {name} ") for line in lines)
    assert "not valid JSON" not in out + err
    assert "Traceback" not in err


def test_a_raw_body_given_a_status_names_the_repeat_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answer = tmp_path / "answer.json"
    answer.write_text(NODE_REPEATS)

    code = main(["validate", "--status", "200", str(answer)])

    out, _ = capsys.readouterr()
    assert code == 1
    assert out.startswith('$.nodes[0]: an object repeats the member "speed"')


def test_a_repeat_outside_the_body_is_bad_input_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    headers = HEADERS_TEXT[:-1] + ', "X-Request-Id": "again"}'
    answer = tmp_path / "answer.json"
    answer.write_text(
        f'{{"source": "s", "status": 200, "headers": {headers}, "body": {json.dumps({})}}}'
    )

    code = main(["validate", str(answer)])

    _, err = capsys.readouterr()
    assert code == 2
    assert err.count("\n") == 1
    assert 'repeats the member "X-Request-Id" outside its body' in err


def test_the_rebuilt_body_keeps_every_member_and_number_as_written() -> None:
    text = '{"a": 1.50e3, "a": 123456789012345678901234567890, "b": [true, null, "\\u00e9"]}'

    exchange = exchange_keeping_repeats(_exchange_with_body(text).encode())

    assert exchange is not None
    assert (
        exchange.body.decode()
        == '{"a":1.50e3,"a":123456789012345678901234567890,"b":[true,null,"é"]}'
    )
    assert exchange.status == 200


def test_a_file_that_is_no_exchange_is_left_to_the_raw_body_path() -> None:
    assert exchange_keeping_repeats(TOP_REPEATS.encode()) is None


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"{nope", "the body is not valid JSON: "),
        (b"[" * 100 + b"]" * 100, "the body is past the bounds on one answer: "),
    ],
)
def test_the_validator_says_why_a_body_is_not_json(body: bytes, expected: str) -> None:
    validator = CompiledValidator(packaged_contract(SHOW_JOB_STATUS))
    response = UpstreamResponse(200, Headers({"Content-Type": "application/json"}), body)

    report = validator.validate(response, NOT_JSON)

    assert [v.path for v in report.violations] == ["$"]
    assert report.violations[0].message.startswith(expected)


def test_a_body_we_accept_has_no_refusal() -> None:
    assert not_json_violation(b'{"a": 1}') is None
