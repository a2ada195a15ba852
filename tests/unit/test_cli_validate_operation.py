"""`validate` checks an answer against the operation it answers, and a body that is
literally `null` is JSON (checked as JSON), not "not valid JSON"."""

from __future__ import annotations

from pathlib import Path

import pytest

from dlf_status.adapters.compiled_validator import CompiledValidator
from dlf_status.domain.contract import (
    NOT_JSON,
    SHOW_JOB_STATUS,
    packaged_contract,
    parsed_or_not_json,
)
from dlf_status.domain.model import Headers, UpstreamResponse
from dlf_status.entrypoints.cli import main

FIXTURES = Path(__file__).resolve().parents[2] / "contract_tests" / "fixtures"
LIST_PAGE = FIXTURES / "list" / "valid" / "doc-2024-batch-job.json"
LIST_WITHOUT_JOBS = FIXTURES / "list" / "invalid" / "jobs-missing.json"
STATUS_ANSWER = FIXTURES / "valid" / "doc-2024-success.json"
JSON = Headers({"Content-Type": "application/json"})


@pytest.mark.parametrize("validator", ["compiled", "reference"])
def test_a_list_fixture_is_checked_against_the_list_operation(
    validator: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["validate", "--validator", validator, str(LIST_PAGE)])

    out, err = capsys.readouterr()
    assert (code, out) == (0, "")
    assert "0 violation(s)" in err


def test_a_bad_list_fixture_fails_where_the_list_contract_says(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["validate", str(LIST_WITHOUT_JOBS)])

    out, _ = capsys.readouterr()
    assert code == 1
    assert out.splitlines() == ['$: "jobs" is a required property']


def test_a_raw_list_page_is_checked_against_the_operation_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "page.json"
    page.write_text('{"total": 0, "jobs": []}')

    as_list = main(["validate", "--operation", "ListJobs", str(page)])
    as_status = main(["validate", str(page)])

    out, _ = capsys.readouterr()
    assert (as_list, as_status) == (0, 1)
    assert out.splitlines() == ['$: "name" is a required property']


def test_an_operation_that_contradicts_the_recorded_one_is_bad_input(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["validate", "--operation", "ListJobs", str(STATUS_ANSWER)])

    _, err = capsys.readouterr()
    assert code == 2
    assert err.strip().endswith("records a ShowJobStatus answer, not ListJobs")


def test_normalize_refuses_a_list_answer_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["normalize", str(LIST_PAGE)])

    _, err = capsys.readouterr()
    assert code == 2
    assert "holds a ListJobs answer" in err
    assert len(err.splitlines()) == 1


@pytest.mark.parametrize("how", [["--status", "200"], []], ids=["raw body", "auto-detected"])
def test_a_null_body_is_json_and_breaks_the_contract_as_json(
    how: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = tmp_path / "null.json"
    body.write_text("null")

    code = main(["validate", *how, str(body)])

    out, _ = capsys.readouterr()
    assert code == 1
    assert out.splitlines() == ['$: null is not of type "object"']


def test_the_validator_tells_null_from_not_json() -> None:
    validator = CompiledValidator(packaged_contract(SHOW_JOB_STATUS))
    response = UpstreamResponse(200, JSON, b"null")

    as_null = validator.validate(response, parsed_or_not_json(b"null"))
    as_not_json = validator.validate(response, NOT_JSON)

    assert [v.message for v in as_null.violations] == ['null is not of type "object"']
    assert [v.message for v in as_not_json.violations] == ["the body is not valid JSON"]


def test_parsed_or_not_json_keeps_null_apart_from_garbage() -> None:
    assert parsed_or_not_json(b"null") is None
    assert parsed_or_not_json(b"{nope") is NOT_JSON
    assert parsed_or_not_json(b'{"a": 1}') == {"a": 1}
