"""An answer whose head http.client refuses to read (more than 100 header lines, a line
past 64 KiB), in the answer itself or in an interim 1xx before it: the upstream was
reached and its answer is unusable, an UpstreamBadResponse like any other malformed
answer, never "cannot reach DataArts Studio" (C7 of the review), and not sent again
within the call (something was received: it is no connection-level failure)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from dlf_status.adapters.upstream_http import HttpUpstreamClient
from dlf_status.errors import UpstreamBadResponse
from tests.integration.conftest import JOB
from tests.support.faults import RawHttpServer

pytestmark = pytest.mark.integration

BODY = b'{"name":"job_sms","status":"NORMAL","nodes":[]}'
ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n" % len(BODY)
MANY_HEADERS = b"".join(b"X-Header-%d: 1\r\n" % number for number in range(101))
LONG_HEADER = b"X-Long: " + b"a" * (70 * 1024) + b"\r\n"
EARLY_HINTS = b"HTTP/1.1 103 Early Hints\r\n"

HEADS = {
    "101 header lines in the answer": (ANSWER + MANY_HEADERS + b"\r\n" + BODY, "100 headers"),
    "101 header lines in an interim 103": (
        EARLY_HINTS + MANY_HEADERS + b"\r\n" + ANSWER + b"\r\n" + BODY,
        "100 headers",
    ),
    "a 70 KiB header line in the answer": (ANSWER + LONG_HEADER + b"\r\n" + BODY, "line"),
    "a 70 KiB header line in an interim 103": (
        EARLY_HINTS + LONG_HEADER + b"\r\n" + ANSWER + b"\r\n" + BODY,
        "line",
    ),
}


@pytest.mark.parametrize("head", sorted(HEADS))
def test_an_answer_head_past_http_client_s_limits_is_a_bad_response(
    head: str, make_client: Callable[..., HttpUpstreamClient]
) -> None:
    payload, said = HEADS[head]
    with RawHttpServer(payload) as server:
        client = make_client(endpoint=server.url, max_attempts=3)

        with pytest.raises(UpstreamBadResponse) as raised:
            client.fetch_status(JOB)

    assert said in raised.value.detail
    assert "cannot reach" not in raised.value.detail
    assert server.connections == 1
