"""At-least-once delivery on a real store (SeaweedFS and the local directory): a
queued job delivered twice at once (two containers), and again after its tick's own
poll of the same slot, leaves one history object for the slot, a latest.json that
holds a document, and no transition record twice (checked by the store fixture)."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
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


# What the upstream answers a job, by the first part of its name, and whether the
# queue must see the record again (reported by its messageId) or never.
_BEHAVIOURS = {
    "ok": ("doc-2024-success", False),
    "down": ("server-503-json", True),
    "missing": ("doc-2024-failure-dlf0100", False),
    "forbidden": ("gateway-403-forbidden", False),
}
_POISON = [
    "not json",
    "[]",
    '{"project_id": "../x", "job_name": "j"}',
    '{"project_id": "p", "job_name": "\\ud800"}',
    "[" * 10_000 + "]" * 10_000,
    '{"project_id": "p", "job_name": "' + "x" * 250_000 + '"}',
]


def test_a_batch_reports_exactly_its_records_a_retry_may_mend(
    upstream: HTTPServer, worker_for: Callable[[], QueueWorker]
) -> None:
    """Any mix of records (answered, failing for a while, failing for good, poison):
    the partial batch response names each record a retry may mend, by its messageId,
    and no other; a poison record fails none of its neighbours."""
    from werkzeug import Request, Response

    def answer(request: Request) -> Response:
        name = request.path.split("/")[-2]
        return exchange_response(_BEHAVIOURS[name.split("-")[0]][0])

    upstream.expect_request(re.compile(f"/v1/{PROJECT}/jobs/[^/]+/status")).respond_with_handler(
        answer
    )
    worker = worker_for()
    record = st.one_of(
        st.tuples(st.sampled_from(sorted(_BEHAVIOURS)), st.integers(0, 99)).map(
            lambda kind: (
                json.dumps({"project_id": PROJECT, "job_name": f"{kind[0]}-{kind[1]}"}),
                _BEHAVIOURS[kind[0]][1],
            )
        ),
        st.sampled_from(_POISON).map(lambda body: (body, False)),
    )

    @settings(max_examples=25, deadline=None)
    @given(records=st.lists(record, min_size=1, max_size=5))
    def check(records: list[tuple[str, bool]]) -> None:
        response = queue.handle_batch(worker, queue_event([body for body, _ in records]))

        assert response == {
            "batchItemFailures": [
                {"itemIdentifier": f"message-{index}"}
                for index, (_, retried) in enumerate(records)
                if retried
            ]
        }

    check()
