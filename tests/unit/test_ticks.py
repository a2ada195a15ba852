"""Scheduled ticks with fake ports: job lists, concurrency, time budget, fan-out, queues."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from dlf_status.adapters.clock import FixedClock
from dlf_status.domain.contract import ValidationReport
from dlf_status.domain.model import JobRef, UpstreamResponse
from dlf_status.domain.ticks import InvalidJobEntry, JobResult, Tick, job_entries
from dlf_status.entrypoints import events
from dlf_status.entrypoints.app import FunctionApp
from dlf_status.errors import (
    InvalidInput,
    RetryLater,
    TickFailed,
    UpstreamAuthRejected,
    UpstreamTimeout,
)
from dlf_status.observability import NullMetrics
from dlf_status.poller import Dispatcher, Poller, TickRunner
from dlf_status.service import StatusService
from tests.conftest import StubValidator
from tests.support.events import queue_event, scheduled_event
from tests.support.fakes import FakeUpstream, MemoryStore, json_answer

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
    return StatusService(
        upstream=upstream or FakeUpstream([by_name]),
        store=store or MemoryStore(),
        validator=StubValidator(ValidationReport()),
        clock=FixedClock(SLOT),
        metrics=NullMetrics(),
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
    report = Poller(service(), NullMetrics(), concurrency=4).run(
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
    Poller(service(store=store), NullMetrics()).run(tick("broken-1"))  # nothing stored yet
    first = service(
        FakeUpstream([json_answer(200, {"name": "broken-1", "status": "NORMAL"})]), store
    )
    Poller(first, NullMetrics()).run(tick("broken-1"))

    report = Poller(service(store=store), NullMetrics()).run(tick("broken-1"))

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

    report = Poller(service(FakeUpstream([slow])), NullMetrics(), concurrency=3).run(
        tick(*(f"healthy-{i}" for i in range(12)))
    )

    assert report.count(JobResult.OK) == 12
    assert peak == 3


def test_jobs_not_reached_in_time_are_reported_not_dropped() -> None:
    budget = iter([100.0, 100.0, 5.0, 5.0, 5.0])

    report = Poller(
        service(),
        NullMetrics(),
        concurrency=1,
        job_allowance_seconds=10,
        remaining_seconds=lambda: next(budget),
    ).run(tick("healthy-1", "healthy-2", "healthy-3", "healthy-4"))

    assert [o.result for o in report.outcomes] == ["ok", "ok", "not-reached", "not-reached"]
    assert report.summary()["not_reached"] == 2


def test_invalid_entries_are_failed_outcomes_without_an_upstream_call() -> None:
    upstream = FakeUpstream([by_name])
    entries, _ = job_entries([*jobs("healthy-1"), {"project_id": "../x", "job_name": "j"}])

    report = Poller(service(upstream), NullMetrics()).run(Tick("t", SLOT, entries))

    assert [o.result for o in report.outcomes] == ["ok", "failed"]
    assert report.outcomes[1].error == "InvalidInput"
    assert len(upstream.calls) == 1


class ListQueue:
    def __init__(self, refuse: set[str] | None = None) -> None:
        self.sent: list[dict[str, Any]] = []
        self.refuse = refuse or set()

    def send(self, messages: list[dict[str, Any]]) -> list[int]:
        failed = [i for i, m in enumerate(messages) if m["job_name"] in self.refuse]
        self.sent.extend(m for i, m in enumerate(messages) if i not in failed)
        return failed


def test_a_big_tick_is_fanned_out_in_batches_of_ten_and_refusals_are_reported() -> None:
    queue = ListQueue(refuse={"healthy-7"})
    runner = TickRunner(
        service(),
        NullMetrics(),
        read_job_list=lambda _: [],
        dispatcher=Dispatcher(queue, NullMetrics()),
        fanout_threshold=5,
    )

    report = runner.run(tick(*(f"healthy-{i}" for i in range(23))))

    assert len(queue.sent) == 22
    assert {m["tick_id"] for m in queue.sent} == {"tick-1"}
    assert {m["scheduled_time"] for m in queue.sent} == {"2026-11-25T09:00:00.000Z"}
    assert report.count(JobResult.ENQUEUED) == 22
    assert [o.job_name for o in report.outcomes if o.result == "failed"] == ["healthy-7"]


def test_a_small_tick_is_polled_in_place_even_with_a_queue() -> None:
    queue = ListQueue()
    runner = TickRunner(
        service(),
        NullMetrics(),
        read_job_list=lambda _: [],
        dispatcher=Dispatcher(queue, NullMetrics()),
        fanout_threshold=5,
    )

    report = runner.run(tick("healthy-1", "healthy-2"))

    assert queue.sent == []
    assert report.count(JobResult.OK) == 2


def test_a_classic_schedule_reads_jobs_uri_and_keeps_the_event_id_and_time() -> None:
    read: list[str] = []

    def read_job_list(uri: str) -> list[dict[str, Any]]:
        read.append(uri)
        return jobs("healthy-1")

    runner = TickRunner(service(), NullMetrics(), read_job_list=read_job_list, jobs_uri="jobs.json")
    parsed = events.parse_tick_event(scheduled_event(id="evt-1", time="2026-11-25T09:05:00Z"))

    built = runner.build_tick(parsed.tick_id, parsed.scheduled_time, parsed.jobs, SLOT)

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
    assert events.is_scheduled_event(event)
    parsed = events.parse_tick_event(event)

    built = TickRunner(service(), NullMetrics(), read_job_list=lambda _: []).build_tick(
        parsed.tick_id, parsed.scheduled_time, parsed.jobs, SLOT
    )

    assert built.tick_id == "exec-9"
    assert len(built.entries) == 1


def test_a_tick_without_jobs_or_jobs_uri_fails_the_invocation() -> None:
    runner = TickRunner(service(), NullMetrics(), read_job_list=lambda _: [])
    app = FunctionApp(runner.service, tick_runner_factory=lambda: runner)

    with pytest.raises(TickFailed, match="JOBS_URI is not set"):
        app.handle(scheduled_event())


def test_a_tick_event_returns_the_report() -> None:
    runner = TickRunner(service(), NullMetrics(), read_job_list=lambda _: [])
    app = FunctionApp(runner.service, tick_runner_factory=lambda: runner)

    report = app.handle({"jobs": jobs("healthy-1", "missing-1"), "tick_id": "t-1"})

    assert (report["tick_id"], report["ok"], report["failed"]) == ("t-1", 1, 1)


def test_a_retried_tick_with_the_same_id_writes_no_new_history() -> None:
    store = MemoryStore()
    runner = TickRunner(service(store=store), NullMetrics(), read_job_list=lambda _: [])
    app = FunctionApp(runner.service, tick_runner_factory=lambda: runner)
    event = {"jobs": jobs("healthy-1"), "tick_id": "t-1", "scheduled_time": "2026-11-25T09:00:00Z"}

    app.handle(event)
    store.objects.pop(next(k for k in store.objects if k.startswith("latest/")))  # as if cut short
    app.handle(event)

    assert len(store.history()) == 1


def test_queued_jobs_fail_for_good_or_go_back_to_the_queue() -> None:
    upstream = FakeUpstream([by_name])
    runner = TickRunner(service(upstream), NullMetrics(), read_job_list=lambda _: [])
    app = FunctionApp(runner.service, tick_runner_factory=lambda: runner)
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

    answer = app.handle(queue_event(bodies))

    assert answer == {"batchItemFailures": [{"itemIdentifier": "message-1"}]}
    assert [job.job_name for job in upstream.calls] == ["healthy-1", "broken-1", "missing-1"]


def test_a_timeout_is_worth_a_retry_but_an_invalid_job_is_not() -> None:
    runner = TickRunner(
        service(FakeUpstream([UpstreamTimeout("slow")])), NullMetrics(), read_job_list=lambda _: []
    )

    with pytest.raises(RetryLater, match="UpstreamTimeout"):
        runner.poll_message(json.dumps({"project_id": PROJECT, "job_name": "j"}))
    assert (
        runner.poll_message(json.dumps({"project_id": "../x", "job_name": "j"})).error
        == "InvalidInput"
    )


def test_a_queued_job_is_retried_by_the_policy_of_its_error_not_by_its_name() -> None:
    class SlowGateway(UpstreamTimeout):
        """A subclass the queue worker has never heard of: retried, as its parent is."""

    class LockedOut(UpstreamAuthRejected):
        """Never retried, as its parent is not: five failed signatures lock the AK."""

    upstream = FakeUpstream([SlowGateway("slow"), LockedOut("locked")])
    runner = TickRunner(service(upstream), NullMetrics(), read_job_list=lambda _: [])
    message = json.dumps({"project_id": PROJECT, "job_name": "j"})

    with pytest.raises(RetryLater, match="SlowGateway: slow"):
        runner.poll_message(message)
    outcome = runner.poll_message(message)

    assert (outcome.result, outcome.error, outcome.retryable) == ("failed", "LockedOut", False)
    assert len(upstream.calls) == 2


def test_a_tick_report_says_which_failures_a_retry_may_mend() -> None:
    report = Poller(service(), NullMetrics()).run(tick("healthy-1", "missing-1", "broken-1"))

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
