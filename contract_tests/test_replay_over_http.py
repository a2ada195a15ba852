"""Each fixture served by a real HTTP server and fetched with requests: the recorded
status, headers and content types survive the wire, and the verdict is the same."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from pytest_httpserver import HTTPServer
from werkzeug import Response

from contract_tests.support import INVALID_FIXTURES, VALID_FIXTURES, load_exchange
from dlf_status.domain import jsoncodec
from dlf_status.domain.contract import ResponseValidator
from dlf_status.domain.model import Headers, UpstreamResponse

PATH = "/v1/b384b9e9ab9b4ee8994c8633aabc9505/jobs/job_sms/status"


def _fetch(upstream: HTTPServer, fixture: Path) -> tuple[UpstreamResponse, UpstreamResponse]:
    exchange = load_exchange(fixture)
    upstream.expect_oneshot_request(PATH, method="GET").respond_with_response(
        Response(exchange.body, status=exchange.status, headers=dict(exchange.headers))
    )

    answer = requests.get(upstream.url_for(PATH), timeout=5)

    received = UpstreamResponse(
        status=answer.status_code, headers=Headers(dict(answer.headers)), body=answer.content
    )
    return exchange.to_response(), received


def _parsed(body: bytes) -> object:
    try:
        return jsoncodec.loads(body)
    except jsoncodec.JsonDecodeError:
        return None


@pytest.mark.parametrize("fixture", [*VALID_FIXTURES, *INVALID_FIXTURES], ids=lambda p: p.stem)
def test_fixture_survives_the_wire_and_keeps_its_verdict(
    fixture: Path, upstream: HTTPServer, reference_validator: ResponseValidator
) -> None:
    recorded, received = _fetch(upstream, fixture)

    assert received.status == recorded.status
    assert received.body == recorded.body
    assert received.content_type == recorded.content_type
    for name, value in recorded.headers.items():
        assert received.headers[name] == value
    assert reference_validator.validate(received, _parsed(received.body)) == (
        reference_validator.validate(recorded, _parsed(recorded.body))
    )
