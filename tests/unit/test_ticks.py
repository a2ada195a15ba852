"""Scheduled ticks with fake ports: job lists, concurrency, time budget, fan-out, queues."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from dlf_status import bootstrap
from dlf_status.domain.model import JobRef, UpstreamResponse
from dlf_status.domain.ticks import InvalidJobEntry, JobResult, Tick, job_entries
from dlf_status.entrypoints import events, queue, schedule
from dlf_status.errors import (
    ConfigurationError,
    InvalidInput,
    QueueError,
    TickFailed,
    UpstreamAuthRejected,
    UpstreamTimeout,
)
from dlf_status.poller import TickRunner
from dlf_status.service import StatusService
from tests.support.clock import FixedClock
from tests.support.events import queue_event, scheduled_event
from tests.support.fakes import FakeUpstream, MemoryStore, json_answer
from tests.support.root import fake_service, root_settings

PROJECT = "b384b9e9ab9b4ee8994c8633aabc9505"
SLOT = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


def by_name(job: JobRef) -> UpstreamResponse:
    """healthy-*, missing-*, broken-*: the upstream's answer depends on the job name."""
    if job.job_name.startswith("missing"):
        return json_answer(400, {"error_code": "DLF.0100", "error_msg": "gone"})
    if job.job_name.startswith("broken"):
        return json_answer(503, {"error_code": "DLF.0003", "error_msg": "busy"})
    return json_answer(200, {"name": job.job_name, "status": "NORMAL"})


def service(
    upstream: FakeUpstream | None = None, store: MemoryStore | None = None
) -> StatusService:
    return fake_service(upstream or FakeUpstream([by_name]), store, clock=FixedClock(SLOT))


def runner(
    service: StatusService | None = None,
    *,
    read_job_list: Callable[[str], Any] = lambda _: [],
    queue: ListQueue | None = None,
    **variables: str,
) -> TickRunner:
    """A tick runner from the root: `variables` are settings (POLL_CONCURRENCY=...)."""
    return bootstrap.build_tick_runner(
        root_settings(**variables),
        service=service or globals()["service"](),
        read_job_list=read_job_list,
        queue=queue,
        fan_out=queue is not None,
    )


def jobs(*names: str) -> list[dict[str, Any]]:
    return [{"project_id": PROJECT, "job_name": name} for name in names]


def tick(*names: str) -> Tick:
    entries, duplicates = job_entries(jobs(*names))
    return Tick("tick-1", SLOT, entries, duplicates)


def test_job_lists_accept_a_bare_list_or_a_jobs_object_and_keep_bad_entries() -> None:
    raw = {"jobs": [*jobs("a", "b", "a"), "oops", {"project_id": PROJECT, "job_name": "x\n"}]}

    entries, duplicates = job_entries(raw)

    assert [entry.job_name for entry in entries if isinstance(entry, JobRef)] == ["a", "b"]
    assert duplicates == 1
    invalid = [entry for entry in entries if isinstance(entry, InvalidJobEntry)]
    assert (invalid[0].position, invalid[0].reason) == (3, "not an object")
    assert "control" in invalid[1].reason


@pytest.mark.parametrize("raw", ["jobs", 7, {"jobs": "a"}, None])
def test_a_job_list_that_is_not_a_list_is_invalid_input(raw: Any) -> None:
    with pytest.raises(InvalidInput, match="must be a list"):
        job_entries(raw)


def test_every_job_of_a_tick_is_accounted_for_and_failures_do_not_stop_others() -> None:
    report = runner(POLL_CONCURRENCY="4").run(
        tick("healthy-1", "missing-1", "broken-1", "healthy-2")
    )

    results = {outcome.job_name: (outcome.result, outcome.error) for outcome in report.outcomes}
    assert results == {
        "healthy-1": ("ok", None),
        "missing-1": ("failed", "JobNotFound"),
        "broken-1": ("failed", "UpstreamUnavailable"),
        "healthy-2": ("ok", None),
    }
    assert [o.job_name for o in report.outcomes] == [
        "healthy-1",
        "missing-1",
        "broken-1",
        "healthy-2",
    ]


def test_a_failed_tick_job_is_never_served_stale() -> None:
    store = MemoryStore()
    runner(service(store=store)).run(tick("broken-1"))  # nothing stored yet
    first = service(
        FakeUpstream([json_answer(200, {"name": "broken-1", "status": "NORMAL"})]), store
    )
    runner(first).run(tick("broken-1"))

    report = runner(service(store=store)).run(tick("broken-1"))

    assert report.outcomes[0].result == "failed"


