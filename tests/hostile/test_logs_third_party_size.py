"""Another library's log record stays under the line bound too, though the Lambda
runtime's handler, not ours, formats it (observability.MaskingFilter).

urllib3 warns about an answer's header lines it cannot parse and quotes them all, in
its message and again in its exception: an answer of 95 such lines of 60 KB made one
record of 11 MB, which CloudWatch Logs would take as some forty broken events. The
upstream is a raw server on loopback; the root logger gets a handler that writes each
record as Lambda's JSON log format does (the runtime's own is exercised in
tests/integration/test_third_party_logs.py)."""

from __future__ import annotations

import io
import json
import logging
import tempfile
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dlf_status import bootstrap
from dlf_status.config import Settings
from dlf_status.entrypoints.http_api import StatusApi
from dlf_status.observability import MAX_LINE_BYTES, mask_every_handler
from tests.hostile.upstream_corpus import status_body
from tests.support.events import http_api_event
from tests.support.scripted_upstream import ScriptedUpstream, WireBytes

pytestmark = pytest.mark.integration

PROJECT = "b384b9e9ab9b4ee8994c8633aabc9505"


class LambdaJsonFormatter(logging.Formatter):
    """One JSON object per record, the shape of Lambda's JSON log format."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "timestamp": "2026-01-01T00:00:00Z",
            "level": record.levelname,
            "message": record.getMessage(),
            "logger": record.name,
            "requestId": "00000000-0000-0000-0000-000000000000",
        }
        if record.exc_info:
            line["stackTrace"] = self.formatException(record.exc_info)
        return json.dumps(line)


@pytest.fixture(scope="module")
def runtime_output() -> Iterator[io.StringIO]:
    output = io.StringIO()
    handler = logging.StreamHandler(output)
    handler.setFormatter(LambdaJsonFormatter())
    logging.root.addHandler(handler)
    mask_every_handler()  # as at start, after the runtime set up its handler
    try:
        yield output
    finally:
        logging.root.removeHandler(handler)


@pytest.fixture(scope="module")
def upstream() -> Iterator[ScriptedUpstream]:
    with ScriptedUpstream() as server:
        yield server


@pytest.fixture(scope="module")
def api(upstream: ScriptedUpstream) -> StatusApi:
    environ = {
        "DLF_ENDPOINT": upstream.url,
        "SNAPSHOT_URI": tempfile.mkdtemp(prefix="logs-third-party-"),
        "DLF_MAX_ATTEMPTS": "1",
        "DLF_AUTH_TOKEN": "fake-iam-token-not-real",
    }
    return StatusApi(bootstrap.build_status_service(Settings.from_environ(environ)).observe)


def _answer(bad_lines: list[bytes]) -> bytes:
    body = status_body()
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n" % len(
        body
    )
    return (
        head + b"".join(line + b"\r\n" for line in bad_lines) + b"Connection: close\r\n\r\n" + body
    )


# Header lines without a colon (what urllib3 quotes), of any bytes but CR and LF,
# up to http.client's 100 lines of 64 KiB.
_BAD_LINE = st.builds(
    lambda text, times: (text * times)[:60_000],
    st.binary(min_size=1, max_size=8)
    .filter(lambda raw: b":" not in raw)
    .map(lambda raw: b"x" + raw.replace(b"\r", b"r").replace(b"\n", b"n")),
    st.sampled_from([1, 1_000, 60_000]),
)


@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
@given(bad_lines=st.lists(_BAD_LINE, min_size=1, max_size=95))
def test_a_library_record_quoting_a_hostile_head_is_one_bounded_json_line(
    api: StatusApi,
    upstream: ScriptedUpstream,
    runtime_output: io.StringIO,
    bad_lines: list[bytes],
) -> None:
    upstream.serve(WireBytes(_answer(bad_lines)))
    runtime_output.seek(0)
    runtime_output.truncate()

    api.handle(http_api_event(PROJECT, "job"))

    lines = runtime_output.getvalue().splitlines()
    assert any("Failed to parse headers" in json.loads(line)["message"] for line in lines)
    for line in lines:
        assert len(line.encode("utf-8")) <= MAX_LINE_BYTES, len(line.encode("utf-8"))
