"""Two ticks that overlap save the same discovery's last listing at once (a slow tick
beside the next one, a retried tick, a CLI `poll` beside the schedule), and a tick
that could not read the last listing saves one all the same.

Whichever save lands second must not forget a name only the other tick knew: a job
one tick listed and polled (so it has a live latest.json) and the other never saw
must stay in the last listing, so that a tick that misses it later checks it and
reports it gone. Forgotten, it would keep its last live status forever. A last
listing a newer release wrote (both run during a deployment) is neither read nor
written over. The store is the local directory store (compare-and-swap on its
versions)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from dlf_status import bootstrap
from dlf_status.adapters.store_local import LocalDirectoryStore
from dlf_status.domain import discovered, jsoncodec
from dlf_status.domain.discovered import decode_discovered, discovered_key
from dlf_status.domain.gone import is_gone_document
from dlf_status.domain.listing import DiscoverySpec
from dlf_status.domain.model import JobRef
from dlf_status.domain.snapshots import latest_key
from dlf_status.domain.ticks import JobOutcome
from dlf_status.errors import StoreError
from dlf_status.poller import TickRunner
from tests.support.clock import FixedClock
from tests.support.fakes import FakeDataArts
from tests.support.job_list_server import Mutation, SimulatedJobList
from tests.support.root import fake_service, root_settings

PROJECT = "b384b9e9ab9b4ee8994c8633aabc9505"
WORKSPACE = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
SLOT = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
DISCOVER = {"project_id": PROJECT, "workspace": WORKSPACE, "discover": True}
SPEC = DiscoverySpec(PROJECT, WORKSPACE)


class Metrics:
    def add(self, name: str, value: float, unit: str = "Count") -> None:
        pass


class FailingFirstRead:
    """The local store, whose first read of the discovered listing fails."""

    def __init__(self, store: LocalDirectoryStore) -> None:
        self._store, self.failed = store, False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def get(self, key: str) -> Any:
        if key == discovered_key(SPEC) and not self.failed:
            self.failed = True
            raise StoreError("the store timed out")
        return self._store.get(key)


class FailingWrites:
    """The local store, where no discovered listing can be written."""

    def __init__(self, store: LocalDirectoryStore) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def replace(self, key: str, *args: Any) -> Any:
        if key == discovered_key(SPEC):
            raise StoreError("the store refused the write")
        return self._store.replace(key, *args)


class World:
    def __init__(self, root: Path, names: list[str]) -> None:
        self.upstream = FakeDataArts(SimulatedJobList(list(names)))
        self.store = LocalDirectoryStore(root)

    def runner(self, minute: int, store: Any = None) -> TickRunner:
        service = fake_service(
            self.upstream,
            self.store if store is None else store,
            clock=FixedClock(SLOT + timedelta(minutes=minute)),
            metrics=Metrics(),
        )
        return bootstrap.build_tick_runner(
            root_settings(),
            service=service,
            metrics=Metrics(),
            read_job_list=lambda _: [],
            fan_out=False,
        )

    def tick(self, runner: TickRunner, **callbacks: Any) -> dict[str | None, str]:
        built = runner.build_tick(None, None, [DISCOVER])
        report = runner.run(built, **callbacks)
        return {outcome.job_name: str(outcome.result) for outcome in report.outcomes}

    def remembered(self) -> frozenset[str]:
        stored = self.store.get(discovered_key(SPEC))
        assert stored is not None
        decoded = decode_discovered(SPEC, stored.body)
        assert decoded is not None
        return decoded.jobs

    def is_gone(self, name: str) -> bool:
        stored = self.store.get(latest_key(JobRef.parse(PROJECT, name, WORKSPACE)))
        assert stored is not None
        return is_gone_document(jsoncodec.loads(stored.body))


@pytest.mark.parametrize("slow_one_listed", ["earlier", "later"])
def test_a_job_only_one_of_two_overlapping_ticks_listed_is_reported_gone_later(
    tmp_path: Path, slow_one_listed: str
) -> None:
    world = World(tmp_path, ["alpha"])
    world.tick(world.runner(0))
    names = world.upstream.listing.names
    names.append("short-lived")
    # The slow tick lists and polls first, the fast one runs whole before the slow
    # one saves; whether its listing is the earlier or the later of
    # the two decides which save the store's compare-and-swap keeps.
    fast_minute, slow_minute = (10, 5) if slow_one_listed == "earlier" else (5, 10)
    slow, fast = world.runner(slow_minute), world.runner(fast_minute)

    polled: list[JobOutcome] = []
    reports: list[dict[str | None, str]] = []

    def meanwhile(outcome: JobOutcome) -> None:
        """Once the slow tick has polled both jobs, and before it saves its listing."""
        polled.append(outcome)
        if len(polled) == 2:
            names.remove("short-lived")
            names.append("newcomer")
            reports.append(world.tick(fast))

    reports.append(world.tick(slow, on_outcome=meanwhile))
    names.remove("newcomer")
    reports.append(world.tick(world.runner(20)))
    reports.append(world.tick(world.runner(25)))

    # The slow tick kept short-lived before polling it, so the fast one checked it
    # (gone, or not yet when the slow tick's observation is the later one).
    assert [report.get("alpha") for report in reports] == ["ok"] * 4
    assert reports[1]["short-lived"] == "ok"
    assert reports[0]["newcomer"] == "ok"
    for name in ("short-lived", "newcomer"):
        assert [report.get(name) for report in reports].count("gone") == 1, name
        assert world.is_gone(name)
    assert reports[-1] == {"alpha": "ok"}


def test_a_tick_that_could_not_read_the_last_listing_forgets_none_of_it(tmp_path: Path) -> None:
    world = World(tmp_path, ["alpha", "beta"])
    world.tick(world.runner(0))
    world.upstream.listing.names.remove("beta")
    world.upstream.listing.names.append("gamma")

    flaky = FailingFirstRead(world.store)
    report = world.tick(world.runner(5, flaky))

    # Keeping gamma before polling it merged the stored listing in: beta is checked.
    assert flaky.failed
    assert report == {"alpha": "ok", "gamma": "ok", "beta": "gone"}
    assert world.is_gone("beta")
    assert world.remembered() == {"alpha", "gamma"}
    assert world.tick(world.runner(10)) == {"alpha": "ok", "gamma": "ok"}


def test_a_newly_listed_job_that_cannot_be_remembered_is_not_polled(tmp_path: Path) -> None:
    world = World(tmp_path, ["alpha"])
    world.tick(world.runner(0))
    world.upstream.listing.names.append("beta")

    flaky = FailingWrites(world.store)
    runner = world.runner(5, flaky)
    report = runner.run(runner.build_tick(None, None, [DISCOVER]))

    assert {outcome.job_name: str(outcome.result) for outcome in report.outcomes} == {
        "alpha": "ok",
        "beta": "not-reached",
    }
    (found,) = report.discoveries
    assert any("1 newly listed job(s) not polled" in finding for finding in found.findings)
    assert world.remembered() == {"alpha"}
    assert world.tick(world.runner(10)) == {"alpha": "ok", "beta": "ok"}


@pytest.mark.parametrize("version", ["2.0", "10.1"])
def test_a_last_listing_from_a_newer_release_is_neither_read_nor_written_over(
    tmp_path: Path, version: str
) -> None:
    world = World(tmp_path, ["alpha"])
    world.tick(world.runner(0))
    world.upstream.listing.names.append("beta")
    world.tick(world.runner(5))
    key = discovered_key(SPEC)
    stored = world.store.get(key)
    assert stored is not None
    newer = {**jsoncodec.loads(stored.body), "schema_version": version, "suspects": ["beta"]}
    assert world.store.replace(key, jsoncodec.canonical_bytes(newer), {}, stored.version)
    written = world.store.get(key)
    assert written is not None
    world.upstream.listing.names.remove("beta")
    world.upstream.listing.names.append("gamma")

    report = world.tick(world.runner(10))

    assert report == {"alpha": "ok", "gamma": "ok"}  # beta: not checked, not gone
    assert not world.is_gone("beta")
    after = world.store.get(key)
    assert after is not None
    assert after.body == written.body


@pytest.mark.parametrize("version", [None, "0.9", "1.x", "one"])
def test_a_last_listing_of_no_known_version_is_written_anew(
    tmp_path: Path, version: str | None
) -> None:
    world = World(tmp_path, ["alpha"])
    world.tick(world.runner(0))
    key = discovered_key(SPEC)
    stored = world.store.get(key)
    assert stored is not None
    odd = {**jsoncodec.loads(stored.body), "schema_version": version}
    assert world.store.replace(key, jsoncodec.canonical_bytes(odd), {}, stored.version)
    world.upstream.listing.names.append("beta")

    assert world.tick(world.runner(5)) == {"alpha": "ok", "beta": "ok"}

    assert world.remembered() == {"alpha", "beta"}


def test_a_last_listing_of_a_later_minor_version_is_read(tmp_path: Path) -> None:
    world = World(tmp_path, ["alpha", "beta"])
    world.tick(world.runner(0))
    key = discovered_key(SPEC)
    stored = world.store.get(key)
    assert stored is not None
    minor = {**jsoncodec.loads(stored.body), "schema_version": "1.7", "added": True}
    assert world.store.replace(key, jsoncodec.canonical_bytes(minor), {}, stored.version)
    world.upstream.listing.names.remove("beta")

    assert world.tick(world.runner(5)) == {"alpha": "ok", "beta": "gone"}


def test_a_job_back_in_a_later_listing_is_not_dropped_by_an_earlier_one(
    tmp_path: Path,
) -> None:
    """The later tick's listing equals the last one (nothing to change), the earlier
    tick saw the job leave: the later listing must still win."""
    world = World(tmp_path, ["alpha", "beta"])
    world.tick(world.runner(0))
    names = world.upstream.listing.names
    names.remove("beta")
    slow, fast = world.runner(5), world.runner(10)
    polled: list[JobOutcome] = []

    def meanwhile(outcome: JobOutcome) -> None:
        polled.append(outcome)
        if len(polled) == 2:  # beta checked (gone), then created again
            names.append("beta")
            assert world.tick(fast) == {"alpha": "ok", "beta": "ok"}

    assert world.tick(slow, on_outcome=meanwhile) == {"alpha": "ok", "beta": "gone"}

    assert world.remembered() == {"alpha", "beta"}
    names.remove("beta")
    assert world.tick(world.runner(15)) == {"alpha": "ok", "beta": "gone"}
    assert world.is_gone("beta")


def test_a_listing_too_large_to_read_back_is_not_written_over_the_last_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A listing that kept changing keeps every name it saw beside the last listing's:
    more than an object may hold (MAX_REMEMBERED, here 6) would be unreadable next
    tick, and every name in it forgotten."""
    monkeypatch.setattr(discovered, "MAX_REMEMBERED", 6)
    world = World(tmp_path, ["a", "b", "c", "d"])
    world.tick(world.runner(0))
    listing = world.upstream.listing
    listing.mutations = tuple(Mutation(at=n, create=True, position=0) for n in range(60))
    churning = world.tick(world.runner(5))
    listing.mutations = ()
    listing.names.remove("a")

    quiet = world.tick(world.runner(10))

    assert world.remembered() == {"a", "b", "c", "d"}
    # The new ones withheld: not polled, reported not reached.
    assert {name: result for name, result in churning.items() if result == "ok"} == {
        "a": "ok",
        "b": "ok",
        "c": "ok",
        "d": "ok",
    }
    assert set(churning) - {"a", "b", "c", "d"}
    assert {churning[name] for name in set(churning) - {"a", "b", "c", "d"}} == {"not-reached"}
    assert quiet["a"] == "gone"
    assert world.is_gone("a")


def test_a_tick_whose_listed_jobs_all_cannot_be_remembered_does_not_succeed(
    tmp_path: Path,
) -> None:
    """A first tick on a store that refuses the listing's write polls none of the jobs
    it listed: each is reported not reached, as every job left unpolled is, so the tick
    (and `dlf-status poll`'s exit code) does not say that all succeeded."""
    world = World(tmp_path, ["alpha", "beta"])
    runner = world.runner(0, FailingWrites(world.store))

    report = runner.run(runner.build_tick(None, None, [DISCOVER]))

    assert {outcome.job_name: str(outcome.result) for outcome in report.outcomes} == {
        "alpha": "not-reached",
        "beta": "not-reached",
    }
    assert not report.all_succeeded
    assert report.summary()["not_reached"] == 2