def test_no_more_than_the_concurrency_runs_at_once() -> None:
    active, peak, lock = 0, 0, threading.Lock()

    def slow(job: JobRef) -> UpstreamResponse:
        nonlocal active, peak
        with lock:
            active += 1
            peak = max(peak, active)
        time.sleep(0.02)
        with lock:
            active -= 1
        return by_name(job)

    report = runner(service(FakeUpstream([slow])), POLL_CONCURRENCY="3").run(
        tick(*(f"healthy-{i}" for i in range(12)))
    )

    assert report.count(JobResult.OK) == 12
    assert peak == 3


def test_jobs_not_reached_in_time_are_reported_not_dropped() -> None:
    upstream = FakeUpstream([by_name])

    def remaining_seconds() -> float:
        """Plenty until the second upstream call, then 5 s: its write still fits."""
        return 100.0 if len(upstream.calls) < 2 else 5.0

    # A job is started only with DLF_DEADLINE and the store's allowance left: 10 s.
    report = runner(service(upstream), POLL_CONCURRENCY="1", DLF_DEADLINE="8").run(
        tick("healthy-1", "healthy-2", "healthy-3", "healthy-4"),
        remaining_seconds=remaining_seconds,
    )

    assert [o.result for o in report.outcomes] == ["ok", "ok", "not-reached", "not-reached"]
    assert report.summary()["not_reached"] == 2


def test_invalid_entries_are_failed_outcomes_without_an_upstream_call() -> None:
    upstream = FakeUpstream([by_name])
    entries, _ = job_entries([*jobs("healthy-1"), {"project_id": "../x", "job_name": "j"}])

    report = runner(service(upstream)).run(Tick("t", SLOT, entries))

    assert [o.result for o in report.outcomes] == ["ok", "failed"]
    assert report.outcomes[1].error == "InvalidInput"
    assert len(upstream.calls) == 1


class ListQueue:
    """Refuses the messages of the jobs in `refuse`, for good (as SQS's SenderFault)."""

    def __init__(self, refuse: set[str] | None = None) -> None:
        self.sent: list[dict[str, Any]] = []
        self.refuse = refuse or set()

    def send(self, messages: list[dict[str, Any]]) -> dict[int, QueueError]:
        failed = {
            i: QueueError("the message is refused", retryable=False)
            for i, m in enumerate(messages)
            if m["job_name"] in self.refuse
        }
        self.sent.extend(m for i, m in enumerate(messages) if i not in failed)
        return failed


def test_a_big_tick_is_fanned_out_in_batches_of_ten_and_refusals_are_reported() -> None:
    queue = ListQueue(refuse={"healthy-7"})

    report = runner(queue=queue, FANOUT_THRESHOLD="5").run(
        tick(*(f"healthy-{i}" for i in range(23)))
    )

    assert len(queue.sent) == 22
    assert {m["tick_id"] for m in queue.sent} == {"tick-1"}
    assert {m["scheduled_time"] for m in queue.sent} == {"2026-11-25T09:00:00.000Z"}
    assert report.count(JobResult.ENQUEUED) == 22
    [refused] = [o for o in report.outcomes if o.result == "failed"]
    assert (refused.job_name, refused.error, refused.retryable) == (
        "healthy-7",
        "QueueError",
        False,
    )


def test_a_small_tick_is_polled_in_place_even_with_a_queue() -> None:
    queue = ListQueue()

    report = runner(queue=queue, FANOUT_THRESHOLD="5").run(tick("healthy-1", "healthy-2"))

    assert queue.sent == []
    assert report.count(JobResult.OK) == 2


def test_a_classic_schedule_reads_jobs_uri_and_keeps_the_event_id_and_time() -> None:
    read: list[str] = []

    def read_job_list(uri: str) -> list[dict[str, Any]]:
        read.append(uri)
        return jobs("healthy-1")

    reading = runner(read_job_list=read_job_list, JOBS_URI="jobs.json")
    parsed = events.parse_tick_event(scheduled_event(id="evt-1", time="2026-11-25T09:05:00Z"))

    built = reading.build_tick(parsed.tick_id, parsed.scheduled_time, parsed.jobs)

    assert (built.tick_id, built.scheduled_time, read) == (
        "evt-1",
        datetime(2026, 11, 25, 9, 5, tzinfo=UTC),
        ["jobs.json"],
    )
    assert [entry.job_name for entry in built.entries if isinstance(entry, JobRef)] == ["healthy-1"]


def test_scheduler_input_carries_its_own_jobs_id_and_time() -> None:
    event = {
        "jobs": jobs("healthy-1"),
        "tick_id": "exec-9",
        "scheduled_time": "2026-11-25T09:10:00Z",
    }
    parsed = events.parse_tick_event(event)

    built = runner().build_tick(parsed.tick_id, parsed.scheduled_time, parsed.jobs)

    assert built.tick_id == "exec-9"
    assert len(built.entries) == 1


def test_a_tick_without_jobs_or_jobs_uri_fails_the_invocation() -> None:
    with pytest.raises(TickFailed, match="JOBS_URI is not set") as caught:
        schedule.run_tick(runner(), scheduled_event())

    # Chained: a traceback of the failure names the cause's class, not only its text.
    assert type(caught.value.__cause__) is ConfigurationError


