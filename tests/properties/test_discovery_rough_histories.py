"""Discovery across ticks over rough histories (hypothesis): beside quiet ticks, ticks
whose job list changes while it is read, whose listing fails, whose checks of
suspects fail, that cannot read or save the last listing, and ticks that overlap
another tick (the other runs whole between this one's polls and its save). Whatever
happened, once the workspace is quiet: every job that left has a gone latest.json,
every job present a live one, and no job was reported gone twice for one departure
(its records alternate live and gone)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dlf_status import bootstrap
from dlf_status.domain.discovered import DISCOVERED_ROOT
from dlf_status.domain.gone import is_gone_document
from dlf_status.domain.model import JobRef
from dlf_status.domain.ports import StoredObject
from dlf_status.domain.ticks import JobOutcome
from dlf_status.errors import StoreError, UpstreamUnavailable
from dlf_status.poller import TickRunner
from tests.support.clock import FixedClock
from tests.support.fakes import FakeDataArts, MemoryStore
from tests.support.job_list_server import Mutation, OffsetMeaning, SimulatedJobList
from tests.support.root import fake_service, root_settings
from tests.support.transitions import assert_chain

PROJECT = "p1"
SLOT = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
NAMES = [f"job-{index}" for index in range(6)]
DISCOVER = {"project_id": PROJECT, "discover": True}
BUSY = UpstreamUnavailable("DataArts Studio failed (HTTP 503)")

KINDS = st.sampled_from(
    ["quiet", "drift", "list-fails", "checks-fail", "overlap", "state-read-fails", "save-fails"]
)
MUTATIONS = st.lists(
    st.builds(
        Mutation,
        at=st.integers(min_value=0, max_value=8),
        create=st.booleans(),
        position=st.integers(min_value=0, max_value=10),
    ),
    min_size=1,
    max_size=3,
)
STEPS = st.lists(
    st.tuples(KINDS, st.sets(st.sampled_from(NAMES)), MUTATIONS), min_size=1, max_size=6
)


class FlakyStateStore(MemoryStore):
    """Reads or writes of the discovered listings fail while told to."""

    fail_reads = False
    fail_writes = False

    def get(self, key: str) -> StoredObject | None:
        if self.fail_reads and key.startswith(DISCOVERED_ROOT):
            raise StoreError("the store timed out")
        return super().get(key)

    def replace(
        self, key: str, body: bytes, metadata: Mapping[str, str], expected_version: str | None
    ) -> str | None:
        if self.fail_writes and key.startswith(DISCOVERED_ROOT):
            raise StoreError("the store timed out")
        return super().replace(key, body, metadata, expected_version)


class Workspace:
    def __init__(self, meaning: OffsetMeaning, max_limit: int) -> None:
        self.upstream = FakeDataArts(SimulatedJobList([], meaning, max_limit=max_limit))
        self.store = FlakyStateStore()
        self.minute = 0

    def runner(self) -> TickRunner:
        self.minute += 5
        service = fake_service(
            self.upstream, self.store, clock=FixedClock(SLOT + timedelta(minutes=self.minute))
        )
        return bootstrap.build_tick_runner(
            root_settings(), service=service, read_job_list=lambda _: [], fan_out=False
        )

    def tick(self, runner: TickRunner | None = None, **callbacks: Any) -> None:
        runner = self.runner() if runner is None else runner
        self.upstream.listing.requests.clear()
        runner.run(runner.build_tick(None, None, [DISCOVER]), **callbacks)

    def step(self, kind: str, present: set[str], mutations: list[Mutation]) -> None:
        listing, upstream = self.upstream.listing, self.upstream
        listing.names[:] = sorted(present)
        if kind == "drift":
            listing.mutations = tuple(mutations)
        elif kind == "list-fails":
            upstream.list_error = BUSY
        elif kind == "checks-fail":
            upstream.status_answers = dict.fromkeys(NAMES, BUSY)
        self.store.fail_reads = kind == "state-read-fails"
        self.store.fail_writes = kind == "save-fails"
        if kind == "overlap":
            self._overlapping(mutations)
        else:
            self.tick()
        listing.mutations, upstream.list_error, upstream.status_answers = (), None, {}
        self.store.fail_reads = self.store.fail_writes = False

    def _overlapping(self, mutations: list[Mutation]) -> None:
        """A slow tick; once it has polled its first job, a whole other tick runs
        after a job is created or deleted."""
        slow, fast = self.runner(), self.runner()
        started = False

        def meanwhile(_: JobOutcome) -> None:
            nonlocal started
            if started:
                return
            started = True
            change = mutations[0]
            names = self.upstream.listing.names
            if change.create or not names:
                names.append(f"job-{5 - change.position % 3}")
                names[:] = sorted(set(names))
            else:
                names.pop(change.position % len(names))
            self.tick(fast)

        self.tick(slow, on_outcome=meanwhile)
        if not started:
            self.tick(fast)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    STEPS,
    st.sampled_from(list(OffsetMeaning)[:4]),
    st.sampled_from([1000, 2]),
    st.sets(st.sampled_from(NAMES)),
)
def test_once_quiet_every_departure_is_reported_gone_once_and_no_live_job_is_gone(
    steps: list[tuple[str, set[str], list[Mutation]]],
    meaning: OffsetMeaning,
    max_limit: int,
    final: set[str],
) -> None:
    workspace = Workspace(meaning, max_limit)
    for kind, present, mutations in steps:
        workspace.step(kind, present, mutations)
    workspace.upstream.listing.names[:] = sorted(final)
    # Quiet: two ticks settle every suspect the rough ones left.
    workspace.tick()
    workspace.tick()

    store = workspace.store
    for name in {*NAMES, *workspace.upstream.listing.created}:
        job = JobRef.parse(PROJECT, name)
        versions = store.latest_versions(job)
        if not versions:
            continue
        assert is_gone_document(store.latest(job)) == (name not in final), name
        records = [r for r in store.transitions() if r["source"]["job_name"] == name]
        assert_chain(records, versions)
        to_null = [r["changes"][0]["to"] is None for r in records]
        assert all(not (a and b) for a, b in pairwise(to_null)), name
