"""The log lines a hostile upstream causes, as CloudWatch Logs receives them: each one
JSON object under observability.MAX_LINE_BYTES, with the correlation id, whatever the
answer holds (a key, a status or a node name hundreds of kilobytes long, thousands of
wrong nodes), in lenient and strict validation, through the gateway handler; and a
fixed number of them per call, whatever the answer holds.

The upstream is a raw server on loopback (ScriptedUpstream); the store a local
directory; the lines are the real logger's stdout, at DEBUG."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dlf_status import bootstrap
from dlf_status.config import Settings
from dlf_status.entrypoints.http_api import StatusApi
from dlf_status.observability import MAX_LINE_BYTES, logger
from tests.hostile.upstream_corpus import JSON_TYPE, status_body
from tests.support.events import http_api_event
from tests.support.scripted_upstream import RawAnswer, ScriptedUpstream

pytestmark = pytest.mark.integration

PROJECT = "b384b9e9ab9b4ee8994c8633aabc9505"
CORRELATION = "hostile-logs-0001"
MAX_LINES_PER_CALL = 6  # README: Logs and metrics


@pytest.fixture(scope="module")
def upstream() -> Iterator[ScriptedUpstream]:
    with ScriptedUpstream() as server:
        yield server


@pytest.fixture(scope="module", params=["lenient", "strict"])
def api(
    request: pytest.FixtureRequest,
    upstream: ScriptedUpstream,
    tmp_path_factory: pytest.TempPathFactory,
) -> StatusApi:
    environ = {
        "DLF_ENDPOINT": upstream.url,
        "SNAPSHOT_URI": str(tmp_path_factory.mktemp("logs-snapshots")),
        "LOG_LEVEL": "DEBUG",
        "VALIDATION_MODE": request.param,
        "DLF_MAX_ATTEMPTS": "1",
        "DLF_AUTH_TOKEN": "fake-iam-token-not-real",
    }
    service = bootstrap.build_status_service(Settings.from_environ(environ))
    logger.setLevel("DEBUG")
    return StatusApi(service.observe)


def _big(text: str, size: int) -> bytes:
    return json.dumps(text * (size // max(len(text), 1) + 1)).encode()


def _wrong_nodes(count: int, name: str) -> bytes:
    node = json.dumps({"name": name, "status": 7, "sub": [{"x": name}]}).encode()
    return b"[" + b",".join([node] * count) + b"]"


# Answers whose text a line may carry: a long key (drift, a strict violation's path),
# a long status or node name, many wrong nodes (violations).
_ANSWERS = st.one_of(
    st.builds(
        lambda key, size: status_body(**{key * (size // len(key) + 1): b"1"}),
        st.text("ab\u202e\x9b\u00e9", min_size=1, max_size=5),
        st.sampled_from([10, 300_000]),
    ),
    st.builds(
        lambda text, size: b'{"name":"job","status":' + _big(text, size) + b',"nodes":[]}',
        st.text(min_size=1, max_size=5),
        st.sampled_from([10, 300_000]),
    ),
    st.builds(
        lambda name, count: status_body().replace(
            b'"nodes":[{"name":"n1","status":"NORMAL"}]', b'"nodes":' + _wrong_nodes(count, name)
        ),
        st.text(min_size=0, max_size=2_000),
        st.sampled_from([1, 5_000]),
    ),
)


# Error answers: a long code and message, at each status the adapter reads.
_ERRORS = st.builds(
    lambda text, size: (
        b'{"error_code":' + _big(text, size) + b',"error_msg":' + _big(text, size) + b"}"
    ),
    st.text(min_size=1, max_size=5),
    st.sampled_from([10, 300_000]),
)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(status=st.sampled_from([200, 400, 404, 429, 500, 503]), body=_ANSWERS | _ERRORS)
def test_every_line_a_hostile_answer_causes_is_bounded_json_with_the_correlation_id(
    api: StatusApi,
    upstream: ScriptedUpstream,
    capsys: pytest.CaptureFixture[str],
    status: int,
    body: bytes,
) -> None:
    upstream.serve(RawAnswer(status, [JSON_TYPE], body))
    capsys.readouterr()
    event = http_api_event(PROJECT, "job", headers={"x-correlation-id": CORRELATION})

    answer = api.handle(event)

    lines = capsys.readouterr().out.splitlines()
    assert answer["statusCode"] in {200, 404, 502}, answer["statusCode"]
    # Volume: a fixed number of lines per call, never one per node, violation or field.
    assert 1 <= len(lines) <= MAX_LINES_PER_CALL, [json.loads(line)["message"] for line in lines]
    for line in lines:
        assert len(line.encode("utf-8")) <= MAX_LINE_BYTES, len(line.encode("utf-8"))
        record = json.loads(line)
        assert record["correlation_id"] == CORRELATION, record
