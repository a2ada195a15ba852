"""The fleet, history and transitions read from SeaweedFS and the local store, filled
by the real snapshot writer: paging, filters, fail_on, staleness, bounds, the cache."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dlf_status import bootstrap
from dlf_status.domain.model import JobRef
from dlf_status.domain.ports import ObjectStore
from dlf_status.domain.readmodels import FleetDocument
from dlf_status.domain.snapshots import latest_key
from dlf_status.readers import StoreReader
from dlf_status.service import SnapshotWriter
from tests.support.listing_contract import hostile_jobs
from tests.support.read_models import assert_valid, observe
from tests.support.root import root_settings

pytestmark = pytest.mark.integration

PROJECT = "b384b9e9ab9b4ee8994c8633aabc9505"
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
CYCLE = ("NORMAL", "NORMAL", "NORMAL", "EXCEPTION", "STOPPED", "INIT", "WHATEVER")


@dataclass
class FixedClock:
    moment: datetime

    def now(self) -> datetime:
        return self.moment


def reader(store: ObjectStore, clock: FixedClock) -> StoreReader:
    """The store reader as the root builds it, over this store and clock."""
    return bootstrap.build_store_reader(root_settings(), store=store, clock=clock)


def fleet_pages(store_reader: StoreReader, **options: Any) -> list[FleetDocument]:
    pages = [store_reader.fleet(PROJECT, **options)]
    while pages[-1]["next_cursor"] is not None:
        assert len(pages) < 50
        pages.append(store_reader.fleet(PROJECT, cursor=pages[-1]["next_cursor"], **options))
    for page in pages:
        assert_valid(page, "fleet.v1.schema.json")
    return pages


@pytest.fixture
def fleet_store(store: ObjectStore) -> ObjectStore:
    """150 jobs: statuses cycling through CYCLE, one in ten observed an hour ago (stale),
    the rest a minute ago; plus jobs of another workspace and another project."""
    writer = SnapshotWriter(store)
    for number in range(150):
        age = timedelta(hours=1) if number % 10 == 9 else timedelta(minutes=1)
        observe(store, job(f"job-{number:03}"), CYCLE[number % 7], NOW - age, writer=writer)
    observe(store, job("elsewhere", "ws1"), "EXCEPTION", NOW, writer=writer)
    observe(store, JobRef.parse("otherproject", "job-000"), "EXCEPTION", NOW, writer=writer)
    return store


def job(name: str, workspace: str | None = None) -> JobRef:
    return JobRef.parse(PROJECT, name, workspace)


def test_a_fleet_of_hundreds_pages_filters_and_counts(fleet_store: ObjectStore) -> None:
    store_reader = bootstrap.build_store_reader(
        root_settings(), store=fleet_store, clock=FixedClock(NOW)
    )

    pages = fleet_pages(store_reader, limit=40, stale_after=900)
    exceptions = fleet_pages(
        store_reader, limit=7, statuses=frozenset({"EXCEPTION", "UNKNOWN"}), stale_after=900
    )

    rows = [row for page in pages for row in page["jobs"]]
    assert [row["job_name"] for row in rows] == [f"job-{n:03}" for n in range(150)]
    assert [len(page["jobs"]) for page in pages] == [40, 40, 40, 30]
    summary = pages[0]["summary"]
    assert summary["job_count"] == 150
    assert summary["jobs_by_status"] == {
        "STARTING": 21,  # INIT
        "NORMAL": 66,
        "EXCEPTION": 21,
        "STOPPING": 0,
        "STOPPED": 21,
        "UNKNOWN": 21,  # WHATEVER
    }
    assert (summary["stale"], summary["overall"]) == (15, "EXCEPTION")
    assert all(page["summary"] == summary for page in pages + exceptions)
    assert [row["job_name"] for page in exceptions for row in page["jobs"]] == [
        f"job-{n:03}" for n in range(150) if n % 7 in (3, 6)
    ]
    assert [row["stale"] for row in rows] == [n % 10 == 9 for n in range(150)]


def test_fail_on_answers_for_the_whole_fleet(fleet_store: ObjectStore) -> None:
    store_reader = bootstrap.build_store_reader(
        root_settings(), store=fleet_store, clock=FixedClock(NOW)
    )

    normal_page = store_reader.fleet(
        PROJECT, statuses=frozenset({"NORMAL"}), limit=1, fail_on=frozenset({"EXCEPTION"})
    )
    never = store_reader.fleet(PROJECT, limit=1, fail_on=frozenset({"STOPPING"}))
    stale = store_reader.fleet(PROJECT, limit=1, fail_on=frozenset({"STALE"}), stale_after=7200)

    for document in (normal_page, never, stale):
        assert_valid(document, "fleet.v1.schema.json")
    assert normal_page["jobs"][0]["status"] == "NORMAL"
    assert normal_page["failing"] is True
    assert never["failing"] is False
    assert stale["failing"] is False  # nothing is two hours old


def test_a_warm_fleet_reads_only_what_changed(fleet_store: ObjectStore) -> None:
    store_reader = bootstrap.build_store_reader(
        root_settings(), store=fleet_store, clock=FixedClock(NOW + timedelta(minutes=5))
    )
    store_reader.fleet(PROJECT)
    assert store_reader.last_cost.reads == 150
    assert store_reader.last_cost.listing_calls == 2  # latest/, and freshness/

    for name in ("job-010", "job-140"):
        observe(fleet_store, job(name), "EXCEPTION", NOW + timedelta(minutes=2))
    refreshed = store_reader.fleet(PROJECT)

    assert store_reader.last_cost.reads == 2
    assert store_reader.last_cost.cache_hits == 148
    # job-010 was in EXCEPTION already (observed again: a new latest.json), job-140 NORMAL
    assert refreshed["summary"]["jobs_by_status"]["EXCEPTION"] == 22


def test_a_corrupt_latest_json_is_one_unknown_row(store: ObjectStore) -> None:
    observe(store, job("good"), "NORMAL", NOW)
    observe(store, job("spoilt"), "NORMAL", NOW)
    current = store.get(latest_key(job("spoilt")))
    assert current is not None
    assert store.replace(latest_key(job("spoilt")), b"\x00not json", {}, current.version)

    document = bootstrap.build_store_reader(
        root_settings(), store=store, clock=FixedClock(NOW)
    ).fleet(PROJECT, fail_on=frozenset({"UNKNOWN"}))

    assert_valid(document, "fleet.v1.schema.json")
    assert [(row["job_name"], row["status"], row["valid"]) for row in document["jobs"]] == [
        ("good", "NORMAL", True),
        ("spoilt", "UNKNOWN", False),
    ]
    assert document["failing"] is True


def test_hostile_job_names_come_back_whole_in_the_fleet(store: ObjectStore) -> None:
    jobs = [ref for ref in hostile_jobs() if ref.workspace is None]
    writer = SnapshotWriter(store)
    for ref in jobs:
        observe(store, ref, "NORMAL", NOW, writer=writer)

    pages = fleet_pages(reader(store, FixedClock(NOW)), limit=9)

    names = [row["job_name"] for page in pages for row in page["jobs"]]
    assert sorted(names) == sorted(ref.job_name for ref in jobs)
    assert len(names) == len(set(names))


def test_history_and_transitions_across_days(store: ObjectStore) -> None:
    ref = job("a/b c", "ws1")
    writer = SnapshotWriter(store)
    start = datetime(2026, 11, 20, 22, 0, tzinfo=UTC)
    statuses = ["NORMAL", "EXCEPTION", "NORMAL", "STOPPED", "NORMAL", "EXCEPTION"]
    moments = [start + timedelta(hours=9 * step) for step in range(len(statuses))]
    for moment, status in zip(moments, statuses, strict=True):
        observe(store, ref, status, moment, {"node": status}, writer=writer)
    store_reader = reader(store, FixedClock(NOW))

    history = [store_reader.history(ref, limit=2)]
    while history[-1]["next_cursor"]:
        history.append(store_reader.history(ref, limit=2, cursor=history[-1]["next_cursor"]))
    bounded = store_reader.history(ref, start=moments[1], end=moments[4])
    transitions = store_reader.transitions(ref, since=moments[2], limit=2)
    rest = store_reader.transitions(ref, since=moments[2], cursor=transitions["next_cursor"])

    for history_page in [*history, bounded]:
        assert_valid(history_page, "history-page.v1.schema.json")
    for transitions_page in (transitions, rest):
        assert_valid(transitions_page, "transitions-page.v1.schema.json")
    newest_first = [moment.isoformat(timespec="milliseconds")[:-6] + "Z" for moment in moments][
        ::-1
    ]
    assert [d["observed_at"] for page in history for d in page["documents"]] == newest_first
    assert [d["observed_at"] for d in bounded["documents"]] == newest_first[2:5]
    assert [r["observed_at"] for r in transitions["records"] + rest["records"]] == newest_first[
        3::-1
    ]
    assert (transitions["has_more"], rest["has_more"]) == (True, False)
    assert {d["source"]["job_name"] for page in history for d in page["documents"]} == {"a/b c"}
