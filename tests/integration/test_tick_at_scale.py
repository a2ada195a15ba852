"""A scheduled tick of 240 jobs against a real upstream and SeaweedFS: healthy,
failing, slow and missing jobs; every job accounted for, every healthy job stored."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from dlf_status import bootstrap
from dlf_status.adapters.store_s3 import S3Store
from dlf_status.adapters.upstream_http import HttpUpstreamClient
from dlf_status.domain import jsoncodec
from dlf_status.domain.contract import ResponseValidator
from dlf_status.entrypoints import schedule
from dlf_status.poller import TickRunner
from tests.integration.conftest import PROJECT, exchange_response, stored_keys
from tests.support.root import root_settings


def runner_for(
    make_client: Callable[..., HttpUpstreamClient],
    store: S3Store,
    validator: ResponseValidator,
    **client: Any,
) -> TickRunner:
    """The tick as the schedule function builds it, over this upstream and store."""
    settings = root_settings()
    service = bootstrap.build_status_service(
        settings, upstream=make_client(**client), store=store, validator=validator
    )
    return bootstrap.build_tick_runner(settings, service=service)


pytestmark = pytest.mark.integration

KINDS = ("healthy", "failing", "missing")
# A slow job's answer waits for this, set once the tick is over: it never comes in
# time, whatever the read timeout, and the others get a read timeout wide enough for
# a loaded machine. Few slow jobs, so that their timeouts cost the suite little.
SLOW_ANSWER_RELEASED = threading.Event()
READ_TIMEOUT_SECONDS = 5.0


def tick_job_names() -> list[str]:
    """240 jobs: every 60th slow, the others healthy, failing and missing in turn."""
    return [
        f"slow-{i:03d}" if i % 60 == 2 else f"{KINDS[i % len(KINDS)]}-{i:03d}" for i in range(240)
    ]


def upstream_by_kind(request: Request) -> Response:
    job_name = request.path.split("/")[4]
    kind = job_name.split("-")[0]
    if kind == "failing":
        return exchange_response("server-500-html")
    if kind == "missing":
        return exchange_response("doc-2024-failure-dlf0100")
    if kind == "slow":
        SLOW_ANSWER_RELEASED.wait()
    response = exchange_response("doc-2019-seven-nodes")
    body = jsoncodec.loads(response.get_data())
    body["name"] = job_name
    response.set_data(jsoncodec.canonical_bytes(body))
    return response


def test_a_tick_of_240_jobs_accounts_for_every_job_and_stores_every_healthy_one(
    upstream: HTTPServer,
    make_client: Callable[..., HttpUpstreamClient],
    s3_store: S3Store,
    validator: ResponseValidator,
) -> None:
    upstream.expect_request(re.compile(r"^/v1/.*/status$")).respond_with_handler(upstream_by_kind)
    names = tick_job_names()
    runner = runner_for(
        make_client, s3_store, validator, read_timeout=READ_TIMEOUT_SECONDS, max_attempts=2
    )
    event = {
        "jobs": [{"project_id": PROJECT, "job_name": name} for name in names],
        "tick_id": "exec-240",
        "scheduled_time": "2026-11-25T10:00:00Z",
    }

    SLOW_ANSWER_RELEASED.clear()
    try:
        report = schedule.run_tick(runner, event)
    finally:
        SLOW_ANSWER_RELEASED.set()

    outcomes = {outcome["job_name"]: outcome for outcome in report["outcomes"]}
    assert sorted(outcomes) == sorted(names)
    assert report["jobs"] == 240
    for name, outcome in outcomes.items():
        kind = name.split("-")[0]
        expected = {
            "healthy": ("ok", None),
            "failing": ("failed", "UpstreamUnavailable"),
            "slow": ("failed", "UpstreamTimeout"),
            "missing": ("failed", "JobNotFound"),
        }[kind]
        assert (outcome["result"], outcome.get("error")) == expected, name
    latest = {key.split("/")[3] for key in stored_keys(s3_store) if key.startswith("latest/")}
    assert latest == {f"job_name={name}" for name in names if name.startswith("healthy")}
    history = [key for key in stored_keys(s3_store) if key.startswith("history/")]
    assert len(history) == len([name for name in names if name.startswith("healthy")])
    assert all("/date=2026-11-25/20261125T100000000Z-" in key for key in history)


def test_a_retried_delivery_of_the_same_tick_writes_no_duplicate_history(
    upstream: HTTPServer,
    make_client: Callable[..., HttpUpstreamClient],
    s3_store: S3Store,
    validator: ResponseValidator,
) -> None:
    upstream.expect_request(re.compile(r"^/v1/.*/status$")).respond_with_handler(upstream_by_kind)
    runner = runner_for(make_client, s3_store, validator)
    event = {
        "jobs": [{"project_id": PROJECT, "job_name": f"healthy-{i}"} for i in range(20)],
        "tick_id": "exec-1",
        "scheduled_time": "2026-11-25T10:05:00Z",
    }
    schedule.run_tick(runner, event)
    for key in stored_keys(s3_store):  # the first delivery died before any latest.json
        if key.startswith("latest/"):
            bucket, _, prefix = s3_store.location.removeprefix("s3://").partition("/")
            s3_store.client.delete_object(Bucket=bucket, Key=f"{prefix}/{key}")

    schedule.run_tick(runner, event)

    assert len([key for key in stored_keys(s3_store) if key.startswith("history/")]) == 20
