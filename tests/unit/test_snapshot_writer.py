"""The snapshot writing rules, against an in-memory store that can lose races."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dlf_status.domain import jsoncodec
from dlf_status.domain.contract import ValidationReport
from dlf_status.domain.model import JobRef
from dlf_status.domain.normalize import Source, normalise
from dlf_status.domain.snapshots import latest_key
from dlf_status.errors import StoreConflict
from dlf_status.service import SnapshotOutcome, SnapshotWriter
from tests.support.fakes import MemoryStore

JOB = JobRef.parse("p1", "job")
T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def document(status: str, at: datetime) -> dict[str, Any]:
    return normalise(
        {"name": "job", "status": status},
        source=Source("p1", "job"),
        observed_at=at,
        report=ValidationReport(),
    )


def writer(store: MemoryStore) -> SnapshotWriter:
    return SnapshotWriter(store, sleep=lambda _: None)


def test_first_observation_writes_history_and_latest() -> None:
    store = MemoryStore()

    outcome = writer(store).write(JOB, document("NORMAL", T0), T0).outcome

    assert outcome is SnapshotOutcome.CHANGED
    assert len(store.history()) == 1
    assert store.latest(JOB)["observed_at"] == "2026-11-25T08:00:00.000Z"


def test_same_content_later_refreshes_latest_only() -> None:
    store = MemoryStore()
    writer(store).write(JOB, document("NORMAL", T0), T0)
    later = T0 + timedelta(minutes=5)

    outcome = writer(store).write(JOB, document("NORMAL", later), later).outcome

    assert outcome is SnapshotOutcome.UNCHANGED
    assert len(store.history()) == 1
    assert store.latest(JOB)["observed_at"] == "2026-11-25T08:05:00.000Z"


def test_an_older_observation_never_replaces_a_newer_latest_but_keeps_its_history() -> None:
    store = MemoryStore()
    later = T0 + timedelta(minutes=5)
    writer(store).write(JOB, document("NORMAL", later), later)

    outcome = writer(store).write(JOB, document("EXCEPTION", T0), T0).outcome

    assert outcome is SnapshotOutcome.SUPERSEDED
    assert store.latest(JOB)["job"]["status"] == "NORMAL"
    assert len(store.history()) == 2


def test_the_same_slot_and_content_is_one_history_object() -> None:
    store = MemoryStore()
    writer(store).write(JOB, document("NORMAL", T0), T0)
    store.objects.pop(latest_key(JOB))  # as if the first attempt died before latest.json

    writer(store).write(JOB, document("NORMAL", T0 + timedelta(seconds=3)), T0)

    assert len(store.history()) == 1


def test_a_lost_race_is_retried_against_the_new_latest() -> None:
    store = MemoryStore()
    writer(store).write(JOB, document("NORMAL", T0), T0)
    racer = document("STOPPED", T0 + timedelta(minutes=1))
    store.races_to_lose, store.racer = 1, racer
    mine = T0 + timedelta(minutes=2)

    outcome = writer(store).write(JOB, document("NORMAL", mine), mine).outcome

    # My content equals the first latest, but the racer changed it: mine is a change again.
    assert outcome is SnapshotOutcome.CHANGED
    assert store.latest(JOB)["observed_at"] == "2026-11-25T08:02:00.000Z"
    assert len(store.history()) == 2


def test_losing_every_race_is_a_store_conflict() -> None:
    store = MemoryStore(races_to_lose=100)

    with pytest.raises(StoreConflict, match="kept changing"):
        writer(store).write(JOB, document("NORMAL", T0), T0)


def test_an_unreadable_latest_is_replaced() -> None:
    store = MemoryStore()
    store._put(latest_key(JOB), b"{not json")

    outcome = writer(store).write(JOB, document("NORMAL", T0), T0).outcome

    assert outcome is SnapshotOutcome.CHANGED
    assert store.latest(JOB)["job"]["status"] == "NORMAL"


def test_a_status_change_writes_one_transition_record() -> None:
    store = MemoryStore()
    writer(store).write(JOB, document("NORMAL", T0), T0)
    later = T0 + timedelta(minutes=5)

    written = writer(store).write(JOB, document("EXCEPTION", later), later)

    assert written.transitions == 1
    [key] = [key for key in store.objects if key.startswith("transitions/")]
    assert key.startswith(
        "transitions/project_id=p1/workspace=__HIVE_DEFAULT_PARTITION__/job_name=job/date=2026-11-25/20261125T080500000Z-"
    )
    record = jsoncodec.loads(store.objects[key])
    assert record["previous_observed_at"] == "2026-11-25T08:00:00.000Z"
    assert record["observed_at"] == "2026-11-25T08:05:00.000Z"
    assert record["changes"] == [
        {
            "scope": "job",
            "node": None,
            "from": "NORMAL",
            "from_raw": "NORMAL",
            "to": "EXCEPTION",
            "to_raw": "EXCEPTION",
        }
    ]


def test_no_transition_without_a_status_change_or_on_the_first_observation() -> None:
    store = MemoryStore()

    first = writer(store).write(JOB, document("NORMAL", T0), T0)
    later = T0 + timedelta(minutes=1)
    second = writer(store).write(JOB, document("NORMAL", later), later)

    assert (first.transitions, second.transitions) == (0, 0)
    assert not [key for key in store.objects if key.startswith("transitions/")]


class CountingStore(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.gets = 0

    def get(self, key: str) -> Any:
        self.gets += 1
        return super().get(key)


def test_a_writer_remembers_its_last_write_and_skips_the_read() -> None:
    store = CountingStore()
    same_writer = writer(store)
    same_writer.write(JOB, document("NORMAL", T0), T0)
    reads_before = store.gets
    later = T0 + timedelta(minutes=5)

    written = same_writer.write(JOB, document("NORMAL", later), later)

    assert written.outcome is SnapshotOutcome.UNCHANGED
    assert store.gets == reads_before
    assert store.latest(JOB)["observed_at"] == "2026-11-25T08:05:00.000Z"


def test_a_stale_memory_is_caught_by_the_conditional_write() -> None:
    store = MemoryStore()
    mine, theirs = writer(store), writer(store)
    mine.write(JOB, document("NORMAL", T0), T0)
    theirs.write(JOB, document("EXCEPTION", T0 + timedelta(minutes=1)), T0 + timedelta(minutes=1))
    later = T0 + timedelta(minutes=2)

    written = mine.write(JOB, document("NORMAL", later), later)

    # Mine remembered NORMAL, but the store says EXCEPTION: NORMAL again is a change.
    assert written.outcome is SnapshotOutcome.CHANGED
    assert written.transitions == 1
    assert store.latest(JOB)["job"]["status"] == "NORMAL"
    assert len(store.history()) == 3