def test_a_tick_event_returns_the_report() -> None:
    report = schedule.run_tick(runner(), {"jobs": jobs("healthy-1", "missing-1"), "tick_id": "t-1"})

    assert (report["tick_id"], report["ok"], report["failed"]) == ("t-1", 1, 1)


def test_a_retried_tick_with_the_same_id_writes_no_new_history() -> None:
    store = MemoryStore()
    ticks = runner(service(store=store))
    event = {"jobs": jobs("healthy-1"), "tick_id": "t-1", "scheduled_time": "2026-11-25T09:00:00Z"}

    schedule.run_tick(ticks, event)
    store.objects.pop(next(k for k in store.objects if k.startswith("latest/")))  # as if cut short
    schedule.run_tick(ticks, event)

    assert len(store.history()) == 1


def test_queued_jobs_fail_for_good_or_go_back_to_the_queue() -> None:
    upstream = FakeUpstream([by_name])
    worker = bootstrap.build_queue_worker(root_settings(), service=service(upstream))
    bodies = [
        json.dumps(
            {
                "project_id": PROJECT,
                "job_name": "healthy-1",
                "scheduled_time": "2026-11-25T09:00:00Z",
            }
        ),
        json.dumps({"project_id": PROJECT, "job_name": "broken-1"}),
        json.dumps({"project_id": PROJECT, "job_name": "missing-1"}),
        "not json",
    ]

    answer = queue.handle_batch(worker, queue_event(bodies))

    assert answer == {"batchItemFailures": [{"itemIdentifier": "message-1"}]}
    assert [job.job_name for job in upstream.calls] == ["healthy-1", "broken-1", "missing-1"]


def test_a_timeout_is_worth_a_retry_but_an_invalid_job_is_not() -> None:
    worker = bootstrap.build_queue_worker(
        root_settings(), service=service(FakeUpstream([UpstreamTimeout("slow")]))
    )

    timeout_message = json.dumps({"project_id": PROJECT, "job_name": "j"})
    invalid_message = json.dumps({"project_id": "../x", "job_name": "j"})

    timed_out = worker.poll_message(timeout_message)
    invalid = worker.poll_message(invalid_message)
    answer = queue.handle_batch(worker, queue_event([timeout_message, invalid_message]))

    assert (timed_out.error, timed_out.retryable) == ("UpstreamTimeout", True)
    assert (invalid.error, invalid.retryable) == ("InvalidInput", False)
    assert answer == {"batchItemFailures": [{"itemIdentifier": "message-0"}]}


def test_a_queued_job_is_retried_by_the_policy_of_its_error_not_by_its_name() -> None:
    class SlowGateway(UpstreamTimeout):
        """A subclass the queue worker has never heard of: retried, as its parent is."""

    class LockedOut(UpstreamAuthRejected):
        """Never retried, as its parent is not: five failed signatures lock the AK."""

    upstream = FakeUpstream([SlowGateway("slow"), LockedOut("locked")])
    worker = bootstrap.build_queue_worker(root_settings(), service=service(upstream))
    message = json.dumps({"project_id": PROJECT, "job_name": "j"})

    answer = queue.handle_batch(worker, queue_event([message, message]))

    assert answer == {"batchItemFailures": [{"itemIdentifier": "message-0"}]}
    assert len(upstream.calls) == 2


def test_a_tick_report_says_which_failures_a_retry_may_mend() -> None:
    report = runner().run(tick("healthy-1", "missing-1", "broken-1"))

    outcomes = {outcome["job_name"]: outcome for outcome in report.as_json()["outcomes"]}
    assert "retryable" not in outcomes["healthy-1"]
    assert (outcomes["missing-1"]["error"], outcomes["missing-1"]["retryable"]) == (
        "JobNotFound",
        False,
    )
    assert (outcomes["broken-1"]["error"], outcomes["broken-1"]["retryable"]) == (
        "UpstreamUnavailable",
        True,
    )


@pytest.mark.parametrize(
    "event",
    [
        {"Records": []},
        {"Records": [{"eventSource": "aws:sqs", "messageId": "m"}]},
        {"Records": [{"eventSource": "aws:kinesis", "messageId": "m", "body": "{}"}]},
        {"Records": "m"},
        [],
    ],
)
def test_a_queue_event_that_is_not_an_sqs_batch_is_a_problem_not_a_crash(event: Any) -> None:
    upstream = FakeUpstream([by_name])
    worker = bootstrap.build_queue_worker(root_settings(), service=service(upstream))

    problem = queue.handle_batch(worker, event)

    assert (problem["status"], problem["type"]) == (400, "urn:dlf-status:problem:invalid-input")
    assert upstream.calls == []
