"""At-least-once delivery on a real store (SeaweedFS and the local directory): a
queued job delivered twice at once (two containers), and again after its tick's own
poll of the same slot, leaves one history object for the slot, a latest.json that
holds a document, and no transition record twice (checked by the store fixture)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable

import pytest
from pytest_httpserver import HTTPServer

from dlf_status import bootstrap
from dlf_status.adapters.upstream_http import HttpUpstreamClient
from dlf_status.domain import jsoncodec
from dlf_status.domain.contract import ResponseValidator
from dlf_status.domain.ports import ObjectStore
from dlf_status.domain.ticks import JobOutcome, JobResult
from dlf_status.entrypoints import queue, schedule
from dlf_status.poller import QueueWorker
from tests.integration.conftest import (
    PROJECT,
    TickingClock,
    exchange_response,
    history_keys,
    match_path,
    stored_keys,
)
from tests.support.events import queue_event
from tests.support.root import root_settings

pytestmark = pytest.mark.integration

SCHEDULED = "2026-11-25T08:00:00Z"


@pytest.fixture
def worker_for(
    make_client: Callable[..., HttpUpstreamClient],
    validator: ResponseValidator,
    store: ObjectStore,
) -> Callable[[], QueueWorker]:
    """A queue worker as one container builds it: its own service and caches."""

    def make() -> QueueWorker:
        service = bootstrap.build_status_service(
            root_settings(),
            upstream=make_client(),
            store=store,
            validator=validator,
            clock=TickingClock(),
        )
        return bootstrap.build_queue_worker(root_settings(), service=service)

    return make


def test_a_job_delivered_twice_at_once_and_after_its_tick_is_stored_once(
    upstream: HTTPServer,
    worker_for: Callable[[], QueueWorker],
    store: ObjectStore,
) -> None:
    upstream.expect_request(match_path("job-0")).respond_with_response(
        exchange_response("doc-2024-success")
    )
    tick_worker = worker_for()
    runner = bootstrap.build_tick_runner(
        root_settings(), service=tick_worker.service, fan_out=False
    )
    job = {"project_id": PROJECT, "job_name": "job-0"}
    body = json.dumps({**job, "scheduled_time": SCHEDULED, "tick_id": "t-1"})
    workers = [worker_for(), worker_for()]
    start = threading.Barrier(len(workers))
    outcomes: list[JobOutcome] = []

    def deliver(worker: QueueWorker) -> None:
        start.wait()
        outcomes.append(worker.poll_message(body))

    report = schedule.run_tick(runner, {"jobs": [job], "scheduled_time": SCHEDULED})
    threads = [threading.Thread(target=deliver, args=(worker,)) for worker in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    again = queue.handle_batch(worker_for(), queue_event([body]))

    assert report["ok"] == 1
    assert [outcome.result for outcome in outcomes] == [JobResult.OK, JobResult.OK]
    assert again == {"batchItemFailures": []}
    [history] = history_keys(store)
    assert "/date=2026-11-25/20261125T080000" in history
    [latest] = [key for key in stored_keys(store) if key.startswith("latest/")]
    stored = store.get(latest)
    assert stored is not None
    assert jsoncodec.loads(stored.body, jsoncodec.STORED)["source"]["job_name"] == "job-0"
