"""A page of the job list that answers no job and an error, with status 200.

An empty page ends a walk: it is the only evidence that the list has no more jobs.
A service that fails deep in the list (a backend timeout on page N, throttling
reported in the body) and says so in a 200 with an empty `jobs` must not end the
list there, however the error is spelt: a listing that stopped would be taken for
the workspace's jobs, and every job after it for a suspect of gone."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dlf_status.adapters.compiled_validator import CompiledValidator
from dlf_status.domain.contract import LIST_JOBS, packaged_contract
from dlf_status.domain.listing import JobPage, interpret_page, read_job_list
from dlf_status.domain.model import Headers, UpstreamResponse, ValidationMode
from dlf_status.errors import UpstreamBadResponse
from tests.support.job_list_server import JSON, OffsetMeaning, SimulatedJobList

VALIDATOR = CompiledValidator(packaged_contract(LIST_JOBS))
SPELLINGS = [("error_code", "error_msg"), ("errorCode", "errorMsg"), ("code", "message")]


def failing_from(server: SimulatedJobList, offset: int, error: dict[str, Any]) -> Any:
    def fetch(at: int, limit: int) -> JobPage:
        status, body = server.answer(at, limit)
        if at >= offset:
            body = {**error, "jobs": []}
        response = UpstreamResponse(status, Headers(JSON), json.dumps(body).encode())
        return interpret_page(response, validator=VALIDATOR, mode=ValidationMode.LENIENT)

    return fetch


@pytest.mark.parametrize("mode", [ValidationMode.LENIENT, ValidationMode.STRICT])
def test_an_empty_page_that_says_it_failed_fails_the_listing(mode: ValidationMode) -> None:
    server = SimulatedJobList([f"job-{index:03d}" for index in range(250)])
    body = {"error_code": "DLF.0137", "error_msg": "Query timed out", "jobs": [], "total": 250}

    def fetch(offset: int, limit: int) -> JobPage:
        _, answer = server.answer(offset, limit)
        sent = body if offset > 150 else answer
        response = UpstreamResponse(200, Headers(JSON), json.dumps(sent).encode())
        return interpret_page(response, validator=VALIDATOR, mode=mode)

    with pytest.raises(UpstreamBadResponse, match=r"DLF\.0137: Query timed out"):
        read_job_list(fetch)


@given(
    count=st.integers(min_value=1, max_value=60),
    meaning=st.sampled_from([OffsetMeaning.RECORDS, OffsetMeaning.PAGES_FROM_0]),
    page=st.sampled_from([3, 10]),
    offset=st.integers(min_value=0, max_value=70),
    spelling=st.sampled_from(SPELLINGS),
    which=st.sampled_from(["code", "message", "both"]),
    code=st.sampled_from(["DLF.0100", "APIG.0308", "DLF.0137", "0"]),
)
def test_no_empty_page_with_an_error_member_ends_a_listing(
    count: int,
    meaning: OffsetMeaning,
    page: int,
    offset: int,
    spelling: tuple[str, str],
    which: str,
    code: str | None,
) -> None:
    server = SimulatedJobList([f"job-{index:03d}" for index in range(count)], meaning, page)
    error: dict[str, Any] = {}
    if which in ("code", "both"):
        error[spelling[0]] = code
    if which in ("message", "both"):
        error[spelling[1]] = "failed"

    try:
        listing = read_job_list(failing_from(server, offset, error))
    except UpstreamBadResponse:
        assert any(at >= offset for at, _ in server.requests)
        return
    # The walk never reached the failing offset: the list ended before it.
    assert all(at < offset for at, _ in server.requests)
    assert [job.name for job in listing.jobs] == server.names


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_an_empty_page_with_null_error_members_ends_the_list(spelling: tuple[str, str]) -> None:
    """A Java service writes absent members as null: that says nothing failed."""
    server = SimulatedJobList([f"job-{index:03d}" for index in range(25)])
    nulls = dict.fromkeys(spelling)

    listing = read_job_list(failing_from(server, 25, nulls))

    assert [job.name for job in listing.jobs] == server.names
    assert listing.complete
