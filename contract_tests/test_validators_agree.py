"""The hot-path validator (jsonschema-rs, compiled from openapi.yaml) against the
reference (openapi-core): the same verdict at the same places, on every recorded
exchange and on generated answers."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contract_tests.support import EVERY_FIXTURE, fixture_id, load_exchange, operation_of
from dlf_status.adapters.compiled_validator import CompiledValidator
from dlf_status.domain.contract import (
    LIST_JOBS,
    SHOW_JOB_STATUS,
    Operation,
    ResponseValidator,
    ValidationReport,
    packaged_contract,
    parsed_or_not_json,
)
from dlf_status.domain.model import Headers, UpstreamResponse
from tests.properties.list_strategies import job_list_pages
from tests.properties.strategies import job_bodies, json_values

COMPILED = {
    operation: CompiledValidator(packaged_contract(operation))
    for operation in (SHOW_JOB_STATUS, LIST_JOBS)
}
Reference = Callable[[Operation], ResponseValidator]


def _parsed(body: bytes) -> Any:
    return parsed_or_not_json(body)


def verdicts(report: ValidationReport) -> tuple[bool, set[str], tuple[str, ...]]:
    return report.valid, {violation.path for violation in report.violations}, report.unknown_fields


def assert_agree(
    response: UpstreamResponse, reference: Reference, operation: Operation = SHOW_JOB_STATUS
) -> None:
    body = _parsed(response.body)

    assert verdicts(COMPILED[operation].validate(response, body)) == verdicts(
        reference(operation).validate(response, body)
    )


@pytest.mark.parametrize("fixture", EVERY_FIXTURE, ids=fixture_id)
def test_both_validators_agree_on_every_fixture(fixture: Path, reference_for: Reference) -> None:
    assert_agree(load_exchange(fixture).to_response(), reference_for, operation_of(fixture))


STATUSES = st.sampled_from([200, 200, 200, 400, 401, 403, 404, 429, 500, 502, 503])
CONTENT_TYPES = st.sampled_from(
    [
        "application/json",
        "application/json;charset=UTF-8",
        "text/html",
        "text/plain",
        "application/xml",
        "",
    ]
)
ERROR_BODIES = st.fixed_dictionaries(
    {},
    optional={
        "error_code": st.sampled_from(["DLF.0100", "APIGW.0301", "oops", "DLF.x"])
        | st.text(max_size=8),
        "error_msg": st.text(max_size=8) | st.integers(),
        "request_id": st.text(max_size=8) | st.none(),
        "errorCode": st.text(max_size=4),
        "errorMsg": st.text(max_size=4),
    },
)
RETRY_AFTER = st.none() | st.sampled_from(
    ["2", "soon", "Wed, 25 Nov 2026 12:00:30 GMT", "2\n", "-1"]
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    status=STATUSES,
    content_type=CONTENT_TYPES,
    body=job_bodies | job_list_pages | ERROR_BODIES | json_values,
    retry_after=RETRY_AFTER,
    as_text=st.booleans(),
    operation=st.sampled_from([SHOW_JOB_STATUS, LIST_JOBS]),
)
def test_both_validators_agree_on_generated_answers(
    status: int,
    content_type: str,
    body: Any,
    retry_after: str | None,
    as_text: bool,
    operation: Operation,
    reference_for: Reference,
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    if retry_after is not None:
        headers["Retry-After"] = retry_after
    raw = (str(body) if as_text else json.dumps(body)).encode("utf-8", errors="surrogatepass")
    assert_agree(UpstreamResponse(status, Headers(headers), raw), reference_for, operation)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=job_bodies)
def test_both_validators_agree_on_generated_status_bodies(
    body: dict[str, Any], reference_for: Reference
) -> None:
    headers = Headers({"Content-Type": "application/json;charset=UTF-8"})
    assert_agree(UpstreamResponse(200, headers, json.dumps(body).encode()), reference_for)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=job_list_pages)
def test_both_validators_agree_on_generated_list_pages(
    body: dict[str, Any], reference_for: Reference
) -> None:
    headers = Headers({"Content-Type": "application/json;charset=UTF-8"})
    response = UpstreamResponse(200, headers, json.dumps(body).encode())
    assert_agree(response, reference_for, LIST_JOBS)
