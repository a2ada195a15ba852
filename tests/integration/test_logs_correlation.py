"""The correlation id of a queued job's lines: its SQS message id, when that is a sane
id (1 to 128 of [A-Za-z0-9._:/=+-], as the gateway's X-Correlation-Id), else a fresh
one; printable and bounded in every line whatever the event holds. Without it, every
line of a queue invocation had `correlation_id: null`, and the lines of the ten jobs
of one batch could not be told apart.

The upstream is pytest-httpserver on loopback, the store the local directory; the
lines are the real logger's stdout, each read with json.loads."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer

from dlf_status import bootstrap
from dlf_status.adapters.store_local import LocalDirectoryStore
from dlf_status.adapters.upstream_http import HttpUpstreamClient
from dlf_status.domain.contract import ResponseValidator
from dlf_status.entrypoints import queue
from dlf_status.poller import QueueWorker
from tests.integration.conftest import PROJECT, exchange_response, match_path
from tests.support.events import queue_event
from tests.support.root import root_settings

pytestmark = pytest.mark.integration

SANE = re.compile(r"[A-Za-z0-9._:/=+-]{1,128}")
SCHEDULED = "2026-11-25T08:00:00Z"


@pytest.fixture
def worker(
    upstream: HTTPServer,
    make_client: Callable[..., HttpUpstreamClient],
    validator: ResponseValidator,
    tmp_path: Path,
) -> QueueWorker:
    upstream.expect_request(match_path("job-0")).respond_with_response(
        exchange_response("doc-2024-success")
    )
    service = bootstrap.build_status_service(
        root_settings(),
        upstream=make_client(),
        store=LocalDirectoryStore(tmp_path),
        validator=validator,
    )
    return bootstrap.build_queue_worker(root_settings(), service=service)


def _batch(message_ids: list[str]) -> dict[str, object]:
    body = json.dumps({"project_id": PROJECT, "job_name": "job-0", "scheduled_time": SCHEDULED})
    event = queue_event([body] * len(message_ids))
    for record, message_id in zip(event["Records"], message_ids, strict=True):
        record["messageId"] = message_id
    return event


def _lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_each_queued_job_logs_under_its_message_id(
    worker: QueueWorker, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()

    queue.handle_batch(worker, _batch(["message-a", "message-b"]))

    lines = _lines(capsys)
    assert lines
    assert [line["correlation_id"] for line in lines if line["message"] == "job observed"] == [
        "message-a",
        "message-b",
    ]
    assert all(line["correlation_id"] in {"message-a", "message-b"} for line in lines), lines


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(message_id=st.text(max_size=40).map(lambda text: text * 100) | st.text(max_size=200))
def test_a_hostile_message_id_becomes_a_sane_correlation_id(
    worker: QueueWorker, capsys: pytest.CaptureFixture[str], message_id: str
) -> None:
    capsys.readouterr()

    queue.handle_batch(worker, _batch([message_id]))

    lines = _lines(capsys)
    assert lines
    for line in lines:
        correlation = line["correlation_id"]
        assert isinstance(correlation, str)
        assert SANE.fullmatch(correlation), correlation
        if SANE.fullmatch(message_id):
            assert correlation == message_id
