"""Discovery inside a tick, with fake ports: discovery entries expand into jobs beside
the explicit ones, a failing discovery is a row of its own (and its last listing is
polled), a job that leaves a complete listing is reported gone once, and the time
budget covers the listing's requests."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dlf_status import bootstrap
from dlf_status.domain.discovered import decode_discovered, discovered_key
from dlf_status.domain.gone import is_gone_document
from dlf_status.domain.listing import DiscoverySpec
from dlf_status.domain.model import JobRef
from dlf_status.domain.ticks import (
    DiscoveryEntry,
    InvalidJobEntry,
    JobResult,
    Tick,
    parse_job_list,
)
from dlf_status.entrypoints import schedule
from dlf_status.errors import QueueError, UpstreamTimeout, UpstreamUnavailable
from dlf_status.poller import TickRunner
from tests.support.clock import FixedClock
from tests.support.fakes import FakeDataArts, MemoryStore, json_answer
from tests.support.job_list_server import Mutation, OffsetMeaning, SimulatedJobList
from tests.support.root import fake_service, root_settings
from tests.support.transitions import assert_chain

PROJECT = "b384b9e9ab9b4ee8994c8633aabc9505"
WORKSPACE = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
SLOT = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
DISCOVER = {"project_id": PROJECT, "workspace": WORKSPACE, "discover": True}


class Metrics:
    def __init__(self) -> None:
        self.added: dict[str, float] = {}

    def add(self, name: str, value: float, unit: str = "Count") -> None:
        self.added[name] = self.added.get(name, 0) + value


class World:
    """One workspace in DataArts Studio and one store, ticked again and again."""

    def __init__(self, names: list[str], **listing: Any) -> None:
        self.upstream = FakeDataArts(SimulatedJobList(list(names), **listing))
        self.store = MemoryStore()
        self.metrics = Metrics()
        self.minute = 0

    def runner(self, **variables: str) -> TickRunner:
        self.minute += 5
        service = fake_service(
            self.upstream,
            self.store,
            clock=FixedClock(SLOT + timedelta(minutes=self.minute)),
            metrics=self.metrics,
        )
        return bootstrap.build_tick_runner(
            root_settings(**variables),
            service=service,
            metrics=self.metrics,
            read_job_list=lambda _: [],
            fan_out=False,
        )

    def tick(self, jobs: list[dict[str, Any]], **variables: str) -> Any:
        runner = self.runner(**variables)
        built = runner.build_tick(f"tick-{self.minute}", None, jobs)
        return runner.run(built)

    def delete(self, name: str) -> None:
        self.upstream.listing.names.remove(name)

    def create(self, name: str) -> None:
        self.upstream.listing.names.append(name)


def results(report: Any) -> dict[str | None, str]:
    return {outcome.job_name: str(outcome.result) for outcome in report.outcomes}


def job(name: str, workspace: str | None = WORKSPACE) -> dict[str, Any]:
    return {"project_id": PROJECT, "job_name": name, "workspace": workspace}


# -- the list's entries ----------------------------------------------------------------


def test_a_discovery_entry_is_parsed_beside_jobs_and_duplicates_are_dropped() -> None:
    raw = [
        job("a"),
        {**DISCOVER, "tags": ["prod"], "name_pattern": "orders_*"},
        {**DISCOVER, "tags": ["prod"], "name_pattern": "orders_*"},
        {"project_id": PROJECT, "discover": True},
    ]

    parsed = parse_job_list(raw)

    assert parsed.entries == (JobRef.parse(PROJECT, "a", WORKSPACE),)
    assert [entry.spec for entry in parsed.discoveries] == [
        DiscoverySpec(PROJECT, WORKSPACE, ("prod",), "orders_*"),
        DiscoverySpec(PROJECT),
    ]
    assert [entry.position for entry in parsed.discoveries] == [1, 3]
    assert parsed.duplicates == 1


@pytest.mark.parametrize(
    ("entry", "why"),
    [
        ({**DISCOVER, "discover": "true"}, "discover must be true"),
        ({**DISCOVER, "discover": False}, "discover must be true"),
        ({**DISCOVER, "name_patern": "x*"}, "not ['name_patern']"),
        ({**DISCOVER, "job_name": "a"}, "not ['job_name']"),
        ({**DISCOVER, "tags": "prod"}, "tags must be a list"),
        ({**DISCOVER, "tags": ["a,b"]}, "cannot contain ','"),
        ({**DISCOVER, "name_pattern": ""}, "name_pattern must be"),
        ({**DISCOVER, "project_id": "../x"}, "project_id"),
    ],
)
def test_a_bad_discovery_entry_is_an_invalid_entry_that_says_why(
    entry: dict[str, Any], why: str
) -> None:
    parsed = parse_job_list([entry])

    (invalid,) = parsed.entries
    assert isinstance(invalid, InvalidJobEntry)
    assert why in invalid.reason
    assert parsed.discoveries == ()


def test_a_queued_message_cannot_ask_for_a_discovery() -> None:
    parsed = parse_job_list([DISCOVER], discovery=False)

    (invalid,) = parsed.entries
    assert isinstance(invalid, InvalidJobEntry)
    assert "expanded by a tick" in invalid.reason


# -- expanding ---------------------------------------------------------------------------


def test_discovered_jobs_are_polled_beside_explicit_ones_once_each() -> None:
    world = World(["orders_eu", "orders_us", "clicks"])

    report = world.tick([job("clicks"), job("manual", workspace=None), DISCOVER])

    assert [o.job_name for o in report.outcomes] == [
        "clicks",
        "manual",
        "orders_eu",
        "orders_us",
    ]
    assert results(report)["manual"] == "failed"  # not in the workspace: DLF.0100, not gone
    assert sorted(job.job_name for job in world.upstream.status_calls) == [
        "clicks",
        "manual",
        "orders_eu",
        "orders_us",
    ]
    (found,) = report.discoveries
    assert (found.ok, found.jobs, found.added, found.complete) == (True, 3, 2, True)
    assert found.requests == len(world.upstream.page_calls) > 0
    summary = report.summary()
    assert (summary["discovered"], summary["discovery_failures"], summary["jobs"]) == (3, 0, 4)


def test_a_name_pattern_and_two_entries_that_overlap_poll_each_job_once() -> None:
    world = World(["orders_eu", "orders_us", "clicks"])

    report = world.tick([DISCOVER, {**DISCOVER, "name_pattern": "orders_*"}])

    assert sorted(o.job_name for o in report.outcomes) == ["clicks", "orders_eu", "orders_us"]
    assert [(found.jobs, found.added) for found in report.discoveries] == [(3, 3), (2, 0)]


def test_the_schedule_takes_discovery_entries_in_its_event() -> None:
    world = World(["a", "b"])
    runner = world.runner()

    result = schedule.run_tick(runner, {"jobs": [DISCOVER], "tick_id": "exec-1"})

    assert sorted(o["job_name"] for o in result["outcomes"]) == ["a", "b"]
    assert result["discoveries"][0]["jobs"] == 2
    assert result["discovered"] == 2


def test_discovery_metrics_count_jobs_requests_and_failures() -> None:
    world = World(["a", "b"])
    world.tick([DISCOVER])
    first_requests = world.metrics.added["ListingRequests"]
    world.upstream.list_error = UpstreamUnavailable("DataArts Studio failed (HTTP 503)")

    world.tick([DISCOVER])

    assert world.metrics.added["DiscoveredJobs"] == 2
    assert world.metrics.added["DiscoveryFailures"] == 1
    assert first_requests == len(world.upstream.page_calls) - 1  # the failure's one request


# -- failures ----------------------------------------------------------------------------


def test_a_failing_discovery_is_its_own_row_and_the_explicit_jobs_are_still_polled() -> None:
    world = World(["a"])
    world.upstream.list_error = UpstreamUnavailable("DataArts Studio failed (HTTP 503)")

    report = world.tick([job("a"), {**DISCOVER, "tags": ["prod"]}])

    row = report.outcomes[0]
    assert (row.job_name, row.result, row.error, row.retryable) == (
        None,
        JobResult.FAILED,
        "UpstreamUnavailable",
        True,
    )
    assert row.detail is not None
    assert row.detail.startswith(f"discovery of project {PROJECT}, workspace {WORKSPACE}, tags")
    assert "HTTP 503" in row.detail
    assert results(report)["a"] == "ok"
    (found,) = report.discoveries
    assert (found.ok, found.error, found.retryable) == (False, "UpstreamUnavailable", True)
    assert not report.all_succeeded


def test_a_failing_discovery_polls_the_jobs_of_its_last_complete_listing() -> None:
    world = World(["a", "b"])
    world.tick([DISCOVER])
    world.delete("b")
    world.upstream.list_error = UpstreamUnavailable("DataArts Studio failed (HTTP 503)")

    report = world.tick([DISCOVER])

    assert results(report) == {None: "failed", "a": "ok", "b": "failed"}  # never gone here
    assert not is_gone_document(world.store.latest(JobRef.parse(PROJECT, "b", WORKSPACE)))
    assert report.discoveries[0].jobs == 2
    assert "polled the 2 job(s) of the last complete listing" in report.discoveries[0].findings


def test_a_discovery_with_no_time_left_fails_as_a_timeout_without_a_request() -> None:
    world = World(["a"])
    runner = world.runner(DLF_DEADLINE="8")
    built = runner.build_tick("t", None, [DISCOVER, job("x")])

    report = runner.run(built, remaining_seconds=lambda: 9.0)  # under 8 s + 2 s

    (found,) = report.discoveries
    assert (found.ok, found.error, found.retryable, found.requests) == (
        False,
        UpstreamTimeout.__name__,
        True,
        0,
    )
    assert world.upstream.page_calls == []
    assert results(report)["x"] == "not-reached"


def test_a_discovery_stops_paging_when_the_time_runs_out() -> None:
    world = World([f"j{index:03d}" for index in range(250)], offset_meaning=OffsetMeaning.RECORDS)
    runner = world.runner(DLF_DEADLINE="8")
    built = runner.build_tick("t", None, [DISCOVER])
    budget = iter([100.0, 100.0, 100.0])

    report = runner.run(built, remaining_seconds=lambda: next(budget, 1.0))

    (found,) = report.discoveries
    assert (found.ok, found.requests) == (False, 3)
    assert "offset 201" in (found.detail or "")


# -- gone ----------------------------------------------------------------------------------


def test_a_job_that_leaves_a_complete_listing_is_reported_gone_once() -> None:
    world = World(["a", "b", "c"])
    world.tick([DISCOVER])
    world.delete("b")

    second = world.tick([DISCOVER])
    third = world.tick([DISCOVER])

    assert results(second) == {"a": "ok", "c": "ok", "b": "gone"}
    gone = next(o for o in second.outcomes if o.job_name == "b")
    assert str(gone.snapshot) == "changed"
    assert gone.detail is not None
    assert "(DLF.0100: The job not found)" in gone.detail
    assert second.discoveries[0].gone_candidates == 1
    assert second.summary()["gone"] == 1
    assert second.all_succeeded
    assert results(third) == {"a": "ok", "c": "ok"}
    b = JobRef.parse(PROJECT, "b", WORKSPACE)
    assert is_gone_document(world.store.latest(b))
    records = [r for r in world.store.transitions() if r["source"]["job_name"] == "b"]
    assert [r["changes"][0]["to"] for r in records] == [None]
    assert_chain(records, world.store.latest_versions(b))
    assert world.metrics.added["JobsGone"] == 1


def test_a_job_that_comes_back_is_polled_again_from_null() -> None:
    world = World(["a", "b"])
    world.tick([DISCOVER])
    world.delete("b")
    world.tick([DISCOVER])
    world.create("b")

    report = world.tick([DISCOVER])

    assert results(report) == {"a": "ok", "b": "ok"}
    b = JobRef.parse(PROJECT, "b", WORKSPACE)
    records = [r for r in world.store.transitions() if r["source"]["job_name"] == "b"]
    assert [(r["changes"][0]["from"], r["changes"][0]["to"]) for r in records] == [
        ("NORMAL", None),
        (None, "NORMAL"),
    ]
    assert_chain(records, world.store.latest_versions(b))


def test_a_suspect_whose_check_fails_is_checked_again_next_tick() -> None:
    world = World(["a", "b"])
    world.tick([DISCOVER])
    world.delete("b")
    world.upstream.status_answers["b"] = UpstreamTimeout("slow")

    second = world.tick([DISCOVER])
    del world.upstream.status_answers["b"]
    third = world.tick([DISCOVER])

    assert results(second)["b"] == "failed"
    assert results(third)["b"] == "gone"


def test_a_suspect_that_still_exists_is_polled_once_more_and_then_left_alone() -> None:
    world = World(["a", "b"], batch_names=frozenset())
    world.tick([DISCOVER])
    world.delete("b")
    # It left the list (a tag removed, a job type changed) but the status call finds it.
    world.upstream.status_answers["b"] = json_answer(200, {"name": "b", "status": "STOPPED"})

    second = world.tick([DISCOVER])
    third = world.tick([DISCOVER])

    assert results(second) == {"a": "ok", "b": "ok"}
    assert results(third) == {"a": "ok"}


def test_only_a_complete_listing_makes_suspects() -> None:
    world = World(["a", "b", "c"], offset_meaning=OffsetMeaning.RECORDS)
    world.tick([DISCOVER])
    world.delete("b")
    # Every request changes the list: the walks never agree.
    world.upstream.listing.mutations = tuple(
        Mutation(at=number, create=True, position=0) for number in range(40)
    )
    world.upstream.listing.requests.clear()

    report = world.tick([DISCOVER])

    (found,) = report.discoveries
    assert not found.complete
    assert "b" not in {o.job_name for o in report.outcomes if o.result is JobResult.GONE}
    assert results(report)["b"] == "failed"  # polled from the last listing, not gone


def test_a_job_that_moves_between_two_discoveries_of_a_workspace_is_not_suspected() -> None:
    prod = {**DISCOVER, "name_pattern": "p-*"}
    world = World(["p-a", "p-b"])
    world.tick([prod, {**DISCOVER, "name_pattern": "*-b"}])

    world.delete("p-b")
    world.create("q-b")
    report = world.tick([prod, {**DISCOVER, "name_pattern": "*-b"}])

    assert results(report)["p-b"] == "gone"
    assert results(report)["q-b"] == "ok"
    assert [found.gone_candidates for found in report.discoveries] == [1, 1]


def test_what_a_discovery_listed_is_kept_for_the_next_tick_and_dated_at_every_tick() -> None:
    world = World(["a", "b"])
    spec = DiscoverySpec(PROJECT, WORKSPACE)
    world.tick([DISCOVER])
    key = discovered_key(spec)
    first = decode_discovered(spec, world.store.objects[key])
    assert first is not None

    world.tick([DISCOVER])

    # Unchanged, and still written: the later listing must show it is the later one
    # to a tick that overlaps it (test_discovery_overlapping_ticks.py).
    kept = decode_discovered(spec, world.store.objects[key])
    assert kept is not None
    assert kept.jobs == first.jobs == {"a", "b"}
    assert kept.listed_at > first.listed_at
    assert key.startswith("_dlf-status/discovered/")


def test_a_fanned_out_tick_enqueues_discovered_jobs_and_checks_suspects_in_place() -> None:
    world = World([f"j{index}" for index in range(8)])
    world.tick([DISCOVER])
    world.delete("j3")
    sent: list[dict[str, Any]] = []

    class Queue:
        def send(self, messages: list[dict[str, Any]]) -> dict[int, QueueError]:
            sent.extend(messages)
            return {}

    runner = world.runner()
    runner = bootstrap.build_tick_runner(
        root_settings(FANOUT_THRESHOLD="2"),
        service=runner.poller.service,
        metrics=world.metrics,
        read_job_list=lambda _: [],
        queue=Queue(),
    )
    report = runner.run(runner.build_tick("t", None, [DISCOVER]))

    assert sorted(message["job_name"] for message in sent) == [
        f"j{index}" for index in range(8) if index != 3
    ]
    assert results(report)["j3"] == "gone"
    assert report.count(JobResult.ENQUEUED) == 7


def test_an_entry_the_runner_cannot_discover_fails_the_tick_loudly() -> None:
    built = bootstrap.build_tick_runner(
        root_settings(), service=fake_service(), read_job_list=lambda _: [], fan_out=False
    )
    runner = dataclasses.replace(built, discovery=None)
    tick = Tick("t", SLOT, (), discoveries=(DiscoveryEntry(0, DiscoverySpec(PROJECT)),))

    with pytest.raises(Exception, match="cannot discover"):
        runner.run(tick)
