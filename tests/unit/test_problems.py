from __future__ import annotations

import pytest

from dlf_status import errors
from dlf_status.entrypoints.problems import ExitCode, mapping_for, problem_document

INFO = errors.UpstreamErrorInfo(
    http_status=400, error_code="DLF.0100", error_msg="gone", request_id="r1"
)


@pytest.mark.parametrize(
    ("error", "status", "exit_code"),
    [
        (errors.InvalidInput("bad"), 400, ExitCode.BAD_INPUT),
        (errors.JobNotFound("gone", INFO), 404, ExitCode.JOB_NOT_FOUND),
        (errors.UpstreamAuthRejected("no"), 502, ExitCode.UPSTREAM_FAILURE),
        (errors.UpstreamTimeout("slow"), 504, ExitCode.UPSTREAM_FAILURE),
        (errors.UpstreamThrottled("429"), 502, ExitCode.UPSTREAM_FAILURE),
        (errors.UpstreamUnavailable("down"), 502, ExitCode.UPSTREAM_FAILURE),
        (errors.UpstreamBadResponse("junk"), 502, ExitCode.UPSTREAM_FAILURE),
        (errors.UpstreamRejected("4xx"), 502, ExitCode.UPSTREAM_FAILURE),
        (errors.ContractViolation("broken", ()), 502, ExitCode.UPSTREAM_FAILURE),
        (errors.StoreError("s3"), 500, ExitCode.STORE_FAILURE),
        (errors.StoreConflict("race"), 500, ExitCode.STORE_FAILURE),
        (errors.ConfigurationError("env"), 500, ExitCode.BAD_INPUT),
        (RuntimeError("bug"), 500, ExitCode.INTERNAL),
    ],
)
def test_every_error_class_maps_to_one_status_and_exit_code(
    error: BaseException, status: int, exit_code: int
) -> None:
    mapping = mapping_for(error)

    assert (mapping.http_status, mapping.exit_code) == (status, exit_code)


def test_problem_document_carries_the_upstream_codes() -> None:
    problem = problem_document(
        errors.JobNotFound("job 'x' does not exist", INFO),
        instance="/v1/p/jobs/x/status",
        correlation_id="c1",
    )

    assert problem == {
        "type": "urn:dlf-status:problem:job-not-found",
        "title": "Job not found",
        "status": 404,
        "detail": "job 'x' does not exist",
        "instance": "/v1/p/jobs/x/status",
        "correlation_id": "c1",
        "upstream_status": 400,
        "error_code": "DLF.0100",
        "error_msg": "gone",
        "request_id": "r1",
    }


def test_invalid_input_names_the_field() -> None:
    problem = problem_document(errors.InvalidInput("too long", field="job_name"))

    assert problem["field"] == "job_name"
    assert problem["status"] == 400


def test_contract_violation_lists_the_violations() -> None:
    problem = problem_document(errors.ContractViolation("broken", (("$.status", "not a string"),)))

    assert problem["violations"] == [{"path": "$.status", "message": "not a string"}]


def test_an_unexpected_error_never_shows_its_text_to_the_caller() -> None:
    problem = problem_document(RuntimeError("secret=hunter2 at /var/task/x.py line 3"))

    assert "hunter2" not in str(problem)
    assert problem["status"] == 500
