"""The upstream client against a real HTTP server on loopback."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer
from pytest_httpserver import HTTPServer
from pytest_httpserver.httpserver import RequestMatcher
from werkzeug import Request, Response

from dlf_status.adapters.signing import TokenAuthenticator
from dlf_status.adapters.upstream_http import HttpUpstreamClient
from dlf_status.config import Credentials
from dlf_status.domain.model import JobRef
from dlf_status.domain.redaction import Redactor
from dlf_status.errors import UpstreamBadResponse, UpstreamTimeout, UpstreamUnavailable
from tests.integration.conftest import (
    CREDENTIALS,
    JOB,
    PROJECT,
    Recorder,
    exchange_response,
    status_path,
)
from tests.support.seaweed import free_ports

pytestmark = pytest.mark.integration

MakeClient = Callable[..., HttpUpstreamClient]
STATUS_CALL = RequestMatcher(status_path("job_sms"), method="GET")


@dataclass
class _Credentials:
    ak: str
    sk: str


def official_signature_of(request: Request) -> str:
    """Recompute the Authorization header from what arrived, with the official signer."""
    signed_names = request.headers["Authorization"].split("SignedHeaders=")[1].split(",")[0]
    headers = {name: request.headers[name] for name in signed_names.split(";")}
    sdk_request = SdkRequest(
        method=request.method,
        schema="http",
        host=request.host,
        resource_path=request.environ["RAW_URI"].split("?")[0],
        query_params=[],
        header_params=headers,
        body="",
    )
    authorization: str = (
        Signer(_Credentials(CREDENTIALS.ak or "", CREDENTIALS.sk or ""))
        .sign(sdk_request)
        .header_params["Authorization"]
    )
    return authorization


@pytest.mark.parametrize("job_name", ["job_sms", "a b/c", "作业", "50%", "..x", "q?#"])
@pytest.mark.parametrize("workspace", [None, "0a1b2c3d4e5f60718293a4b5c6d7e8f9"])
def test_the_request_is_signed_so_the_official_signer_agrees(
    job_name: str, workspace: str | None, upstream: HTTPServer, make_client: MakeClient
) -> None:
    seen: list[Request] = []

    def respond(request: Request) -> Response:
        seen.append(request)
        return exchange_response("doc-2024-success")

    # werkzeug decodes the path before matching; the raw one is checked below.
    upstream.expect_oneshot_request(re.compile("^/v1/"), method="GET").respond_with_handler(respond)

    call = make_client().fetch_status(JobRef.parse(PROJECT, job_name, workspace))

    assert call.response.status == 200
    request = seen[0]
    assert request.environ["RAW_URI"] == status_path(job_name)
    assert request.headers["X-Project-Id"] == PROJECT
    assert request.headers.get("workspace") == workspace
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Authorization"].startswith("SDK-HMAC-SHA256 Access=INTEGRATIONAK, ")
    assert request.headers["Authorization"] == official_signature_of(request)


def test_token_authentication_sends_the_token_and_no_signature(
    upstream: HTTPServer, settings_for: Callable[..., object]
) -> None:
    upstream.expect_oneshot_request(
        status_path("job_sms"), headers={"X-Auth-Token": "iam-token-value"}
    ).respond_with_response(exchange_response("doc-2024-success"))
    client = HttpUpstreamClient(
        settings_for(),  # type: ignore[arg-type]
        TokenAuthenticator(Credentials(auth_token="iam-token-value")),
    )

    call = client.fetch_status(JOB)

    assert call.response.status == 200
    assert "Authorization" not in upstream.log[0][0].headers


def test_429_is_retried_honouring_retry_after_up_to_the_cap(
    upstream: HTTPServer, make_client: MakeClient, sleeps: Recorder
) -> None:
    upstream.expect_ordered_request(status_path("job_sms")).respond_with_response(
        exchange_response("gateway-429-retry-after")  # Retry-After: 2, cap 1
    )
    upstream.expect_ordered_request(status_path("job_sms")).respond_with_response(
        exchange_response("doc-2024-success")
    )

    call = make_client(retry_after_cap=1.0).fetch_status(JOB)

    assert (call.response.status, call.attempts) == (200, 2)
    assert sleeps.sleeps == [1.0]
    upstream.assert_request_made(STATUS_CALL, count=2)


def test_429_without_retry_after_backs_off_with_jitter(
    upstream: HTTPServer, make_client: MakeClient, sleeps: Recorder
) -> None:
    upstream.expect_request(status_path("job_sms")).respond_with_response(
        exchange_response("gateway-429-no-retry-after")
    )

    call = make_client(max_attempts=3).fetch_status(JOB)

    assert (call.response.status, call.attempts) == (429, 3)
    assert len(sleeps.sleeps) == 2
    assert all(0 <= delay <= 2.0 for delay in sleeps.sleeps)
    upstream.assert_request_made(STATUS_CALL, count=3)


@pytest.mark.parametrize(
    "fixture",
    [
        "gateway-401-signature",
        "gateway-403-forbidden",
        "doc-2024-failure-dlf0100",
        "gateway-404-route",
    ],
)
def test_400_401_403_and_404_are_never_retried(
    fixture: str, upstream: HTTPServer, make_client: MakeClient, sleeps: Recorder
) -> None:
    upstream.expect_request(status_path("job_sms")).respond_with_response(
        exchange_response(fixture)
    )

    call = make_client(max_attempts=5).fetch_status(JOB)

    assert call.attempts == 1
    assert sleeps.sleeps == []
    upstream.assert_request_made(STATUS_CALL, count=1)


@pytest.mark.parametrize(
    "fixture", ["server-502-text", "server-503-json", "gateway-504-backend-timeout"]
)
def test_502_503_504_are_retried_until_attempts_run_out(
    fixture: str, upstream: HTTPServer, make_client: MakeClient
) -> None:
    upstream.expect_request(status_path("job_sms")).respond_with_response(
        exchange_response(fixture)
    )

    call = make_client(max_attempts=3).fetch_status(JOB)

    assert call.attempts == 3
    upstream.assert_request_made(STATUS_CALL, count=3)


def test_a_500_is_not_retried(upstream: HTTPServer, make_client: MakeClient) -> None:
    upstream.expect_request(status_path("job_sms")).respond_with_response(
        exchange_response("server-500-html")
    )

    assert make_client().fetch_status(JOB).attempts == 1


def test_connection_refused_is_retried_then_reported(
    make_client: MakeClient, sleeps: Recorder
) -> None:
    (closed_port,) = free_ports(1)

    with pytest.raises(UpstreamUnavailable, match="cannot reach DataArts Studio"):
        make_client(endpoint=f"http://127.0.0.1:{closed_port}", max_attempts=3).fetch_status(JOB)

    assert len(sleeps.sleeps) == 2


def test_a_slow_answer_is_a_timeout_and_is_not_retried(
    upstream: HTTPServer, make_client: MakeClient
) -> None:
    arrivals: list[float] = []

    def slow(_: Request) -> Response:
        arrivals.append(time.monotonic())
        time.sleep(1.0)
        return exchange_response("doc-2024-success")

    upstream.expect_request(status_path("job_sms")).respond_with_handler(slow)

    with pytest.raises(UpstreamTimeout, match=r"did not answer within 0\.3 s"):
        make_client(read_timeout=0.3).fetch_status(JOB)

    # The server logs a request only once it has answered: count arrivals instead.
    assert len(arrivals) == 1


def test_a_body_that_drips_past_the_deadline_is_a_timeout(
    upstream: HTTPServer, make_client: MakeClient
) -> None:
    def drip(_: Request) -> Response:
        def chunks() -> Iterator[bytes]:
            yield b'{"name": "job_sms", "nodes": ['
            for _ in range(40):
                time.sleep(0.1)
                yield b" "
            yield b"]}"

        return Response(chunks(), status=200, content_type="application/json")

    upstream.expect_request(status_path("job_sms")).respond_with_handler(drip)
    started = time.monotonic()

    with pytest.raises(UpstreamTimeout):
        make_client(deadline=1.0, read_timeout=2.0).fetch_status(JOB)

    assert time.monotonic() - started < 2.5


@pytest.mark.parametrize("declared", [True, False])
def test_a_body_over_the_size_cap_is_refused(
    declared: bool, upstream: HTTPServer, make_client: MakeClient
) -> None:
    big = json.dumps({"name": "job_sms", "padding": "x" * 5000}).encode()

    def respond(_: Request) -> Response:
        body = big if declared else iter([big[:2500], big[2500:]])
        return Response(body, status=200, content_type="application/json")

    upstream.expect_request(status_path("job_sms")).respond_with_handler(respond)

    with pytest.raises(UpstreamBadResponse, match="4096"):
        make_client(max_response_bytes=4096).fetch_status(JOB)


def test_redirects_are_not_followed(upstream: HTTPServer, make_client: MakeClient) -> None:
    upstream.expect_request(status_path("job_sms")).respond_with_response(
        Response(status=302, headers={"Location": "http://example.invalid/steal"})
    )

    call = make_client().fetch_status(JOB)

    assert call.response.status == 302
    assert len(upstream.log) == 1


def test_cookies_the_upstream_sets_are_never_sent_back(
    upstream: HTTPServer, make_client: MakeClient
) -> None:
    def set_cookies(_: Request) -> Response:
        answer = exchange_response("doc-2024-success")
        answer.headers.add("Set-Cookie", "session=tracked; Path=/")
        answer.headers.add("Set-Cookie", "sticky=1; Domain=127.0.0.1; Path=/v1; Max-Age=3600")
        return answer

    upstream.expect_request(status_path("job_sms")).respond_with_handler(set_cookies)
    client = make_client()

    for _ in range(3):
        assert client.fetch_status(JOB).response.status == 200

    assert [request.headers.get("Cookie") for request, _ in upstream.log] == [None, None, None]


def test_header_values_that_echo_a_credential_arrive_masked(
    upstream: HTTPServer, settings_for: Callable[..., object]
) -> None:
    token = 'fake"iam\\/+=%0A-token-0001'
    upstream.expect_request(status_path("job_sms")).respond_with_response(
        Response(b"{}", 500, headers={"X-Request-Id": token, "X-Echo": f"auth {token}"})
    )
    client = HttpUpstreamClient(
        settings_for(max_attempts=1),  # type: ignore[arg-type]
        TokenAuthenticator(Credentials(auth_token=token)),
        redactor=Redactor([token]),
    )

    call = client.fetch_status(JOB)

    assert call.response.headers["X-Request-Id"] == "***"
    assert call.response.headers["X-Echo"] == "auth ***"
