"""Each fixture served by a real HTTP server and fetched with requests: the recorded
status, headers and content types survive the wire, and the verdict is the same."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import requests
from pytest_httpserver import HTTPServer
from werkzeug import Response

from contract_tests.support import EVERY_FIXTURE, fixture_id, load_exchange, operation_of
from dlf_status.domain.contract import LIST_JOBS, Operation, ResponseValidator, parsed_or_not_json
from dlf_status.domain.model import Headers, UpstreamResponse

PATH = "/v1/b384b9e9ab9b4ee8994c8633aabc9505/jobs/job_sms/status"
LIST_PATH = "/v1/b384b9e9ab9b4ee8994c8633aabc9505/jobs"
LIST_QUERY = {"jobType": "REAL_TIME", "limit": "100", "offset": "0"}


def _fetch(upstream: HTTPServer, fixture: Path) -> tuple[UpstreamResponse, UpstreamResponse]:
    exchange = load_exchange(fixture)
    is_list = operation_of(fixture) == LIST_JOBS
    path, query = (LIST_PATH, LIST_QUERY) if is_list else (PATH, None)
    upstream.expect_oneshot_request(path, method="GET", query_string=query).respond_with_response(
        Response(exchange.body, status=exchange.status, headers=dict(exchange.headers))
    )

    answer = requests.get(upstream.url_for(path), params=query, timeout=5)

    received = UpstreamResponse(
        status=answer.status_code, headers=Headers(dict(answer.headers)), body=answer.content
    )
    return exchange.to_response(), received


def _parsed(body: bytes) -> object:
    return parsed_or_not_json(body)


@pytest.mark.parametrize("fixture", EVERY_FIXTURE, ids=fixture_id)
def test_fixture_survives_the_wire_and_keeps_its_verdict(
    fixture: Path, upstream: HTTPServer, reference_for: Callable[[Operation], ResponseValidator]
) -> None:
    reference_validator = reference_for(operation_of(fixture))
    recorded, received = _fetch(upstream, fixture)

    assert received.status == recorded.status
    assert received.body == recorded.body
    assert received.content_type == recorded.content_type
    for name, value in recorded.headers.items():
        assert received.headers[name] == value
    assert reference_validator.validate(received, _parsed(received.body)) == (
        reference_validator.validate(recorded, _parsed(recorded.body))
    )
