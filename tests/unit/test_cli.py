from __future__ import annotations

import json
from pathlib import Path

import pytest

from dlf_status.entrypoints.cli import build_parser, main, poll_runner
from tests.support.root import root_settings

FIXTURES = Path(__file__).resolve().parents[2] / "contract_tests" / "fixtures"
DOC_SUCCESS = FIXTURES / "valid" / "doc-2024-success.json"
DOC_FAILURE = FIXTURES / "valid" / "doc-2024-failure-dlf0100.json"
BAD_STATUS = FIXTURES / "invalid" / "status-number.json"


def test_validate_a_good_fixture_prints_nothing_and_exits_0(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["validate", str(DOC_SUCCESS)])

    out, err = capsys.readouterr()
    assert (code, out) == (0, "")
    assert "0 violation(s)" in err


def test_validate_prints_one_line_per_violation_and_exits_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["validate", str(BAD_STATUS)])

    out, _ = capsys.readouterr()
    assert code == 1
    assert out.splitlines() == ['$.status: 3 is not of types "null", "string"']


def test_validate_with_the_reference_validator(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["validate", "--validator", "reference", str(BAD_STATUS)])

    out, _ = capsys.readouterr()
    assert code == 1
    assert out.splitlines() == ["$.status: 3 is not of type 'string', 'null'"]


def test_validate_a_raw_body_with_an_explicit_status(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = tmp_path / "body.json"
    body.write_text('{"error_code": "APIGW.0301", "error_msg": "bad signature"}')

    code = main(["validate", "--status", "401", str(body)])

    out, _ = capsys.readouterr()
    assert code == 1
    assert out.splitlines() == ['$: "request_id" is a required property']


def test_validate_a_raw_non_json_body_with_its_content_type(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "page.html"
    page.write_text("<html>500</html>")

    code = main(["validate", "--status", "500", "--content-type", "text/html", str(page)])

    assert code == 0
    assert capsys.readouterr().out == ""


def test_validate_reports_drift_without_failing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = tmp_path / "body.json"
    body.write_text('{"name": "j", "jobId": 7}')

    code = main(["validate", str(body)])

    assert code == 0
    assert "1 unknown field(s)" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["validate", "normalize"])
def test_a_missing_file_is_one_line_and_exit_2(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main([command, str(tmp_path / "nope.json")])

    _, err = capsys.readouterr()
    assert code == 2
    assert err.count("\n") == 1
    assert err.startswith("dlf-status: cannot read ")
    assert "No such file" in err


@pytest.mark.parametrize("command", ["validate", "normalize"])
def test_a_file_that_is_not_json_is_one_line_and_exit_2(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junk = tmp_path / "junk.json"
    junk.write_bytes(b"\x00\xffnot json")

    code = main([command, str(junk)])

    _, err = capsys.readouterr()
    assert code == 2
    assert err.count("\n") == 1
    assert "is not JSON" in err


def test_a_fixture_with_a_broken_structure_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"status": "200", "headers": {}, "body": {}}')

    assert main(["validate", str(broken)]) == 2
    assert "status must be an HTTP status code" in capsys.readouterr().err


def test_normalize_prints_the_document(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "normalize",
            str(DOC_SUCCESS),
            "--project-id",
            "b384b9e9ab9b4ee8994c8633aabc9505",
            "--job-name",
            "job_sms",
        ]
    )

    out, _ = capsys.readouterr()
    document = json.loads(out)
    assert code == 0
    assert document["source"]["job_name"] == "job_sms"
    assert document["nodes"][0]["last_instance_status"] == "waiting"
    assert document["nodes"][0]["job_instance_id"] == 0


def test_normalize_of_a_missing_job_says_so_and_exits_3(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["normalize", str(DOC_FAILURE), "--job-name", "job_sms"])

    out, err = capsys.readouterr()
    assert (code, out) == (3, "")
    assert err == "dlf-status: job 'job_sms' does not exist (DLF.0100: The job does not exists.)\n"


def test_normalize_in_strict_mode_fails_on_a_violation(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["normalize", str(BAD_STATUS), "--mode", "strict"])

    assert code == 4
    assert "breaks the contract at $.status" in capsys.readouterr().err


def test_normalize_refuses_a_hostile_job_name(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["normalize", str(DOC_SUCCESS), "--job-name", "a\r\nX-Evil: 1"])

    assert code == 2
    assert "control" in capsys.readouterr().err


def test_unknown_command_is_a_usage_error() -> None:
    with pytest.raises(SystemExit) as caught:
        main(["frobnicate"])

    assert caught.value.code == 2


@pytest.mark.parametrize(
    ("flags", "expected"),
    [([], 2), (["--concurrency", "5"], 5)],
    ids=["POLL_CONCURRENCY without the flag", "the flag over the variable"],
)
def test_poll_reads_poll_concurrency_unless_the_flag_is_given(
    tmp_path: Path, flags: list[str], expected: int
) -> None:
    settings = root_settings(POLL_CONCURRENCY="2", SNAPSHOT_URI=str(tmp_path))
    args = build_parser().parse_args(["poll", "--jobs", "jobs.json", *flags])

    runner = poll_runner(settings, args)

    assert runner.poller.concurrency == expected
